import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadBuiltModules } from '../../../test/support/api';
import { embeddedServerSettings } from './embedded-postgres';

const GB = 1024 * 1024 * 1024;

describe('embedded PostgreSQL', () => {
  it('sizes shared buffers to an eighth of memory, between 128 MB and 1 GB, checkpoints by 4 GB of WAL, and does not zero-fill new WAL segments', () => {
    expect(embeddedServerSettings(0.5 * GB).shared_buffers).toBe('128MB');
    expect(embeddedServerSettings(4 * GB).shared_buffers).toBe('512MB');
    expect(embeddedServerSettings(24 * GB).shared_buffers).toBe('1024MB');
    expect(embeddedServerSettings(4 * GB)).toMatchObject({
      max_wal_size: '4GB',
      min_wal_size: '256MB',
      wal_init_zero: 'off',
    });
  });

  it('runs a durable cluster with those settings (and fsync on), and again from the same files', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'abaxus-embedded-spec-'));
    try {
      for (let start = 0; start < 2; start++) {
        // The built module: the package is ESM-only, which Jest's module system cannot import.
        const pg = await loadBuiltModules().platform.startEmbeddedPostgres({ dataDir, database: 'abaxus' });
        const client = new Client({ connectionString: pg.url });
        try {
          await client.connect();
          const show = async (name: string) =>
            (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name];
          const expected = embeddedServerSettings();
          expect(await show('shared_buffers')).toBe(expected.shared_buffers.replace('1024MB', '1GB'));
          expect(await show('max_wal_size')).toBe(expected.max_wal_size);
          expect(await show('wal_init_zero')).toBe('off');
          expect(await show('fsync')).toBe('on');
          expect(await show('synchronous_commit')).toBe('on');
        } finally {
          await client.end();
          await pg.stop();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
