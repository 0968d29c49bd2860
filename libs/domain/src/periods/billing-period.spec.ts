import fc from 'fast-check';
import { DateTime } from 'luxon';
import { calendarAnchor, nextPeriod, periodContaining, previousPeriod, type BillingCycle } from './billing-period';
import { PeriodError, validateTimezone } from './time';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';

const hours = (period: { start: string; end_exclusive: string }) =>
  (Date.parse(period.end_exclusive) - Date.parse(period.start)) / 3_600_000;
const localStart = (period: { start: string }, zone: string) =>
  DateTime.fromISO(period.start, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");

function periodError(run: () => unknown): PeriodError {
  try {
    run();
  } catch (error) {
    if (error instanceof PeriodError) return error;
    throw error;
  }
  throw new Error('expected a PeriodError');
}

describe('calendar periods', () => {
  it('months are local calendar months (New York, across the March DST change)', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: calendarAnchor('month', NY), timezone: NY };
    expect(periodContaining(cycle, '2024-03-15T12:00:00Z')).toEqual({
      start: '2024-03-01T05:00:00.000Z', // midnight EST
      end_exclusive: '2024-04-01T04:00:00.000Z', // midnight EDT
    });
    expect(hours(periodContaining(cycle, '2024-03-15T12:00:00Z'))).toBe(31 * 24 - 1);
  });

  it('an instant on the boundary starts the new period', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: calendarAnchor('month', BERLIN), timezone: BERLIN };
    expect(periodContaining(cycle, '2024-01-31T23:00:00Z').start).toBe('2024-01-31T23:00:00.000Z'); // Feb 1, 00:00 CET
    expect(periodContaining(cycle, '2024-01-31T22:59:59.999Z').start).toBe('2023-12-31T23:00:00.000Z');
  });

  it('weeks start on Monday midnight; the week of a DST change is 167 or 169 hours', () => {
    const cycle: BillingCycle = { interval: 'week', anchor: calendarAnchor('week', BERLIN), timezone: BERLIN };
    const spring = periodContaining(cycle, '2024-03-31T12:00:00Z');
    expect(localStart(spring, BERLIN)).toBe('2024-03-25T00:00');
    expect(hours(spring)).toBe(167);
    expect(hours(periodContaining(cycle, '2024-10-27T12:00:00Z'))).toBe(169);
  });

  it('years are calendar years, leap years included', () => {
    const cycle: BillingCycle = { interval: 'year', anchor: calendarAnchor('year', 'UTC'), timezone: 'UTC' };
    expect(periodContaining(cycle, '2024-07-01T00:00:00Z')).toEqual({
      start: '2024-01-01T00:00:00.000Z',
      end_exclusive: '2025-01-01T00:00:00.000Z',
    });
    expect(hours(periodContaining(cycle, '2024-07-01T00:00:00Z'))).toBe(366 * 24);
  });
});

describe('days across DST changes', () => {
  it.each([
    [NY, '2024-03-10T12:00:00Z', 23],
    [NY, '2024-11-03T12:00:00Z', 25],
    [NY, '2024-06-01T12:00:00Z', 24],
    [BERLIN, '2024-03-31T12:00:00Z', 23],
    [BERLIN, '2024-10-27T12:00:00Z', 25],
  ])('in %s the day containing %s lasts %i hours', (zone, at, expected) => {
    const period = periodContaining({ interval: 'day', anchor: calendarAnchor('day', zone), timezone: zone }, at);
    expect(hours(period)).toBe(expected);
    expect(DateTime.fromISO(period.start, { zone }).toFormat('HH:mm')).toBe('00:00');
  });

  it('an anchor time inside the spring-forward gap moves forward that day only', () => {
    const cycle: BillingCycle = { interval: 'day', anchor: '2024-02-10T02:30:00-05:00', timezone: NY };
    const gapDay = periodContaining(cycle, '2024-03-10T12:00:00Z');
    expect(localStart(gapDay, NY)).toBe('2024-03-10T03:30'); // 02:30 does not exist on March 10
    expect(localStart(nextPeriod(cycle, gapDay), NY)).toBe('2024-03-11T02:30');
  });
});

describe('anniversary periods', () => {
  it('month-end anchors clamp to shorter months without drifting (leap year)', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: '2024-01-31T00:00:00+01:00', timezone: BERLIN };
    let period = periodContaining(cycle, '2024-01-31T12:00:00Z');
    const starts = [localStart(period, BERLIN)];
    for (let i = 0; i < 13; i++) {
      period = nextPeriod(cycle, period);
      starts.push(localStart(period, BERLIN).slice(0, 10));
    }
    expect(starts).toEqual([
      '2024-01-31T00:00',
      '2024-02-29',
      '2024-03-31',
      '2024-04-30',
      '2024-05-31',
      '2024-06-30',
      '2024-07-31',
      '2024-08-31',
      '2024-09-30',
      '2024-10-31',
      '2024-11-30',
      '2024-12-31',
      '2025-01-31',
      '2025-02-28',
    ]);
  });

  it('a Jan 31 anchor gives Feb 28 in a common year, then Mar 31', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: '2023-01-31T00:00:00Z', timezone: 'UTC' };
    expect(periodContaining(cycle, '2023-03-01T00:00:00Z')).toEqual({
      start: '2023-02-28T00:00:00.000Z',
      end_exclusive: '2023-03-31T00:00:00.000Z',
    });
  });

  it('a Feb 29 yearly anchor gives Feb 28 in common years and Feb 29 again in leap years', () => {
    const cycle: BillingCycle = { interval: 'year', anchor: '2024-02-29T00:00:00Z', timezone: 'UTC' };
    expect(periodContaining(cycle, '2025-06-01T00:00:00Z').start).toBe('2025-02-28T00:00:00.000Z');
    expect(periodContaining(cycle, '2028-06-01T00:00:00Z').start).toBe('2028-02-29T00:00:00.000Z');
  });

  it('keeps the anchor wall-clock time in the customer zone across DST', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: '2024-01-15T14:30:00+01:00', timezone: BERLIN };
    expect(periodContaining(cycle, '2024-04-01T00:00:00Z')).toEqual({
      start: '2024-03-15T13:30:00.000Z', // 14:30 CET
      end_exclusive: '2024-04-15T12:30:00.000Z', // 14:30 CEST
    });
  });

  it('instants before the anchor fall in earlier periods of the same cycle', () => {
    const cycle: BillingCycle = { interval: 'month', anchor: '2024-03-31T00:00:00Z', timezone: 'UTC' };
    expect(periodContaining(cycle, '2024-03-01T00:00:00Z')).toEqual({
      start: '2024-02-29T00:00:00.000Z',
      end_exclusive: '2024-03-31T00:00:00.000Z',
    });
  });

  it('every instant is in exactly one period; next and previous are inverse (property)', () => {
    const zones = fc.constantFrom(NY, BERLIN, 'UTC', 'Australia/Lord_Howe', 'Asia/Kolkata');
    const instant = fc
      .integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) })
      .map((ms) => new Date(ms).toISOString());
    fc.assert(
      fc.property(
        fc.constantFrom('day', 'week', 'month', 'year' as const),
        zones,
        instant,
        instant,
        (interval, timezone, anchor, at) => {
          const cycle: BillingCycle = { interval, anchor, timezone };
          const period = periodContaining(cycle, at);
          expect(Date.parse(period.start) <= Date.parse(at) && Date.parse(at) < Date.parse(period.end_exclusive)).toBe(
            true,
          );
          const next = nextPeriod(cycle, period);
          expect(next.start).toBe(period.end_exclusive);
          expect(previousPeriod(cycle, next)).toEqual(period);
          expect(periodContaining(cycle, period.start)).toEqual(period);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('validation', () => {
  it.each(['Fantasia/Castle', '', '+05:00', 'Z', 42])('rejects the time zone %p', (timezone) => {
    const error = periodError(() =>
      periodContaining(
        { interval: 'month', anchor: '2024-01-01T00:00:00Z', timezone: timezone as string },
        '2024-01-01T00:00:00Z',
      ),
    );
    expect(error.code).toBe('PERIOD.INVALID_TIMEZONE');
    expect(error.field).toBe('timezone');
  });

  it('accepts IANA names as given', () => {
    expect(validateTimezone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(validateTimezone('UTC')).toBe('UTC');
  });

  it.each(['2024-01-01T00:00:00', '2024-01-01', 'tomorrow', '2024-02-30T00:00:00Z'])('rejects the instant %p', (at) => {
    expect(
      periodError(() => periodContaining({ interval: 'day', anchor: '2024-01-01T00:00:00Z', timezone: 'UTC' }, at))
        .code,
    ).toBe('PERIOD.INVALID_INSTANT');
  });

  it('rejects an unknown interval', () => {
    const cycle = { interval: 'fortnight', anchor: '2024-01-01T00:00:00Z', timezone: 'UTC' } as unknown as BillingCycle;
    expect(periodError(() => periodContaining(cycle, '2024-01-01T00:00:00Z')).code).toBe('PERIOD.INVALID_INTERVAL');
  });
});
