import fc from 'fast-check';
import { instantKey } from '#domain';
import { instantKeyOf } from './usage-counting';

/** The domain's instantKey, null where it throws: what instantKeyOf must give for every string. */
function reference(timestamp: string): string | null {
  try {
    return instantKey(timestamp);
  } catch {
    return null;
  }
}

describe('instantKeyOf: the domain instantKey without a regular expression for stored timestamps', () => {
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
  const stamp = fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
      month: two(13),
      day: two(32),
      hour: two(25),
      minute: two(60),
      second: two(61),
      fraction: fc.stringMatching(/^\d{0,11}$/),
      dot: fc.boolean(),
      suffix: fc.constantFrom('Z', 'Z', 'Z', 'z', '+00:00', '-05:30', ''),
      separator: fc.constantFrom('T', 'T', 't', ' '),
    })
    .map(
      (p) =>
        `${p.year}-${p.month}-${p.day}${p.separator}${p.hour}:${p.minute}:${p.second}` +
        `${p.dot ? `.${p.fraction}` : ''}${p.suffix}`,
    );

  it('agrees with instantKey on generated timestamps, valid or not (leap days, hour 24, 10+ fraction digits)', () => {
    fc.assert(
      fc.property(stamp, (timestamp) => {
        expect(instantKeyOf(timestamp)).toBe(reference(timestamp));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees on every instant Date can write, and on odd strings', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (date) => {
          const text = date.toISOString();
          expect(instantKeyOf(text)).toBe(reference(text));
          expect(instantKeyOf(text.replace('.000Z', 'Z'))).toBe(reference(text.replace('.000Z', 'Z')));
        },
      ),
      { numRuns: 5_000 },
    );
    for (const odd of [
      '',
      'Z',
      '2026-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-03-01T24:00:00.000Z',
      '2026-03-01T00:00:00.Z',
      '2026-03-01T00:00:00.1234567891Z',
      '２026-03-01T00:00:00Z',
      '2026-03-01T00:00:0aZ',
    ]) {
      expect(instantKeyOf(odd)).toBe(reference(odd));
    }
  });
});
