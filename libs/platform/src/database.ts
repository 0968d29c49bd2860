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
  return pool;
}
