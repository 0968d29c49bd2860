import fc from 'fast-check';
import { Dec } from '../decimal';
import { calendarAnchor, periodContaining, type BillingCycle } from './billing-period';
import { prorationFactor } from './proration';
import { PeriodError } from './time';

const NY = 'America/New_York';
const january = periodContaining(
  { interval: 'month', anchor: calendarAnchor('month', NY), timezone: NY },
  '2024-01-15T12:00:00Z',
);
const march = periodContaining(
  { interval: 'month', anchor: calendarAnchor('month', NY), timezone: NY },
  '2024-03-15T12:00:00Z',
);

describe('prorationFactor (by days, partial days count as whole days)', () => {
  it.each([
    ['the whole period', '2024-01-01T00:00:00-05:00', null, '1'],
    ['started before the period', '2023-12-20T00:00:00-05:00', null, '1'],
    ['from the 10th at 18:00: 22 of 31 days', '2024-01-10T18:00:00-05:00', null, '0.7096774194'],
    ['from the 10th at 00:00: 22 of 31 days', '2024-01-10T00:00:00-05:00', null, '0.7096774194'],
    [
      'until the 20th at 09:00 (exclusive): 20 days',
      '2024-01-01T00:00:00-05:00',
      '2024-01-20T09:00:00-05:00',
      '0.6451612903',
    ],
    [
      'until the 20th at 00:00 (exclusive): 19 days',
      '2024-01-01T00:00:00-05:00',
      '2024-01-20T00:00:00-05:00',
      '0.6129032258',
    ],
    ['one minute across midnight: 2 days', '2024-01-10T23:59:00-05:00', '2024-01-11T00:01:00-05:00', '0.064516129'],
    ['a single second: 1 day', '2024-01-10T12:00:00-05:00', '2024-01-10T12:00:01-05:00', '0.0322580645'],
    ['after the period', '2024-02-01T00:00:00-05:00', null, '0'],
    ['ended before it started', '2024-01-10T00:00:00-05:00', '2024-01-05T00:00:00-05:00', '0'],
  ])('%s', (_, from, to, expected) => {
    expect(prorationFactor(january, from, to, NY)).toBe(expected);
  });

  it('counts local days: the 23-hour DST-change day is one day of 31', () => {
    expect(prorationFactor(march, '2024-03-10T00:00:00-05:00', '2024-03-11T00:00:00-04:00', NY)).toBe('0.0322580645');
    expect(prorationFactor(march, '2024-03-01T00:00:00-05:00', '2024-03-11T00:00:00-04:00', NY)).toBe('0.3225806452'); // 10 of 31
  });

  it('counts days in the customer zone, not in UTC', () => {
    // 2024-01-10T03:00Z is still the 9th in New York: the 9th counts.
    expect(prorationFactor(january, '2024-01-10T03:00:00Z', null, NY)).toBe(
      prorationFactor(january, '2024-01-09T12:00:00-05:00', null, NY),
    );
    expect(prorationFactor(january, '2024-01-10T03:00:00Z', null, NY)).toBe('0.7419354839'); // 23 of 31
  });

  it('stays within 0-1 and is 1 exactly for full coverage (property)', () => {
    const zones = fc.constantFrom(NY, 'Europe/Berlin', 'UTC', 'Pacific/Chatham');
    const instant = fc
      .integer({ min: Date.UTC(2023, 0, 1), max: Date.UTC(2026, 0, 1) })
      .map((ms) => new Date(ms).toISOString());
    fc.assert(
      fc.property(
        fc.constantFrom('day', 'week', 'month', 'year' as const),
        zones,
        instant,
        instant,
        instant,
        (interval, timezone, anchor, a, b) => {
          const cycle: BillingCycle = { interval, anchor, timezone };
          const period = periodContaining(cycle, a);
          const factor = new Dec(prorationFactor(period, a, b, timezone));
          expect(factor.greaterThanOrEqualTo(0) && factor.lessThanOrEqualTo(1)).toBe(true);
          expect(factor.isZero()).toBe(Date.parse(b) <= Date.parse(a));
          expect(prorationFactor(period, period.start, period.end_exclusive, timezone)).toBe('1');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a bad zone or instant with a typed error', () => {
    expect(() => prorationFactor(january, '2024-01-10', null, NY)).toThrow(PeriodError);
    expect(() => prorationFactor(january, '2024-01-10T00:00:00Z', null, 'Mars/Olympus')).toThrow(
      expect.objectContaining({ code: 'PERIOD.INVALID_TIMEZONE' }),
    );
  });
});
