import { createTestDatabase, type TestDatabase } from '../support/database';
import { runCli } from '../support/process';

/** The `abaxus` command line as operators run it: real processes against a real database. */
describe('abaxus CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CLI JSON output, asserted field by field
  type Json = any;
  async function abaxus(...args: string[]): Promise<{ code: number | string; stdout: string; json: () => Json }> {
    return abaxusWith({}, ...args);
  }
  async function abaxusWith(
    env: Record<string, string>,
    ...args: string[]
  ): Promise<{ code: number | string; stdout: string; json: () => Json }> {
    const proc = runCli(['--json', ...args], {
      DATABASE_URL: db.url,
      EVENT_STORE_URL: '',
      LOG_LEVEL: 'silent',
      ...env,
    });
    const code = await proc.exited;
    const stdout = proc.output();
    return { code, stdout, json: () => JSON.parse(stdout) };
  }

  it('migrate applies every migration once', async () => {
    const first = await abaxus('migrate');
    expect(first.code).toBe(0);
    expect(first.json().applied.length).toBeGreaterThan(0);
    const second = await abaxus('migrate');
    expect(second.json()).toEqual({ applied: [] });
  }, 60_000);

  it('creates a tenant, issues and revokes keys, recording the CLI user as the actor', async () => {
    const tenant = await abaxus('tenants', 'create', 'Acme Corp');
    expect(tenant.code).toBe(0);
    const { id, admin_key } = tenant.json();
    expect(admin_key).toMatch(/^sk_\w{24,}$/);

    const issued = await abaxus('keys', 'create', '--tenant', id, '--role', 'finance', '--name', 'books');
    expect(issued.code).toBe(0);
    const key = issued.json();
    expect(key).toMatchObject({ role: 'finance', kind: 'secret' });
    expect(key.key).toMatch(/^sk_/);

    const revoked = await abaxus('keys', 'revoke', key.id, '--tenant', id);
    expect(revoked.code).toBe(0);
    expect(revoked.json()).toMatchObject({ id: key.id, status: 'revoked' });

    const events = await db.pool.query<{ type: string; actor: string }>(
      `SELECT type, metadata->>'actor' AS actor FROM events WHERE tenant_id = $1 ORDER BY position`,
      [id],
    );
    expect(events.rows.map((e) => e.type)).toEqual(expect.arrayContaining(['ApiKeyIssued', 'ApiKeyRevoked']));
    expect(events.rows.every((e) => e.actor.startsWith('cli:'))).toBe(true);
  }, 60_000);

  it('refuses a key for a tenant that does not exist, with a message and exit code 1', async () => {
    const result = await abaxus('keys', 'create', '--tenant', 'no_such_tenant');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no_such_tenant/);
  }, 60_000);

  it('shows projection status and rebuilds a projection into a fresh build', async () => {
    const status = await abaxus('projections', 'status');
    expect(status.code).toBe(0);
    const names = status.json().map((p: { name: string }) => p.name);
    expect(names).toContain('audit_log');

    const rebuilt = await abaxus('projections', 'rebuild', 'audit_log', '--force');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.json()).toMatchObject({ name: 'audit_log' });
    expect(['switched', 'built']).toContain(rebuilt.json().outcome);
    const rows = await db.pool.query('SELECT count(*)::int AS n FROM audit_log');
    const events = await db.pool.query('SELECT count(*)::int AS n FROM events');
    expect(rows.rows[0].n).toBe(events.rows[0].n);
    // A handful of events: one batch of the default size.
    expect(rebuilt.json().batches).toBe(1);
  }, 60_000);

  it('reads and applies ABAXUS_PROJECTOR_BATCH_SIZE events per batch when rebuilding', async () => {
    const rebuilt = await abaxusWith(
      { ABAXUS_PROJECTOR_BATCH_SIZE: '3' },
      'projections',
      'rebuild',
      'audit_log',
      '--force',
    );
    expect(rebuilt.code).toBe(0);
    const { n } = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0];
    expect(n).toBeGreaterThan(3);
    expect(rebuilt.json()).toMatchObject({ outcome: 'switched', events_applied: n, batches: Math.ceil(n / 3) });
    const rows = await db.pool.query('SELECT count(*)::int AS n FROM audit_log');
    expect(rows.rows[0].n).toBe(n);
  }, 60_000);

  it('refuses an ABAXUS_PROJECTOR_BATCH_SIZE out of range before touching the database, naming the variable', async () => {
    const before = await db.pool.query(`SELECT name, version, build FROM projections WHERE name = 'audit_log'`);
    const proc = runCli(['projections', 'rebuild', 'audit_log', '--force'], {
      DATABASE_URL: db.url,
      EVENT_STORE_URL: '',
      LOG_LEVEL: 'silent',
      ABAXUS_PROJECTOR_BATCH_SIZE: '0',
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/ABAXUS_PROJECTOR_BATCH_SIZE: expected an integer from 1 to 100000, got "0"/);
    const after = await db.pool.query(`SELECT name, version, build FROM projections WHERE name = 'audit_log'`);
    expect(after.rows).toEqual(before.rows);
  }, 60_000);
});
