import { PricingError } from './charge';
import { normalizeCharge, validateCharge } from './validate-charge';

const fields = (input: unknown, options: Parameters<typeof validateCharge>[1] = {}) =>
  validateCharge(input, options).map((e) => e.field);
const messageOf = (input: unknown, field: string) => validateCharge(input).find((e) => e.field === field)?.message;

const tiered = (tiers: unknown[]) => ({ key: 'storage', model: 'tiered', metric_key: 'gb', tiers });

describe('validateCharge', () => {
  it('accepts every model in its catalog shape', () => {
    const valid = [
      { key: 'base', model: 'flat_fee', amount: '49' },
      {
        key: 'calls',
        model: 'per_unit',
        metric_key: 'api_calls',
        unit_price: 0.002,
        min_amount: '5',
        max_amount: null,
      },
      tiered([
        { up_to: '1000', unit_price: '0', flat_fee: '10' },
        { up_to: null, unit_price: '0.01' },
      ]),
      {
        key: 'seats',
        model: 'volume',
        metric_key: 'seats',
        tiers: [
          { up_to: 10, unit_price: 5 },
          { up_to: null, unit_price: 4 },
        ],
      },
      { key: 'sms', model: 'package', metric_key: 'sms', package_size: '100', package_price: '5', free_units: '50' },
      {
        key: 'gpu',
        model: 'matrix',
        metric_key: 'hours',
        dimensions: ['region', 'instance'],
        prices: [{ match: { region: 'eu', instance: 'gpu' }, unit_price: '2.5' }],
        default_unit_price: '0.1',
      },
      { key: 'f', model: 'custom_formula', metric_key: 'm', formula: 'max(0, usage - 100) * 0.01' },
    ];
    for (const charge of valid) expect(validateCharge(charge)).toEqual([]);
  });

  it('builds paths from the caller prefix', () => {
    const charge = tiered([
      { up_to: '100', unit_price: '1' },
      { up_to: '50', unit_price: '1' },
      { up_to: null, unit_price: '1' },
    ]);
    expect(fields(charge, { prefix: 'charges[1]' })).toEqual(['charges[1].tiers[1].up_to']);
  });

  it('rejects tiers that are not ascending', () => {
    const charge = tiered([
      { up_to: '100', unit_price: '1' },
      { up_to: '100', unit_price: '1' },
      { up_to: null, unit_price: '1' },
    ]);
    expect(messageOf(charge, 'tiers[1].up_to')).toBe("must be greater than the previous tier's up_to (100)");
  });

  it('rejects more than one open-ended tier, an open-ended tier not last, and a closed last tier', () => {
    const twoOpen = tiered([
      { up_to: null, unit_price: '1' },
      { up_to: null, unit_price: '1' },
    ]);
    expect(fields(twoOpen)).toEqual(['tiers[0].up_to']);
    expect(messageOf(twoOpen, 'tiers[0].up_to')).toContain('more than one open-ended tier');
    const openFirst = tiered([
      { up_to: null, unit_price: '1' },
      { up_to: '10', unit_price: '1' },
    ]);
    expect(fields(openFirst)).toEqual(['tiers[0].up_to', 'tiers[1].up_to']);
    expect(messageOf(openFirst, 'tiers[0].up_to')).toBe('only the last tier may be open-ended (up_to null)');
    expect(messageOf(tiered([{ up_to: '10', unit_price: '1' }]), 'tiers[0].up_to')).toBe(
      'the last tier must be open-ended (up_to null)',
    );
  });

  it('rejects negative prices, bad decimals, missing fields and empty tiers', () => {
    expect(
      fields(
        tiered([{ up_to: '0', unit_price: '-1', flat_fee: 'x' }, { unit_price: '0.0000000000001' }, { up_to: null }]),
      ),
    ).toEqual([
      'tiers[0].up_to',
      'tiers[0].unit_price',
      'tiers[0].flat_fee',
      'tiers[1].up_to',
      'tiers[1].unit_price',
      'tiers[2].unit_price',
    ]);
    expect(fields(tiered([]))).toEqual(['tiers']);
    expect(fields({ key: 'c', model: 'per_unit', metric_key: 'm' })).toEqual(['unit_price']);
  });

  it('rejects package_size <= 0', () => {
    expect(fields({ key: 'p', model: 'package', metric_key: 'm', package_size: '0', package_price: '1' })).toEqual([
      'package_size',
    ]);
    expect(fields({ key: 'p', model: 'package', metric_key: 'm', package_size: '-1', package_price: '1' })).toEqual([
      'package_size',
    ]);
  });

  it('rejects a bad formula at plan creation', () => {
    const formula = (text: unknown) => ({ key: 'f', model: 'custom_formula', metric_key: 'm', formula: text });
    expect(fields(formula('usage ^ 2'))).toEqual(['formula']);
    expect(fields(formula('process.exit()'))).toEqual(['formula']);
    expect(fields(formula('100 / usage'))).toEqual(['formula']); // fails at zero usage
    expect(fields(formula(42))).toEqual(['formula']);
  });

  it('checks keys, models, metrics, min/max and unknown fields', () => {
    expect(fields({ key: '', model: 'per_unit', metric_key: 'm', unit_price: '1' })).toEqual(['key']);
    expect(fields({ key: 'c', model: 'stairstep' })).toEqual(['model']);
    expect(fields({ key: 'c', model: 'per_unit', unit_price: '1' })).toEqual(['metric_key']);
    expect(
      fields({ key: 'c', model: 'per_unit', metric_key: 'nope', unit_price: '1' }, { knownMetricKeys: ['api_calls'] }),
    ).toEqual(['metric_key']);
    expect(
      fields({ key: 'c', model: 'per_unit', metric_key: 'm', unit_price: '1', min_amount: '10', max_amount: '5' }),
    ).toEqual(['max_amount']);
    expect(fields({ key: 'c', model: 'per_unit', metric_key: 'm', unit_price: '1', max_amout: '5' })).toEqual([
      'max_amout',
    ]);
    expect(fields({ key: 'c', model: 'flat_fee', amount: '1', metric_key: 'm' })).toEqual(['metric_key']);
    expect(fields('charge', { prefix: 'charges[0]' })).toEqual(['charges[0]']);
  });

  it('checks matrix dimensions, matches, duplicates and the need for a price', () => {
    const matrix = (extra: Record<string, unknown>) => ({
      key: 'g',
      model: 'matrix',
      metric_key: 'h',
      dimensions: ['region', 'instance'],
      ...extra,
    });
    expect(
      fields(
        matrix({
          prices: [
            { match: { region: 'eu', instance: 'gpu' }, unit_price: '1' },
            { match: { region: 'eu', instance: 'gpu' }, unit_price: '2' },
            { match: { region: 'eu' }, unit_price: '1' },
            { match: { region: 'eu', instance: 'cpu', zone: 'a' }, unit_price: '1' },
          ],
        }),
      ),
    ).toEqual(['prices[1].match', 'prices[2].match.instance', 'prices[3].match.zone']);
    expect(fields(matrix({ prices: [] }))).toEqual(['prices']);
    expect(fields(matrix({ prices: [], dimensions: ['a', 'a'] }))).toEqual(['dimensions[1]', 'prices']);
  });
});

describe('normalizeCharge', () => {
  it('stores decimals as canonical strings and keeps only what was set', () => {
    expect(
      normalizeCharge({
        key: 'seats',
        model: 'volume',
        metric_key: 'seats',
        tiers: [
          { up_to: 10, unit_price: 5.5 },
          { up_to: null, unit_price: '4.000', flat_fee: null },
        ],
        max_amount: 1000,
      }),
    ).toEqual({
      key: 'seats',
      model: 'volume',
      metric_key: 'seats',
      tiers: [
        { up_to: '10', unit_price: '5.5' },
        { up_to: null, unit_price: '4', flat_fee: null },
      ],
      max_amount: '1000',
    });
    expect(
      normalizeCharge({
        key: 'g',
        model: 'matrix',
        metric_key: 'h',
        dimensions: ['gpus'],
        prices: [{ match: { gpus: 2.0 }, unit_price: 1 }],
      }),
    ).toEqual({
      key: 'g',
      model: 'matrix',
      metric_key: 'h',
      dimensions: ['gpus'],
      prices: [{ match: { gpus: '2' }, unit_price: '1' }],
    });
  });

  it('throws PRICING.INVALID_CHARGE with every problem', () => {
    try {
      normalizeCharge(
        { key: 'c', model: 'per_unit', metric_key: 'm', unit_price: '-1', min_amount: 'x' },
        { prefix: 'charges[2]' },
      );
      throw new Error('expected a PricingError');
    } catch (error) {
      expect(error).toBeInstanceOf(PricingError);
      expect((error as PricingError).code).toBe('PRICING.INVALID_CHARGE');
      expect((error as PricingError).errors.map((e) => e.field)).toEqual([
        'charges[2].min_amount',
        'charges[2].unit_price',
      ]);
    }
  });
});
