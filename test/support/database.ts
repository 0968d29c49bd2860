import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { createPool, migrate } from '#platform';

export interface TestDatabase {
  url: string;
  name: string;
  pool: Pool;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

/** This worker's server: its own embedded cluster (see global-setup), or the shared TEST_DATABASE_URL. */
export function serverUrl(): string {
  const url = process.env[`TEST_DATABASE_URL_${process.env.JEST_WORKER_ID ?? '1'}`] ?? process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set (jest globalSetup starts an embedded cluster)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh, migrated database for one test file: test files never see each other's rows. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `abaxus_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl(), name);
  const pool = createPool(url, { max: 10, applicationName: 'abaxus-test' });
  if (options.migrate ?? true) await migrate(pool);
  return {
    url,
    name,
    pool,
    close: async () => {
      await pool.end();
      const dropper = new Client({ connectionString: serverUrl() });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
