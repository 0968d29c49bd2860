import type { DecimalString, FieldError } from '../decimal';
import type { GroupValues } from '../metering';

export const CHARGE_MODELS = [
  'flat_fee',
  'per_unit',
  'tiered',
  'volume',
  'package',
  'matrix',
  'custom_formula',
] as const;
export type ChargeModel = (typeof CHARGE_MODELS)[number];

/** A price tier. Tiers are ascending; a tier covers (previous up_to, up_to]; the last is open-ended (null). */
export interface Tier {
  up_to: DecimalString | null;
  unit_price: DecimalString;
  /** Charged once when usage reaches the tier (the first tier: always). */
  flat_fee?: DecimalString | null;
}

interface ChargeBase {
  key: string;
  /** The line amount is raised to this, if below (null: no minimum). */
  min_amount?: DecimalString | null;
  /** The line amount is capped at this, if above (null: no maximum). */
  max_amount?: DecimalString | null;
}

export interface FlatFeeCharge extends ChargeBase {
  model: 'flat_fee';
  amount: DecimalString;
}

export interface PerUnitCharge extends ChargeBase {
  model: 'per_unit';
  metric_key: string;
  unit_price: DecimalString;
}

/** Graduated: each unit at the price of the tier it falls in. */
export interface TieredCharge extends ChargeBase {
  model: 'tiered';
  metric_key: string;
  tiers: Tier[];
}

/** Volume: every unit at the price of the tier the total falls in. */
export interface VolumeCharge extends ChargeBase {
  model: 'volume';
  metric_key: string;
  tiers: Tier[];
}

export interface PackageCharge extends ChargeBase {
  model: 'package';
  metric_key: string;
  package_size: DecimalString;
  package_price: DecimalString;
  free_units?: DecimalString | null;
}

export interface MatrixPrice {
  /** One value per dimension. */
  match: Record<string, string>;
  unit_price: DecimalString;
}

export interface MatrixCharge extends ChargeBase {
  model: 'matrix';
  metric_key: string;
  /** The metric's group_by properties this charge prices by. */
  dimensions: string[];
  prices: MatrixPrice[];
  default_unit_price?: DecimalString | null;
}

export interface CustomFormulaCharge extends ChargeBase {
  model: 'custom_formula';
  metric_key: string;
  /** A decimal expression over `usage` whose value is the line amount (see formula.ts). */
  formula: string;
}

export type Charge =
  FlatFeeCharge | PerUnitCharge | TieredCharge | VolumeCharge | PackageCharge | MatrixCharge | CustomFormulaCharge;
export type UsageCharge = Exclude<Charge, FlatFeeCharge>;

/** Usage of a matrix charge: one quantity per group of dimension values (see metering aggregateGrouped). */
export type GroupedUsage = Array<{ group: GroupValues; quantity: DecimalString }>;

export type BreakdownKind =
  | 'flat_fee'
  | 'unit'
  | 'tier'
  | 'package'
  | 'group'
  | 'formula'
  | 'minimum_adjustment'
  | 'maximum_adjustment'
  | 'commitment_true_up';

/** One row of a line's breakdown. Fields that do not apply to a kind are null. */
export interface BreakdownRow {
  kind: BreakdownKind;
  /** 1-based tier number (tiered, volume). */
  tier: number | null;
  /** Exclusive lower bound of the tier ("0" for the first). */
  from: DecimalString | null;
  up_to: DecimalString | null;
  /** Matrix group: the dimension values priced by this row. */
  group: GroupValues | null;
  /** Units (tiers, units, groups), packages (package), proration factor (flat_fee), 1 (adjustments). */
  quantity: DecimalString;
  unit_price: DecimalString | null;
  flat_fee: DecimalString | null;
  /** Money in the currency's minor unit; the rows of a line sum exactly to the line amount. */
  amount: DecimalString;
}

export interface PricedLine {
  charge_key: string;
  model: ChargeModel | 'minimum_commitment';
  /** The usage priced (matrix: total of the groups; flat_fee: the proration factor). */
  quantity: DecimalString;
  /** Rounded once, half away from zero, to the currency's minor unit. */
  amount: DecimalString;
  breakdown: BreakdownRow[];
}

export type PricingErrorCode =
  | 'PRICING.INVALID_CHARGE'
  | 'PRICING.INVALID_FORMULA'
  | 'PRICING.FORMULA_EVALUATION'
  | 'PRICING.INVALID_USAGE'
  | 'PRICING.UNPRICED_GROUP'
  | 'PRICING.INVALID_PRORATION'
  | 'PRICING.INVALID_COMMITMENT';

export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    message: string,
    readonly field?: string,
    /** Every problem, for PRICING.INVALID_CHARGE. */
    readonly errors: FieldError[] = field ? [{ field, message }] : [],
  ) {
    super(message);
    this.name = 'PricingError';
  }
}
