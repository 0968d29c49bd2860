import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadBuiltModules, repoRoot } from '../../../test/support/api';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import type { EventStore } from './event-store';
import { createEventStore } from './event-store.factory';
import { InvalidEventStoreUrlError } from './kurrent/kurrent-connection';
import { KurrentEventStore } from './kurrent/kurrent-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';

describe('createEventStore', () => {
  let db: TestDatabase;
  const opened: EventStore[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  afterAll(() => db.close());

  function create(eventStoreUrl?: string): EventStore {
    const store = createEventStore({ eventStoreUrl, pool: db.pool });
    opened.push(store);
    return store;
  }

  it.each([undefined, '', '   '])('uses the Postgres event store in the given pool when the URL is %j', async (url) => {
    const store = create(url);
    expect(store).toBeInstanceOf(PostgresEventStore);
    expect(store.kind).toBe('postgres');
    const stream = `factory:probe-${randomUUID()}`;
    const id = randomUUID();
    await store.append(stream, [
      { id, type: 'FactoryProbed', data: { ok: true }, metadata: { tenant_id: 'factory', actor: 'test' } },
    ]);
    // The event is in this pool's database, not somewhere else.
    const rows = await db.pool.query<{ id: string }>('SELECT id::text AS id FROM events WHERE stream = $1', [stream]);
    expect(rows.rows).toEqual([{ id }]);
    await store.ping();
  });

  it.each([
    'kurrentdb://kurrentdb:2113?tls=false',
    'esdb://admin:changeit@localhost:2113?tls=false',
    'kurrentdb+discover://cluster.internal:2113',
    'esdb+discover://node1:2113,node2:2113',
  ])('builds a KurrentDB event store for %s without connecting', (url) => {
    const store = create(url);
    expect(store).toBeInstanceOf(KurrentEventStore);
    expect(store.kind).toBe('kurrentdb');
  });

  it.each(['postgres://localhost/abaxus', 'http://kurrentdb:2113', 'mysql://u:hunter2@db/x', 'kurrentdb'])(
    'refuses the URL %s with a clear error',
    (url) => {
      const attempt = () => createEventStore({ eventStoreUrl: url, pool: db.pool });
      expect(attempt).toThrow(InvalidEventStoreUrlError);
      expect(attempt).toThrow(/EVENT_STORE_URL must be unset .* or a kurrentdb:\/\/ or esdb:\/\//);
      expect(attempt).not.toThrow(/hunter2/);
    },
  );

  it('refuses a KurrentDB URL the client cannot use', () => {
    expect(() => createEventStore({ eventStoreUrl: 'kurrentdb://', pool: db.pool })).toThrow(/no host/);
    expect(() => createEventStore({ eventStoreUrl: 'esdb://db:70000', pool: db.pool })).toThrow(
      InvalidEventStoreUrlError,
    );
  });

  it('loads the KurrentDB client only when given a KurrentDB URL (the built API and projector start without it)', () => {
    loadBuiltModules(); // builds dist/ once per worker
    const dist = (path: string) => JSON.stringify(join(repoRoot, 'dist', path));
    const script = `
      const loaded = () => Object.keys(require.cache).some((path) => path.includes('@kurrent'));
      require(${dist('apps/api/src/index.js')});
      require(${dist('apps/projector/src/index.js')});
      const atStart = loaded();
      const { createEventStore } = require(${dist('libs/ledger/src/index.js')});
      createEventStore({ pool: {} });
      const postgres = loaded();
      const store = createEventStore({ eventStoreUrl: 'kurrentdb://localhost:2113?tls=false', pool: {} });
      process.stdout.write(JSON.stringify({ atStart, postgres, kurrent: loaded(), kind: store.kind }));
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ atStart: false, postgres: false, kurrent: true, kind: 'kurrentdb' });
  });
});
