import { BillingError } from '../billing.errors';
import { fixtureCalculation } from '../testing/billing-fixtures';
import { lateUsageAdjustment, lateUsageAdjustments } from './late-usage';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof BillingError) return error.code;
    throw error;
  }
  throw new Error('expected a BillingError');
}

const lineOf = (usage: string, key = 'api', meter_versions = [1]) =>
  fixtureCalculation({ usage, meter_versions }).line_items.find((line) => line.charge_key === key)!;

describe('late usage adjustments', () => {
  it('is the recomputed line minus the closed one, under the same versions', () => {
    // 12000 calls: 23.00 + 2.00 = 25.00; 15000 calls: 23.00 + 5.00 = 28.00.
    expect(lateUsageAdjustment(lineOf('12000'), lineOf('15000'))).toEqual({
      charge_key: 'api',
      amount: '3.00',
      line: { charge_key: 'api', original_amount: '25.00', recomputed_amount: '28.00' },
    });
  });

  it('is negative when late voids lower the usage, and null when nothing changes', () => {
    expect(lateUsageAdjustment(lineOf('15000'), lineOf('12000'))?.amount).toBe('-3.00');
    expect(lateUsageAdjustment(lineOf('12000'), lineOf('12000'))).toBeNull();
    // Usage inside the free tier changes the quantity, not the amount: no adjustment.
    expect(lateUsageAdjustment(lineOf('10'), lineOf('20'))).toBeNull();
  });

  it('refuses a recomputation under other meter versions or another charge', () => {
    expect(codeOf(() => lateUsageAdjustment(lineOf('12000'), lineOf('15000', 'api', [2])))).toBe(
      'ADJUSTMENT.VERSION_MISMATCH',
    );
    expect(codeOf(() => lateUsageAdjustment(lineOf('12000'), lineOf('12000', 'base')))).toBe(
      'ADJUSTMENT.VERSION_MISMATCH',
    );
  });

  it('compares whole calculations line by line; the commitment true-up moves with the usage', () => {
    // 12000 calls: 49 + 25 + true-up 26 = 100; 40000 calls: 49 + 53 (23 + 30) = 102, no true-up.
    const differences = lateUsageAdjustments(fixtureCalculation(), fixtureCalculation({ usage: '40000' }));
    expect(differences.map((d) => [d.charge_key, d.amount])).toEqual([
      ['api', '28.00'],
      ['minimum_commitment', '-26.00'],
    ]);
    expect(lateUsageAdjustments(fixtureCalculation(), fixtureCalculation())).toEqual([]);
  });

  it('refuses to compare calculations of different invoices', () => {
    expect(
      codeOf(() => lateUsageAdjustments(fixtureCalculation(), fixtureCalculation({ customer_id: 'cust_2' }))),
    ).toBe('ADJUSTMENT.VERSION_MISMATCH');
  });
});
