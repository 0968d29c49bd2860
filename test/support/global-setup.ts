import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../libs/platform/src/embedded-postgres';

/** One throwaway embedded cluster for the whole run, unless TEST_DATABASE_URL points at a server. */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const dataDir = mkdtempSync(join(tmpdir(), 'abaxus-test-'));
  const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', durable: false });
  process.env.TEST_DATABASE_URL = pg.url;
  process.env.ABAXUS_TEST_EMBEDDED_DIR = dataDir;
  writeFileSync(join(dataDir, 'url'), pg.url);
  (globalThis as Record<string, unknown>).__ABAXUS_TEST_PG__ = pg;
}
