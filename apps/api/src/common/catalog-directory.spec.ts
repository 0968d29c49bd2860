import { randomUUID } from 'node:crypto';
import { PostgresEventStore, type Checkpoint, type EventStore, type NewEvent, type RecordedEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { CatalogDirectory } from './catalog-directory';

const definition = { aggregation: 'sum', field: 'value', filters: {}, group_by: [] };
const meta = (tenant: string) => ({ tenant_id: tenant, actor: 'system:catalog-spec' });

const metricCreated = (tenant: string, key: string): NewEvent => ({
  id: randomUUID(),
  type: 'MetricCreated',
  data: { metric_key: key, name: key, unit: null, definition, created_at: '2026-01-01T00:00:00.000Z' },
  metadata: meta(tenant),
});
const metricArchived = (tenant: string, key: string): NewEvent => ({
  id: randomUUID(),
  type: 'MetricArchived',
  data: { metric_key: key, archived_at: '2026-02-01T00:00:00.000Z' },
  metadata: meta(tenant),
});
const versionPublished = (tenant: string, key: string): NewEvent => ({
  id: randomUUID(),
  type: 'MetricVersionPublished',
  data: {
    metric_key: key,
    version: 2,
    effective_from: '2026-03-01T00:00:00.000Z',
    definition: { ...definition, aggregation: 'max' },
    published_at: '2026-02-15T00:00:00.000Z',
  },
  metadata: meta(tenant),
});
const customerCreated = (tenant: string, id: string): NewEvent => ({
  id: randomUUID(),
  type: 'CustomerCreated',
  data: {
    customer_id: id,
    name: 'Acme',
    email: null,
    currency: 'EUR',
    timezone: 'Europe/Paris',
    payment: null,
    metadata: {},
    created_at: '2026-01-01T00:00:00.000Z',
  },
  metadata: meta(tenant),
});
const customerEvent = (tenant: string, id: string, type: 'CustomerUpdated' | 'CustomerArchived'): NewEvent => ({
  id: randomUUID(),
  type,
  data:
    type === 'CustomerUpdated'
      ? { customer_id: id, changes: { name: 'Acme 2' }, updated_at: '2026-01-02T00:00:00.000Z' }
      : { customer_id: id, archived_at: '2026-01-03T00:00:00.000Z' },
  metadata: meta(tenant),
});

/** The real store, counting stream reads (and letting a test act in the middle of one). */
class CountingStore {
  reads = 0;
  duringRead?: () => Promise<void>;
  constructor(readonly inner: PostgresEventStore) {}
  asStore(): EventStore {
    return new Proxy(this.inner, {
      get: (target, property, receiver) => {
        if (property === 'readStream') {
          return async (...args: Parameters<EventStore['readStream']>) => {
            this.reads += 1;
            const events: RecordedEvent[] = await target.readStream(...args);
            const hook = this.duringRead;
            this.duringRead = undefined;
            await hook?.();
            return events;
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

describe('CatalogDirectory', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let counting: CountingStore;
  let directory: CatalogDirectory;
  let tenant: string;
  const append = (stream: string, event: NewEvent): Promise<Checkpoint> =>
    store.append(stream, [event]).then((r) => r.position);

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  });
  beforeEach(async () => {
    tenant = `t${randomUUID().slice(0, 8)}`;
    counting = new CountingStore(store);
    directory = new CatalogDirectory(counting.asStore());
  });
  afterEach(() => directory.stop());
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('finds what existed before it started by reading that one stream, once', async () => {
    await append(`${tenant}:metric-api_calls`, metricCreated(tenant, 'api_calls'));
    await append(`${tenant}:customer-acme`, customerCreated(tenant, 'acme'));
    await append(`${tenant}:customer-acme`, customerEvent(tenant, 'acme', 'CustomerUpdated'));
    await directory.start();
    expect(await directory.metric(tenant, 'api_calls')).toMatchObject({ key: 'api_calls', archived_at: null });
    expect(await directory.customer(tenant, 'acme')).toEqual({
      id: 'acme',
      currency: 'EUR',
      timezone: 'Europe/Paris',
      archived_at: null,
    });
    await directory.metric(tenant, 'api_calls');
    await directory.customer(tenant, 'acme');
    expect(counting.reads).toBe(2);
  });

  it('answers unknown and malformed names with null; a miss is remembered, a create replaces it at once', async () => {
    await directory.start();
    expect(await directory.metric(tenant, 'nope')).toBeNull();
    expect(await directory.metric(tenant, 'nope')).toBeNull();
    expect(await directory.customer(tenant, 'bad id/../x')).toBeNull();
    expect(counting.reads).toBe(1);
    const position = await append(`${tenant}:metric-nope`, metricCreated(tenant, 'nope'));
    expect(await directory.waitFor(position)).toBe(true);
    expect(await directory.metric(tenant, 'nope')).toMatchObject({ key: 'nope' });
    expect(counting.reads).toBe(1);
  });

  it('follows creates, versions and archives live: after waitFor(position) the answer is current, from memory', async () => {
    await directory.start();
    const stream = `${tenant}:metric-storage`;
    await directory.waitFor(await append(stream, metricCreated(tenant, 'storage')));
    expect((await directory.metric(tenant, 'storage'))!.versions).toHaveLength(1);
    await directory.waitFor(await append(stream, versionPublished(tenant, 'storage')));
    expect((await directory.metric(tenant, 'storage'))!.versions.map((v) => v.aggregation)).toEqual(['sum', 'max']);
    await directory.waitFor(await append(stream, metricArchived(tenant, 'storage')));
    expect((await directory.metric(tenant, 'storage'))!.archived_at).toBe('2026-02-01T00:00:00.000Z');
    const customers = `${tenant}:customer-c1`;
    await directory.waitFor(await append(customers, customerCreated(tenant, 'c1')));
    await append(customers, customerEvent(tenant, 'c1', 'CustomerUpdated'));
    await directory.waitFor(await append(customers, customerEvent(tenant, 'c1', 'CustomerArchived')));
    expect((await directory.customer(tenant, 'c1'))!.archived_at).toBe('2026-01-03T00:00:00.000Z');
    expect(counting.reads).toBe(0);
  });

  it('does not lose an event the subscription delivers while the stream is being read', async () => {
    const stream = `${tenant}:metric-raced`;
    await append(stream, metricCreated(tenant, 'raced'));
    await directory.start();
    counting.duringRead = async () => {
      // The read already returned the create only; the archive arrives through the subscription now.
      expect(await directory.waitFor(await append(stream, metricArchived(tenant, 'raced')))).toBe(true);
    };
    expect((await directory.metric(tenant, 'raced'))!.archived_at).toBe('2026-02-01T00:00:00.000Z');
  });

  it('keeps tenants apart', async () => {
    const other = `o${randomUUID().slice(0, 8)}`;
    await append(`${other}:metric-shared`, metricCreated(other, 'shared'));
    await directory.start();
    expect(await directory.metric(tenant, 'shared')).toBeNull();
    expect(await directory.metric(other, 'shared')).toMatchObject({ key: 'shared' });
  });
});
