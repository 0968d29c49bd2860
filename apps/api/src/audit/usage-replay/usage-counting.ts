import { Dec, instantKey, toDecimalString, type Metric, type MetricVersion } from '#domain';
import type { UsageLogEvent } from './usage-log-reader';

/*
 * The per-event rules of the domain's countedUsageEvents and chargeUsageOf (libs/domain
 * billing/calculate/log-usage.ts), for one event at a time. The replay applies them while it reads
 * instead of on an array of every event; streaming-usage.spec.ts checks, on generated logs, that the
 * result is exactly the domain's.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** numeric(20,10), as the read model stores values. */
const DECIMAL_20_10 = /^-?\d{1,10}(\.\d{1,10})?$/;
/** Already what toDecimalString gives: no leading zeros, no trailing fractional zeros ("-0" aside). */
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** A UsageRecorded the read model would store: its usage id (lowercase) and instantKey of its timestamp. */
export interface Countable {
  usageId: string;
  at: string;
}

/** recordedData of the domain: null for a malformed UsageRecorded (the projection skips it). */
export function countable(event: UsageLogEvent): Countable | null {
  const usageId = event.usage_id ?? event.id;
  if (!UUID.test(usageId) || event.customer_id === null || event.metric_key === null) return null;
  if (event.idempotency_key === null || event.value === null || !DECIMAL_20_10.test(event.value)) return null;
  if (event.timestamp === null) return null;
  try {
    return { usageId: usageId.toLowerCase(), at: instantKey(event.timestamp) };
  } catch {
    return null;
  }
}

/**
 * toDecimalString(new Dec(value)) without a decimal.js object when the text is canonical already
 * (almost every stored value): the checksum line of each event needs it.
 */
export function canonicalDecimal(value: string): string {
  return CANONICAL_DECIMAL.test(value) && value !== '-0' ? value : toDecimalString(new Dec(value));
}

/** data.properties as the domain meters it: an object, or {} for anything else. */
export function propertiesRecord(raw: unknown): Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

/**
 * versionInForce with the versions' instants keyed once: the last version whose effective_from is at
 * or before `at` (an instantKey), version 1 otherwise.
 */
export function versionLookup(metric: Pick<Metric, 'versions'>): (at: string) => MetricVersion {
  const { versions } = metric;
  if (versions.length === 0) throw new Error('a metric has at least one version');
  const keys = versions.map((version) => (version.effective_from === null ? null : instantKey(version.effective_from)));
  return (at) => {
    for (let index = versions.length - 1; index > 0; index--) {
      const key = keys[index];
      if (key !== null && key <= at) return versions[index];
    }
    return versions[0];
  };
}
