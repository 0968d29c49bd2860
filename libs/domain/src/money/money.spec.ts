import { allocate as dineroAllocate, dinero, toDecimal } from 'dinero.js/bigint';
import fc from 'fast-check';
import { Dec } from '../decimal';
import { allocate, largestRemainder } from './allocate';
import { currencyFor, isCurrencyCode, minorUnitExponent, MoneyError } from './currency';
import { formatMoney, fromMinorUnits, roundToMinor, ROUNDING_MODE, sumMoney, toMinorUnits } from './money';

function moneyError(run: () => unknown): MoneyError {
  try {
    run();
  } catch (error) {
    if (error instanceof MoneyError) return error;
    throw error;
  }
  throw new Error('expected a MoneyError');
}

describe('currencyFor', () => {
  it('knows ISO 4217 codes and their minor-unit exponents', () => {
    expect(minorUnitExponent(currencyFor('USD'))).toBe(2);
    expect(minorUnitExponent('EUR')).toBe(2);
    expect(minorUnitExponent('JPY')).toBe(0);
    expect(minorUnitExponent('KWD')).toBe(3);
    expect(minorUnitExponent('CLF')).toBe(4);
    expect(isCurrencyCode('CHF')).toBe(true);
  });

  it.each(['usd', 'XYZ', '', 'constructor', 'toString', 'EURO'])('rejects %p with a typed error', (code) => {
    const error = moneyError(() => currencyFor(code, 'currency'));
    expect(error.code).toBe('MONEY.UNKNOWN_CURRENCY');
    expect(error.field).toBe('currency');
    expect(isCurrencyCode(code)).toBe(false);
  });

  it('hints at the upper-case spelling', () => {
    expect(moneyError(() => currencyFor('usd')).message).toContain('"USD"');
  });
});

describe('roundToMinor', () => {
  it(`rounds ${ROUNDING_MODE} to the currency exponent`, () => {
    expect(roundToMinor('0.125', 'USD')).toBe('0.13');
    expect(roundToMinor('-0.125', 'USD')).toBe('-0.13');
    expect(roundToMinor('0.124999', 'USD')).toBe('0.12');
    expect(roundToMinor('0.115', 'USD')).toBe('0.12'); // half-even would give 0.12 too; 0.125 tells them apart
    expect(roundToMinor('2.5', 'JPY')).toBe('3');
    expect(roundToMinor('-2.5', 'JPY')).toBe('-3');
    expect(roundToMinor('1.0005', 'KWD')).toBe('1.001');
    expect(roundToMinor('10', 'USD')).toBe('10.00');
    expect(roundToMinor('-0.004', 'USD')).toBe('0.00');
    expect(roundToMinor(new Dec('123456789012345678901234.123456789012345678905'), 'USD')).toBe(
      '123456789012345678901234.12',
    );
  });

  it('is symmetric: round(-x) = -round(x) (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.integer({ min: 0, max: 12 }), (units, scale) => {
        const x = new Dec(units.toString()).dividedBy(new Dec(10).pow(scale));
        const positive = roundToMinor(x, 'USD');
        const negative = roundToMinor(x.negated(), 'USD');
        expect(new Dec(negative).equals(new Dec(positive).negated())).toBe(true);
        expect(new Dec(positive).minus(x).abs().lessThanOrEqualTo('0.005')).toBe(true);
      }),
    );
  });
});

describe('minor units and formatting', () => {
  it('formats without rounding and refuses sub-minor amounts', () => {
    expect(formatMoney('10', 'USD')).toBe('10.00');
    expect(formatMoney('10.500', 'USD')).toBe('10.50');
    expect(formatMoney('-0', 'USD')).toBe('0.00');
    expect(toMinorUnits('12.3', 'USD')).toBe(1230n);
    expect(fromMinorUnits(-5n, 'USD')).toBe('-0.05');
    expect(fromMinorUnits(5n, 'JPY')).toBe('5');
    expect(moneyError(() => formatMoney('0.001', 'USD')).code).toBe('MONEY.NOT_MINOR_UNITS');
    expect(moneyError(() => formatMoney('1e3', 'USD')).code).toBe('MONEY.INVALID_AMOUNT');
  });

  it('sums exactly, beyond 2^53 minor units', () => {
    expect(sumMoney([], 'EUR')).toBe('0.00');
    expect(sumMoney(['0.10', '0.20', '-0.05'], 'EUR')).toBe('0.25');
    expect(sumMoney(['90071992547409.93', '0.01'], 'USD')).toBe('90071992547409.94');
  });
});

describe('allocate', () => {
  it('uses the largest remainder, where dinero would give the extra unit to the largest ratio', () => {
    expect(allocate('0.10', ['2', '1', '1'], 'USD')).toEqual(['0.05', '0.03', '0.02']);
    const dineroParts = dineroAllocate(dinero({ amount: 10n, currency: currencyFor('USD') }), [2n, 1n, 1n]);
    expect(dineroParts.map((part) => toDecimal(part))).toEqual(['0.06', '0.02', '0.02']);
  });

  it('handles decimal ratios, zero ratios, negatives and exact splits', () => {
    expect(allocate('100.00', ['0.5', '0.25', '0.25'], 'USD')).toEqual(['50.00', '25.00', '25.00']);
    expect(allocate('0.02', ['0.6', '0.9'], 'USD')).toEqual(['0.01', '0.01']);
    expect(allocate('1.00', ['0', '1', '1', '1'], 'USD')).toEqual(['0.00', '0.34', '0.33', '0.33']);
    expect(allocate('-1.00', ['1', '1', '1'], 'USD')).toEqual(['-0.34', '-0.33', '-0.33']);
    expect(allocate('0.00', ['1', '2'], 'USD')).toEqual(['0.00', '0.00']);
    expect(allocate('7', ['1', '1'], 'JPY')).toEqual(['4', '3']);
  });

  it.each([[[]], [['0', '0']], [['-1', '2']], [['x']]])('rejects ratios %p', (ratios) => {
    expect(moneyError(() => allocate('1.00', ratios, 'USD')).code).toBe('MONEY.INVALID_RATIOS');
  });

  it('parts sum to the whole and stay within one unit of the exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 6 }),
        (minor, ratioUnits, ratioScale) => {
          fc.pre(ratioUnits.some((unit) => unit > 0n));
          const ratios = ratioUnits.map((unit) =>
            new Dec(unit.toString()).dividedBy(new Dec(10).pow(ratioScale)).toString(),
          );
          const amount = fromMinorUnits(minor, 'USD');
          const parts = allocate(amount, ratios, 'USD');
          expect(sumMoney(parts, 'USD')).toBe(amount);
          const total = ratioUnits.reduce((a, b) => a + b, 0n);
          parts.forEach((part, index) => {
            const exact = new Dec(minor.toString()).times(ratioUnits[index].toString()).dividedBy(total.toString());
            const partMinor = new Dec(toMinorUnits(part, 'USD').toString());
            // The largest-remainder quota property: floor or ceil of the exact share.
            expect(partMinor.greaterThanOrEqualTo(exact.floor())).toBe(true);
            expect(partMinor.lessThanOrEqualTo(exact.ceil())).toBe(true);
            if (ratioUnits[index] === 0n) expect(partMinor.isZero()).toBe(true);
          });
        },
      ),
    );
  });

  it('largestRemainder breaks equal remainders by position', () => {
    expect(largestRemainder(2n, [1n, 1n, 1n])).toEqual([1n, 1n, 0n]);
  });
});
