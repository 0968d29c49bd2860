import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '#ledger';
import { loadBuiltModules, openBuiltStore, startTestApi } from '../../../../test/support/api';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';

const ENV_KEY = 'sk_fromtheenvironment000000000000000000';

describe('bootstrapDefaultTenant', () => {
  const { api } = loadBuiltModules();
  let db: TestDatabase;
  let store: EventStore;
  let closeStore: () => Promise<void>;
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'abaxus-bootstrap-'));
    dirs.push(dir);
    return dir;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    ({ store, close: closeStore } = openBuiltStore(db.url));
  });
  afterEach(async () => {
    await closeStore();
    await db.close();
  });
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  const events = async (stream: string) => (await store.readStream(stream).catch(() => [])).map((e) => e);

  it('registers ABAXUS_ADMIN_KEY without writing or returning it; later starts do nothing', async () => {
    const dir = dataDir();
    const first = await api.bootstrapDefaultTenant({ store, config: { adminKey: ENV_KEY, dataDir: dir } });
    expect(first).toEqual({ created: true, adminKey: undefined, keyFile: undefined });
    expect(existsSync(join(dir, 'admin-key'))).toBe(false);
    expect(await api.bootstrapDefaultTenant({ store, config: { adminKey: ENV_KEY, dataDir: dir } })).toEqual({
      created: false,
      keyFile: undefined,
    });
    const [tenant] = await events('$system:tenants');
    expect(tenant).toMatchObject({
      type: 'TenantCreated',
      data: { tenant_id: 'default', name: 'Default' },
      metadata: { tenant_id: 'default', actor: 'system:bootstrap' },
    });
    const keys = await events('default:apikeys');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      type: 'ApiKeyIssued',
      data: { role: 'admin', kind: 'secret', prefix: ENV_KEY.slice(0, 10) },
      metadata: { actor: 'system:bootstrap' },
    });
    expect(keys[0].metadata.request_id).toMatch(/^bootstrap-/);
    expect(tenant.metadata.request_id).toBe(keys[0].metadata.request_id);

    const http = await startTestApi({ db, adminKey: ENV_KEY });
    try {
      expect((await http.request('GET', '/v1/api-keys')).status).toBe(200);
    } finally {
      await http.close();
    }
  });

  it('generates a key, writes it to <dataDir>/admin-key with mode 0600, returns it once', async () => {
    const dir = dataDir();
    const first = await api.bootstrapDefaultTenant({ store, config: { dataDir: dir } });
    const keyFile = join(dir, 'admin-key');
    expect(first).toEqual({ created: true, adminKey: expect.stringMatching(/^sk_[A-Za-z0-9]{32,}$/), keyFile });
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(first.adminKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const second = await api.bootstrapDefaultTenant({ store, config: { dataDir: dir } });
    expect(second).toEqual({ created: false, keyFile });
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(first.adminKey);
    expect(await events('default:apikeys')).toHaveLength(1);
    expect(await events('$system:tenants')).toHaveLength(1);

    const http = await startTestApi({ db, adminKey: first.adminKey });
    try {
      expect((await http.request('GET', '/v1/api-keys')).status).toBe(200);
    } finally {
      await http.close();
    }
  });

  it('after a crash between writing the key file and appending, registers the key from the file', async () => {
    const dir = dataDir();
    const saved = 'sk_savedbeforethecrash00000000000000000';
    writeFileSync(join(dir, 'admin-key'), `${saved}\n`, { mode: 0o600 });
    const result = await api.bootstrapDefaultTenant({ store, config: { dataDir: dir } });
    expect(result).toEqual({ created: true, adminKey: saved, keyFile: join(dir, 'admin-key') });
    expect((await events('default:apikeys'))[0].data).toMatchObject({ prefix: saved.slice(0, 10) });
  });

  it('after a crash between the tenant and its key, finishes the job without a second tenant', async () => {
    await store.append(
      '$system:tenants',
      [
        {
          id: '7d0ad2f2-2b5e-4a36-9a57-2d8a3c1b7f10',
          type: 'TenantCreated',
          data: { tenant_id: 'default', name: 'Default', created_at: new Date().toISOString() },
          metadata: { tenant_id: 'default', actor: 'system:bootstrap' },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const result = await api.bootstrapDefaultTenant({ store, config: { adminKey: ENV_KEY, dataDir: dataDir() } });
    expect(result.created).toBe(true);
    expect(await events('$system:tenants')).toHaveLength(1);
    expect(await events('default:apikeys')).toHaveLength(1);
  });

  it('two replicas starting at once (separate data dirs) register exactly one key; the loser removes its file', async () => {
    const [dirA, dirB] = [dataDir(), dataDir()];
    const other = openBuiltStore(db.url);
    try {
      const results = await Promise.all([
        api.bootstrapDefaultTenant({ store, config: { dataDir: dirA } }),
        api.bootstrapDefaultTenant({ store: other.store, config: { dataDir: dirB } }),
      ]);
      expect(await events('$system:tenants')).toHaveLength(1);
      const keys = await events('default:apikeys');
      expect(keys).toHaveLength(1);
      const winners = results.filter((r) => r.adminKey !== undefined);
      expect(winners).toHaveLength(1);
      expect((keys[0].data as { prefix: string }).prefix).toBe(winners[0].adminKey!.slice(0, 10));
      const files = [dirA, dirB].filter((dir) => existsSync(join(dir, 'admin-key')));
      expect(files.map((dir) => readFileSync(join(dir, 'admin-key'), 'utf8').trim())).toEqual([winners[0].adminKey]);
    } finally {
      await other.close();
    }
  });

  it('two replicas sharing a data dir agree on the one key in the file', async () => {
    const dir = dataDir();
    const other = openBuiltStore(db.url);
    try {
      const results = await Promise.all([
        api.bootstrapDefaultTenant({ store, config: { dataDir: dir } }),
        api.bootstrapDefaultTenant({ store: other.store, config: { dataDir: dir } }),
      ]);
      const keys = await events('default:apikeys');
      expect(keys).toHaveLength(1);
      const inFile = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
      expect((keys[0].data as { prefix: string }).prefix).toBe(inFile.slice(0, 10));
      expect(results.filter((r) => r.adminKey !== undefined).map((r) => r.adminKey)).toEqual([inFile]);
    } finally {
      await other.close();
    }
  });
});
