import { Pool, type PoolConfig } from 'pg';

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

/** One place that knows how ABAXUS talks to PostgreSQL: NUMERIC and BIGINT stay strings (pg's default). */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const config: PoolConfig = {
    connectionString: url,
    max: options.max ?? 20,
    application_name: options.applicationName ?? 'abaxus',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
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
