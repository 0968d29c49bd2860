import { Dec, toDecimalString } from '../decimal';
import {
  DEFAULT_FIELD,
  MeteringError,
  PROPERTY_FIELD_PREFIX,
  type FilterScalar,
  type MeteredEvent,
  type MetricDefinition,
  type PropertyFilter,
} from './metric';

/** A JSON scalar read from an event. Absent, null, objects and arrays are "no value". */
export type FieldValue = string | number | boolean;

function asScalar(raw: unknown): FieldValue | undefined {
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  return undefined;
}

function propertyOf(properties: MeteredEvent['properties'], name: string): FieldValue | undefined {
  if (!properties || !Object.prototype.hasOwnProperty.call(properties, name)) return undefined;
  return asScalar(properties[name]);
}

/**
 * The value a metric reads from an event: `value` or `properties.<name>`. Undefined when absent,
 * null or not a scalar; such an event is skipped by every aggregation except `count`.
 */
export function resolveField(metric: Pick<MetricDefinition, 'field'>, event: MeteredEvent): FieldValue | undefined {
  const field = metric.field ?? DEFAULT_FIELD;
  if (field === DEFAULT_FIELD) return asScalar(event.value);
  if (field.startsWith(PROPERTY_FIELD_PREFIX))
    return propertyOf(event.properties, field.slice(PROPERTY_FIELD_PREFIX.length));
  throw new MeteringError('METERING.INVALID_METRIC', `unsupported field "${field}"`, 'field');
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A field value as a decimal: JSON numbers, and strings in plain decimal notation ("12.5").
 * Anything else (booleans, "abc", "1e3") is not a number and the event is skipped.
 */
export function numericValue(value: FieldValue | undefined): Dec | null {
  if (typeof value === 'number') return new Dec(String(value));
  if (typeof value === 'string' && value.length <= 200 && PLAIN_DECIMAL.test(value)) return new Dec(value);
  return null;
}

/**
 * Identity of a scalar for equality, grouping and distinct counting, with PostgreSQL jsonb equality
 * semantics: numbers by decimal value (1 = 1.0), strings by text, booleans by value, and no value
 * of one type ever equal to a value of another ("1" != 1, "true" != true).
 */
export function scalarKey(value: FieldValue): string {
  if (typeof value === 'number') return `n:${toDecimalString(new Dec(String(value)))}`;
  if (typeof value === 'boolean') return `b:${String(value)}`;
  return `s:${value}`;
}

function matchesFilter(value: FieldValue | undefined, filter: PropertyFilter): boolean {
  if ('exists' in filter) return (value !== undefined) === filter.exists;
  const key = value === undefined ? undefined : scalarKey(value);
  if ('eq' in filter) return key === scalarKey(filter.eq);
  // neq / not_in match events WITHOUT the property too: "region is not eu" includes events with
  // no region. (SQL: NOT (properties @> '{"region":"eu"}'), not properties->>'region' <> 'eu'.)
  if ('neq' in filter) return key !== scalarKey(filter.neq);
  if ('in' in filter)
    return key !== undefined && filter.in.some((candidate: FilterScalar) => scalarKey(candidate) === key);
  if ('not_in' in filter)
    return key === undefined || !filter.not_in.some((candidate: FilterScalar) => scalarKey(candidate) === key);
  throw new MeteringError('METERING.INVALID_METRIC', 'unknown filter operator', 'filters');
}

/** True when the event's properties pass every filter of the metric (no filters: always true). */
export function matchesFilters(
  metric: Pick<MetricDefinition, 'filters'>,
  properties: MeteredEvent['properties'],
): boolean {
  const filters = metric.filters;
  if (!filters) return true;
  for (const name of Object.keys(filters)) {
    if (!matchesFilter(propertyOf(properties, name), filters[name])) return false;
  }
  return true;
}

/** A group's dimension values as strings (numbers canonical, booleans "true"/"false"); null when absent. */
export type GroupValues = Record<string, string | null>;

export function groupValueOf(value: FieldValue | undefined): string | null {
  if (value === undefined) return null;
  if (typeof value === 'number') return toDecimalString(new Dec(String(value)));
  return String(value);
}

/** The `group_by` values of an event, in `group_by` order. */
export function groupValues(
  metric: Pick<MetricDefinition, 'group_by'>,
  properties: MeteredEvent['properties'],
): GroupValues {
  const values: GroupValues = {};
  for (const name of metric.group_by ?? []) values[name] = groupValueOf(propertyOf(properties, name));
  return values;
}

/**
 * A deterministic string identifying an event's group: the JSON array of its typed `group_by`
 * values in `group_by` order ("[]" without group_by). Typed keys keep "1" and 1 apart, and JSON
 * quoting makes the key unambiguous whatever the values contain.
 */
export function groupKey(metric: Pick<MetricDefinition, 'group_by'>, properties: MeteredEvent['properties']): string {
  return JSON.stringify(
    (metric.group_by ?? []).map((name) => {
      const value = propertyOf(properties, name);
      return value === undefined ? null : scalarKey(value);
    }),
  );
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A valid instant's UTC epoch seconds and its fraction's digits; `format` / `value`: why it is none. */
function instantParts(timestamp: string): { epochSeconds: number; fraction: string } | 'format' | 'value' {
  const match = RFC3339.exec(timestamp);
  if (!match) return 'format';
  const [, year, month, day, hour, minute, second, fraction = '', offset] = match;
  const zulu = offset.toUpperCase() === 'Z';
  // RFC 3339's time-numoffset: hours 00-23, minutes 00-59 (`+99:99` would move the instant by 4 days).
  if (!zulu && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4, 6)) > 59)) return 'value';
  const offsetMinutes = zulu
    ? 0
    : (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  // setUTCFullYear, not Date.UTC(year…): Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(Date.UTC(2000, Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  date.setUTCFullYear(Number(year));
  if (
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day) ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59
  ) {
    // Date rolls Feb 30 over to Mar 1 silently; an impossible wall-clock value is no instant.
    return 'value';
  }
  return { epochSeconds: date.getTime() / 1000 - offsetMinutes * 60, fraction };
}

/**
 * A string that sorts like the instant: UTC epoch seconds (offset so it is never negative, fixed
 * width) and nanoseconds. Compares timestamps exactly, beyond the milliseconds a Date keeps, and
 * whatever offset each was written with.
 */
export function instantKey(timestamp: string): string {
  const parts = instantParts(timestamp);
  if (parts === 'format')
    throw new MeteringError('METERING.INVALID_TIMESTAMP', `"${timestamp}" is not an RFC 3339 timestamp`, 'timestamp');
  if (parts === 'value')
    throw new MeteringError('METERING.INVALID_TIMESTAMP', `"${timestamp}" is not a valid instant`, 'timestamp');
  return `${String(parts.epochSeconds + 1e11).padStart(12, '0')}.${parts.fraction.padEnd(9, '0')}`;
}

/**
 * Whether `raw` is a timestamp instantKey accepts (an RFC 3339 instant that exists, which
 * PostgreSQL reads the same way), without building its key or throwing: what read models check
 * before they store an event's timestamp.
 */
export function isInstant(raw: unknown): raw is string {
  return typeof raw === 'string' && typeof instantParts(raw) === 'object';
}

/** Orders events by (timestamp, id): the total order behind `first` and `last`. */
export function compareByTimeThenId(
  a: { timestamp: string; id: string },
  b: { timestamp: string; id: string },
): number {
  const ka = instantKey(a.timestamp);
  const kb = instantKey(b.timestamp);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}
