import { hash } from 'node:crypto';
import {
  DecimalError,
  JsonNumberText,
  PROPERTY_FIELD_PREFIX,
  checkDecimal,
  isJsonObject,
  matchesFilters,
  normalizeInstant,
  parseDecimal,
  versionInForce,
  type Aggregation,
  type FieldError,
  type Metric,
  type MetricVersion,
} from '#domain';

/**
 * Validation and normalisation of one usage event as a client sends it (no Nest, no I/O: the
 * catalog checks, customer and metric, come after, from the CatalogDirectory).
 */
export interface NormalizedUsageEvent {
  customer_id: string;
  metric_key: string;
  /** Canonical decimal string (parseDecimal): "1.5", never "1.50" or "-0". */
  value: string;
  /** Canonical RFC 3339 UTC: milliseconds, or microseconds when the client sent them. */
  timestamp: string;
  idempotency_key: string;
  properties: Record<string, string | number | boolean | null>;
}

export type UsageValidation = { ok: true; event: NormalizedUsageEvent } | { ok: false; errors: FieldError[] };

export interface UsageValidationOptions {
  /** The handler's clock, read once per request. */
  now: Date;
  /** How far back a timestamp may be; null: any age (backfill). */
  maxAgeMs: number | null;
}

export const USAGE_EVENT_FIELDS = [
  'customer_id',
  'metric_key',
  'value',
  'timestamp',
  'idempotency_key',
  'properties',
] as const;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
export const MAX_FUTURE_MS = 5 * 60_000;
/** Live ingestion takes events up to 35 days old (a month and its grace); older ones go through backfill. */
export const MAX_LIVE_AGE_MS = 35 * 24 * 3_600_000;
export const MAX_PROPERTIES = 50;
export const PROPERTY_KEY_MAX_LENGTH = 64;
export const PROPERTY_VALUE_MAX_LENGTH = 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Postgres text and jsonb refuse NUL; other control characters have no business in a key. */
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A UTF-16 surrogate without its pair: not a character, and UTF-8 (Postgres) cannot carry it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text Postgres stores as sent: no NUL (text/jsonb refuse it), no lone surrogate (UTF-8 cannot carry it). */
function storableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

function checkName(raw: unknown, field: string): FieldError[] {
  if (raw === undefined || raw === null) return [{ field, message: 'is required' }];
  if (typeof raw !== 'string' || raw.length === 0) return [{ field, message: 'must be a non-empty string' }];
  return [];
}

function checkKey(raw: unknown): FieldError[] {
  const field = 'idempotency_key';
  if (raw === undefined || raw === null) return [{ field, message: 'is required' }];
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    return [{ field, message: `must be a string of 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters` }];
  }
  if (CONTROL.test(raw) || LONE_SURROGATE.test(raw)) {
    return [{ field, message: 'must not contain control characters or invalid Unicode' }];
  }
  // Keys are compared exactly (" k" and "k" are two events): a key of spaces alone is a client bug.
  if (raw.trim() === '') return [{ field, message: 'must not be blank' }];
  return [];
}

/** A plain non-negative decimal within DECIMAL(20,10), no exponent, at most 10 digits on each side. */
const PLAIN_VALUE = /^(\d{1,10})(?:\.(\d{1,10}))?$/;

/**
 * The common spellings, canonicalised without decimal.js (the hot path): exactly what parseDecimal
 * returns for them (a spec checks it on arbitrary inputs); anything else goes to parseDecimal.
 */
export function fastCanonicalValue(raw: unknown): string | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 && raw < 1e10 ? String(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  const match = PLAIN_VALUE.exec(raw);
  if (match === null) return undefined;
  const integer = match[1].replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction === '' ? integer : `${integer}.${fraction}`;
}

function checkValue(raw: unknown): { value?: string; errors: FieldError[] } {
  if (raw === undefined || raw === null) return { errors: [{ field: 'value', message: 'is required' }] };
  const fast = fastCanonicalValue(raw);
  if (fast !== undefined) return { value: fast, errors: [] };
  try {
    // Usage quantities are never negative: a correction is a void, not a negative event.
    return { value: parseDecimal(raw, { field: 'value', allowNegative: false }), errors: [] };
  } catch (error) {
    if (error instanceof DecimalError) return { errors: [error.toFieldError()] };
    throw error;
  }
}

/** UTC with at most millisecond precision: what most clients send. */
const UTC_MILLIS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?Z$/;

/**
 * `2026-03-17T14:00:00Z`-style timestamps canonicalised with Date alone (the hot path): exactly what
 * normalizeInstant returns for them (a spec checks it); impossible dates, which Date would roll over
 * (Feb 30), and every other form go to normalizeInstant.
 */
export function fastCanonicalInstant(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || !UTC_MILLIS.test(raw)) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) return undefined;
  const canonical = new Date(ms).toISOString();
  return canonical.slice(0, 19) === raw.slice(0, 19) ? canonical : undefined;
}

function checkTimestamp(raw: unknown, options: UsageValidationOptions): { timestamp?: string; errors: FieldError[] } {
  const field = 'timestamp';
  if (raw === undefined || raw === null) return { errors: [{ field, message: 'is required' }] };
  const fast = fastCanonicalInstant(raw);
  const normalized = fast !== undefined ? { ok: true as const, value: fast } : normalizeInstant(raw, field);
  if (!normalized.ok) {
    const message =
      typeof raw === 'string' && /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?$/.test(raw)
        ? 'must carry a time zone ("Z" or an offset such as "+02:00")'
        : normalized.error.message;
    return { errors: [{ field, message }] };
  }
  const at = Date.parse(normalized.value);
  const now = options.now.getTime();
  if (at > now + MAX_FUTURE_MS)
    return { errors: [{ field, message: 'must not be more than 5 minutes in the future' }] };
  if (options.maxAgeMs !== null && at < now - options.maxAgeMs) {
    const days = Math.round(options.maxAgeMs / 86_400_000);
    return {
      errors: [{ field, message: `is more than ${days} days old: send it with POST /v1/events/backfill` }],
    };
  }
  return { timestamp: normalized.value, errors: [] };
}

function checkPropertyValue(value: unknown, field: string): FieldError[] {
  if (value === null || typeof value === 'boolean') return [];
  if (value instanceof JsonNumberText) {
    return [{ field, message: `${value.text} cannot be kept exactly as a JSON number: send it as a string` }];
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return [{ field, message: 'must be a finite number' }];
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      return [{ field, message: 'is too large to keep exactly: send it as a string' }];
    }
    return [];
  }
  if (typeof value === 'string') {
    if (value.length > PROPERTY_VALUE_MAX_LENGTH) {
      return [{ field, message: `must have at most ${PROPERTY_VALUE_MAX_LENGTH} characters` }];
    }
    return storableText(value) ? [] : [{ field, message: 'must not contain NUL characters or invalid Unicode' }];
  }
  return [{ field, message: 'must be a string, number, boolean or null (properties are flat)' }];
}

function checkProperties(raw: unknown): FieldError[] {
  if (raw === undefined || raw === null) return [];
  if (!isJsonObject(raw)) return [{ field: 'properties', message: 'must be an object' }];
  const keys = Object.keys(raw);
  if (keys.length > MAX_PROPERTIES) {
    return [{ field: 'properties', message: `must have at most ${MAX_PROPERTIES} keys` }];
  }
  return keys.flatMap((key) => {
    const field = `properties.${key}`;
    if (FORBIDDEN_KEYS.has(key)) return [{ field, message: 'is a reserved name' }];
    if (key.length === 0 || key.length > PROPERTY_KEY_MAX_LENGTH || !storableText(key)) {
      return [{ field, message: `names must have 1 to ${PROPERTY_KEY_MAX_LENGTH} characters of valid text` }];
    }
    return checkPropertyValue(raw[key], field);
  });
}

/** Every problem with the event, each naming its field, or the event in canonical form. */
export function validateUsageEvent(raw: unknown, options: UsageValidationOptions): UsageValidation {
  if (!isJsonObject(raw)) return { ok: false, errors: [{ field: '', message: 'an event must be a JSON object' }] };
  const value = checkValue(raw.value);
  const timestamp = checkTimestamp(raw.timestamp, options);
  const errors = [
    ...checkName(raw.customer_id, 'customer_id'),
    ...checkName(raw.metric_key, 'metric_key'),
    ...value.errors,
    ...timestamp.errors,
    ...checkKey(raw.idempotency_key),
    ...checkProperties(raw.properties),
    ...Object.keys(raw)
      .filter((key) => !(USAGE_EVENT_FIELDS as readonly string[]).includes(key))
      .map((key) => ({ field: key, message: 'unknown field' })),
  ];
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    event: {
      customer_id: raw.customer_id as string,
      metric_key: raw.metric_key as string,
      value: value.value!,
      timestamp: timestamp.timestamp!,
      idempotency_key: raw.idempotency_key as string,
      properties: { ...((raw.properties ?? {}) as NormalizedUsageEvent['properties']) },
    },
  };
}

/** The aggregations that read their field as a number (count and unique_count do not). */
const NUMERIC_AGGREGATIONS: ReadonlySet<Aggregation> = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'first',
  'last',
  'percentile',
]);
const metersPropertyAsNumber = (version: MetricVersion) =>
  NUMERIC_AGGREGATIONS.has(version.aggregation) && version.field?.startsWith(PROPERTY_FIELD_PREFIX) === true;
/** Per metric (a catalog object, replaced when the metric changes): does any version meter a property as a number? */
const metersProperties = new WeakMap<Metric, boolean>();

/**
 * A property the metric's version in force at the event's time meters as a number (`field:
 * "properties.tokens"` with sum, max, …) is the event's quantity: it follows `value`'s rules
 * (a non-negative decimal within DECIMAL(20,10)) or the event is refused, naming it, rather than
 * skipped or counted negative without a word. Absent or null, it is no value (the event still
 * counts for `count`); outside the version's filters, it is not metered at all.
 */
export function meteredPropertyErrors(metric: Metric, event: NormalizedUsageEvent): FieldError[] {
  let any = metersProperties.get(metric);
  if (any === undefined) {
    any = metric.versions.some(metersPropertyAsNumber);
    metersProperties.set(metric, any);
  }
  if (!any) return [];
  const version = versionInForce(metric, event.timestamp);
  if (!metersPropertyAsNumber(version)) return [];
  const name = version.field!.slice(PROPERTY_FIELD_PREFIX.length);
  const raw = Object.prototype.hasOwnProperty.call(event.properties, name) ? event.properties[name] : null;
  if (raw === null || !matchesFilters(version, event.properties)) return [];
  const checked = checkDecimal(raw, { field: `properties.${name}`, allowNegative: false });
  if (checked.ok) return [];
  return [{ ...checked.error, message: `${checked.error.message} (metric "${metric.key}" meters it)` }];
}

/**
 * The canonical JSON of the normalised payload (the key itself excluded): RFC 8785 for this shape,
 * written out by hand because it runs for every event. Members in code-unit order (customer_id,
 * metric_key, properties, timestamp, value), properties sorted the same way, scalars as
 * JSON.stringify writes them (which is RFC 8785 for strings, finite numbers, booleans and null).
 * A spec checks it against the general canonicalJson of '#domain'.
 */
export function usagePayloadText(event: NormalizedUsageEvent): string {
  const names = Object.keys(event.properties).sort();
  let properties = '';
  for (const name of names) {
    properties += `${properties === '' ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(event.properties[name])}`;
  }
  return (
    `{"customer_id":${JSON.stringify(event.customer_id)},"metric_key":${JSON.stringify(event.metric_key)},` +
    `"properties":{${properties}},"timestamp":${JSON.stringify(event.timestamp)},"value":${JSON.stringify(event.value)}}`
  );
}

/**
 * SHA-256 hex of the canonical payload: the same event sent again, however its JSON was spelled
 * ("1.50" or 1.5, "+02:00" or "Z", key order), has the same hash; any difference in what would be
 * recorded gives another hash. Stored with every key: it must never change meaning.
 */
export function usagePayloadHash(event: NormalizedUsageEvent): string {
  return hash('sha256', usagePayloadText(event));
}

/**
 * The usage id is derived from the key: a retry gets the same id in every mode, even unchecked ones.
 * It is deterministicUuid(`usage/<tenant>/<key>`) (a spec checks it), computed with the one-shot
 * hash because it runs for every event.
 */
export function usageIdFor(tenantId: string, idempotencyKey: string): string {
  const hex = hash('sha256', `abaxus:usage/${tenantId}/${idempotencyKey}`);
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
