/**
 * Invoice reproduction: how long rebuilding a closed invoice from the event store alone takes when
 * its period holds N usage events. Prints one JSON object.
 *
 * Postgres is an embedded, durable cluster (fsync on) in a temp dir, unless DATABASE_URL is set.
 *   1. one metric, customer, price plan and subscription through the catalog operations;
 *   2. N UsageRecorded events of that customer in ONE month (one usage stream), appended through the
 *      event store in large appends (5,000 events each);
 *   3. the `usage` and `adjustments` projections catch up (the invoice close reads them, as the API's
 *      does), then the invoice is drafted and closed through the invoice operations;
 *   4. reproduceInvoice, several runs: min / median / max, events read and events/s (it must match),
 *      and the bench process's CPU seconds per run (user + system; Postgres's own CPU not included),
 *      which a loaded machine distorts far less than wall-clock time.
 *   node dist/bench/reproduce.js [--events 1000000] [--runs 5] [--vacuum] [--smoke]
 * The first run right after the bulk load is slower (it reads the log's pages while autovacuum
 * processes the freshly written table); --vacuum runs VACUUM (ANALYZE) first, as autovacuum will
 * have long before any real audit, and times it.
 * To see where the time goes: node --cpu-prof dist/bench/reproduce.js --events 200000 --runs 1
 */
import { createHash, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import type { Pool } from 'pg';
import type { BillingPeriod, UsageRecordedData } from '#domain';
import { PostgresEventStore, ProjectionRunner, waitForPosition, type NewEvent } from '#ledger';
import { createPool, migrate } from '#platform';
import { closeInvoice, draftInvoice, reproduceInvoice, type BillingContext } from '../apps/api/src';
import { createCustomer } from '../apps/api/src/customers/customer.operations';
import { createMetric } from '../apps/api/src/metrics/metric.operations';
import { createPricePlan } from '../apps/api/src/price-plans/price-plan.operations';
import { startSubscription } from '../apps/api/src/subscriptions/subscription.operations';
import { adjustmentsProjection } from '../apps/projector/src/billing/adjustments.projection';
import { usageProjection } from '../apps/projector/src/usage/usage.projection';
import { benchDatabase } from './bench-harness';

const TENANT = 'bench';
const CUSTOMER = 'bench_c0';
const METRIC = 'api_calls';
const MARCH: BillingPeriod = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
const APPEND_BATCH = 5_000;
const ACTOR = 'system:bench';

interface Options {
  events: number;
  runs: number;
  smoke: boolean;
  /** VACUUM (ANALYZE) the log before measuring, as autovacuum will have long before any audit. */
  vacuum: boolean;
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const number = (flag: string, fallback: number, max: number) => {
    const at = argv.indexOf(flag);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value <= 0 || value > max)
      throw new Error(`${flag} expects an integer in [1, ${max}]`);
    return value;
  };
  return {
    events: number('--events', smoke ? 5_000 : 1_000_000, 20_000_000),
    runs: number('--runs', smoke ? 2 : 5, 100),
    smoke,
    vacuum: argv.includes('--vacuum'),
  };
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

async function seedCatalog(store: PostgresEventStore): Promise<string> {
  const ctx = { store, tenantId: TENANT, actor: ACTOR };
  await createMetric({ ...ctx, key: METRIC, name: 'API calls', definition: { aggregation: 'sum' } });
  await createCustomer({ ...ctx, id: CUSTOMER, fields: { name: 'Bench', currency: 'EUR', timezone: 'UTC' } });
  await createPricePlan({
    ...ctx,
    key: 'bench',
    publish: true,
    content: {
      name: 'Bench',
      currency: 'EUR',
      billing_interval: 'month',
      charges: [
        { key: 'base', model: 'flat_fee', amount: '49.00' },
        {
          key: 'api',
          model: 'tiered',
          metric_key: METRIC,
          tiers: [
            { up_to: '100000', unit_price: '0.001' },
            { up_to: null, unit_price: '0.0005' },
          ],
        },
      ],
    },
  });
  const started = await startSubscription({
    ...ctx,
    request: { customer_id: CUSTOMER, plan_key: 'bench', start_date: '2026-03-01', billing_anchor: 'calendar' },
  });
  return started.subscription.subscription_id;
}

/** N events spread evenly over March, as ingestion writes them, in appends of APPEND_BATCH to one stream. */
async function seedUsage(
  store: PostgresEventStore,
  events: number,
): Promise<{ seconds: number; events_per_second: number }> {
  const stream = `${TENANT}:usage-${CUSTOMER}-2026-03`;
  const spacingMs = (Date.parse(MARCH.end_exclusive) - Date.parse(MARCH.start)) / events;
  const started = performance.now();
  for (let from = 0; from < events; from += APPEND_BATCH) {
    const batch: Array<NewEvent<UsageRecordedData>> = [];
    for (let i = from; i < Math.min(events, from + APPEND_BATCH); i++) {
      const id = randomUUID();
      batch.push({
        id,
        type: 'UsageRecorded',
        data: {
          usage_id: id,
          customer_id: CUSTOMER,
          metric_key: METRIC,
          value: String((i % 1000) + 1),
          timestamp: new Date(Date.parse(MARCH.start) + Math.floor(i * spacingMs)).toISOString(),
          idempotency_key: `bench-${i}`,
          properties: { region: ['eu', 'us', 'ap'][i % 3], endpoint: '/v1/things' },
          payload_hash: createHash('sha256').update(String(i)).digest('hex'),
          source: 'ingest',
        },
        metadata: { tenant_id: TENANT, actor: ACTOR, request_id: 'bench-seed' },
      });
    }
    await store.append(stream, batch);
  }
  const ms = performance.now() - started;
  return { seconds: seconds(ms), events_per_second: Math.round(events / (ms / 1000)) };
}

/** The last committed event in log order (not headCheckpoint: an open batch would hold that back). */
async function lastCommitted(pool: Pool): Promise<string | null> {
  const result = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return result.rows[0]?.checkpoint ?? null;
}

/** The read models the close reads catch up, then the invoice is drafted and closed by the operations. */
async function closeTheInvoice(pool: Pool, store: PostgresEventStore, subscriptionId: string) {
  const runner = new ProjectionRunner({
    pool,
    store,
    projections: [usageProjection, adjustmentsProjection],
    idlePollMs: 50,
  });
  const started = performance.now();
  await runner.start();
  try {
    const target = await lastCommitted(pool);
    for (const name of ['usage', 'adjustments']) {
      await waitForPosition({ pool, store }, name, target, 3_600_000, { maxPollIntervalMs: 20 });
    }
    const projected = performance.now();
    const ctx: BillingContext = { pool, store, tenantId: TENANT, actor: ACTOR, barrierMs: 60_000 };
    const { invoiceId } = await draftInvoice(ctx, subscriptionId, MARCH);
    const closed = await closeInvoice(ctx, invoiceId, { tax_amount: '0.00' });
    if (closed.state.status !== 'closed') throw new Error(`the invoice did not close (${closed.state.status})`);
    return {
      invoiceId,
      invoice: closed.state.invoice,
      project_seconds: seconds(projected - started),
      draft_and_close_seconds: seconds(performance.now() - projected),
    };
  } finally {
    await runner.stop();
  }
}

async function measureReproduce(store: PostgresEventStore, invoiceId: string, runs: number) {
  const latencies: number[] = [];
  const cpu: number[] = [];
  let last: Awaited<ReturnType<typeof reproduceInvoice>> | undefined;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    last = await reproduceInvoice({ store, tenantId: TENANT, invoiceId });
    latencies.push(performance.now() - started);
    const used = process.cpuUsage(cpuStarted);
    cpu.push((used.user + used.system) / 1000);
    if (!last.match) throw new Error(`reproduction did not match: ${JSON.stringify(last.first_difference)}`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const cpuSorted = [...cpu].sort((a, b) => a - b);
  return {
    runs,
    seconds: { min: seconds(sorted[0]), median: seconds(median), max: seconds(sorted[sorted.length - 1]) },
    // In run order: an outlier first run (the log's pages read for the first time since the bulk load)
    // is told apart from noise.
    seconds_by_run: latencies.map(seconds),
    cpu_seconds: { min: seconds(cpuSorted[0]), median: seconds(cpuSorted[Math.floor(cpuSorted.length / 2)]) },
    events_read: last!.events_read,
    events_per_second: Math.round(last!.events_read / (median / 1000)),
    match: last!.match,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const database = await benchDatabase('reproduce');
  const pool = createPool(database.url, { max: 8, applicationName: 'abaxus-bench-reproduce' });
  const store = new PostgresEventStore(pool);
  try {
    await migrate(pool);
    const subscriptionId = await seedCatalog(store);
    const seed = await seedUsage(store, options.events);
    const closed = await closeTheInvoice(pool, store, subscriptionId);
    const vacuumStarted = performance.now();
    if (options.vacuum) await pool.query('VACUUM (ANALYZE) events');
    const vacuumSeconds = options.vacuum ? seconds(performance.now() - vacuumStarted) : null;
    const reproduce = await measureReproduce(store, closed.invoiceId, options.runs);
    const api = closed.invoice.calculation.line_items.find((line) => line.charge_key === 'api');
    const report = {
      bench: 'reproduce',
      mode: options.smoke ? 'smoke' : 'full',
      postgres: database.label,
      cpus: cpus().length,
      events: options.events,
      seed,
      projector: { seconds: closed.project_seconds },
      close: { seconds: closed.draft_and_close_seconds, number: closed.invoice.number, total: closed.invoice.total },
      usage_quantity: api?.quantity,
      vacuum_seconds: vacuumSeconds,
      reproduce,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await store.close();
    await pool.end();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
