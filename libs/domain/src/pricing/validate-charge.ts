import { Dec, type FieldError } from '../decimal';
import { KEY_PATTERN } from '../metering';
import { CHARGE_MODELS, PricingError, type Charge, type ChargeModel } from './charge';
import {
  FieldErrors,
  isRecord,
  readDecimal,
  readDimensions,
  readMatrixPrices,
  readTiers,
  rejectUnknown,
  type Raw,
} from './charge-fields';
import { cachedFormula } from './formula';

export interface ValidateChargeOptions {
  /** When given, a usage charge's metric_key must be one of these. */
  knownMetricKeys?: Iterable<string>;
  /** Path of the charge in the request, prepended to every field: "charges[1]" gives "charges[1].tiers[2].up_to". */
  prefix?: string;
}

const COMMON = ['key', 'model', 'min_amount', 'max_amount'];
const MEMBERS: Readonly<Record<ChargeModel, readonly string[]>> = {
  flat_fee: ['amount'],
  per_unit: ['metric_key', 'unit_price'],
  tiered: ['metric_key', 'tiers'],
  volume: ['metric_key', 'tiers'],
  package: ['metric_key', 'package_size', 'package_price', 'free_units'],
  matrix: ['metric_key', 'dimensions', 'prices', 'default_unit_price'],
  custom_formula: ['metric_key', 'formula'],
};

/** Reads the members specific to one model into `out`; problems go to `errors`. */
function readModel(model: ChargeModel, raw: Raw, errors: FieldErrors, out: Raw): void {
  const at = (member: string) => errors.at(member);
  switch (model) {
    case 'flat_fee':
      out.amount = readDecimal(errors, raw.amount, at('amount'), { required: true });
      return;
    case 'per_unit':
      out.unit_price = readDecimal(errors, raw.unit_price, at('unit_price'), { required: true });
      return;
    case 'tiered':
    case 'volume':
      out.tiers = readTiers(errors, raw.tiers, at('tiers'));
      return;
    case 'package':
      out.package_size = readDecimal(errors, raw.package_size, at('package_size'), { required: true, positive: true });
      out.package_price = readDecimal(errors, raw.package_price, at('package_price'), { required: true });
      out.free_units = readDecimal(errors, raw.free_units, at('free_units'), { nullable: true });
      return;
    case 'matrix': {
      const dimensions = readDimensions(errors, raw.dimensions, at('dimensions'));
      out.dimensions = dimensions;
      out.prices = readMatrixPrices(errors, raw.prices, at('prices'), dimensions);
      out.default_unit_price = readDecimal(errors, raw.default_unit_price, at('default_unit_price'), {
        nullable: true,
      });
      if (Array.isArray(raw.prices) && raw.prices.length === 0 && (out.default_unit_price ?? null) === null) {
        errors.add(at('prices'), 'needs at least one price, or a default_unit_price');
      }
      return;
    }
    case 'custom_formula':
      try {
        cachedFormula(raw.formula as string);
        out.formula = raw.formula;
      } catch (error) {
        if (!(error instanceof PricingError)) throw error;
        errors.add(at('formula'), error.message);
      }
      return;
    default: {
      const unknown: never = model;
      throw new Error(`unhandled charge model ${String(unknown)}`);
    }
  }
}

/** key and metric_key into `out`; min/max are returned so that they go last in the stored charge. */
function readCommon(raw: Raw, errors: FieldErrors, out: Raw, options: ValidateChargeOptions, model: ChargeModel): Raw {
  const at = (member: string) => errors.at(member);
  if (typeof raw.key !== 'string' || !KEY_PATTERN.test(raw.key)) {
    errors.add(
      at('key'),
      'must be 1-100 characters of letters, digits, "_", "." or "-", starting with a letter or digit',
    );
  } else out.key = raw.key;
  if (model !== 'flat_fee') {
    const known = options.knownMetricKeys ? new Set(options.knownMetricKeys) : undefined;
    if (typeof raw.metric_key !== 'string' || !KEY_PATTERN.test(raw.metric_key))
      errors.add(at('metric_key'), 'is required: the key of a metric');
    else if (known && !known.has(raw.metric_key)) errors.add(at('metric_key'), `unknown metric "${raw.metric_key}"`);
    else out.metric_key = raw.metric_key;
  }
  const min = readDecimal(errors, raw.min_amount, at('min_amount'), { nullable: true });
  const max = readDecimal(errors, raw.max_amount, at('max_amount'), { nullable: true });
  if (typeof min === 'string' && typeof max === 'string' && new Dec(min).greaterThan(max)) {
    errors.add(at('max_amount'), 'must be at least min_amount');
  }
  return { min_amount: min, max_amount: max };
}

/** Reads a charge from a request: every problem, and the canonical charge when there are none. */
export function parseCharge(
  input: unknown,
  options: ValidateChargeOptions = {},
): { charge: Charge | null; errors: FieldError[] } {
  const errors = new FieldErrors(options.prefix);
  if (!isRecord(input)) {
    errors.add(options.prefix || 'charge', 'must be an object');
    return { charge: null, errors: errors.list };
  }
  const model = input.model as ChargeModel;
  if (!CHARGE_MODELS.includes(model)) {
    errors.add(errors.at('model'), `must be one of ${CHARGE_MODELS.join(', ')}`);
    return { charge: null, errors: errors.list };
  }
  // Members in a readable order for stored events: key, model, metric_key, prices, min/max.
  const out: Raw = { key: undefined, model, metric_key: undefined };
  const limits = readCommon(input, errors, out, options, model);
  readModel(model, input, errors, out);
  Object.assign(out, limits);
  rejectUnknown(errors, input, [...COMMON, ...MEMBERS[model]]);
  if (errors.list.length > 0) return { charge: null, errors: errors.list };
  // Optional members that were absent stay absent: stored events carry only what the user set.
  for (const member of Object.keys(out)) if (out[member] === undefined) delete out[member];
  return { charge: out as unknown as Charge, errors: [] };
}

/**
 * Every problem with a charge (an empty list: valid): negative or malformed prices, tiers out of
 * order or wrongly open-ended, a formula that does not compile, missing fields, package_size <= 0,
 * unknown fields, unknown metrics. Field paths start with `options.prefix`.
 */
export function validateCharge(input: unknown, options: ValidateChargeOptions = {}): FieldError[] {
  return parseCharge(input, options).errors;
}

/** The canonical charge (decimals as canonical strings), or PRICING.INVALID_CHARGE with every problem. */
export function normalizeCharge(input: unknown, options: ValidateChargeOptions = {}): Charge {
  const { charge, errors } = parseCharge(input, options);
  if (!charge) {
    throw new PricingError(
      'PRICING.INVALID_CHARGE',
      errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      undefined,
      errors,
    );
  }
  return charge;
}
