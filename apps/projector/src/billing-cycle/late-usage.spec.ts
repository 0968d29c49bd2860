import { isClosedState, type AdjustmentRecorded, type ClosedInvoice } from '#domain';
import {
  foldBalances,
  loadInvoice,
  readLedger,
  readOrEmpty,
  rebuildProjection,
  type EventStore,
  type NewEvent,
  type PostgresEventStore,
} from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { invoiceIdFor } from '../../../api/src/billing/billing-context';
import { publishMetricVersion } from '../../../api/src/metrics/metric.operations';
import { cancelSubscription } from '../../../api/src/subscriptions/subscription.operations';
import type { Projector } from '../start-projector';
import { appendUsage, usageRecorded, usageVoided } from '../usage/testing/usage-fixtures';
import { startBillingCycle, type BillingCycle } from './billing-cycle';
import { BILLING_CYCLE_LOCK } from './billing-lease';
import { lateUsageStream, type LateUsageChecked } from './late-usage.events';
import { lateUsageProjection } from './late-usage.projection';
import { caughtUp, ctx, fakeClock, seedCatalog, startSpecProjector } from './testing/cycle-fixtures';

/*
 * Late data on a real PostgreSQL with every projection: usage for a period whose invoice is closed
 * never touches the invoice; the cycle records the difference as late-usage adjustments, which ride on
 * the customer's next invoice, or, when none will follow, on a credit note. Plan `pro`: 20.00 a month
 * plus 0.10 a call. c1 subscribes from Jan 1; c2 from Jan 1 until Feb 10. The tests run in order.
 */
const TENANT = 'acme';
const JAN = { start: '2026-01-01T00:00:00.000Z', end_exclusive: '2026-02-01T00:00:00.000Z' };
const FEB = { start: '2026-02-01T00:00:00.000Z', end_exclusive: '2026-03-01T00:00:00.000Z' };
const MAR = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };

describe('late usage after close: adjustments, never edits', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let projector: Projector;
  let cycle: BillingCycle;
  const clock = fakeClock('2026-02-01T02:00:00.000Z');
  const subscriptions: Record<string, string> = {};
  const c2Feb = usageRecorded({
    tenant: TENANT,
    customer: 'c2',
    metric: 'calls',
    timestamp: '2026-02-05T00:00:00.000Z',
    value: '40',
  });
  const c1LateJan = usageRecorded({
    tenant: TENANT,
    customer: 'c1',
    metric: 'calls',
    timestamp: '2026-01-20T00:00:00.000Z',
    value: '15',
  });

  const use = (customer: string, timestamp: string, value: string) =>
    usageRecorded({ tenant: TENANT, customer, metric: 'calls', timestamp, value });
  const tickAt = async (at: string, on: BillingCycle = cycle) => {
    clock.set(at);
    await caughtUp(db, store);
    return on.tick();
  };
  const invoiceId = (customer: string, period: typeof JAN) => invoiceIdFor(subscriptions[customer], period);
  const closedInvoice = async (id: string): Promise<ClosedInvoice> => {
    const { state } = await loadInvoice(store, TENANT, id);
    if (!isClosedState(state)) throw new Error(`invoice ${id} is not closed`);
    return state.invoice;
  };
  const adjustmentsOf = async (id: string) => {
    await caughtUp(db, store);
    const { rows } = await db.pool.query<{ adjustment_id: string }>(
      `SELECT adjustment_id FROM adjustments WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY recorded_at, adjustment_id`,
      [TENANT, id],
    );
    const recorded: Array<AdjustmentRecorded['data']> = [];
    for (const row of rows) {
      const [event] = await store.readStream(`${TENANT}:adjustment-${row.adjustment_id}`);
      recorded.push(event.data as AdjustmentRecorded['data']);
    }
    return recorded;
  };
  const checksOf = async (id: string) =>
    (await readOrEmpty(store, lateUsageStream(TENANT, id))).map((e) => e.data as LateUsageChecked['data']);
  const balances = async (customer: string) =>
    Object.fromEntries(foldBalances(await readLedger(store, TENANT, customer)).map((b) => [b.account, b.balance]));

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ store, projector } = await startSpecProjector(db));
    const catalog = await seedCatalog(store, TENANT);
    subscriptions.c1 = await catalog.subscribe('c1', '2026-01-01');
    subscriptions.c2 = await catalog.subscribe('c2', '2026-01-01');
    await cancelSubscription({
      ...ctx(store, TENANT),
      id: subscriptions.c2,
      end: 'now',
      now: () => new Date('2026-02-10T00:00:00.000Z'),
    });
    await appendUsage(store, [
      use('c1', '2026-01-05T00:00:00.000Z', '10'),
      use('c2', '2026-01-05T00:00:00.000Z', '10'),
      c2Feb,
    ]);
    cycle = startBillingCycle({ pool: db.pool, store, now: clock.now, intervalMs: 0 });
  });
  afterAll(async () => {
    await cycle?.stop();
    await projector?.stop();
    await store?.close();
    await db?.close();
  });

  it('checks every invoice once after it closed (usage that arrived during the close), adjusting nothing', async () => {
    expect(await tickAt('2026-02-01T02:00:00.000Z')).toMatchObject({ closed: 2, checked: 0, failed: [] });
    expect(await tickAt('2026-02-01T02:01:00.000Z')).toMatchObject({ checked: 2, adjustments: 0, failed: [] });
    const [check] = await checksOf(invoiceId('c1', JAN));
    expect(check).toMatchObject({ invoice_number: expect.stringMatching(/^INV-00000[12]$/), adjustments: [] });
    expect(check.lines.map((l) => [l.charge_key, l.billed_amount])).toEqual([
      ['base', '20.00'],
      ['api', '1.00'],
    ]);
    expect(await tickAt('2026-02-01T02:02:00.000Z')).toMatchObject({ checked: 0 });
  });

  it('a late event for a closed period becomes one late_usage adjustment per changed line; the invoice stays as it closed', async () => {
    const jan = invoiceId('c1', JAN);
    const before = await closedInvoice(jan);
    await appendUsage(store, [c1LateJan]);
    expect(await tickAt('2026-02-01T03:00:00.000Z')).toMatchObject({ checked: 1, adjustments: 1, failed: [] });
    const [adjustment] = await adjustmentsOf(jan);
    expect(adjustment).toMatchObject({
      adjustment_id: expect.stringMatching(/^adj_lu_[0-9a-f]{24}$/),
      customer_id: 'c1',
      kind: 'late_usage',
      amount: '1.50', // 15 late calls x 0.10
      currency: 'USD',
      invoice_id: jan,
      line: { charge_key: 'api', original_amount: '1.00', recomputed_amount: '2.50' },
    });
    expect(await closedInvoice(jan)).toEqual(before);
    expect((await store.readStream(`${TENANT}:invoice-${jan}`)).map((e) => e.type)).toEqual([
      'InvoiceDrafted',
      'InvoiceClosed',
    ]);
    // Running again records nothing: the check is done, and its adjustment id is deterministic.
    expect(await tickAt('2026-02-01T03:01:00.000Z')).toMatchObject({ checked: 0, adjustments: 0 });
    expect(await adjustmentsOf(jan)).toHaveLength(1);
  });

  it('a late void lowers the usage: a negative adjustment; with no invoice to follow, a credit note carries it', async () => {
    // c2 ended on Feb 10: its final invoice (Feb 1 to 10: 9 days of 20.00, 40 calls) closes after the grace.
    expect(await tickAt('2026-02-10T02:00:00.000Z')).toMatchObject({ closed: 1, failed: [] });
    const final = invoiceId('c2', FEB);
    expect(await closedInvoice(final)).toMatchObject({ subtotal: '10.43' });
    expect(await tickAt('2026-02-10T02:01:00.000Z')).toMatchObject({ checked: 1, adjustments: 0 });
    await appendUsage(store, [usageVoided(TENANT, c2Feb.data)]);
    const voided = await tickAt('2026-02-10T03:00:00.000Z');
    expect(voided).toMatchObject({ adjustments: 1, failed: [] });
    const [credit] = await adjustmentsOf(final);
    expect(credit).toMatchObject({
      kind: 'late_usage',
      amount: '-4.00',
      line: { original_amount: '4.00', recomputed_amount: '0.00' },
    });
    // The credit note follows once the adjustments read model shows the credit: this tick or the one before.
    const next = await tickAt('2026-02-10T03:01:00.000Z');
    expect(next.failed).toEqual([]);
    expect(voided.credit_notes + next.credit_notes).toBe(1);
    await caughtUp(db, store);
    const { rows } = await db.pool.query<{ applied_to_invoice_id: string }>(
      `SELECT applied_to_invoice_id FROM adjustments WHERE tenant_id = $1 AND adjustment_id = $2`,
      [TENANT, credit.adjustment_id],
    );
    const note = await closedInvoice(rows[0].applied_to_invoice_id);
    expect(note).toMatchObject({
      customer_id: 'c2',
      subscription_id: subscriptions.c2,
      period_start: FEB.start,
      subtotal: '0.00',
      adjustments_total: '-4.00',
      total: '-4.00',
      number: expect.stringMatching(/^INV-\d{6}$/),
    });
    expect(note.calculation.line_items).toEqual([]);
    expect(await tickAt('2026-02-10T03:02:00.000Z')).toMatchObject({ credit_notes: 0, adjustments: 0 });
    await caughtUp(db, store);
    // Billed 21.00 (January) + 10.43 (February), credited 4.00: nothing left in credits:c2.
    expect(await balances('c2')).toMatchObject({ 'credits:c2': '0.00', 'receivables:c2': '27.43' });
  });

  it("the adjustments appear on the customer's next invoice as their own entries", async () => {
    expect(await tickAt('2026-03-01T02:00:00.000Z')).toMatchObject({ closed: 1, failed: [] });
    const feb = await closedInvoice(invoiceId('c1', FEB));
    expect(feb.calculation.adjustments.map((a) => [a.kind, a.amount, a.invoice_id, a.charge_key])).toEqual([
      ['late_usage', '1.50', invoiceId('c1', JAN), 'api'],
    ]);
    expect(feb).toMatchObject({ subtotal: '20.00', adjustments_total: '1.50', total: '21.50' });
    await caughtUp(db, store);
    // The journal: the adjustment went to credits:c1 when recorded, and out of it with the invoice.
    expect(await balances('c1')).toMatchObject({ 'credits:c1': '0.00', 'receivables:c1': '42.50' });
  });

  it('a crash after the check was decided but before its adjustment was recorded: the next tick records it once', async () => {
    await appendUsage(store, [use('c1', '2026-02-10T00:00:00.000Z', '5')]);
    const crashing = startBillingCycle({
      pool: db.pool,
      store: failingAdjustments(store),
      now: clock.now,
      intervalMs: 0,
      leaseKey: BILLING_CYCLE_LOCK + 7,
    });
    const crashed = await tickAt('2026-03-01T03:00:00.000Z', crashing);
    await crashing.stop();
    expect(crashed.failed).toEqual([expect.objectContaining({ subject: `invoice:${invoiceId('c1', FEB)}` })]);
    const checks = await checksOf(invoiceId('c1', FEB));
    expect(checks.at(-1)!.adjustments).toEqual([expect.objectContaining({ amount: '0.50', charge_key: 'api' })]);
    expect(await adjustmentsOf(invoiceId('c1', FEB))).toEqual([]);
    expect(await tickAt('2026-03-01T03:01:00.000Z')).toMatchObject({ adjustments: 1, failed: [] });
    const [recorded] = await adjustmentsOf(invoiceId('c1', FEB));
    expect(recorded.adjustment_id).toBe(checks.at(-1)!.adjustments[0].adjustment_id);
    expect(await tickAt('2026-03-01T03:02:00.000Z')).toMatchObject({ checked: 0, adjustments: 0 });
    expect(await adjustmentsOf(invoiceId('c1', FEB))).toHaveLength(1);
  });

  it('no late change, no adjustment: usage of a period not yet invoiced is simply on its invoice', async () => {
    await appendUsage(store, [use('c1', '2026-03-15T00:00:00.000Z', '7')]);
    expect(await tickAt('2026-03-01T06:00:00.000Z')).toMatchObject({ checked: 0, adjustments: 0 });
    await tickAt('2026-04-01T02:00:00.000Z');
    expect(await closedInvoice(invoiceId('c1', MAR))).toMatchObject({ subtotal: '20.70' });
  });

  it('prices late usage with the meter versions the invoice was metered with, not a version published since', async () => {
    // From Jan 15 on, v2 counts events instead of summing values: it must not reprice closed January.
    await publishMetricVersion({
      ...ctx(store, TENANT),
      key: 'calls',
      effectiveFrom: '2026-01-15T00:00:00Z',
      definition: { aggregation: 'count' },
    });
    await appendUsage(store, [use('c1', '2026-01-25T00:00:00.000Z', '30')]);
    // (This tick also makes March's first check: March was metered with v1 alone, nothing changes there.)
    expect(await tickAt('2026-04-01T03:00:00.000Z')).toMatchObject({ checked: 2, adjustments: 1, failed: [] });
    const adjustments = await adjustmentsOf(invoiceId('c1', JAN));
    // Under v1 (sum): 55 calls, 5.50; the difference from the 2.50 billed so far.
    expect(adjustments[1]).toMatchObject({
      amount: '3.00',
      line: { charge_key: 'api', original_amount: '2.50', recomputed_amount: '5.50' },
    });
  });

  it('the late_usage read model rebuilds to the same rows (sequence numbers depend on the log alone)', async () => {
    await caughtUp(db, store);
    const rowsOf = async () =>
      (
        await db.pool.query(
          `SELECT invoice_id, customer_id, status, metric_keys, changed_seq, checked_seq FROM late_usage_invoices
            ORDER BY invoice_id`,
        )
      ).rows;
    const before = await rowsOf();
    expect(before.length).toBeGreaterThanOrEqual(6);
    const rebuilt = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [lateUsageProjection],
      name: 'late_usage',
      force: true,
      batchSize: 7,
    });
    expect(rebuilt.outcome).toBe('switched');
    expect(await rowsOf()).toEqual(before);
  });
});

/** The store a crashed cycle saw: appends of adjustments fail (after the check itself was written). */
function failingAdjustments(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'append') {
        return async (stream: string, events: readonly NewEvent[], options?: object) => {
          if (stream.includes(':adjustment-')) throw new Error('simulated crash before recording the adjustment');
          return target.append(stream, events, options);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
