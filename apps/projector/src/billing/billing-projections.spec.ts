import {
  Dec,
  type CalculationAdjustment,
  type CloseInvoice,
  type InvoiceCommand,
  type RecordAdjustment,
} from '#domain';
import {
  closeInvoiceWithNumber,
  foldBalances,
  loadInvoice,
  PostgresEventStore,
  readLedger,
  rebuildProjection,
  recordAdjustment,
  runInvoiceCommand,
  type Checkpoint,
  type EventMetadata,
} from '#ledger';
import {
  fixtureCalculation,
  fixtureCustomer,
  fixturePlan,
} from '../../../../libs/domain/src/billing/testing/billing-fixtures';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { adjustmentsProjection } from './adjustments.projection';
import { ledgerBalances, listInvoices, listLedgerEntries, pendingAdjustments } from './billing.queries';
import { invoicesProjection } from './invoices.projection';
import { ledgerBalancesProjection } from './ledger-balances.projection';
import { ledgerEntriesProjection } from './ledger-entries.projection';

const projections = [invoicesProjection, ledgerEntriesProjection, ledgerBalancesProjection, adjustmentsProjection];
const TABLES: Record<string, string> = {
  invoices: 'SELECT * FROM invoices ORDER BY tenant_id, invoice_id',
  ledger_entries: 'SELECT * FROM ledger_entries ORDER BY tenant_id, customer_id, revision',
  ledger_balances: 'SELECT * FROM ledger_balances ORDER BY tenant_id, customer_id, account, currency',
  adjustments: 'SELECT * FROM adjustments ORDER BY tenant_id, adjustment_id',
};
const at = (day: number) => new Date(Date.UTC(2026, 1, day, 12));
type CloseOptions = Omit<CloseInvoice, 'type' | 'invoice_id' | 'number' | 'customer' | 'plan' | 'at'>;

describe('billing projections: invoices, ledger_entries, ledger_balances, adjustments', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: Checkpoint | null = null;

  const meta = (tenant: string): EventMetadata => ({ tenant_id: tenant, actor: 'system:test', request_id: 'req_b' });
  /** Remembers the furthest position appended: the barrier the projector must pass. */
  const track = (...positions: Array<Checkpoint | null | undefined>) => {
    for (const p of positions) if (p && (last === null || store.compareCheckpoints(p, last) > 0)) last = p;
  };

  async function invoice(tenant: string, command: Exclude<InvoiceCommand, CloseInvoice>) {
    const decision = await runInvoiceCommand({ store, tenantId: tenant, command, metadata: meta(tenant) });
    track(decision.position, ...decision.journal.map((j) => j.position));
  }
  async function draft(
    tenant: string,
    id: string,
    customer: string,
    adjustments: CalculationAdjustment[] = [],
    usage = '12000',
  ) {
    const calculation = fixtureCalculation({
      customer_id: customer,
      subscription_id: `sub_${customer}`,
      adjustments,
      usage,
    });
    await invoice(tenant, { type: 'DraftInvoice', invoice_id: id, calculation, at: at(1) });
  }
  async function close(tenant: string, id: string, customer: string, options: CloseOptions = {}) {
    const closed = await closeInvoiceWithNumber({
      store,
      tenantId: tenant,
      invoiceId: id,
      customer: fixtureCustomer(customer),
      plan: fixturePlan,
      at: at(2),
      metadata: meta(tenant),
      ...options,
    });
    track(closed.position, closed.journal?.position);
  }
  async function adjust(tenant: string, command: Omit<RecordAdjustment, 'type' | 'at' | 'currency'>) {
    const decision = await recordAdjustment({
      store,
      tenantId: tenant,
      command: { type: 'RecordAdjustment', currency: 'USD', at: at(1), ...command },
      metadata: meta(tenant),
    });
    track(decision.position, ...decision.journal.map((j) => j.position));
  }
  const carried = (adjustment_id: string, amount: string): CalculationAdjustment => ({
    adjustment_id,
    kind: 'manual',
    amount,
    reason: `reason ${adjustment_id}`,
    invoice_id: null,
    charge_key: null,
  });

  async function project(): Promise<void> {
    await projectTo({ pool: db.pool, store }, projections, last!, { timeoutMs: 15_000 });
  }
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(Object.entries(TABLES).map(async ([name, sql]) => [name, (await db.pool.query(sql)).rows])),
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    // c1: two adjustments carried by inv_1 (closed, paid); a third carried by inv_4 (closed, then voided).
    await adjust('acme', {
      adjustment_id: 'adj_1',
      customer_id: 'c1',
      amount: '-10.00',
      reason: 'reason adj_1',
      kind: 'manual',
    });
    await adjust('acme', {
      adjustment_id: 'adj_2',
      customer_id: 'c1',
      amount: '3.00',
      reason: 'reason adj_2',
      kind: 'manual',
    });
    await adjust('acme', {
      adjustment_id: 'adj_3',
      customer_id: 'c1',
      amount: '-5.00',
      reason: 'reason adj_3',
      kind: 'manual',
    });
    await draft('acme', 'inv_1', 'c1', [carried('adj_1', '-10.00'), carried('adj_2', '3.00')]);
    await close('acme', 'inv_1', 'c1', {
      tax_amount: '18.60',
      tax_lines: [{ name: 'VAT', rate: '0.2', amount: '18.60' }],
    });
    await invoice('acme', {
      type: 'RecordPayment',
      invoice_id: 'inv_1',
      payment_id: 'pay_1',
      amount: '111.60',
      at: at(3),
    });
    // c2: closed, a declined payment, then voided with a credit note.
    await draft('acme', 'inv_2', 'c2');
    await close('acme', 'inv_2', 'c2');
    await invoice('acme', {
      type: 'RecordPaymentFailure',
      invoice_id: 'inv_2',
      attempt_id: 'att_1',
      reason: 'declined',
      at: at(3),
    });
    await invoice('acme', {
      type: 'VoidInvoice',
      invoice_id: 'inv_2',
      reason: 'wrong plan',
      credit_note_id: 'cn_2',
      at: at(4),
    });
    // c1: a draft that stays a draft (refreshed), and inv_4 voided: adj_3 becomes pending again.
    await draft('acme', 'inv_3', 'c1');
    await invoice('acme', {
      type: 'RefreshDraft',
      invoice_id: 'inv_3',
      calculation: fixtureCalculation({ customer_id: 'c1', subscription_id: 'sub_c1', usage: '90000' }),
      at: at(5),
    });
    await draft('acme', 'inv_4', 'c1', [carried('adj_3', '-5.00')], '500');
    await close('acme', 'inv_4', 'c1');
    await invoice('acme', {
      type: 'VoidInvoice',
      invoice_id: 'inv_4',
      reason: 'duplicate',
      credit_note_id: 'cn_4',
      at: at(6),
    });
    // Another tenant with the same ids.
    await draft('globex', 'inv_1', 'c1');
    await close('globex', 'inv_1', 'c1');
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('invoices: each row is what a read of the invoice stream says (status, number, totals)', async () => {
    await project();
    const rows = (await snapshot()).invoices as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.tenant_id, r.invoice_id, r.status, r.number, r.total])).toEqual([
      ['acme', 'inv_1', 'paid', 'INV-000001', '111.60'],
      ['acme', 'inv_2', 'void', 'INV-000002', '100.00'],
      ['acme', 'inv_3', 'draft', null, '152.00'],
      ['acme', 'inv_4', 'void', 'INV-000003', '95.00'],
      ['globex', 'inv_1', 'closed', 'INV-000001', '100.00'],
    ]);
    for (const row of rows) {
      const { state } = await loadInvoice(store, row.tenant_id as string, row.invoice_id as string);
      if (state.status === 'absent') throw new Error('fixture');
      expect(row.status).toBe(state.status);
      if ('invoice' in state) {
        const { subtotal, adjustments_total, tax_amount, total, checksum, number } = state.invoice;
        expect(row).toMatchObject({ subtotal, adjustments_total, tax_amount, total, checksum, number });
        expect((row.closed_at as Date).toISOString()).toBe(state.invoice.closed_at);
      } else {
        expect(row).toMatchObject({ total: state.draft.calculation.total, calculation_id: state.draft.calculation.id });
      }
    }
    expect(rows[0]).toMatchObject({ adjustments_total: '-7.00', tax_amount: '18.60', paid_at: at(3) });
    expect(rows[1]).toMatchObject({ payment_failures: 1, credit_note_id: 'cn_2', voided_at: at(4) });
  });

  it('lists invoices by (tenant, customer, status) a page at a time', async () => {
    const walk = async (query: { customerId?: string; status?: 'void' | 'draft' | 'paid' }) => {
      const ids: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await listInvoices(db.pool, { tenantId: 'acme', ...query, after, limit: 1 });
        if (page.length === 0) return ids;
        ids.push(...page.map((r) => r.invoice_id));
        after = page[page.length - 1].invoice_id;
      }
    };
    expect(await walk({})).toEqual(['inv_1', 'inv_2', 'inv_3', 'inv_4']);
    expect(await walk({ customerId: 'c1' })).toEqual(['inv_1', 'inv_3', 'inv_4']);
    expect(await walk({ customerId: 'c1', status: 'void' })).toEqual(['inv_4']);
    expect(await walk({ status: 'void' })).toEqual(['inv_2', 'inv_4']);
  });

  it('ledger_entries: every entry of each customer ledger, paged by revision', async () => {
    for (const [tenant, customer] of [
      ['acme', 'c1'],
      ['acme', 'c2'],
      ['globex', 'c1'],
    ]) {
      const entries = await readLedger(store, tenant, customer);
      const paged: string[] = [];
      let afterRevision: number | undefined;
      for (;;) {
        const page = await listLedgerEntries(db.pool, {
          tenantId: tenant,
          customerId: customer,
          afterRevision,
          limit: 2,
        });
        if (page.length === 0) break;
        paged.push(...page.map((r) => r.entry_id));
        afterRevision = page[page.length - 1].revision;
      }
      expect(paged).toEqual(entries.map((e) => e.entry_id));
    }
    const c1 = await listLedgerEntries(db.pool, { tenantId: 'acme', customerId: 'c1', limit: 100 });
    expect(c1.map((e) => [e.kind, e.reference])).toEqual([
      ['adjustment', 'adj_1'],
      ['adjustment', 'adj_2'],
      ['adjustment', 'adj_3'],
      ['invoice', 'inv_1'],
      ['payment', 'pay_1'],
      ['invoice', 'inv_4'],
      ['credit_note', 'cn_4'],
    ]);
    expect(c1[4].lines).toEqual([
      { account: 'cash', debit: '111.60' },
      { account: 'receivables:c1', credit: '111.60' },
    ]);
  });

  it('ledger_balances equal the fold of the entries, and every customer ledger balances', async () => {
    for (const [tenant, customer] of [
      ['acme', 'c1'],
      ['acme', 'c2'],
      ['globex', 'c1'],
    ]) {
      const expected = foldBalances(await readLedger(store, tenant, customer)).map((b) => [
        b.account,
        b.currency,
        b.debit,
        b.credit,
        b.balance,
      ]);
      const rows = await ledgerBalances(db.pool, tenant, customer);
      expect(rows.map((r) => [r.account, r.currency, r.debit, r.credit, r.balance])).toEqual(expected);
      const sum = rows.reduce((total, r) => total.plus(r.balance), new Dec(0));
      expect(sum.isZero()).toBe(true);
    }
    const c1 = Object.fromEntries((await ledgerBalances(db.pool, 'acme', 'c1')).map((r) => [r.account, r.balance]));
    // adj_3 is back in credits (its invoice was voided); receivables are paid off.
    expect(c1).toMatchObject({
      'credits:c1': '-5.00',
      'receivables:c1': '0.00',
      cash: '111.60',
      tax_payable: '-18.60',
    });
  });

  it('adjustments: carried ones are applied to their invoice; a voided invoice releases them', async () => {
    const rows = (await snapshot()).adjustments as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.adjustment_id, r.amount, r.applied_to_invoice_id])).toEqual([
      ['adj_1', '-10.00', 'inv_1'],
      ['adj_2', '3.00', 'inv_1'],
      ['adj_3', '-5.00', null],
    ]);
    expect((await pendingAdjustments(db.pool, 'acme', 'c1')).map((r) => r.adjustment_id)).toEqual(['adj_3']);
    expect(await pendingAdjustments(db.pool, 'acme', 'c2')).toEqual([]);
  });

  it('replaying the whole log twice gives the same rows in every read model', async () => {
    const before = await snapshot();
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = ANY($1)`, [
        projections.map((p) => p.name),
      ]);
      await project();
      expect(await snapshot()).toEqual(before);
    }
  });

  it('a forced rebuild of each read model into fresh tables gives the same rows', async () => {
    const before = await snapshot();
    for (const projection of projections) {
      const result = await rebuildProjection({ pool: db.pool, store, projections, name: projection.name, force: true });
      expect(result.outcome).toBe('switched');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('later events in later batches are applied once: a new invoice carrying the released adjustment', async () => {
    await draft('acme', 'inv_5', 'c1', [carried('adj_3', '-5.00')]);
    await project();
    await close('acme', 'inv_5', 'c1');
    await invoice('acme', {
      type: 'RecordPayment',
      invoice_id: 'inv_5',
      payment_id: 'pay_5',
      amount: '95.00',
      at: at(9),
    });
    await project();
    const rows = await snapshot();
    const inv5 = (rows.invoices as Array<Record<string, unknown>>).find((r) => r.invoice_id === 'inv_5');
    expect(inv5).toMatchObject({ status: 'paid', number: 'INV-000004', total: '95.00' });
    expect(await pendingAdjustments(db.pool, 'acme', 'c1')).toEqual([]);
    const c1 = Object.fromEntries((await ledgerBalances(db.pool, 'acme', 'c1')).map((r) => [r.account, r.balance]));
    expect(c1).toMatchObject({ 'credits:c1': '0.00', 'receivables:c1': '0.00', cash: '206.60' });
    await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = ANY($1)`, [
      projections.map((p) => p.name),
    ]);
    await project();
    expect(await snapshot()).toEqual(rows);
  });
});
