import { parsePlanVersion, referencedMetricKeys, type PlanVersionInput } from './plan-version';
import { fixtureMetrics as metrics, proPlanContent, proPlanInput } from './testing/plan-fixtures';

const withCharges = (...charges: unknown[]): PlanVersionInput => ({ ...proPlanInput, charges });
const fieldsOf = (input: PlanVersionInput) => parsePlanVersion(input, metrics).errors.map((e) => e.field);
const errorsOf = (input: PlanVersionInput) => parsePlanVersion(input, metrics).errors;
const tiered = (tiers: unknown[]) => ({ key: 'api', metric_key: 'api_calls', model: 'tiered', tiers });

describe('parsePlanVersion', () => {
  it('normalizes the example plan', () => {
    expect(parsePlanVersion(proPlanInput, metrics)).toEqual({ value: proPlanContent, errors: [] });
  });

  it('accepts every charge model, per_unit with min_amount/max_amount', () => {
    const parsed = parsePlanVersion(
      withCharges(
        { key: 'base', model: 'flat_fee', amount: 49 },
        {
          key: 'calls',
          model: 'per_unit',
          metric_key: 'api_calls',
          unit_price: '0.01',
          min_amount: '1',
          max_amount: '500',
        },
        {
          key: 'vol',
          model: 'volume',
          metric_key: 'api_calls',
          tiers: [
            { up_to: '10', unit_price: '1' },
            { up_to: null, unit_price: '0.5' },
          ],
        },
        {
          key: 'pkg',
          model: 'package',
          metric_key: 'storage_gb',
          package_size: '100',
          package_price: '9',
          free_units: '10',
        },
        {
          key: 'by_region',
          model: 'matrix',
          metric_key: 'api_calls',
          dimensions: ['region'],
          prices: [{ match: { region: 'eu' }, unit_price: '0.02' }],
          default_unit_price: '0.03',
        },
        { key: 'formula', model: 'custom_formula', metric_key: 'api_calls', formula: 'max(0, usage - 100) * 0.01' },
      ),
      metrics,
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.value!.charges.map((c) => c.model)).toEqual([
      'flat_fee',
      'per_unit',
      'volume',
      'package',
      'matrix',
      'custom_formula',
    ]);
    expect(parsed.value!.charges[1]).toEqual({
      key: 'calls',
      model: 'per_unit',
      metric_key: 'api_calls',
      unit_price: '0.01',
      min_amount: '1',
      max_amount: '500',
    });
  });

  it.each<[string, PlanVersionInput, string[]]>([
    [
      'an unknown metric',
      withCharges({ key: 'x', model: 'per_unit', metric_key: 'nope', unit_price: '1' }),
      ['charges[0].metric_key'],
    ],
    [
      'an archived metric',
      withCharges({ key: 'x', model: 'per_unit', metric_key: 'legacy', unit_price: '1' }),
      ['charges[0].metric_key'],
    ],
    [
      'tiers not ascending',
      withCharges(
        tiered([
          { up_to: '100', unit_price: '1' },
          { up_to: '200', unit_price: '1' },
          { up_to: '150', unit_price: '1' },
          { up_to: null, unit_price: '1' },
        ]),
      ),
      ['charges[0].tiers[2].up_to'],
    ],
    [
      'two open-ended tiers',
      withCharges(
        tiered([
          { up_to: '100', unit_price: '1' },
          { up_to: null, unit_price: '1' },
          { up_to: null, unit_price: '1' },
        ]),
      ),
      ['charges[0].tiers[1].up_to'],
    ],
    ['a negative price', withCharges({ key: 'base', model: 'flat_fee', amount: '-1' }), ['charges[0].amount']],
    [
      'a negative tier price',
      withCharges(
        { key: 'ok', model: 'flat_fee', amount: '1' },
        tiered([
          { up_to: '1', unit_price: '1' },
          { up_to: null, unit_price: '-0.5' },
        ]),
      ),
      ['charges[1].tiers[1].unit_price'],
    ],
    [
      'a formula that does not parse',
      withCharges({ key: 'f', model: 'custom_formula', metric_key: 'api_calls', formula: 'usage ^ 2 +' }),
      ['charges[0].formula'],
    ],
    ['a currency not in ISO 4217', { ...proPlanInput, currency: 'USX' }, ['currency']],
    ['a lower-case currency', { ...proPlanInput, currency: 'usd' }, ['currency']],
    [
      'duplicate charge keys',
      withCharges({ key: 'base', model: 'flat_fee', amount: '1' }, { key: 'base', model: 'flat_fee', amount: '2' }),
      ['charges[1].key'],
    ],
    [
      'matrix dimensions outside the metric group_by',
      withCharges({
        key: 'm',
        model: 'matrix',
        metric_key: 'api_calls',
        dimensions: ['region', 'colour'],
        prices: [],
        default_unit_price: '1',
      }),
      ['charges[0].dimensions[1]'],
    ],
    [
      'an unknown charge field',
      withCharges({ key: 'base', model: 'flat_fee', amount: '1', amout: '2' }),
      ['charges[0].amout'],
    ],
    ['an unknown billing interval', { ...proPlanInput, billing_interval: 'quarter' }, ['billing_interval']],
    ['a negative minimum commitment', { ...proPlanInput, minimum_commitment: '-5' }, ['minimum_commitment']],
    ['a blank name', { ...proPlanInput, name: '  ' }, ['name']],
    ['no charges list', { ...proPlanInput, charges: undefined }, ['charges']],
  ])('rejects %s, naming the field', (_label, input, fields) => {
    expect(fieldsOf(input)).toEqual(fields);
  });

  it('says why in each message', () => {
    expect(errorsOf(withCharges({ key: 'x', model: 'per_unit', metric_key: 'nope', unit_price: '1' }))).toEqual([
      { field: 'charges[0].metric_key', message: 'unknown metric "nope"' },
    ]);
    expect(errorsOf(withCharges({ key: 'x', model: 'per_unit', metric_key: 'legacy', unit_price: '1' }))).toEqual([
      { field: 'charges[0].metric_key', message: 'metric "legacy" is archived' },
    ]);
    expect(
      errorsOf(withCharges({ key: 'b', model: 'flat_fee', amount: '1' }, { key: 'b', model: 'flat_fee', amount: '1' })),
    ).toEqual([{ field: 'charges[1].key', message: 'duplicate charge key "b" (also charges[0])' }]);
  });

  it('names every problem at once, across charges, currency and entitlements', () => {
    const input: PlanVersionInput = {
      ...proPlanInput,
      currency: 'EURO',
      charges: [
        { key: 'a', model: 'per_unit', metric_key: 'api_calls', unit_price: '-1' },
        { key: 'b', model: 'sliding' },
      ],
      entitlements: { seats: { type: 'limit', value: 'lots' } },
    };
    expect(fieldsOf(input)).toEqual([
      'currency',
      'charges[0].unit_price',
      'charges[1].model',
      'entitlements.seats.value',
    ]);
  });

  describe('entitlements', () => {
    const withEntitlements = (entitlements: unknown): PlanVersionInput => ({ ...proPlanInput, entitlements });

    it('normalizes limits (decimal strings, metric_key null when none) and keeps config scalars as given', () => {
      const parsed = parsePlanVersion(
        withEntitlements({
          seats: { type: 'limit', value: 10 },
          tokens: { type: 'config', value: 4096 },
          sso: { type: 'boolean', value: false },
        }),
        metrics,
      );
      expect(parsed.value!.entitlements).toEqual({
        seats: { type: 'limit', value: '10', metric_key: null },
        tokens: { type: 'config', value: 4096 },
        sso: { type: 'boolean', value: false },
      });
    });

    it.each<[string, unknown, string[]]>([
      ['a limit that is not a decimal', { calls: { type: 'limit', value: 'many' } }, ['entitlements.calls.value']],
      ['a negative limit', { calls: { type: 'limit', value: '-1' } }, ['entitlements.calls.value']],
      [
        'a limit on an unknown metric',
        { calls: { type: 'limit', value: '1', metric_key: 'nope' } },
        ['entitlements.calls.metric_key'],
      ],
      ['a boolean that is not one', { sso: { type: 'boolean', value: 'yes' } }, ['entitlements.sso.value']],
      ['an unknown type', { sso: { type: 'flag', value: true } }, ['entitlements.sso.type']],
      ['a config object', { model: { type: 'config', value: { name: 'gpt' } } }, ['entitlements.model.value']],
      ['an unknown member', { sso: { type: 'boolean', value: true, default: false } }, ['entitlements.sso.default']],
      ['a bad key', { 'no spaces': { type: 'boolean', value: true } }, ['entitlements.no spaces']],
      ['a list', [], ['entitlements']],
    ])('rejects %s, naming the field', (_label, entitlements, fields) => {
      expect(fieldsOf(withEntitlements(entitlements))).toEqual(fields);
    });
  });

  it('lists the metric keys a version references, for the caller to load', () => {
    expect(referencedMetricKeys(proPlanInput)).toEqual(['api_calls']);
    expect(referencedMetricKeys({ charges: 'x', entitlements: { a: { type: 'limit', metric_key: 'm' } } })).toEqual([
      'm',
    ]);
  });
});
