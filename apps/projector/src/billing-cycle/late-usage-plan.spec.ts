import { BillingError } from '#domain';
import { fixtureCalculation } from '../../../../libs/domain/src/billing/testing/billing-fixtures';
import { adjustmentIdFor, linesAfter, planLateUsage } from './late-usage-check';

/*
 * What a late-usage check adjusts, line by line, against what is billed so far. The fixture plan:
 * a 49.00 base fee, `api` tiered (12000 calls: 25.00, 40000 calls: 53.00) and a minimum commitment of
 * 100.00 whose true-up line exists only while usage stays under it (12000 calls: true-up 26.00).
 */
const closed = { invoice_id: 'inv_1', currency: 'USD', calculation: fixtureCalculation() };
const billedAsClosed = new Map(closed.calculation.line_items.map((line) => [line.charge_key, line.amount]));
const summary = (planned: ReturnType<typeof planLateUsage>) =>
  planned.map((p) => [p.charge_key, p.adjustment.original_amount, p.adjustment.recomputed_amount, p.adjustment.amount]);

describe('late usage planning', () => {
  it('adjusts each changed line by its difference; the true-up vanishing is a negative adjustment', () => {
    const recomputed = fixtureCalculation({ usage: '40000' });
    const planned = planLateUsage(closed, billedAsClosed, recomputed, 0);
    expect(summary(planned)).toEqual([
      ['api', '25.00', '53.00', '28.00'],
      ['minimum_commitment', '26.00', '0.00', '-26.00'],
    ]);
    // The invoice total moves from 100.00 to 102.00: the adjustments add up to the difference.
    expect(planned[0].adjustment.adjustment_id).toBe(
      adjustmentIdFor('inv_1', 'api', recomputed.line_items[1].usage_checksum!, 0),
    );
  });

  it('adjusts from what was billed after earlier checks, and the true-up can come back', () => {
    const up = fixtureCalculation({ usage: '40000' });
    const afterFirst = linesAfter(up, billedAsClosed, planLateUsage(closed, billedAsClosed, up, 0));
    const billed = new Map(afterFirst.map((line) => [line.charge_key, line.billed_amount]));
    expect(Object.fromEntries(billed)).toEqual({ base: '49.00', api: '53.00', minimum_commitment: '0.00' });
    // Voids bring usage back to 12000: the earlier adjustments are reversed, not the closed amounts.
    const back = planLateUsage(closed, billed, fixtureCalculation(), 1);
    expect(summary(back)).toEqual([
      ['api', '53.00', '25.00', '-28.00'],
      ['minimum_commitment', '0.00', '26.00', '26.00'],
    ]);
    // Same usage as a check before, another check: another id (the first adjustment is not mistaken for it).
    expect(back[0].adjustment.adjustment_id).not.toBe(
      planLateUsage(closed, billedAsClosed, fixtureCalculation({ usage: '40000' }), 0)[0].adjustment.adjustment_id,
    );
  });

  it('nothing changed, nothing planned; a recomputation under other meter versions is refused', () => {
    expect(planLateUsage(closed, billedAsClosed, fixtureCalculation(), 0)).toEqual([]);
    expect(() => planLateUsage(closed, billedAsClosed, fixtureCalculation({ meter_versions: [2] }), 0)).toThrow(
      BillingError,
    );
  });
});
