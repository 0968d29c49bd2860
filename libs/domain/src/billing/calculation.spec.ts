import { BillingError } from './billing.errors';
import { sealCalculation, verifyCalculation, type Calculation, type CalculationInput } from './calculation';
import { canonicalJson } from './canonical-json';
import { checksumOf } from './checksum';
import { fixtureCalculation, fixtureCalculationInput } from './testing/billing-fixtures';

function billingError(run: () => unknown): BillingError {
  try {
    run();
  } catch (error) {
    if (error instanceof BillingError) return error;
    throw error;
  }
  throw new Error('expected a BillingError');
}

/** What an auditor holds: the calculation as it comes back out of the log (JSON, jsonb key order). */
function throughTheLog<T>(value: T): T {
  const shuffle = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(shuffle)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, shuffle(x)]),
          )
        : v;
  return shuffle(JSON.parse(JSON.stringify(value))) as T;
}

describe('calculations', () => {
  it('have the documented shape: priced lines with breakdowns, totals, a checksum and an id from it', () => {
    const calculation = fixtureCalculation();
    expect(calculation).toMatchObject({
      currency: 'USD',
      plan_key: 'pro',
      plan_version: 3,
      subtotal: '100.00',
      total: '100.00',
      adjustments: [],
    });
    expect(calculation.line_items.map((line) => [line.charge_key, line.amount])).toEqual([
      ['base', '49.00'],
      ['api', '25.00'],
      ['minimum_commitment', '26.00'],
    ]);
    expect(calculation.line_items[1]).toMatchObject({
      metric_key: 'api_calls',
      quantity: '12000',
      meter_versions: [1],
      usage_checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(calculation.line_items[1].breakdown.map((row) => [row.tier, row.amount])).toEqual([
      [1, '0.00'],
      [2, '23.00'],
      [3, '2.00'],
    ]);
    const { id, checksum, ...content } = calculation;
    expect(checksum).toBe(checksumOf(content));
    expect(id).toBe(`calc_${checksum.slice(7, 39)}`);
  });

  it('same inputs give the same checksum and id; any change gives another', () => {
    expect(fixtureCalculation().id).toBe(fixtureCalculation().id);
    expect(fixtureCalculation({ usage: '12001' }).id).not.toBe(fixtureCalculation().id);
    expect(fixtureCalculation({ meter_versions: [2] }).checksum).not.toBe(fixtureCalculation().checksum);
    expect(fixtureCalculation({ customer_id: 'cust_2' }).checksum).not.toBe(fixtureCalculation().checksum);
  });

  it('an auditor re-reading it from the log (other key order) verifies the same checksum', () => {
    const calculation = fixtureCalculation({
      adjustments: [
        {
          adjustment_id: 'adj_1',
          kind: 'manual',
          amount: '-10.00',
          reason: 'goodwill',
          invoice_id: null,
          charge_key: null,
        },
      ],
    });
    const reread = throughTheLog(calculation);
    expect(canonicalJson(reread)).toBe(canonicalJson(calculation));
    expect(verifyCalculation(reread)).toEqual(calculation);
    expect(calculation.total).toBe('90.00');
  });

  it('ignores members that are not part of a calculation (they never enter the checksum)', () => {
    const input = { ...fixtureCalculationInput(), note: 'extra' } as CalculationInput;
    expect(sealCalculation(input).checksum).toBe(fixtureCalculation().checksum);
    expect(sealCalculation(input)).not.toHaveProperty('note');
  });

  it.each<[string, (c: Calculation) => Calculation, string]>([
    [
      'an edited line amount (its breakdown no longer sums to it)',
      (c) => ({ ...c, line_items: [{ ...c.line_items[0], amount: '1.00' }, ...c.line_items.slice(1)] }),
      'CALCULATION.INVALID',
    ],
    ['an edited total', (c) => ({ ...c, total: '1.00' }), 'CALCULATION.CHECKSUM_MISMATCH'],
    ['an edited checksum', (c) => ({ ...c, checksum: checksumOf('x') }), 'CALCULATION.CHECKSUM_MISMATCH'],
    ['an edited id', (c) => ({ ...c, id: 'calc_0' }), 'CALCULATION.CHECKSUM_MISMATCH'],
    [
      'an edited usage checksum',
      (c) => ({
        ...c,
        line_items: c.line_items.map((l) => ({ ...l, usage_checksum: l.usage_checksum && checksumOf('y') })),
      }),
      'CALCULATION.CHECKSUM_MISMATCH',
    ],
  ])('refuses %s', (_label, tamper, code) => {
    expect(billingError(() => verifyCalculation(tamper(fixtureCalculation()))).code).toBe(code);
  });

  it.each<[string, Partial<CalculationInput> | ((i: CalculationInput) => CalculationInput), string]>([
    ['an unknown currency', { currency: 'usd' }, 'currency'],
    ['a period that ends before it starts', { period_end: '2025-01-01T00:00:00.000Z' }, 'period_end'],
    ['a plan version 0', { plan_version: 0 }, 'plan_version'],
    [
      'an amount with too many decimals',
      (i) => ({ ...i, line_items: [{ ...i.line_items[0], amount: '49.001' }] }),
      'line_items[0].amount',
    ],
    [
      'an amount spelled differently',
      (i) => ({ ...i, line_items: [{ ...i.line_items[0], amount: '49.0' }] }),
      'line_items[0].amount',
    ],
    [
      'a breakdown that does not sum to the line',
      (i) => ({ ...i, line_items: [{ ...i.line_items[1], amount: '26.00' }] }),
      'line_items[0].breakdown',
    ],
    ['a repeated charge key', (i) => ({ ...i, line_items: [i.line_items[0], i.line_items[0]] }), 'line_items'],
    [
      'unsorted meter versions',
      (i) => ({ ...i, line_items: [{ ...i.line_items[1], meter_versions: [2, 1] }] }),
      'line_items[0].meter_versions',
    ],
    [
      'a zero adjustment',
      {
        adjustments: [
          { adjustment_id: 'a', kind: 'manual', amount: '0.00', reason: 'r', invoice_id: null, charge_key: null },
        ],
      },
      'adjustments[0].amount',
    ],
    [
      'an unknown adjustment kind',
      {
        adjustments: [
          {
            adjustment_id: 'a',
            kind: 'bonus' as never,
            amount: '1.00',
            reason: 'r',
            invoice_id: null,
            charge_key: null,
          },
        ],
      },
      'adjustments[0].kind',
    ],
  ])('refuses %s: CALCULATION.INVALID naming the field', (_label, change, field) => {
    const base = fixtureCalculationInput();
    const input = typeof change === 'function' ? change(base) : { ...base, ...change };
    const error = billingError(() => sealCalculation(input));
    expect(error.code).toBe('CALCULATION.INVALID');
    expect(error.errors.map((e) => e.field)).toContain(field);
  });
});
