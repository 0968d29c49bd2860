import fc from 'fast-check';
import { Dec, toDecimalString } from '../decimal';
import { allocate, roundToMinor, sumMoney } from '../money';
import type { Charge, GroupedUsage, Tier } from './charge';
import { graduatedRows, volumeRows } from './charge-models';
import { priceCharge } from './price-charge';
import { validateCharge } from './validate-charge';

/*
 * Laws of the pricing engine, checked on random plans and usage (fast-check). Each generator only
 * produces valid charges; every property states the law in its title.
 */

/** A non-negative decimal string with up to `scale` decimals, below 10^digits. */
const decimalArb = (digits = 6, scale = 4, min = 0n) =>
  fc
    .bigInt({ min, max: 10n ** BigInt(digits + scale) - 1n })
    .map((units) => toDecimalString(new Dec(units.toString()).dividedBy(new Dec(10).pow(scale))));
const usageArb = decimalArb(7, 10);
const priceArb = decimalArb(3, 6);
const optionalFeeArb = fc.option(decimalArb(3, 2), { nil: undefined });

const tiersArb: fc.Arbitrary<Tier[]> = fc
  .array(fc.record({ width: decimalArb(5, 3, 1n), unit_price: priceArb, flat_fee: optionalFeeArb }), {
    minLength: 1,
    maxLength: 5,
  })
  .map((drafts) => {
    let upTo = new Dec(0);
    return drafts.map((draft, index): Tier => {
      upTo = upTo.plus(draft.width);
      const tier: Tier = {
        up_to: index === drafts.length - 1 ? null : toDecimalString(upTo),
        unit_price: draft.unit_price,
      };
      if (draft.flat_fee !== undefined) tier.flat_fee = draft.flat_fee;
      return tier;
    });
  });

const tieredArb = tiersArb.map((tiers): Charge => ({ key: 't', model: 'tiered', metric_key: 'm', tiers }));
const volumeArb = tiersArb.map((tiers): Charge => ({ key: 'v', model: 'volume', metric_key: 'm', tiers }));
const packageArb = fc
  .record({ size: decimalArb(4, 2, 1n), price: priceArb, free: fc.option(decimalArb(4, 2), { nil: undefined }) })
  .map(({ size, price, free }): Charge => ({
    key: 'p',
    model: 'package',
    metric_key: 'm',
    package_size: size,
    package_price: price,
    ...(free ? { free_units: free } : {}),
  }));
const perUnitArb = priceArb.map((unit_price): Charge => ({ key: 'u', model: 'per_unit', metric_key: 'm', unit_price }));
const formulaArb = fc.tuple(decimalArb(3, 0), priceArb).map(([free, price]): Charge => ({
  key: 'f',
  model: 'custom_formula',
  metric_key: 'm',
  formula: `max(0, usage - ${free}) * ${price} + round(usage / 7, 3)`,
}));

/** Optional min/max in whole cents, min <= max. */
const limitsArb = fc
  .tuple(fc.option(decimalArb(4, 2), { nil: null }), fc.option(decimalArb(4, 2), { nil: null }))
  .map(([a, b]) =>
    a !== null && b !== null && new Dec(a).greaterThan(b)
      ? { min_amount: b, max_amount: a }
      : { min_amount: a, max_amount: b },
  );

const anyChargeArb = fc
  .tuple(fc.oneof(tieredArb, volumeArb, packageArb, perUnitArb, formulaArb), limitsArb)
  .map(([charge, limits]): Charge => ({ ...charge, ...limits }));

const exactTotal = (rows: ReturnType<typeof graduatedRows>) =>
  rows.reduce((sum, row) => sum.plus(row.exact), new Dec(0));

describe('pricing laws (property)', () => {
  it('generators only produce valid charges', () => {
    fc.assert(fc.property(anyChargeArb, (charge) => expect(validateCharge(charge)).toEqual([])));
  });

  it('graduated: the amount is monotone non-decreasing in usage', () => {
    fc.assert(
      fc.property(tieredArb, usageArb, usageArb, (charge, x, y) => {
        const [low, high] = new Dec(x).lessThanOrEqualTo(y) ? [x, y] : [y, x];
        if (charge.model !== 'tiered') throw new Error('generator');
        expect(
          exactTotal(graduatedRows(charge.tiers, new Dec(low))).lessThanOrEqualTo(
            exactTotal(graduatedRows(charge.tiers, new Dec(high))),
          ),
        ).toBe(true);
        expect(
          new Dec(priceCharge(charge, low, 'USD').amount).lessThanOrEqualTo(priceCharge(charge, high, 'USD').amount),
        ).toBe(true);
      }),
    );
  });

  it('volume: the amount is the reached tier unit price × usage + its flat fee (before rounding)', () => {
    fc.assert(
      fc.property(volumeArb, usageArb, (charge, usage) => {
        if (charge.model !== 'volume') throw new Error('generator');
        const u = new Dec(usage);
        const reached = charge.tiers.find((tier) => tier.up_to === null || u.lessThanOrEqualTo(tier.up_to)) as Tier;
        const expected = u.times(reached.unit_price).plus(reached.flat_fee ?? 0);
        expect(exactTotal(volumeRows(charge.tiers, u)).equals(expected)).toBe(true);
        expect(priceCharge(charge, usage, 'USD').amount).toBe(roundToMinor(expected, 'USD'));
      }),
    );
  });

  it('package: started packages are rounded up and an exact multiple is not bumped', () => {
    fc.assert(
      fc.property(packageArb, fc.bigInt({ min: 0n, max: 10000n }), usageArb, (charge, multiple, usage) => {
        if (charge.model !== 'package') throw new Error('generator');
        const size = new Dec(charge.package_size);
        const free = new Dec(charge.free_units ?? 0);
        const exact = priceCharge(charge, toDecimalString(free.plus(size.times(multiple.toString()))), 'USD');
        expect(exact.breakdown[0].quantity).toBe(multiple.toString());
        const line = priceCharge(charge, usage, 'USD');
        const packages = new Dec(line.breakdown[0].quantity);
        const billable = Dec.max(new Dec(usage).minus(free), 0);
        expect(packages.isInteger()).toBe(true);
        expect(packages.times(size).greaterThanOrEqualTo(billable)).toBe(true); // covers the usage
        expect(Dec.max(packages.minus(1), 0).times(size).lessThan(billable) || packages.isZero()).toBe(true); // no spare package
      }),
    );
  });

  it('tier boundaries: up_to stays in its tier, up_to + 0.0000000001 moves to the next', () => {
    fc.assert(
      fc.property(
        tiersArb.filter((tiers) => tiers.length > 1),
        fc.nat(),
        (tiers, pick) => {
          const index = pick % (tiers.length - 1);
          const boundary = new Dec(tiers[index].up_to as string);
          const above = boundary.plus('0.0000000001');
          const graduatedAt = graduatedRows(tiers, boundary);
          const graduatedAbove = graduatedRows(tiers, above);
          expect(graduatedAt.map((row) => row.tier)).toEqual(Array.from({ length: index + 1 }, (_, i) => i + 1));
          expect(graduatedAbove).toHaveLength(index + 2);
          expect(graduatedAbove[index + 1].quantity).toBe('0.0000000001');
          expect(volumeRows(tiers, boundary)[0].tier).toBe(index + 1);
          expect(volumeRows(tiers, above)[0].tier).toBe(index + 2);
        },
      ),
    );
  });

  it('a breakdown always sums exactly to the line amount, in every currency', () => {
    fc.assert(
      fc.property(anyChargeArb, usageArb, fc.constantFrom('USD', 'JPY', 'KWD', 'CLF'), (charge, usage, currency) => {
        const line = priceCharge(charge, usage, currency);
        expect(
          sumMoney(
            line.breakdown.map((row) => row.amount),
            currency,
          ),
        ).toBe(line.amount);
      }),
    );
  });

  it('a matrix breakdown sums to the line amount', () => {
    const groupsArb: fc.Arbitrary<GroupedUsage> = fc.array(
      fc.record({ group: fc.record({ region: fc.constantFrom('eu', 'us', 'ap') }), quantity: usageArb }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(groupsArb, priceArb, priceArb, (usage, eu, fallback) => {
        const charge: Charge = {
          key: 'x',
          model: 'matrix',
          metric_key: 'm',
          dimensions: ['region'],
          prices: [{ match: { region: 'eu' }, unit_price: eu }],
          default_unit_price: fallback,
        };
        const line = priceCharge(charge, usage, 'USD');
        expect(line.breakdown).toHaveLength(usage.length);
        expect(
          sumMoney(
            line.breakdown.map((row) => row.amount),
            'USD',
          ),
        ).toBe(line.amount);
      }),
    );
  });

  it('allocation parts sum to the whole', () => {
    fc.assert(
      fc.property(decimalArb(8, 2), fc.array(priceArb, { minLength: 1, maxLength: 8 }), (amount, ratios) => {
        fc.pre(ratios.some((ratio) => ratio !== '0'));
        expect(sumMoney(allocate(amount, ratios, 'USD'), 'USD')).toBe(roundToMinor(amount, 'USD'));
      }),
    );
  });

  it('min/max clamp: the line is the rounded, clamped subtotal, within the bounds', () => {
    fc.assert(
      fc.property(anyChargeArb, usageArb, (charge, usage) => {
        const unclamped = priceCharge({ ...charge, min_amount: null, max_amount: null }, usage, 'USD');
        const line = priceCharge(charge, usage, 'USD');
        let expected = new Dec(unclamped.amount);
        if (charge.min_amount) expected = Dec.max(expected, charge.min_amount);
        if (charge.max_amount) expected = Dec.min(expected, charge.max_amount);
        expect(line.amount).toBe(roundToMinor(expected, 'USD'));
        const adjustments = line.breakdown.filter((row) => row.kind.endsWith('_adjustment'));
        expect(adjustments.length).toBe(line.amount === unclamped.amount ? 0 : 1);
      }),
    );
  });
});
