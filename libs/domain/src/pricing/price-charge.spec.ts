import { sumMoney } from '../money';
import { PricingError, type Charge, type PricedLine } from './charge';
import { applyMinimumCommitment } from './commitment';
import { toGroupedUsage } from './grouped-usage';
import { priceCharge } from './price-charge';

/** Every example: amounts computed by hand in the comments; breakdown always sums to the line. */
function price(charge: Charge, usage: Parameters<typeof priceCharge>[1], currency = 'USD', options = {}): PricedLine {
  const line = priceCharge(charge, usage, currency, options);
  expect(
    sumMoney(
      line.breakdown.map((row) => row.amount),
      currency,
    ),
  ).toBe(line.amount);
  return line;
}

const rows = (line: PricedLine) =>
  line.breakdown.map((row) => [row.kind, row.tier ?? row.group, row.quantity, row.amount]);

function pricingError(run: () => unknown): PricingError {
  try {
    run();
  } catch (error) {
    if (error instanceof PricingError) return error;
    throw error;
  }
  throw new Error('expected a PricingError');
}

describe('per_unit', () => {
  const charge: Charge = { key: 'calls', model: 'per_unit', metric_key: 'api_calls', unit_price: '0.002' };

  it('multiplies usage by the unit price', () => {
    const line = price(charge, '12345'); // 12345 × 0.002 = 24.69
    expect(line).toEqual({
      charge_key: 'calls',
      model: 'per_unit',
      quantity: '12345',
      amount: '24.69',
      breakdown: [
        {
          kind: 'unit',
          tier: null,
          from: null,
          up_to: null,
          group: null,
          quantity: '12345',
          unit_price: '0.002',
          flat_fee: null,
          amount: '24.69',
        },
      ],
    });
  });

  it('rounds the line once, half away from zero', () => {
    const tiny = { ...charge, unit_price: '0.0005' };
    expect(price(tiny, '1001').amount).toBe('0.50'); // 0.5005
    expect(price(tiny, '1010').amount).toBe('0.51'); // 0.505 -> half away from zero
    expect(price({ ...charge, unit_price: '0.5' }, '3', 'JPY').amount).toBe('2'); // 1.5 JPY
    expect(price({ ...charge, unit_price: '0.0005' }, '3', 'KWD').amount).toBe('0.002'); // 0.0015 KWD
  });
});

describe('tiered (graduated)', () => {
  const charge: Charge = {
    key: 'storage',
    model: 'tiered',
    metric_key: 'gb',
    tiers: [
      { up_to: '1000', unit_price: '0', flat_fee: '10' },
      { up_to: '5000', unit_price: '0.01' },
      { up_to: null, unit_price: '0.005', flat_fee: '5' },
    ],
  };

  it('charges the first tier flat fee at zero usage', () => {
    expect(rows(price(charge, '0'))).toEqual([['tier', 1, '0', '10.00']]);
  });

  it('keeps usage exactly at up_to in the lower tier', () => {
    expect(rows(price(charge, '1000'))).toEqual([['tier', 1, '1000', '10.00']]);
  });

  it('prices 1000.5 continuously: 0.5 units in the tier above up_to 1000', () => {
    const line = price(charge, '1000.5'); // 10 + 0.5 × 0.01 = 10.005 -> 10.01
    expect(line.amount).toBe('10.01');
    // 1001 cents split 10 : 0.005 by largest remainder: 1000.4997… and 0.5002… -> 1000 and 1
    expect(rows(line)).toEqual([
      ['tier', 1, '1000', '10.00'],
      ['tier', 2, '0.5', '0.01'],
    ]);
    expect(line.breakdown[1]).toMatchObject({ from: '1000', up_to: '5000', unit_price: '0.01', flat_fee: null });
  });

  it('charges each reached tier: 7000 units', () => {
    // tier 1: 10; tier 2: 4000 × 0.01 = 40; tier 3: 2000 × 0.005 + 5 = 15
    const line = price(charge, '7000');
    expect(line.amount).toBe('65.00');
    expect(rows(line)).toEqual([
      ['tier', 1, '1000', '10.00'],
      ['tier', 2, '4000', '40.00'],
      ['tier', 3, '2000', '15.00'],
    ]);
    expect(line.breakdown[2]).toMatchObject({ from: '5000', up_to: null, flat_fee: '5' });
  });
});

describe('volume', () => {
  const charge: Charge = {
    key: 'seats',
    model: 'volume',
    metric_key: 'seats',
    tiers: [
      { up_to: '100', unit_price: '1' },
      { up_to: '1000', unit_price: '0.8', flat_fee: '20' },
      { up_to: null, unit_price: '0.5' },
    ],
  };

  it.each([
    ['0', '0.00', 1], // first tier, no flat fee
    ['100', '100.00', 1], // 100 × 1
    ['100.0000000001', '100.00', 2], // 100.0000000001 × 0.8 + 20 = 100.00000000008
    ['101', '100.80', 2], // 101 × 0.8 + 20
    ['1000', '820.00', 2], // 800 + 20
    ['1001', '500.50', 3], // every unit at 0.5: totals fall as usage rises
  ])('usage %s costs %s (tier %i)', (usage, amount, tier) => {
    const line = price(charge, usage);
    expect(line.amount).toBe(amount);
    expect(line.breakdown).toHaveLength(1);
    expect(line.breakdown[0]).toMatchObject({ kind: 'tier', tier, quantity: usage });
  });
});

describe('package', () => {
  const charge: Charge = {
    key: 'sms',
    model: 'package',
    metric_key: 'sms',
    package_size: '100',
    package_price: '5',
    free_units: '50',
  };

  it.each([
    ['0', '0', '0.00'],
    ['50', '0', '0.00'], // all free
    ['51', '1', '5.00'], // a started package
    ['150', '1', '5.00'], // exactly one package after the free units: not bumped
    ['150.0000000001', '2', '10.00'],
    ['250', '2', '10.00'],
  ])('usage %s is %s packages, %s', (usage, packages, amount) => {
    const line = price(charge, usage);
    expect(line.quantity).toBe(usage);
    expect(rows(line)).toEqual([['package', null, packages, amount]]);
  });
});

describe('flat_fee', () => {
  const charge: Charge = { key: 'platform', model: 'flat_fee', amount: '29.99' };

  it('charges the amount, prorated by the given factor', () => {
    expect(price(charge, '0').amount).toBe('29.99');
    expect(price(charge, '0', 'USD', { proration_factor: '0.5' }).amount).toBe('15.00'); // 14.995
    const partial = price(charge, '0', 'USD', { proration_factor: '0.3225806452' }); // 10 of 31 days: 9.6741935495…
    expect(partial.amount).toBe('9.67');
    expect(partial.quantity).toBe('0.3225806452');
  });

  it('rejects a factor outside 0-1', () => {
    expect(pricingError(() => priceCharge(charge, '0', 'USD', { proration_factor: '1.5' })).code).toBe(
      'PRICING.INVALID_PRORATION',
    );
  });
});

describe('matrix', () => {
  const charge: Charge = {
    key: 'compute',
    model: 'matrix',
    metric_key: 'instance_hours',
    dimensions: ['region', 'instance'],
    prices: [
      { match: { region: 'eu', instance: 'gpu' }, unit_price: '2.5' },
      { match: { region: 'us', instance: 'gpu' }, unit_price: '2' },
    ],
    default_unit_price: '0.1',
  };

  it('prices each group by its match or the default, with a row per group', () => {
    const line = price(charge, [
      { group: { region: 'eu', instance: 'gpu' }, quantity: '10' }, // 25
      { group: { region: 'us', instance: 'cpu' }, quantity: '100' }, // default: 10
      { group: { region: 'eu', instance: null }, quantity: '3' }, // default: 0.3
    ]);
    expect(line.amount).toBe('35.30');
    expect(line.quantity).toBe('113');
    expect(rows(line)).toEqual([
      ['group', { region: 'eu', instance: 'gpu' }, '10', '25.00'],
      ['group', { region: 'us', instance: 'cpu' }, '100', '10.00'],
      ['group', { region: 'eu', instance: null }, '3', '0.30'],
    ]);
  });

  it('accepts grouped aggregation results directly', () => {
    const usage = toGroupedUsage([{ key: 'k', group: { region: 'us', instance: 'gpu' }, value: null }]);
    expect(price(charge, usage).amount).toBe('0.00');
  });

  it('refuses a group with no price and no default', () => {
    const strict = { ...charge, default_unit_price: null };
    const error = pricingError(() =>
      priceCharge(strict, [{ group: { region: 'ap', instance: 'gpu' }, quantity: '1' }], 'USD'),
    );
    expect(error.code).toBe('PRICING.UNPRICED_GROUP');
    expect(error.message).toContain('"ap"');
  });

  it('needs grouped usage', () => {
    expect(pricingError(() => priceCharge(charge, '5', 'USD')).code).toBe('PRICING.INVALID_USAGE');
  });
});

describe('custom_formula', () => {
  const charge = (formula: string): Charge => ({ key: 'f', model: 'custom_formula', metric_key: 'm', formula });

  it.each([
    ['max(0, usage - 100) * 0.01', '50', '0.00'],
    ['max(0, usage - 100) * 0.01', '1150', '10.50'],
    ['round(usage / 3, 2)', '10', '3.33'],
    ['ceil(usage / 1000) * 5', '1001', '10.00'],
    ['floor(usage / 1000) * 5 + abs(-1)', '1999', '6.00'],
    ['min(usage, 100) * 0.1 + max(usage - 100, 0) * 0.05', '300', '20.00'],
    ['usage - 100', '50', '0.00'], // negative values charge nothing
    ['usage / 3', '1', '0.33'], // 0.333… rounded once
  ])('%s at usage %s is %s', (formula, usage, amount) => {
    const line = price(charge(formula), usage);
    expect(line.amount).toBe(amount);
    expect(line.breakdown[0]).toMatchObject({ kind: 'formula', quantity: usage, unit_price: null });
  });

  it('reports division by zero at pricing time as a typed error', () => {
    expect(pricingError(() => priceCharge(charge('100 / (usage - 5)'), '5', 'USD')).code).toBe(
      'PRICING.FORMULA_EVALUATION',
    );
  });
});

describe('min_amount / max_amount', () => {
  const charge: Charge = {
    key: 'c',
    model: 'per_unit',
    metric_key: 'm',
    unit_price: '0.01',
    min_amount: '5',
    max_amount: '20',
  };

  it('raises a small line to the minimum, with an adjustment row', () => {
    expect(rows(price(charge, '100'))).toEqual([
      ['unit', null, '100', '1.00'],
      ['minimum_adjustment', null, '1', '4.00'],
    ]);
    expect(price(charge, '0').amount).toBe('5.00');
  });

  it('caps a large line at the maximum, with a negative adjustment row', () => {
    const line = price(charge, '5000');
    expect(line.amount).toBe('20.00');
    expect(rows(line)).toEqual([
      ['unit', null, '5000', '50.00'],
      ['maximum_adjustment', null, '1', '-30.00'],
    ]);
  });

  it('adds no row when the line is within bounds or rounds to the bound', () => {
    expect(rows(price(charge, '1000'))).toEqual([['unit', null, '1000', '10.00']]);
    const fine = { ...charge, max_amount: '10.004' };
    expect(rows(price(fine, '1000.3'))).toEqual([['unit', null, '1000.3', '10.00']]); // 10.003 and 10.004 both round to 10.00
  });
});

describe('usage and charge errors', () => {
  const charge: Charge = { key: 'c', model: 'per_unit', metric_key: 'm', unit_price: '1' };

  it.each(['-1', 'abc', '1e3'])('rejects usage %p', (usage) => {
    expect(pricingError(() => priceCharge(charge, usage, 'USD')).code).toBe('PRICING.INVALID_USAGE');
  });

  it('refuses an invalid charge with every problem', () => {
    const error = pricingError(() => priceCharge({ ...charge, unit_price: '-1' }, '1', 'USD'));
    expect(error.code).toBe('PRICING.INVALID_CHARGE');
    expect(error.errors).toEqual([{ field: 'unit_price', message: 'must not be negative' }]);
  });
});

describe('applyMinimumCommitment', () => {
  const lines = [
    price({ key: 'a', model: 'flat_fee', amount: '30' }, '0'),
    price({ key: 'b', model: 'per_unit', metric_key: 'm', unit_price: '0.155' }, '100'),
  ]; // 30.00 + 15.50

  it('adds a true-up line for the shortfall', () => {
    const result = applyMinimumCommitment(lines, '100', 'USD');
    expect(result.slice(0, 2)).toEqual(lines);
    expect(result[2]).toMatchObject({ charge_key: 'minimum_commitment', model: 'minimum_commitment', amount: '54.50' });
    expect(result[2].breakdown).toEqual([
      expect.objectContaining({ kind: 'commitment_true_up', unit_price: '100.00', amount: '54.50' }),
    ]);
    expect(
      sumMoney(
        result.map((line) => line.amount),
        'USD',
      ),
    ).toBe('100.00');
  });

  it('prorates the commitment and adds nothing once it is met', () => {
    expect(applyMinimumCommitment(lines, '45.5', 'USD')).toEqual(lines);
    expect(applyMinimumCommitment(lines, '100', 'USD', { proration_factor: '0.4' })).toEqual(lines); // 40.00 < 45.50
    expect(applyMinimumCommitment(lines, null, 'USD')).toEqual(lines);
  });

  it('rejects a bad commitment', () => {
    expect(pricingError(() => applyMinimumCommitment(lines, '-5', 'USD')).code).toBe('PRICING.INVALID_COMMITMENT');
  });
});
