import { isClosedState, type BillingPeriod, type InvoiceState } from '#domain';
import {
  AdjustmentCarriedError,
  adjustmentCarriers,
  closeInvoiceWithNumber,
  loadInvoice,
  readAssignments,
  type PostgresEventStore,
} from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { Projector } from '../../../projector/src/start-projector';
import {
  caughtUp,
  seedCatalog,
  startSpecProjector,
  type SeededCatalog,
} from '../../../projector/src/billing-cycle/testing/cycle-fixtures';
import { recordManualAdjustment } from './adjustment.operations';
import { invoiceIdFor, type BillingContext } from './billing-context';
import { calculationRecordOf, loadCalculationInputsBatch } from './calculation';
import { writeInvoiceBatch, type BatchInvoiceWork } from './invoice-batch.operations';
import { closeInvoice, draftInvoice, voidInvoice } from './invoice.operations';

/*
 * A pending adjustment rides on ONE invoice, even when two invoices of its customer were calculated
 * at the same moment (both drafts carry it): the close that takes a number second is refused at the
 * commit point (the numbers stream) and closes recalculated, without it. Voiding the invoice that
 * carries it makes it pending again.
 */
const TENANT = 'acme';
const MARCH: BillingPeriod = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
const APRIL: BillingPeriod = { start: '2026-04-01T00:00:00.000Z', end_exclusive: '2026-05-01T00:00:00.000Z' };
const at = new Date('2026-05-01T01:00:00.000Z');

describe('a pending adjustment is carried by one invoice', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let projector: Projector;
  let catalog: SeededCatalog;
  const billing = (): BillingContext => ({
    pool: db.pool,
    store,
    tenantId: TENANT,
    actor: 'system:test',
    requestId: 'req_carried',
    now: () => at,
  });

  /** A customer on `pro` since March, with one pending manual credit of 5.00: its subscription and adjustment. */
  async function customerWithCredit(id: string): Promise<{ subscription: string; adjustment: string }> {
    const subscription = await catalog.subscribe(id, '2026-03-01');
    const { adjustment } = await recordManualAdjustment(billing(), {
      customer_id: id,
      amount: '-5.00',
      currency: 'USD',
      reason: 'goodwill',
    });
    await caughtUp(db, store);
    return { subscription, adjustment: adjustment.adjustment_id };
  }

  const carried = (state: InvoiceState) => {
    if (!isClosedState(state) && state.status !== 'draft') throw new Error(`unexpected ${state.status}`);
    const calculation = isClosedState(state) ? state.invoice.calculation : state.draft.calculation;
    return calculation.adjustments.map((a) => a.adjustment_id);
  };
  const snapshots = (customerId: string) => ({
    customer: { id: customerId, name: customerId, email: null, currency: 'USD', timezone: 'UTC' },
    plan: {
      key: 'pro',
      version: 1,
      name: 'Pro',
      currency: 'USD',
      billing_interval: 'month' as const,
      charges: [],
      minimum_commitment: null,
    },
  });
  const closeOptions = (invoiceId: string, customerId: string) => ({
    store,
    tenantId: TENANT,
    invoiceId,
    ...snapshots(customerId),
    at,
    metadata: { tenant_id: TENANT, actor: 'system:test' },
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ store, projector } = await startSpecProjector(db));
    catalog = await seedCatalog(store, TENANT);
  });
  afterAll(async () => {
    await projector?.stop();
    await store?.close();
    await db?.close();
  });

  it('refuses the second close of two drafts carrying it; that invoice closes recalculated, without it', async () => {
    const { subscription, adjustment } = await customerWithCredit('c1');
    const march = await draftInvoice(billing(), subscription, MARCH);
    const april = await draftInvoice(billing(), subscription, APRIL);
    expect(carried(march.state)).toEqual([adjustment]);
    expect(carried(april.state)).toEqual([adjustment]);

    await closeInvoiceWithNumber(closeOptions(march.invoiceId, 'c1'));
    const before = await readAssignments(store, TENANT);
    expect(before.map((a) => [a.invoice_id, a.adjustment_ids])).toEqual([[march.invoiceId, [adjustment]]]);
    // The April draft as calculated (stale): no number for it.
    const refused = closeInvoiceWithNumber(closeOptions(april.invoiceId, 'c1'));
    await expect(refused).rejects.toBeInstanceOf(AdjustmentCarriedError);
    await expect(refused).rejects.toMatchObject({ code: 'INVOICE.ADJUSTMENT_CARRIED' });
    expect(await readAssignments(store, TENANT)).toHaveLength(1);
    expect((await loadInvoice(store, TENANT, april.invoiceId)).state.status).toBe('draft');

    // The close operation recalculates it: 20.00 flat, no credit.
    await caughtUp(db, store);
    const closed = await closeInvoice(billing(), april.invoiceId, {});
    if (!isClosedState(closed.state)) throw new Error('April is not closed');
    expect(carried(closed.state)).toEqual([]);
    expect(closed.state.invoice.total).toBe('20.00');
    const march2 = (await loadInvoice(store, TENANT, march.invoiceId)).state;
    if (!isClosedState(march2)) throw new Error('March is not closed');
    expect(march2.invoice.total).toBe('15.00');

    // Voiding March releases the credit: no invoice carries it any more.
    expect([...(await adjustmentCarriers(store, TENANT, [adjustment]))]).toEqual([[adjustment, [march.invoiceId]]]);
    await voidInvoice(billing(), march.invoiceId, 'wrong customer');
    expect([...(await adjustmentCarriers(store, TENANT, [adjustment]))]).toEqual([]);
  });

  it('two closes at once, each refreshing its own draft: exactly one invoice carries the credit', async () => {
    const { subscription, adjustment } = await customerWithCredit('c2');
    const ids = [MARCH, APRIL].map((period) => invoiceIdFor(subscription, period));
    for (const period of [MARCH, APRIL]) await draftInvoice(billing(), subscription, period);
    const results = await Promise.all(ids.map((id) => closeInvoice(billing(), id, {})));
    const carriers = results.filter((result) => carried(result.state).includes(adjustment));
    expect(results.map((result) => result.state.status)).toEqual(['closed', 'closed']);
    expect(carriers).toHaveLength(1);
    const totals = results.map((result) => (isClosedState(result.state) ? result.state.invoice.total : null)).sort();
    expect(totals).toEqual(['15.00', '20.00']);
  });

  it('the billing cycle batch closes the first invoice with the credit and defers any other carrying it', async () => {
    const { subscription, adjustment } = await customerWithCredit('c3');
    const works = async (periods: BillingPeriod[]): Promise<BatchInvoiceWork[]> => {
      const outcomes = await loadCalculationInputsBatch({
        pool: db.pool,
        store,
        tenantId: TENANT,
        items: periods.map((period) => ({ subscriptionId: subscription, period })),
      });
      return outcomes.map(({ inputs }, index) => ({
        invoiceId: invoiceIdFor(subscription, periods[index]),
        record: calculationRecordOf(inputs!),
        close: { ...snapshots('c3'), at },
      }));
    };
    // Both calculated before either closed: both carry the credit.
    const [march, april] = await works([MARCH, APRIL]);
    expect(march.record.calculation.adjustments.map((a) => a.adjustment_id)).toEqual([adjustment]);
    expect(april.record.calculation.adjustments.map((a) => a.adjustment_id)).toEqual([adjustment]);
    // In one batch: the second is deferred.
    const first = await writeInvoiceBatch(billing(), [march, april]);
    expect(first.map((r) => [r.status, r.closedNow, r.deferred?.message ?? null])).toEqual([
      ['closed', true, null],
      ['draft', false, expect.stringContaining(`another invoice carries its adjustments ${adjustment}`)],
    ]);
    // In a later batch, still as calculated then: deferred again (the March invoice carries it).
    const again = await writeInvoiceBatch(billing(), [april]);
    expect(again[0].deferred?.message).toContain(adjustment);
    // Recalculated now: it closes, without the credit.
    await caughtUp(db, store);
    const [fresh] = await works([APRIL]);
    expect(fresh.record.calculation.adjustments).toEqual([]);
    const last = await writeInvoiceBatch(billing(), [fresh]);
    expect(last.map((r) => [r.status, r.closedNow, r.deferred])).toEqual([['closed', true, undefined]]);
    const numbers = (await readAssignments(store, TENANT)).filter((a) => a.adjustment_ids?.includes(adjustment));
    expect(numbers.map((a) => a.invoice_id)).toEqual([march.invoiceId]);
  });
});
