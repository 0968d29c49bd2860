import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { loadMigrations, migrate, pendingMigrations } from './migrations';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db.close());

  it('applies every migration once, then reports nothing pending', async () => {
    expect((await pendingMigrations(db.pool)).length).toBe(loadMigrations().length);
    const applied = await migrate(db.pool);
    expect(applied.map((m) => m.version)).toEqual(loadMigrations().map((m) => m.version));
    expect(await migrate(db.pool)).toEqual([]);
    expect(await pendingMigrations(db.pool)).toEqual([]);
  });

  it('refuses a migration edited after it was applied', async () => {
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'changed' } : m));
    await expect(migrate(db.pool, edited)).rejects.toThrow(/changed after it was applied/);
  });

  it('forbids updating or deleting events', async () => {
    await db.pool.query(
      `INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
       VALUES (gen_random_uuid(), 't:s', 0, 'Tested', 't', '{}', '{}', now())`,
    );
    await expect(db.pool.query('UPDATE events SET type = $1', ['Changed'])).rejects.toThrow(/append-only/);
    await expect(db.pool.query('DELETE FROM events')).rejects.toThrow(/append-only/);
  });
});
