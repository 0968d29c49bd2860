import type { Pool, PoolClient } from 'pg';
import { isClosedState, type BillingPeriod, type CustomerSnapshot, type PlanSnapshot } from '#domain';
import {
  assignInvoiceNumber,
  closeInvoiceWithNumber,
  loadInvoice,
  readAssignments,
  readLedger,
  type PostgresEventStore,
} from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { Projector } from '../../../projector/src/start-projector';
import { caughtUp, seedCatalog, startSpecProjector } from '../../../projector/src/billing-cycle/testing/cycle-fixtures';
import { appendUsage, usageRecorded } from '../../../projector/src/usage/testing/usage-fixtures';
import { invoiceIdFor, type BillingContext } from './billing-context';
import { calculationRecordOf, findCalculation, loadCalculationInputsBatch } from './calculation';
import { writeInvoiceBatch, type BatchInvoiceWork } from './invoice-batch.operations';

/*
 * writeInvoiceBatch on a real PostgreSQL: many invoices drafted and closed in one transaction, with
 * gapless numbers in the batch's order, their calculations stored, their journal entries posted; a
 * crash before the commit leaves nothing at all (and the rerun numbers from where the log is); an
 * invoice that already holds a number (a close that crashed) is left to its own path, which keeps
 * that number; closed invoices are never touched again.
 */
const TENANT = 'acme';
const MARCH: BillingPeriod = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
const CUSTOMERS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const PLAN: PlanSnapshot = {
  key: 'pro',
  version: 1,
  name: 'Pro',
  currency: 'USD',
  billing_interval: 'month',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '20.00' },
    { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.10' },
  ],
  minimum_commitment: null,
};
const customer = (id: string): CustomerSnapshot => ({ id, name: id, email: null, currency: 'USD', timezone: 'UTC' });
const at = new Date('2026-04-01T01:00:00.000Z');

describe('writeInvoiceBatch: draft and close many invoices in one transaction', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let projector: Projector;
  const subscriptions = new Map<string, string>();
  const billing = (pool: Pool = db.pool): BillingContext => ({
    pool,
    store,
    tenantId: TENANT,
    actor: 'system:test',
    requestId: 'req_batch',
    now: () => at,
  });

  /** The March works of these customers (close requested), calculated by the batch loader. */
  async function works(customers: readonly string[]): Promise<BatchInvoiceWork[]> {
    await caughtUp(db, store);
    const outcomes = await loadCalculationInputsBatch({
      pool: db.pool,
      store,
      tenantId: TENANT,
      items: customers.map((c) => ({ subscriptionId: subscriptions.get(c)!, period: MARCH })),
    });
    return outcomes.map(({ inputs }, index) => ({
      invoiceId: invoiceIdFor(subscriptions.get(customers[index])!, MARCH),
      record: calculationRecordOf(inputs!),
      close: { customer: customer(customers[index]), plan: PLAN, at },
    }));
  }
  const numbers = async () => (await readAssignments(store, TENANT)).map((a) => [a.invoice_id, a.sequence]);
  const invoiceOf = (c: string) => invoiceIdFor(subscriptions.get(c)!, MARCH);

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ store, projector } = await startSpecProjector(db));
    const catalog = await seedCatalog(store, TENANT);
    for (const c of CUSTOMERS) subscriptions.set(c, await catalog.subscribe(c, '2026-03-01'));
    await appendUsage(
      store,
      CUSTOMERS.map((c, i) =>
        usageRecorded({
          tenant: TENANT,
          customer: c,
          metric: 'calls',
          timestamp: '2026-03-10T00:00:00.000Z',
          value: String(10 * (i + 1)),
        }),
      ),
    );
  });
  afterAll(async () => {
    await projector?.stop();
    await store?.close();
    await db?.close();
  });

  it('a crash before the commit leaves nothing: no number, no invoice, no calculation, no journal entry', async () => {
    const batch = await works(['c1', 'c2']);
    await expect(writeInvoiceBatch(billing(crashingAtCommit(db.pool)), batch)).rejects.toThrow('crash at commit');
    expect(await numbers()).toEqual([]);
    for (const c of ['c1', 'c2']) expect((await loadInvoice(store, TENANT, invoiceOf(c))).state.status).toBe('absent');
    expect(await findCalculation(store, TENANT, batch[0].record.calculation.id)).toBeNull();
    expect(await readLedger(store, TENANT, 'c1')).toEqual([]);
  });

  it('drafts and closes every invoice of the batch, numbered 1..n in its order, with calculation and journal', async () => {
    const batch = await works(['c2', 'c1', 'c3']);
    const results = await writeInvoiceBatch(billing(), batch);
    expect(results.map((r) => [r.change, r.status, r.closedNow, r.deferred])).toEqual([
      ['drafted', 'closed', true, undefined],
      ['drafted', 'closed', true, undefined],
      ['drafted', 'closed', true, undefined],
    ]);
    expect(await numbers()).toEqual([
      [invoiceOf('c2'), 1],
      [invoiceOf('c1'), 2],
      [invoiceOf('c3'), 3],
    ]);
    for (const [index, c] of ['c2', 'c1', 'c3'].entries()) {
      const events = await store.readStream(`${TENANT}:invoice-${invoiceOf(c)}`);
      expect(events.map((e) => e.type)).toEqual(['InvoiceDrafted', 'InvoiceClosed']);
      const { state } = await loadInvoice(store, TENANT, invoiceOf(c));
      if (!isClosedState(state)) throw new Error(`${c} is not closed`);
      expect(state.invoice).toMatchObject({ number: `INV-00000${index + 1}`, closed_at: at.toISOString() });
      expect(state.invoice.total).toBe(batch[index].record.calculation.total);
      expect(await findCalculation(store, TENANT, batch[index].record.calculation.id)).not.toBeNull();
      expect((await readLedger(store, TENANT, c)).map((entry) => entry.reference)).toHaveLength(1);
    }
    // c1: 20.00 + 10 calls x 0.10.
    expect(batch[1].record.calculation.total).toBe('21.00');
  });

  it('never touches a closed invoice again, and defers one that already holds a number', async () => {
    // c4's close crashed after its commit point: it holds number 4, and is still a draft.
    const [c4] = await works(['c4']);
    await writeInvoiceBatch(billing(), [{ ...c4, close: undefined }]);
    await assignInvoiceNumber({
      store,
      tenantId: TENANT,
      invoiceId: invoiceOf('c4'),
      request: { closed_at: at.toISOString(), customer: customer('c4'), plan: PLAN, tax_amount: null, tax_lines: [] },
      metadata: { tenant_id: TENANT, actor: 'system:test' },
    });
    const batch = await works(['c1', 'c4', 'c5']);
    const results = await writeInvoiceBatch(billing(), batch);
    expect(results.map((r) => [r.change, r.status, r.closedNow, r.deferred !== undefined])).toEqual([
      ['unchanged', 'closed', false, false],
      ['unchanged', 'draft', false, true],
      ['drafted', 'closed', true, false],
    ]);
    expect((await store.readStream(`${TENANT}:invoice-${invoiceOf('c1')}`)).map((e) => e.type)).toEqual([
      'InvoiceDrafted',
      'InvoiceClosed',
    ]);
    // The one-invoice path completes c4 with the number it holds; the numbers stay 1..5.
    const closed = await closeInvoiceWithNumber({
      store,
      tenantId: TENANT,
      invoiceId: invoiceOf('c4'),
      customer: customer('c4'),
      plan: PLAN,
      at,
      metadata: { tenant_id: TENANT, actor: 'system:test' },
    });
    expect(closed.number).toBe('INV-000004');
    expect((await numbers()).map(([, n]) => n)).toEqual([1, 2, 3, 4, 5]);
    expect((await numbers())[4]).toEqual([invoiceOf('c5'), 5]);
  });
});

/** The pool, except that every transaction's COMMIT fails (the process dies there): it is rolled back. */
function crashingAtCommit(pool: Pool): Pool {
  return {
    connect: async (): Promise<PoolClient> => {
      const client = await pool.connect();
      const { query, release } = client;
      client.query = ((...args: unknown[]) =>
        args[0] === 'COMMIT'
          ? Promise.reject(new Error('crash at commit'))
          : (query as (...a: unknown[]) => unknown).apply(client, args)) as typeof client.query;
      client.release = ((error?: Error | boolean) => {
        client.query = query;
        client.release = release;
        return release.call(client, error);
      }) as typeof client.release;
      return client;
    },
  } as unknown as Pool;
}
