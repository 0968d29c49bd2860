import { checkDecimal, Dec, fieldPath, type DecimalString, type FieldError } from '../decimal';
import { groupValueOf } from '../metering';
import type { MatrixPrice, Tier } from './charge';

/*
 * Field readers for charge validation. Each reads one part of an untrusted charge, records every
 * problem under its full path, and returns the canonical value (decimals as canonical strings).
 */

export type Raw = Record<string, unknown>;

export function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FieldErrors {
  readonly list: FieldError[] = [];
  constructor(readonly prefix?: string) {}

  at(member: string, base = this.prefix): string {
    return fieldPath(base, member);
  }

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}

export interface DecimalRule {
  required?: boolean;
  /** null is accepted (and kept) for optional fields such as min_amount or up_to. */
  nullable?: boolean;
  /** Strictly greater than zero. */
  positive?: boolean;
}

/** A non-negative DECIMAL(20,10) price or quantity field; JSON numbers are accepted and canonicalised. */
export function readDecimal(
  errors: FieldErrors,
  raw: unknown,
  path: string,
  rule: DecimalRule = {},
): DecimalString | null | undefined {
  if (raw === undefined || (raw === null && !rule.nullable)) {
    if (rule.required || raw === null) errors.add(path, rule.nullable ? 'is required (null for none)' : 'is required');
    return undefined;
  }
  if (raw === null) return null;
  const checked = checkDecimal(raw, { field: path });
  if (!checked.ok) {
    errors.add(path, checked.error.message);
    return undefined;
  }
  if (rule.positive && new Dec(checked.value).isZero()) {
    errors.add(path, 'must be greater than 0');
    return undefined;
  }
  return checked.value;
}

/** Unknown members are errors: a misspelt "max_amout" must not be silently ignored on a price. */
export function rejectUnknown(errors: FieldErrors, raw: Raw, allowed: readonly string[], base?: string): void {
  for (const member of Object.keys(raw)) {
    if (!allowed.includes(member)) errors.add(errors.at(member, base), 'is not a known field');
  }
}

const MAX_TIERS = 100;

/** Tiers: ascending up_to, exactly one open-ended tier, and it is the last. */
export function readTiers(errors: FieldErrors, raw: unknown, path: string): Tier[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_TIERS) {
    errors.add(path, `must be a list of 1 to ${MAX_TIERS} tiers`);
    return undefined;
  }
  const before = errors.list.length;
  const openEnded = raw.filter((tier) => isRecord(tier) && tier.up_to === null).length;
  let previous: Dec | null = null;
  const tiers = raw.map((tier, index): Tier => {
    const at = `${path}[${index}]`;
    if (!isRecord(tier)) {
      errors.add(at, 'must be an object with up_to, unit_price and optional flat_fee');
      return { up_to: null, unit_price: '0' };
    }
    rejectUnknown(errors, tier, ['up_to', 'unit_price', 'flat_fee'], at);
    const upTo = readDecimal(errors, tier.up_to, `${at}.up_to`, { nullable: true, required: true, positive: true });
    const isLast = index === raw.length - 1;
    if (upTo === null && !isLast) {
      errors.add(
        `${at}.up_to`,
        openEnded > 1
          ? 'more than one open-ended tier: only the last tier may have up_to null'
          : 'only the last tier may be open-ended (up_to null)',
      );
    }
    if (upTo !== null && upTo !== undefined) {
      if (previous !== null && !new Dec(upTo).greaterThan(previous)) {
        errors.add(`${at}.up_to`, `must be greater than the previous tier's up_to (${previous.toString()})`);
      }
      if (isLast) errors.add(`${at}.up_to`, 'the last tier must be open-ended (up_to null)');
      previous = new Dec(upTo);
    }
    const unitPrice = readDecimal(errors, tier.unit_price, `${at}.unit_price`, { required: true });
    const flatFee = readDecimal(errors, tier.flat_fee, `${at}.flat_fee`, { nullable: true });
    const out: Tier = { up_to: upTo ?? null, unit_price: unitPrice ?? '0' };
    if (flatFee !== undefined) out.flat_fee = flatFee;
    return out;
  });
  return errors.list.length === before ? tiers : undefined;
}

const MAX_DIMENSIONS = 10;
const MAX_PRICES = 1000;

export function readDimensions(errors: FieldErrors, raw: unknown, path: string): string[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_DIMENSIONS) {
    errors.add(path, `must be a list of 1 to ${MAX_DIMENSIONS} property names`);
    return undefined;
  }
  const seen = new Set<string>();
  const before = errors.list.length;
  raw.forEach((name, index) => {
    if (typeof name !== 'string' || name.length === 0 || name.length > 100)
      errors.add(`${path}[${index}]`, 'must be a property name');
    else if (seen.has(name)) errors.add(`${path}[${index}]`, `"${name}" is listed twice`);
    else seen.add(name);
  });
  return errors.list.length === before ? (raw as string[]) : undefined;
}

/** Matrix prices: each `match` names every dimension exactly once; no two prices match the same group. */
export function readMatrixPrices(
  errors: FieldErrors,
  raw: unknown,
  path: string,
  dimensions: string[] | undefined,
): MatrixPrice[] | undefined {
  if (!Array.isArray(raw) || raw.length > MAX_PRICES) {
    errors.add(path, `must be a list of at most ${MAX_PRICES} prices`);
    return undefined;
  }
  const before = errors.list.length;
  const seen = new Map<string, number>();
  const prices = raw.map((price, index): MatrixPrice => {
    const at = `${path}[${index}]`;
    if (!isRecord(price)) {
      errors.add(at, 'must be an object with match and unit_price');
      return { match: {}, unit_price: '0' };
    }
    rejectUnknown(errors, price, ['match', 'unit_price'], at);
    const unitPrice = readDecimal(errors, price.unit_price, `${at}.unit_price`, { required: true });
    const match = readMatch(errors, price.match, `${at}.match`, dimensions);
    if (match && dimensions) {
      const key = JSON.stringify(dimensions.map((dimension) => match[dimension]));
      const first = seen.get(key);
      if (first !== undefined) errors.add(`${at}.match`, `matches the same group as ${path}[${first}]`);
      else seen.set(key, index);
    }
    return { match: match ?? {}, unit_price: unitPrice ?? '0' };
  });
  return errors.list.length === before ? prices : undefined;
}

function readMatch(
  errors: FieldErrors,
  raw: unknown,
  path: string,
  dimensions: string[] | undefined,
): Record<string, string> | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'must be an object with one value per dimension');
    return undefined;
  }
  if (!dimensions) return undefined;
  const match: Record<string, string> = {};
  const before = errors.list.length;
  for (const dimension of dimensions) {
    const value = raw[dimension];
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    ) {
      // Same spelling as metering's group values: 2.50 matches the group "2.5".
      match[dimension] = groupValueOf(value) as string;
    } else {
      errors.add(`${path}.${dimension}`, 'is required: a string, number or boolean');
    }
  }
  for (const member of Object.keys(raw)) {
    if (!dimensions.includes(member)) errors.add(`${path}.${member}`, 'is not one of the dimensions');
  }
  return errors.list.length === before ? match : undefined;
}
