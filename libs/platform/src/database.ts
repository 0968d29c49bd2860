import { Pool, type ClientBase, type PoolClient, type PoolConfig } from 'pg';

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /**
   * Longest wait for one query's answer, ms (pg's client-side `query_timeout`: it also ends a wait on
   * a server that stopped answering, which `statement_timeout` cannot). The query then rejects with
   * "Query read timeout" (answered 503 by the API); the client it ran on must be released with that
   * error, so that a connection still busy is dropped rather than reused. The server gets a
   * `statement_timeout` of STATEMENT_TIMEOUT_MARGIN_MS more, so the statement the client abandoned
   * does not run on (a backend notices a closed connection only when it next talks to it). Unset or
   * 0: no limit.
   */
  queryTimeoutMs?: number;
}

/**
 * How much longer the server lets a statement run than the client waits for it: the client gives up
 * first (its error is the one the API maps to 503), then the server cancels the statement.
 */
export const STATEMENT_TIMEOUT_MARGIN_MS = 1_000;

/** One place that knows how ABAXUS talks to PostgreSQL: NUMERIC and BIGINT stay strings (pg's default). */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const config: PoolConfig = {
    connectionString: url,
    max: options.max ?? 20,
    application_name: options.applicationName ?? 'abaxus',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    query_timeout: options.queryTimeoutMs ? options.queryTimeoutMs : undefined,
    statement_timeout: options.queryTimeoutMs ? options.queryTimeoutMs + STATEMENT_TIMEOUT_MARGIN_MS : undefined,
  };
  const pool = new Pool(config);
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  // pg-pool listens for errors only on IDLE clients: a checked-out client between two queries (a
  // transaction in progress, a held lock) whose server goes away emits 'error' with no listener,
  // which kills the process. With this listener the client is only marked unusable: its next query
  // rejects (answered 503 by the API), and release() drops it from the pool.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * Whether a query was abandoned by the pool's client-side `queryTimeoutMs`. Its connection is still
 * waiting for the server's answer: a ROLLBACK sent on it would only queue behind (and time out too),
 * so release the client with the error instead (the pool drops it; the server rolls back an open
 * transaction when the connection closes).
 */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/**
 * Ends `client`'s transaction, after `error` if one failed it: ROLLBACK, unless the error is a query
 * timeout (the connection is still busy: a ROLLBACK would only queue behind it). Returns the error to
 * release the client with (it is then dropped from the pool), or undefined when the ROLLBACK went
 * through.
 */
export async function rollbackOrDrop(client: ClientBase, error: unknown): Promise<Error | undefined> {
  if (isQueryTimeout(error)) return error as Error;
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (rollbackError) {
    return rollbackError as Error;
  }
}

export interface TransactionOptions {
  /** `SET LOCAL synchronous_commit = off`: the commit returns before its WAL is on disk. */
  asyncCommit?: boolean;
  /** `BEGIN READ ONLY`. */
  readOnly?: boolean;
  /** More `SET LOCAL …` statements, for this transaction alone. */
  settings?: readonly string[];
}

/**
 * BEGIN … COMMIT on one pooled client; a client whose ROLLBACK failed or whose query timed out is
 * discarded, not reused. BEGIN and the settings go in one round trip (a simple query).
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const begin = [
    options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN',
    ...(options.asyncCommit ? ['SET LOCAL synchronous_commit = off'] : []),
    ...(options.settings ?? []),
  ];
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin.join('; '));
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await rollbackOrDrop(client, error);
    throw error;
  } finally {
    client.release(broken);
  }
}

/** SQLSTATEs and socket errors of a server not reachable (yet): down, restarting, starting up, in recovery. */
const NOT_REACHABLE = new Set([
  '57P03',
  '57P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

function unreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return NOT_REACHABLE.has(code);
  // pg's own connect timeout ("timeout expired") and a connection ended while starting up have no code.
  return /timeout|terminated/i.test(String((error as Error | null)?.message));
}

/**
 * Waits until the database answers, for at most `timeoutMs`, so that a process started before its
 * database (a restart of both, containers started together) does not exit. Only unreachability is
 * waited out: a refused password or an unknown database fails at once.
 */
export async function waitForDatabase(
  pool: Pool,
  options: { timeoutMs: number; onRetry?: (error: unknown, attempt: number) => void },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (error) {
      if (!unreachable(error) || Date.now() >= deadline) throw error;
      options.onRetry?.(error, attempt);
      const pause = Math.min(5_000, 250 * 2 ** Math.min(attempt - 1, 5));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pause, deadline - Date.now()))));
    }
  }
}
