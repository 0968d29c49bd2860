import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { chargeUsageOf, countedUsageEvents, usageStreamId, type ChargeUsage, type Metric } from '#domain';
import { PostgresEventStore, streamName, type Checkpoint, type EventStore } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { mergeInLogOrder, readStreamAsOf } from '../../billing/calculation/log-reads';
import { ReadOnlyEventStore } from '../read-only-event-store';
import { replayUsage, usageMonths } from './replay-usage';
import { MEASURES, WINDOW, catalog, plainSumMetric, usageLog, type LoggedEvent } from './testing/usage-log.fixtures';

/*
 * replayUsage on a real PostgreSQL: generated logs appended to the customer's monthly usage streams
 * as ingestion names them, replayed in tiny pages (so that pages of two streams interleave, and asOf
 * falls inside a page), through the Postgres fast path and through the generic port, against the
 * batch reading: every event of the streams held, merged into log order, then the domain's
 * countedUsageEvents + chargeUsageOf.
 */

/** The generic port only: the same store without its Postgres fast path (as KurrentDB is read). */
function genericOnly(store: EventStore): EventStore {
  return new Proxy(store, {
    get: (target, name) => {
      if (name === 'readStreamFields') return undefined;
      const member = Reflect.get(target, name, target) as unknown;
      return typeof member === 'function' ? (member as (...args: unknown[]) => unknown).bind(target) : member;
    },
  });
}

describe('replayUsage: the usage streams replayed as they are read', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let run = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
  });

  /** Appends the log to its streams in log order; returns the checkpoint after each event. */
  async function append(tenant: string, log: readonly LoggedEvent[]): Promise<Checkpoint[]> {
    const positions: Checkpoint[] = [];
    let from = 0;
    while (from < log.length) {
      const stream = streamName(tenant, 'usage', usageStreamId('c1', String(log[from].data.timestamp)));
      let to = from + 1;
      while (
        to < log.length &&
        streamName(tenant, 'usage', usageStreamId('c1', String(log[to].data.timestamp))) === stream
      )
        to++;
      // A run of one stream, split once so that some appends hold a single event.
      for (const part of [log.slice(from, from + 1), log.slice(from + 1, to)]) {
        if (part.length === 0) continue;
        const events = part.map((event) => ({ ...event, metadata: { tenant_id: tenant, actor: 'key_test' } }));
        const { position } = await store.append(stream, events);
        for (let i = 0; i < part.length; i++) positions.push(position);
      }
      from = to;
    }
    return positions;
  }

  async function batch(
    tenant: string,
    metrics: Map<string, Metric>,
    asOf: Checkpoint | undefined,
  ): Promise<ChargeUsage[]> {
    const streams = await Promise.all(
      usageMonths(WINDOW).map((month) =>
        readStreamAsOf(store, streamName(tenant, 'usage', usageStreamId('c1', `${month}-01T00:00:00.000Z`)), asOf),
      ),
    );
    const counted = countedUsageEvents(mergeInLogOrder(store, streams));
    return MEASURES.map((measure) => chargeUsageOf(measure, metrics.get(measure.metric_key)!, WINDOW, counted));
  }

  it('equals the batch reading, through the fast path and the generic port, at any asOf and page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        usageLog,
        catalog,
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0, max: 1.2, noNaN: true }),
        async (generated, metrics, pageSize, cut) => {
          const tenant = `t${run++}`;
          const log = generated.map((event) => ({ ...event, id: randomUUID() }));
          const positions = await append(tenant, log);
          // Sometimes the log as it is now, sometimes as it stood at one of its events.
          const at = Math.floor(cut * log.length);
          const asOf = at < positions.length ? positions[at] : undefined;
          const expected = await batch(tenant, metrics, asOf);
          const options = {
            tenantId: tenant,
            customerId: 'c1',
            measures: MEASURES,
            metrics,
            window: WINDOW,
            asOf,
            pageSize,
          };
          expect(await replayUsage({ ...options, store })).toEqual(expected);
          expect(await replayUsage({ ...options, store: genericOnly(store) })).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads the streams through the fast path, counted by the audit store, and nothing at asOf null', async () => {
    const tenant = 'fast';
    const log: LoggedEvent[] = Array.from({ length: 7 }, (_, i) => ({
      id: randomUUID(),
      type: 'UsageRecorded',
      data: {
        usage_id: randomUUID(),
        customer_id: 'c1',
        metric_key: 'm1',
        value: '2',
        timestamp: i % 2 === 0 ? '2026-03-11T00:00:00.000Z' : '2026-04-11T00:00:00.000Z',
        idempotency_key: `k${i}`,
        properties: {},
      },
    }));
    await append(tenant, log);
    const [metrics] = fc.sample(catalog, { numRuns: 1, seed: 7 });
    const sum: Metric = { ...metrics.get('m1')!, versions: plainSumMetric('m1').versions };
    const audit = new ReadOnlyEventStore(store);
    const usage = await replayUsage({
      store: audit,
      tenantId: tenant,
      customerId: 'c1',
      measures: [{ key: 'plain', metric_key: 'm1' }],
      metrics: new Map([['m1', sum]]),
      window: WINDOW,
      asOf: undefined,
      pageSize: 2,
    });
    expect(usage[0].quantity).toBe('14');
    expect(audit.eventsRead).toBe(7);
    expect(typeof audit.readStreamFields).toBe('function');
    const none = await replayUsage({
      store,
      tenantId: tenant,
      customerId: 'c1',
      measures: [{ key: 'plain', metric_key: 'm1' }],
      metrics: new Map([['m1', sum]]),
      window: WINDOW,
      asOf: null,
    });
    expect(none[0].quantity).toBe('0');
    // The fast path's identity of each event is readStream's.
    const stream = `${tenant}:usage-c1-2026-03`;
    const fields = await store.readStreamFields(stream, { fromRevision: 1, maxCount: 3, strings: ['value'] });
    const recorded = await store.readStream(stream, { fromRevision: 1, maxCount: 3 });
    expect(fields.map(({ id, type, revision, position }) => ({ id, type, revision, position }))).toEqual(
      recorded.map(({ id, type, revision, position }) => ({ id, type, revision, position })),
    );
    expect(fields.map((event) => event.strings[0])).toEqual(['2', '2', '2']);
    expect(await store.readStreamFields(stream, { fromRevision: 99, strings: [] })).toEqual([]);
  });
});
