import fc from 'fast-check';
import { Dec, toDecimalString, toFixedString } from './decimal';
import { JsonNumberText } from './json-number-text';
import { checkDecimal, DecimalError, parseDecimal } from './parse-decimal';

const field = 'value';

function errorOf(input: unknown, options: Partial<Parameters<typeof parseDecimal>[1]> = {}): DecimalError {
  try {
    parseDecimal(input, { field, ...options });
  } catch (error) {
    if (error instanceof DecimalError) return error;
    throw error;
  }
  throw new Error(`expected ${String(input)} to be rejected`);
}

describe('parseDecimal', () => {
  it.each([
    ['12.5', '12.5'],
    ['1.50', '1.5'],
    ['007', '7'],
    ['0.0000000001', '0.0000000001'],
    ['9999999999.9999999999', '9999999999.9999999999'],
    ['1.00000000000000000000', '1'],
    ['-0', '0'],
    ['-0.000', '0'],
    [12.5, '12.5'],
    [0.1, '0.1'],
    [-0, '0'],
    [1e-7, '0.0000001'],
    [1e9, '1000000000'],
  ])('accepts %p as %p', (input, expected) => {
    expect(parseDecimal(input, { field, allowNegative: true })).toBe(expected);
  });

  it.each([
    ['', 'DECIMAL.INVALID'],
    [' 1', 'DECIMAL.INVALID'],
    ['1 ', 'DECIMAL.INVALID'],
    ['abc', 'DECIMAL.INVALID'],
    ['NaN', 'DECIMAL.INVALID'],
    ['Infinity', 'DECIMAL.INVALID'],
    ['0x10', 'DECIMAL.INVALID'],
    ['1e3', 'DECIMAL.INVALID'],
    ['1e400', 'DECIMAL.INVALID'],
    ['+1', 'DECIMAL.INVALID'],
    ['.5', 'DECIMAL.INVALID'],
    ['5.', 'DECIMAL.INVALID'],
    ['1,5', 'DECIMAL.INVALID'],
    [Number.NaN, 'DECIMAL.INVALID'],
    [Number.POSITIVE_INFINITY, 'DECIMAL.INVALID'],
    [JSON.parse('1e400') as number, 'DECIMAL.INVALID'],
    [null, 'DECIMAL.INVALID'],
    [true, 'DECIMAL.INVALID'],
    [{}, 'DECIMAL.INVALID'],
    ['12345678901', 'DECIMAL.OUT_OF_RANGE'],
    [12345678901, 'DECIMAL.OUT_OF_RANGE'],
    ['0.00000000001', 'DECIMAL.TOO_PRECISE'],
    [0.1 + 0.2, 'DECIMAL.TOO_PRECISE'],
    ['-1', 'DECIMAL.NEGATIVE'],
  ])('rejects %p with %s', (input, code) => {
    const error = errorOf(input);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.toFieldError()).toEqual({ field, message: error.message });
  });

  it('honours custom limits and negatives when allowed', () => {
    expect(parseDecimal('-3.25', { field, allowNegative: true })).toBe('-3.25');
    expect(errorOf('123', { maxIntegerDigits: 2 }).code).toBe('DECIMAL.OUT_OF_RANGE');
    expect(errorOf('1.234', { maxScale: 2 }).code).toBe('DECIMAL.TOO_PRECISE');
    expect(parseDecimal('1.230', { field, maxScale: 2 })).toBe('1.23');
  });

  it('checkDecimal returns the field error instead of throwing', () => {
    expect(checkDecimal('x', { field: 'charges[0].unit_price' })).toEqual({
      ok: false,
      error: { field: 'charges[0].unit_price', message: expect.any(String) },
    });
    expect(checkDecimal(2, { field })).toEqual({ ok: true, value: '2' });
  });

  it('round-trips every DECIMAL(20,10) value to the same canonical string (property)', () => {
    const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{1,${n}}$`));
    fc.assert(
      fc.property(fc.boolean(), digits(10), fc.option(digits(10)), (negative, integer, fraction) => {
        const text = `${negative ? '-' : ''}${integer}${fraction === null ? '' : `.${fraction}`}`;
        const parsed = parseDecimal(text, { field, allowNegative: true });
        expect(new Dec(parsed).equals(new Dec(text))).toBe(true);
        expect(parseDecimal(parsed, { field, allowNegative: true })).toBe(parsed);
        expect(parsed).not.toMatch(/e|^-0$|\.\d*0$/);
      }),
    );
  });
});

describe('parseDecimal of a JsonNumberText (a JSON number kept as written)', () => {
  it('reads its text exactly, exponent or not', () => {
    expect(parseDecimal(new JsonNumberText('1234567890.123456789'), { field })).toBe('1234567890.123456789');
    expect(parseDecimal(new JsonNumberText('12345678901234567890e-10'), { field })).toBe('1234567890.123456789');
    expect(parseDecimal(new JsonNumberText('-0.00000000000000000'), { field })).toBe('0');
  });

  it('refuses it on its digits, and an absurd exponent before expanding it', () => {
    expect(errorOf(new JsonNumberText('0.1000000000000000001'))).toMatchObject({ code: 'DECIMAL.TOO_PRECISE' });
    expect(errorOf(new JsonNumberText('12345678901234567890'))).toMatchObject({ code: 'DECIMAL.OUT_OF_RANGE' });
    expect(errorOf(new JsonNumberText('1e99999999'))).toMatchObject({
      code: 'DECIMAL.OUT_OF_RANGE',
      message: 'is far out of range',
    });
    expect(errorOf(new JsonNumberText('1e-99999999'))).toMatchObject({ code: 'DECIMAL.TOO_PRECISE' });
    expect(errorOf(new JsonNumberText(`1${'0'.repeat(250)}`))).toMatchObject({ code: 'DECIMAL.INVALID' });
    expect(errorOf(new JsonNumberText('-1.12345678901234567'))).toMatchObject({ code: 'DECIMAL.NEGATIVE' });
  });
});

describe('decimal formatting', () => {
  it('never prints exponent notation or negative zero', () => {
    expect(toDecimalString(new Dec('1e-20'))).toBe('0.00000000000000000001');
    expect(toDecimalString(new Dec('1e30'))).toBe('1000000000000000000000000000000');
    expect(toDecimalString(new Dec('-0'))).toBe('0');
    expect(toFixedString(new Dec('-0.001'), 2)).toBe('0.00');
    expect(toFixedString(new Dec('2.5'), 0)).toBe('3');
    expect(toFixedString(new Dec('-2.5'), 0)).toBe('-3');
  });
});
