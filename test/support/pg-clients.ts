import type { ClientBase, Pool } from 'pg';

/**
 * Every SQL text `client` is sent from now on, in order. The client still runs each one against the
 * real server; this only writes down what was asked (e.g. that no ROLLBACK was queued).
 */
export function recordQueries(client: ClientBase): string[] {
  const sent: string[] = [];
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text));
    return query(...args);
  };
  return sent;
}

/** What `promise` rejected with, or null if it resolved. */
export function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (failure: unknown) => failure,
  );
}

/** Ends the server sessions of `applicationName` (e.g. a query abandoned by a client-side timeout). */
export async function endSessions(pool: Pool, applicationName: string): Promise<void> {
  await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
}

/**
 * Terminates `client`'s server session from `admin` (what a fast shutdown does to every session) and
 * waits, up to 5 s, until pg has marked the client unqueryable.
 */
export async function terminateSession(admin: Pool, client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
  const state = client as unknown as { _queryable: boolean };
  for (let i = 0; state._queryable && i < 500; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
}
