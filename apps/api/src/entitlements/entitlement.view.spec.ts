import fc from 'fast-check';
import { Dec } from '#domain';
import { entitlementView, notSubscribed, unknownFeature } from './entitlement.view';

/*
 * What granted / remaining / exceeded mean, decided once: remaining = max(0, limit - usage),
 * exceeded = usage > limit, granted = not exceeded; decimals as strings, never numbers.
 */

const period = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
const limit = (value: string, metric_key: string | null = 'api_calls') => ({
  type: 'limit' as const,
  value,
  metric_key,
});
const used = (value: string | null) => ({ value, period });

describe('entitlementView', () => {
  it.each([
    ['below the limit', '53412', { remaining: '46588', exceeded: false, granted: true }],
    [
      'at the limit: nothing remains, nothing is exceeded',
      '100000',
      { remaining: '0', exceeded: false, granted: true },
    ],
    ['above the limit', '100000.5', { remaining: '0', exceeded: true, granted: false, reason: 'limit_exceeded' }],
    ['no usage recorded (null) counts as 0', null, { usage: '0', remaining: '100000', exceeded: false, granted: true }],
  ])('a metered limit %s', (_label, usage, expected) => {
    const view = entitlementView('api_calls_per_month', limit('100000'), used(usage));
    expect(view).toEqual({
      feature: 'api_calls_per_month',
      type: 'limit',
      limit: '100000',
      metric_key: 'api_calls',
      usage: usage ?? '0',
      period_start: period.start,
      period_end: period.end,
      ...expected,
    });
    if (!expected.exceeded) expect(view).not.toHaveProperty('reason');
  });

  it('keeps every decimal digit (no float rounding)', () => {
    const view = entitlementView('gb', limit('0.3'), used('0.1000000001'));
    expect(view).toMatchObject({ usage: '0.1000000001', remaining: '0.1999999999', exceeded: false });
    const big = entitlementView('calls', limit('9999999999.9999999999'), used('0.0000000001'));
    expect(big).toMatchObject({ remaining: '9999999999.9999999998' });
  });

  it('a limit without a metric carries its number only, granted', () => {
    expect(entitlementView('seats', limit('10', null))).toEqual({
      feature: 'seats',
      type: 'limit',
      granted: true,
      limit: '10',
      metric_key: null,
      usage: null,
      remaining: null,
      exceeded: null,
    });
  });

  it('boolean: granted is its value; config: granted with its value', () => {
    expect(entitlementView('sso', { type: 'boolean', value: true })).toEqual({
      feature: 'sso',
      type: 'boolean',
      granted: true,
      value: true,
    });
    expect(entitlementView('beta', { type: 'boolean', value: false })).toEqual({
      feature: 'beta',
      type: 'boolean',
      granted: false,
      value: false,
    });
    expect(entitlementView('model', { type: 'config', value: 'gpt-4' })).toEqual({
      feature: 'model',
      type: 'config',
      granted: true,
      value: 'gpt-4',
    });
  });

  it('an unknown feature and a customer without a subscription are denied with a reason, typeless', () => {
    expect(unknownFeature('nope')).toEqual({ feature: 'nope', type: null, granted: false, reason: 'unknown_feature' });
    expect(notSubscribed('sso', 'subscription_ended')).toEqual({
      feature: 'sso',
      type: null,
      granted: false,
      reason: 'subscription_ended',
    });
  });

  it('law: remaining + min(usage, limit) = limit, exceeded iff usage > limit, remaining never negative', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 6 }))
      .map(([digits, scale]) => new Dec(digits.toString()).dividedBy(new Dec(10).pow(scale)).toString());
    fc.assert(
      fc.property(decimal, decimal, (limitValue, usage) => {
        const view = entitlementView('f', limit(limitValue), used(usage));
        if (view.type !== 'limit') throw new Error('not a limit');
        const [l, u, r] = [new Dec(limitValue), new Dec(usage), new Dec(view.remaining!)];
        expect(r.isNegative()).toBe(false);
        expect(r.plus(Dec.min(u, l)).equals(l)).toBe(true);
        expect(view.exceeded).toBe(u.greaterThan(l));
        expect(view.granted).toBe(!view.exceeded);
      }),
    );
  });
});
