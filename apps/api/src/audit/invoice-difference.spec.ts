import { closedInvoiceOf, type CalculationAdjustment, type ClosedInvoice, type InvoiceDraft } from '#domain';
import {
  fixtureCalculation,
  fixtureCloseRequest,
  type FixtureCalculationOptions,
} from '../../../../libs/domain/src/billing/testing/billing-fixtures';
import { firstInvoiceDifference } from './invoice-difference';

/** Given a recorded invoice and a rebuilt one, when they are compared, then the first difference is named. */
const adjustment = (id: string, amount: string): CalculationAdjustment => ({
  adjustment_id: id,
  kind: 'manual',
  amount,
  reason: 'goodwill',
  invoice_id: null,
  charge_key: null,
});

function invoice(options: FixtureCalculationOptions = {}, tax: string | null = null): ClosedInvoice {
  const calculation = fixtureCalculation(options);
  const draft: InvoiceDraft = {
    invoice_id: 'inv_1',
    customer_id: calculation.customer_id,
    subscription_id: calculation.subscription_id,
    currency: calculation.currency,
    period_start: calculation.period_start,
    period_end: calculation.period_end,
    calculation,
    drafted_at: '2026-02-01T06:00:00.000Z',
    refreshed_at: null,
  };
  return closedInvoiceOf(draft, 'INV-000001', fixtureCloseRequest({ tax_amount: tax }));
}

// JSON, as the store hands documents back (structuredClone would give another realm's objects under Jest).
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A copy with one member changed (what tampering with the stored document does). */
function edited(document: ClosedInvoice, edit: (copy: ClosedInvoice) => void): ClosedInvoice {
  const copy = clone(document);
  edit(copy);
  return copy;
}

describe('firstInvoiceDifference', () => {
  const recorded = invoice({ usage: '12000', adjustments: [adjustment('adj_1', '-5.00')] });

  it('finds none between an invoice and its identical rebuild (key order aside)', () => {
    const reordered = Object.fromEntries(Object.entries(clone(recorded)).reverse()) as ClosedInvoice;
    expect(firstInvoiceDifference(recorded, clone(recorded))).toBeNull();
    expect(firstInvoiceDifference(recorded, reordered)).toBeNull();
  });

  it('names the first line whose usage differs, at its quantity', () => {
    const rebuilt = invoice({ usage: '11000', adjustments: [adjustment('adj_1', '-5.00')] });
    expect(firstInvoiceDifference(recorded, rebuilt)).toEqual({
      charge_key: 'api',
      field: 'quantity',
      recorded: '12000',
      recomputed: '11000',
    });
  });

  it('names a usage checksum that differs when the quantity does not (other events, same total)', () => {
    const rebuilt = edited(recorded, (copy) => {
      copy.calculation.line_items[1].usage_checksum = 'sha256:' + '0'.repeat(64);
    });
    expect(firstInvoiceDifference(recorded, rebuilt)).toEqual({
      charge_key: 'api',
      field: 'usage_checksum',
      recorded: recorded.calculation.line_items[1].usage_checksum,
      recomputed: 'sha256:' + '0'.repeat(64),
    });
  });

  it('names a line only one side has', () => {
    const missing = edited(recorded, (copy) => {
      copy.calculation.line_items = copy.calculation.line_items.filter((line) => line.charge_key !== 'base');
    });
    expect(firstInvoiceDifference(recorded, missing)).toMatchObject({
      charge_key: 'base',
      field: 'line',
      recomputed: null,
    });
    expect(firstInvoiceDifference(missing, recorded)).toMatchObject({
      charge_key: 'base',
      field: 'line',
      recorded: null,
    });
  });

  it('names an adjustment carried on one side only, or with another amount', () => {
    const without = invoice({ usage: '12000' });
    expect(firstInvoiceDifference(recorded, without)).toMatchObject({
      charge_key: null,
      field: 'adjustments.adj_1',
      recomputed: null,
    });
    const other = invoice({ usage: '12000', adjustments: [adjustment('adj_1', '-6.00')] });
    expect(firstInvoiceDifference(recorded, other)).toEqual({
      charge_key: null,
      field: 'adjustments.adj_1.amount',
      recorded: '-5.00',
      recomputed: '-6.00',
    });
  });

  it('names an edited invoice total, and an edited document by its checksum', () => {
    const total = edited(recorded, (copy) => {
      copy.total = '0.00';
    });
    expect(firstInvoiceDifference(total, recorded)).toEqual({
      charge_key: null,
      field: 'total',
      recorded: '0.00',
      recomputed: recorded.total,
    });
    // The customer's name is not compared member by member: the checksum covers it.
    const renamed = edited(recorded, (copy) => {
      copy.customer.name = 'Someone else';
    });
    expect(firstInvoiceDifference(renamed, recorded)).toMatchObject({ charge_key: null, field: 'customer' });
    const resealed = edited(recorded, (copy) => {
      copy.checksum = 'sha256:' + 'f'.repeat(64);
    });
    expect(firstInvoiceDifference(resealed, recorded)).toMatchObject({ charge_key: null, field: 'checksum' });
  });

  it('names tax and plan pricing that differ', () => {
    expect(firstInvoiceDifference(invoice({ usage: '12000' }, '3.00'), invoice({ usage: '12000' }, '2.00'))).toEqual({
      charge_key: null,
      field: 'tax_amount',
      recorded: '3.00',
      recomputed: '2.00',
    });
    const repriced = edited(recorded, (copy) => {
      copy.plan.minimum_commitment = '0';
    });
    expect(firstInvoiceDifference(recorded, repriced)).toEqual({
      charge_key: null,
      field: 'plan.minimum_commitment',
      recorded: '100',
      recomputed: '0',
    });
  });

  it('names lines in another order when every line agrees', () => {
    const swapped = edited(recorded, (copy) => {
      copy.calculation.line_items.reverse();
    });
    expect(firstInvoiceDifference(recorded, swapped)).toMatchObject({ charge_key: null, field: 'line_items' });
  });
});
