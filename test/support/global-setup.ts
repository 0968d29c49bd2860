import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@jest/types';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../libs/platform/src/embedded-postgres';

/**
 * One throwaway embedded cluster per Jest worker, unless TEST_DATABASE_URL points at a server.
 *
 * Per worker, not per run: the Postgres event store reads up to the cluster-wide transaction horizon,
 * so an open transaction in another test file's database (a parallel worker) holds back events that
 * are already committed. Files of one worker run one after another, so on its own cluster a spec
 * only ever waits for its own transactions. (Production code copes with the horizon either way; see
 * readToHead.) With TEST_DATABASE_URL set, every worker shares that server.
 */
export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const workers = Math.max(1, globalConfig.maxWorkers);
  const handles: EmbeddedPostgresHandle[] = [];
  const dirs: string[] = [];
  // One after another: each picks its free port only once the previous one holds its own.
  for (let worker = 1; worker <= workers; worker += 1) {
    const dataDir = mkdtempSync(join(tmpdir(), `abaxus-test-w${worker}-`));
    const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', durable: false });
    writeFileSync(join(dataDir, 'url'), pg.url);
    process.env[`TEST_DATABASE_URL_${worker}`] = pg.url;
    handles.push(pg);
    dirs.push(dataDir);
  }
  process.env.TEST_DATABASE_URL = handles[0].url;
  process.env.ABAXUS_TEST_EMBEDDED_DIRS = dirs.join('\n');
  (globalThis as Record<string, unknown>).__ABAXUS_TEST_PG__ = handles;
}
