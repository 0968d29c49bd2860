import { DateTime } from 'luxon';
import { fieldPath, type FieldError } from '../../decimal';
import { calendarAnchor, formatInstant, parseInstant, PeriodError, periodContaining } from '../../periods';
import type { Charge } from '../../pricing';
import type { Customer } from '../customers';
import { parseEntitlements, type Entitlements } from '../plans/entitlements';
import type { MetricCatalog } from '../plans/metric-catalog';
import { findPlanVersion, latestPublishedVersion, type Plan, type PublishedPlanVersion } from '../plans/plan';
import { parsePlanCharge } from '../plans/plan-version';
import { billingCycleOf, periodProration, type SubscriptionTerms } from './subscription';
import { invalidSubscription } from './subscription.errors';
import type { BillingAnchor, SubscriptionStarted } from './subscription.events';

/** What a request says about the subscription to start: unvalidated. */
export interface SubscriptionRequest {
  customer_id?: unknown;
  plan_key?: unknown;
  /** Default: the plan's latest published version. */
  plan_version?: unknown;
  /** RFC 3339 instant, or a date (YYYY-MM-DD: midnight in the customer's zone). */
  start_date?: unknown;
  /** `anniversary` (default: periods repeat from the start), `calendar`, or an instant/date to repeat from. */
  billing_anchor?: unknown;
  /**
   * `{ charges: { <charge key>: { …charge fields } }, entitlements: { <key>: { type, value, … } } }`: each
   * charge laid over the plan's charge of that key; each entitlement replaces (or adds) the plan's of that key.
   */
  overrides?: unknown;
}

/** Everything needed to decide a start; the caller loads the customer, plan and metrics (no I/O here). */
export interface StartInput {
  subscription_id: string;
  request: SubscriptionRequest;
  customer: Customer | null;
  plan: Plan | null;
  metrics: MetricCatalog;
  /**
   * A plan change: the new subscription starts at `starts_at` on the anchor of the one it continues.
   * `decided`: the change is recorded already, so the plan being archived since does not stop it.
   */
  continues?: { subscription: SubscriptionTerms; starts_at: string; decided: boolean };
  at: Date;
}

type Parsed<T> = { value?: T; errors: FieldError[] };
const fail = (field: string, message: string) => ({ errors: [{ field, message }] });

function resolveCustomer(request: SubscriptionRequest, customer: Customer | null): Parsed<Customer> {
  if (typeof request.customer_id !== 'string') return fail('customer_id', 'is required: the id of a customer');
  if (!customer) return fail('customer_id', `unknown customer "${request.customer_id}"`);
  if (customer.archived_at !== null) return fail('customer_id', `customer "${customer.id}" is archived`);
  return { value: customer, errors: [] };
}

function resolveVersion(
  request: SubscriptionRequest,
  plan: Plan | null,
  decided: boolean,
): Parsed<PublishedPlanVersion> {
  if (typeof request.plan_key !== 'string') return fail('plan_key', 'is required: the key of a price plan');
  if (!plan) return fail('plan_key', `unknown plan "${request.plan_key}"`);
  if (plan.archived_at !== null && !decided)
    return fail('plan_key', `plan "${plan.key}" is archived: it takes no new subscriptions`);
  const requested = request.plan_version;
  if (requested === undefined || requested === null) {
    const latest = latestPublishedVersion(plan);
    return latest ? { value: latest, errors: [] } : fail('plan_version', `plan "${plan.key}" has no published version`);
  }
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1) {
    return fail('plan_version', 'must be a version number (an integer from 1)');
  }
  const version = findPlanVersion(plan, requested);
  if (!version) return fail('plan_version', `plan "${plan.key}" has no version ${requested}`);
  if (version.status === 'draft') {
    return fail('plan_version', `version ${requested} of plan "${plan.key}" is a draft; publish it first`);
  }
  return { value: version, errors: [] };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** An RFC 3339 instant, or a date meaning local midnight in `zone`, as RFC 3339 UTC. */
export function parseStartInstant(raw: unknown, zone: string, field: string): Parsed<string> {
  if (typeof raw === 'string' && DATE_ONLY.test(raw)) {
    const date = DateTime.fromISO(raw, { zone });
    return date.isValid
      ? { value: formatInstant(date.startOf('day')), errors: [] }
      : fail(field, 'is not a valid date');
  }
  try {
    return { value: formatInstant(parseInstant(raw, zone, field)), errors: [] };
  } catch (error) {
    if (!(error instanceof PeriodError)) throw error;
    return fail(field, 'must be an RFC 3339 timestamp such as "2026-03-01T00:00:00Z", or a date such as "2026-03-01"');
  }
}

function parseAnchor(raw: unknown, start: string, version: PublishedPlanVersion, zone: string): Parsed<BillingAnchor> {
  if (raw === undefined || raw === null || raw === 'anniversary')
    return { value: { kind: 'anniversary', at: start }, errors: [] };
  if (raw === 'calendar')
    return { value: { kind: 'calendar', at: calendarAnchor(version.billing_interval, zone) }, errors: [] };
  const fixed = parseStartInstant(raw, zone, 'billing_anchor');
  if (!fixed.value) return fail('billing_anchor', 'must be "anniversary", "calendar", an RFC 3339 timestamp or a date');
  return { value: { kind: 'fixed', at: fixed.value }, errors: [] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An override laid over the plan's charge. Changing the model keeps only the key (and the metric,
 * for a usage model): the old model's members do not apply to the new one.
 */
function mergeOverride(charge: Charge, override: Record<string, unknown>): Record<string, unknown> {
  if (override.model === undefined || override.model === charge.model) return { ...charge, ...override };
  const base: Record<string, unknown> = { key: charge.key };
  if (override.model !== 'flat_fee' && 'metric_key' in charge) base.metric_key = charge.metric_key;
  return { ...base, ...override };
}

function applyOverrides(
  charges: readonly Charge[],
  raw: unknown,
  metrics: MetricCatalog,
): Parsed<{ charges: Charge[]; overridden: Record<string, Charge> }> {
  if (raw === undefined || raw === null) return { value: { charges: [...charges], overridden: {} }, errors: [] };
  if (!isRecord(raw)) return fail('overrides', 'must be an object such as { "charges": { "<charge key>": { … } } }');
  const errors: FieldError[] = Object.keys(raw)
    .filter((member) => member !== 'charges' && member !== 'entitlements')
    .map((member) => ({ field: `overrides.${member}`, message: 'is not a known field' }));
  const given = raw.charges ?? {};
  if (!isRecord(given)) return fail('overrides.charges', 'must be an object of charge overrides by charge key');
  const overridden: Record<string, Charge> = {};
  for (const [key, override] of Object.entries(given)) {
    const at = fieldPath('overrides.charges', key);
    const charge = charges.find((candidate) => candidate.key === key);
    if (!charge) errors.push({ field: at, message: `the plan version has no charge "${key}"` });
    else if (!isRecord(override)) errors.push({ field: at, message: 'must be an object of charge fields' });
    else if (override.key !== undefined && override.key !== key)
      errors.push({ field: `${at}.key`, message: `must be "${key}"` });
    else {
      const parsed = parsePlanCharge(mergeOverride(charge, override), metrics, at);
      errors.push(...parsed.errors);
      if (parsed.value) overridden[key] = parsed.value;
    }
  }
  if (errors.length > 0) return { errors };
  return { value: { charges: charges.map((charge) => overridden[charge.key] ?? charge), overridden }, errors };
}

/**
 * Entitlement overrides (enterprise deals): each entry of `overrides.entitlements` replaces the plan
 * version's entitlement of its key, or adds one the plan lacks; validated like a plan's entitlements
 * (422 naming `overrides.entitlements.<key>.<field>`). `overridden` is undefined when none is given.
 */
function applyEntitlementOverrides(
  entitlements: Entitlements,
  rawOverrides: unknown,
  metrics: MetricCatalog,
): Parsed<{ entitlements: Entitlements; overridden?: Entitlements }> {
  const raw = isRecord(rawOverrides) ? rawOverrides.entitlements : undefined;
  const parsed = parseEntitlements(raw, metrics, 'overrides.entitlements');
  if (!parsed.value) return { errors: parsed.errors };
  if (Object.keys(parsed.value).length === 0) return { value: { entitlements }, errors: [] };
  return { value: { entitlements: { ...entitlements, ...parsed.value }, overridden: parsed.value }, errors: [] };
}

/** Where and on which anchor the subscription starts: from the request, or from the one it continues. */
function startAndAnchor(
  input: StartInput,
  version: PublishedPlanVersion,
  zone: string,
): Parsed<{ start: string; anchor: BillingAnchor }> {
  if (input.continues) {
    const previous = input.continues.subscription.billing_anchor;
    const anchor: BillingAnchor =
      previous.kind === 'calendar'
        ? { kind: 'calendar', at: calendarAnchor(version.billing_interval, zone) }
        : previous;
    return { value: { start: input.continues.starts_at, anchor }, errors: [] };
  }
  if (input.request.start_date === undefined) return fail('start_date', 'is required');
  const start = parseStartInstant(input.request.start_date, zone, 'start_date');
  if (!start.value) return start as Parsed<never>;
  const anchor = parseAnchor(input.request.billing_anchor, start.value, version, zone);
  return anchor.value ? { value: { start: start.value, anchor: anchor.value }, errors: [] } : (anchor as Parsed<never>);
}

/**
 * The SubscriptionStarted a start request decides, or SUBSCRIPTION.INVALID naming every field at
 * fault: the customer exists and is not archived, the plan exists and is not archived, the version is
 * published, currencies match, the dates parse, each override is a valid charge.
 */
export function decideStart(input: StartInput): SubscriptionStarted {
  const customer = resolveCustomer(input.request, input.customer);
  const version = resolveVersion(input.request, input.plan, input.continues?.decided ?? false);
  const errors = [...customer.errors, ...version.errors];
  if (customer.value && version.value && customer.value.currency !== version.value.currency) {
    errors.push({
      field: 'plan_key',
      message:
        `plan "${input.plan!.key}" version ${version.value.version} is priced in ${version.value.currency}, ` +
        `customer "${customer.value.id}" is billed in ${customer.value.currency}`,
    });
  }
  const zone = customer.value?.timezone ?? 'UTC';
  const timing = version.value ? startAndAnchor(input, version.value, zone) : { errors: [] };
  const charges = version.value
    ? applyOverrides(version.value.charges, input.request.overrides, input.metrics)
    : { errors: [] };
  const entitlements = version.value
    ? applyEntitlementOverrides(version.value.entitlements, input.request.overrides, input.metrics)
    : { errors: [] };
  errors.push(...timing.errors, ...charges.errors, ...entitlements.errors);
  if (version.value && charges.value && entitlements.value && !input.continues?.decided) {
    errors.push(
      ...archivedMetricsInUse(input.request, version.value, charges.value, entitlements.value, input.metrics),
    );
  }
  if (
    errors.length > 0 ||
    !customer.value ||
    !version.value ||
    !timing.value ||
    !charges.value ||
    !entitlements.value
  ) {
    throw invalidSubscription(errors);
  }
  return started(input, customer.value, version.value, timing.value, charges.value, entitlements.value);
}

/**
 * The version's own charges and entitlement limits (those not overridden: an override was checked
 * against the catalog when parsed) on a metric archived since the version was published: a new
 * subscription would bill or judge usage that ingestion now refuses. Named on `plan_version` when
 * the request chose it, else on `plan_key`. A metric missing from the catalog is not judged here
 * (metrics are never deleted, and publishing checked that it existed).
 */
function archivedMetricsInUse(
  request: SubscriptionRequest,
  version: PublishedPlanVersion,
  charges: { overridden: Record<string, Charge> },
  entitlements: { overridden?: Entitlements },
  metrics: MetricCatalog,
): FieldError[] {
  const field = request.plan_version === undefined || request.plan_version === null ? 'plan_key' : 'plan_version';
  const archived = (key: string | null | undefined) => typeof key === 'string' && metrics.get(key)?.archived === true;
  const hint = 'override it or choose a version without it';
  const errors: FieldError[] = [];
  for (const charge of version.charges) {
    const metricKey = 'metric_key' in charge ? charge.metric_key : undefined;
    if (charges.overridden[charge.key] !== undefined || !archived(metricKey)) continue;
    const message = `charge "${charge.key}" of version ${version.version} bills metric "${metricKey}", which is archived: ${hint}`;
    errors.push({ field, message });
  }
  for (const [key, entitlement] of Object.entries(version.entitlements ?? {})) {
    if (entitlements.overridden?.[key] !== undefined || entitlement.type !== 'limit') continue;
    if (!archived(entitlement.metric_key)) continue;
    const message = `entitlement "${key}" of version ${version.version} limits metric "${entitlement.metric_key}", which is archived: ${hint}`;
    errors.push({ field, message });
  }
  return errors;
}

function started(
  input: StartInput,
  customer: Customer,
  version: PublishedPlanVersion,
  timing: { start: string; anchor: BillingAnchor },
  charges: { charges: Charge[]; overridden: Record<string, Charge> },
  entitlements: { entitlements: Entitlements; overridden?: Entitlements },
): SubscriptionStarted {
  const terms = {
    billing_interval: version.billing_interval,
    billing_anchor: timing.anchor,
    timezone: customer.timezone,
  };
  const cycle = billingCycleOf(terms);
  const firstPeriod = periodContaining(cycle, timing.start);
  return {
    type: 'SubscriptionStarted',
    data: {
      subscription_id: input.subscription_id,
      customer_id: customer.id,
      plan_key: input.plan!.key,
      plan_version: version.version,
      currency: customer.currency,
      timezone: customer.timezone,
      billing_interval: version.billing_interval,
      start_date: timing.start,
      billing_anchor: timing.anchor,
      charges: charges.charges,
      // `entitlements` only when some are overridden: events recorded before they existed lack it anyway.
      overrides: entitlements.overridden
        ? { charges: charges.overridden, entitlements: entitlements.overridden }
        : { charges: charges.overridden },
      minimum_commitment: version.minimum_commitment,
      entitlements: entitlements.entitlements,
      previous_subscription_id: input.continues?.subscription.subscription_id ?? null,
      first_period: periodProration(cycle, firstPeriod, timing.start, null, charges.charges),
      created_at: input.at.toISOString(),
    },
  };
}
