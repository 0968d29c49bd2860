import { Dec, toDecimalString, type DecimalString } from './decimal';
import type { FieldError } from './field-error';
import { JsonNumberText } from './json-number-text';

export type DecimalErrorCode = 'DECIMAL.INVALID' | 'DECIMAL.OUT_OF_RANGE' | 'DECIMAL.TOO_PRECISE' | 'DECIMAL.NEGATIVE';

/** An input that is not an acceptable decimal. `message` does not repeat the field name. */
export class DecimalError extends Error {
  constructor(
    readonly code: DecimalErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'DecimalError';
  }

  toFieldError(): FieldError {
    return { field: this.field, message: this.message };
  }
}

export interface ParseDecimalOptions {
  /** Named in errors: `value`, `charges[0].unit_price`. */
  field: string;
  /** Digits before the point. Default 10: DECIMAL(20,10). */
  maxIntegerDigits?: number;
  /** Digits after the point, trailing zeros not counted. Default 10: DECIMAL(20,10). */
  maxScale?: number;
  /** Default false. */
  allowNegative?: boolean;
}

/**
 * Plain decimal notation only, for strings: an optional minus, digits, an optional fraction.
 * No exponent, no hex, no leading "+" or ".", no whitespace: a decimal string in our JSON has one
 * obvious spelling. (JSON numbers are accepted separately and may use exponents: JSON allows them.)
 */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** Long enough for any acceptable value with generous leading/trailing zeros; stops absurd inputs early. */
const MAX_INPUT_LENGTH = 200;
/**
 * A JSON number's exponent beyond this cannot be in range whatever its digits (at most 200): refused
 * before decimal.js expands it (`1e99999999` would be a 100-million-digit string).
 */
const MAX_EXPONENT = 400;

/**
 * Parses a decimal from a JSON string or number into its canonical string ("1.50" -> "1.5",
 * "-0" -> "0", "007" -> "7"). Rejects NaN, Infinity, out-of-range (1e400) and over-precise values
 * instead of rounding them: a usage value or a price is either exactly representable in
 * DECIMAL(20,10) or an error the caller must see.
 */
export function parseDecimal(input: unknown, options: ParseDecimalOptions): DecimalString {
  const { field } = options;
  const value = toDec(input, field);
  const maxIntegerDigits = options.maxIntegerDigits ?? 10;
  const maxScale = options.maxScale ?? 10;
  if (value.isNegative() && !value.isZero() && !options.allowNegative) {
    throw new DecimalError('DECIMAL.NEGATIVE', field, 'must not be negative');
  }
  const integerPart = value.abs().truncated();
  const integerDigits = integerPart.isZero() ? 0 : integerPart.toFixed(0).length;
  if (integerDigits > maxIntegerDigits) {
    throw new DecimalError(
      'DECIMAL.OUT_OF_RANGE',
      field,
      `must have at most ${maxIntegerDigits} digits before the decimal point`,
    );
  }
  if (value.decimalPlaces() > maxScale) {
    throw new DecimalError(
      'DECIMAL.TOO_PRECISE',
      field,
      `must have at most ${maxScale} digits after the decimal point`,
    );
  }
  return toDecimalString(value);
}

function toDec(input: unknown, field: string): Dec {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new DecimalError('DECIMAL.INVALID', field, 'must be a finite number');
    // String(n) is the shortest string that reads back as the same double ("0.1", not
    // 0.1000000000000000055…), i.e. the number the client wrote in its JSON: the API's parser hands
    // over as numbers only those a double holds as written (the others as JsonNumberText, or a 422).
    return new Dec(String(input));
  }
  if (input instanceof JsonNumberText) {
    // A JSON number a double could not hold as written (the API's parser kept its text): read exactly.
    if (input.text.length > MAX_INPUT_LENGTH) throw new DecimalError('DECIMAL.INVALID', field, 'has too many digits');
    const exponent = Number(/[eE]([+-]?\d+)$/.exec(input.text)?.[1] ?? 0);
    if (exponent > MAX_EXPONENT) throw new DecimalError('DECIMAL.OUT_OF_RANGE', field, 'is far out of range');
    if (exponent < -MAX_EXPONENT) {
      throw new DecimalError('DECIMAL.TOO_PRECISE', field, 'has too many digits after the decimal point');
    }
    return new Dec(input.text);
  }
  if (typeof input === 'string') {
    if (input.length === 0) throw new DecimalError('DECIMAL.INVALID', field, 'must not be empty');
    if (input.length > MAX_INPUT_LENGTH || !PLAIN_DECIMAL.test(input)) {
      throw new DecimalError('DECIMAL.INVALID', field, 'must be a decimal number such as "12.5"');
    }
    return new Dec(input);
  }
  throw new DecimalError(
    'DECIMAL.INVALID',
    field,
    'must be a decimal number (a string such as "12.5" or a JSON number)',
  );
}

/** Validator form of `parseDecimal`: the canonical string, or the problem as a FieldError. */
export function checkDecimal(
  input: unknown,
  options: ParseDecimalOptions,
): { ok: true; value: DecimalString } | { ok: false; error: FieldError } {
  try {
    return { ok: true, value: parseDecimal(input, options) };
  } catch (error) {
    if (error instanceof DecimalError) return { ok: false, error: error.toFieldError() };
    throw error;
  }
}
