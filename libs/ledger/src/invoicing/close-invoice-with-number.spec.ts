import { BillingError, invoiceSequenceOf, type InvoiceCommand } from '#domain';
import { createPool } from '#platform';
import { fixtureCalculation, fixtureCustomer, fixturePlan } from '../../../domain/src/billing/testing/billing-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { EventMetadata, EventStore, NewEvent } from '../event-store';
import { foldBalances } from '../journal/balances';
import { readLedger } from '../journal/post-entry';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { recordAdjustment, runInvoiceCommand } from './billing-commands';
import { closeInvoiceWithNumber, completeInvoiceCloses } from './close-invoice-with-number';
import { readAssignments } from './invoice-numbering';
import { loadInvoice } from './invoice-store';

const metadata = (tenant: string): EventMetadata => ({ tenant_id: tenant, actor: 'system:test', request_id: 'req_1' });
const closedAt = new Date('2026-02-02T05:00:00.000Z');

/** A store that "crashes" (throws before writing) on the appends `failOn` picks, once each. */
function crashingStore(
  store: EventStore,
  failOn: (stream: string, events: readonly NewEvent[]) => boolean,
): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'append') {
        return async (stream: string, events: readonly NewEvent[], options?: object) => {
          if (failOn(stream, events)) throw new Error(`simulated crash before appending to ${stream}`);
          return target.append(stream, events, options);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('closeInvoiceWithNumber: gapless per-tenant numbering on the real event store', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let replicaPool: TestDatabase['pool'];
  let replica: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    // A second "replica": its own pool and store on the same database.
    replicaPool = createPool(db.url, { max: 10, applicationName: 'abaxus-test-replica' });
    replica = new PostgresEventStore(replicaPool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await replica.close();
    await replicaPool.end();
    await store.close();
    await db.close();
  });

  async function draft(tenant: string, invoiceId: string, customerId = 'cust_1'): Promise<void> {
    const command: InvoiceCommand = {
      type: 'DraftInvoice',
      invoice_id: invoiceId,
      calculation: fixtureCalculation({ customer_id: customerId, subscription_id: `sub_${customerId}` }),
      at: new Date('2026-02-01T06:00:00.000Z'),
    };
    await runInvoiceCommand({ store, tenantId: tenant, command, metadata: metadata(tenant) });
  }

  const close = (
    tenant: string,
    invoiceId: string,
    options: { on?: EventStore; customerId?: string; at?: Date } = {},
  ) =>
    closeInvoiceWithNumber({
      store: options.on ?? store,
      tenantId: tenant,
      invoiceId,
      customer: fixtureCustomer(options.customerId ?? 'cust_1'),
      plan: fixturePlan,
      at: options.at ?? closedAt,
      metadata: metadata(tenant),
    });

  /** Every number of the tenant, from the invoices themselves: closed ones must be exactly 1..n. */
  async function closedNumbers(tenant: string, invoiceIds: string[]): Promise<number[]> {
    const numbers: number[] = [];
    for (const id of invoiceIds) {
      const { state } = await loadInvoice(store, tenant, id);
      if ('invoice' in state) numbers.push(invoiceSequenceOf(state.invoice.number)!);
    }
    return numbers.sort((a, b) => a - b);
  }

  it('numbers closes INV-000001, 2, 3 per tenant; closing again returns the same number', async () => {
    for (const id of ['a1', 'a2', 'a3']) await draft('seq', id);
    await draft('other', 'a1');
    const first = await close('seq', 'a1');
    expect(first).toMatchObject({ number: 'INV-000001', closedNow: true });
    expect((await close('seq', 'a2')).number).toBe('INV-000002');
    expect((await close('other', 'a1')).number).toBe('INV-000001');
    expect((await close('seq', 'a3')).number).toBe('INV-000003');
    const again = await close('seq', 'a1', { at: new Date('2026-03-01T00:00:00.000Z') });
    expect(again).toMatchObject({ number: 'INV-000001', closedNow: false, position: null });
    expect(again.invoice).toEqual(first.invoice);
    expect((await readAssignments(store, 'seq')).map((a) => [a.invoice_id, a.number])).toEqual([
      ['a1', 'INV-000001'],
      ['a2', 'INV-000002'],
      ['a3', 'INV-000003'],
    ]);
  });

  it('concurrent closes from two replicas, each invoice closed twice at once: numbers 1..n, one per invoice', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `c${i}`);
    for (const id of ids) await draft('conc', id);
    const attempts = [...ids, ...ids].map((id, i) => ({ id, on: i % 2 === 0 ? store : replica }));
    // Interleave: each invoice's two closes are far apart in the list but run at the same time.
    const results = await Promise.all(attempts.map(({ id, on }) => close('conc', id, { on })));
    const byInvoice = new Map<string, Set<string>>();
    results.forEach((result, i) => {
      const set = byInvoice.get(attempts[i].id) ?? new Set<string>();
      set.add(result.number);
      byInvoice.set(attempts[i].id, set);
    });
    expect([...byInvoice.values()].every((numbers) => numbers.size === 1)).toBe(true);
    expect(results.filter((r) => r.closedNow)).toHaveLength(ids.length);
    expect(await closedNumbers('conc', ids)).toEqual(ids.map((_, i) => i + 1));
    const assignments = await readAssignments(store, 'conc');
    expect(assignments.map((a) => a.sequence)).toEqual(ids.map((_, i) => i + 1));
    expect(new Set(assignments.map((a) => a.invoice_id)).size).toBe(ids.length);
    for (const id of ids.slice(0, 3))
      expect(await readLedger(store, 'conc', 'cust_1').then((l) => l.filter((e) => e.reference === id))).toHaveLength(
        1,
      );
  });

  it('a crash between the number and the close leaves no gap: the retry finishes it with the recorded request', async () => {
    for (const id of ['k1', 'k2', 'k3']) await draft('crash', id);
    const crashOnClose = crashingStore(store, (stream) => stream === 'crash:invoice-k1');
    await expect(close('crash', 'k1', { on: crashOnClose })).rejects.toThrow(/simulated crash/);
    expect((await loadInvoice(store, 'crash', 'k1')).state.status).toBe('draft');
    expect((await readAssignments(store, 'crash')).map((a) => a.invoice_id)).toEqual(['k1']);
    // Later closes take the next numbers: k1 keeps INV-000001.
    expect((await close('crash', 'k2')).number).toBe('INV-000002');
    const retried = await close('crash', 'k1', { at: new Date('2026-02-05T00:00:00.000Z') });
    expect(retried).toMatchObject({ number: 'INV-000001', closedNow: true });
    // Closed as requested at the commit point, not as the retry asked.
    expect(retried.invoice.closed_at).toBe(closedAt.toISOString());
    expect((await close('crash', 'k3')).number).toBe('INV-000003');
    expect(await closedNumbers('crash', ['k1', 'k2', 'k3'])).toEqual([1, 2, 3]);
  });

  it('nobody retries: the sweep completes every assigned but unclosed invoice', async () => {
    for (const id of ['s1', 's2', 's3', 's4']) await draft('sweep', id);
    const crashOnClose = crashingStore(store, (stream) => /^sweep:invoice-s[13]$/.test(stream));
    await expect(close('sweep', 's1', { on: crashOnClose })).rejects.toThrow(/simulated crash/);
    expect((await close('sweep', 's2')).number).toBe('INV-000002');
    await expect(close('sweep', 's3', { on: crashOnClose })).rejects.toThrow(/simulated crash/);
    expect(await closedNumbers('sweep', ['s1', 's2', 's3', 's4'])).toEqual([2]);
    const swept = await completeInvoiceCloses({ store, tenantId: 'sweep', metadata: metadata('sweep') });
    expect(swept).toEqual({
      checked: 3,
      completed: [
        { invoice_id: 's1', number: 'INV-000001' },
        { invoice_id: 's3', number: 'INV-000003' },
      ],
      lastSequence: 3,
    });
    expect(await closedNumbers('sweep', ['s1', 's2', 's3', 's4'])).toEqual([1, 2, 3]);
    expect(
      await completeInvoiceCloses({ store, tenantId: 'sweep', metadata: metadata('sweep'), fromSequence: 4 }),
    ).toEqual({
      checked: 0,
      completed: [],
      lastSequence: 0,
    });
    expect((await close('sweep', 's4')).number).toBe('INV-000004');
  });

  it('a crash before the journal entry is posted is completed by the retry (the entry is posted once)', async () => {
    await draft('journal', 'j1');
    const crashOnLedger = crashingStore(store, (stream) => stream.startsWith('journal:ledger-'));
    await expect(close('journal', 'j1', { on: crashOnLedger })).rejects.toThrow(/simulated crash/);
    expect((await loadInvoice(store, 'journal', 'j1')).state.status).toBe('closed');
    expect(await readLedger(store, 'journal', 'cust_1')).toEqual([]);
    const retried = await close('journal', 'j1');
    expect(retried).toMatchObject({ number: 'INV-000001', closedNow: false });
    await close('journal', 'j1');
    const ledger = await readLedger(store, 'journal', 'cust_1');
    expect(ledger.map((e) => [e.kind, e.reference])).toEqual([['invoice', 'j1']]);
    expect(retried.journal?.entry).toEqual(ledger[0]);
  });

  it('refuses before taking a number: no number is ever taken for a close that must fail', async () => {
    await draft('refuse', 'r1');
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (error: unknown) => (error instanceof BillingError ? error.code : String(error)),
      );
    expect(await codeOf(close('refuse', 'nope'))).toBe('INVOICE.NOT_FOUND');
    expect(await codeOf(close('refuse', 'r1', { customerId: 'cust_9' }))).toBe('INVOICE.INVALID');
    expect(await readAssignments(store, 'refuse')).toEqual([]);
    expect((await close('refuse', 'r1')).number).toBe('INV-000001');
  });

  it('void, payment and adjustments post their entries; the ledger balances are the fold of them', async () => {
    const tenant = 'books';
    const meta = metadata(tenant);
    for (const id of ['b1', 'b2']) await draft(tenant, id);
    await close(tenant, 'b1');
    await close(tenant, 'b2');
    const at = new Date('2026-02-10T00:00:00.000Z');
    const paid = await runInvoiceCommand({
      store,
      tenantId: tenant,
      command: { type: 'RecordPayment', invoice_id: 'b1', payment_id: 'pay_1', amount: '100.00', at },
      metadata: meta,
    });
    expect(paid.events.map((e) => e.type)).toEqual(['InvoicePaid']);
    await runInvoiceCommand({
      store,
      tenantId: tenant,
      command: { type: 'VoidInvoice', invoice_id: 'b2', reason: 'duplicate', credit_note_id: 'cn_b2', at },
      metadata: meta,
    });
    const adjustment = {
      type: 'RecordAdjustment' as const,
      adjustment_id: 'adj_b',
      customer_id: 'cust_1',
      amount: '-12.50',
      currency: 'USD',
      reason: 'outage',
      kind: 'manual' as const,
      at,
    };
    await recordAdjustment({ store, tenantId: tenant, command: adjustment, metadata: meta });
    const retried = await recordAdjustment({ store, tenantId: tenant, command: adjustment, metadata: meta });
    expect(retried.events).toEqual([]);
    const ledger = await readLedger(store, tenant, 'cust_1');
    expect(ledger.map((e) => [e.kind, e.reference])).toEqual([
      ['invoice', 'b1'],
      ['invoice', 'b2'],
      ['payment', 'pay_1'],
      ['credit_note', 'cn_b2'],
      ['adjustment', 'adj_b'],
    ]);
    const balances = Object.fromEntries(foldBalances(ledger).map((b) => [b.account, b.balance]));
    expect(balances).toEqual({
      cash: '100.00',
      'credits:cust_1': '-12.50',
      'receivables:cust_1': '0.00',
      revenue: '-87.50',
    });
  });
});
