import { randomUUID } from 'node:crypto';
import { PostgresEventStore, type Checkpoint, type NewEvent } from '#ledger';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { usageRecorded, usageVoided } from '../usage/testing/usage-fixtures';
import { lateUsageProjection } from './late-usage.projection';

/*
 * Which usage changes mark a closed invoice. The projection only sends Postgres the marks that may
 * touch one (a customer with a closed invoice, timestamped before its latest closed period's end):
 * these cases sit on the edges of that filter, and every change still takes its sequence number.
 */
describe('late_usage projection: marks', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  const project = (target: Checkpoint) => projectTo({ pool: db.pool, store }, [lateUsageProjection], target);

  const closed = (tenant: string, invoiceId: string, customer: string, start: string, end: string): NewEvent => ({
    id: randomUUID(),
    type: 'InvoiceClosed',
    data: {
      invoice_id: invoiceId,
      customer_id: customer,
      period_start: start,
      period_end: end,
      calculation: {
        line_items: [
          { charge_key: 'api', metric_key: 'calls' },
          { charge_key: 'base', metric_key: null },
        ],
      },
    },
    metadata: { tenant_id: tenant, actor: 'system:test', request_id: `req_${invoiceId}` },
  });
  const use = (customer: string, timestamp: string, metric = 'calls', tenant = 'acme') =>
    usageRecorded({ tenant, customer, metric, timestamp });
  const rows = async () =>
    (
      await db.pool.query<{ invoice_id: string; changed_seq: string }>(
        `SELECT tenant_id || '/' || invoice_id AS invoice_id, changed_seq FROM late_usage_invoices ORDER BY 1`,
      )
    ).rows;
  const append = async (stream: string, events: NewEvent[]) => (await store.append(stream, events)).position;

  it('marks only the usage of a closed invoice: its customer, its metrics, before its end (to the microsecond)', async () => {
    // One batch: the closes, then the usage (the batch's own closes count). Sequence numbers: every
    // InvoiceClosed, UsageRecorded and UsageVoided in log order, marked or not.
    await append('acme:invoice-jan', [closed('acme', 'jan', 'c1', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')]); // 1
    await append('acme:invoice-dec', [closed('acme', 'dec', 'c1', '2025-12-01T00:00:00Z', '2026-01-01T00:00:00Z')]); // 2
    await append('globex:invoice-jan', [closed('globex', 'jan', 'c9', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')]); // 3
    const lastOfJan = use('c1', '2026-01-31T23:59:59.999999Z');
    const target = await append('acme:usage-a', [
      lastOfJan, // 4: marks jan (a microsecond before its end)
      use('c1', '2026-02-01T00:00:00Z'), // 5: the end itself is the next period
      use('c1', '2026-02-01T00:00:00.0001Z'), // 6
      use('c2', '2026-01-10T00:00:00Z'), // 7: a customer with nothing closed
      use('c1', '2026-01-10T00:00:00Z', 'storage'), // 8: a metric the invoice does not price
      use('c9', '2026-01-10T00:00:00Z'), // 9: c9 is globex's customer, not acme's
      use('c1', '2025-12-31T23:00:00-01:00'), // 10: = Jan 1 00:00 UTC, jan's first instant, not dec's
      use('c1', 'not a timestamp'), // 11: counted, marks nothing
    ]);
    await project(target);
    expect(await rows()).toEqual([
      { invoice_id: 'acme/dec', changed_seq: '2' },
      { invoice_id: 'acme/jan', changed_seq: '10' },
      { invoice_id: 'globex/jan', changed_seq: '3' },
    ]);

    // A later batch: an offset that lands on the end marks nothing; a millisecond before it does, and
    // a void marks like a record.
    const next = await append('acme:usage-b', [
      use('c1', '2026-02-01T05:30:00+05:30'), // 12: = Feb 1 00:00 UTC
      use('c1', '2025-12-15T00:00:00Z'), // 13: marks dec
      use('c9', '2026-01-31T23:59:59.999Z', 'calls', 'globex'), // 14: marks globex's jan
      usageVoided('acme', lastOfJan.data), // 15: marks jan
      use('c1', '2026-02-01T05:29:59.999+05:30'), // 16: marks jan
    ]);
    await project(next);
    expect(await rows()).toEqual([
      { invoice_id: 'acme/dec', changed_seq: '13' },
      { invoice_id: 'acme/jan', changed_seq: '16' },
      { invoice_id: 'globex/jan', changed_seq: '14' },
    ]);
  });
});
