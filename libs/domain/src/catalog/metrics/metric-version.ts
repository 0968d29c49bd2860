import type { MetricDefinition } from '../../metering';
import type { Metric, MetricVersion } from './metric';
import { instantOrder } from './metric-instant';

/**
 * The version of a metric in force at `timestamp` (an event's business time): the last version whose
 * `effective_from` is at or before it; version 1 (effective from the beginning of time) otherwise.
 * Usage is aggregated by this version, so a version published later never changes how earlier
 * usage counts. Exact to the nanosecond for RFC 3339 strings, whatever their offset.
 */
export function versionInForce(metric: Pick<Metric, 'versions'>, timestamp: string | Date): MetricVersion {
  if (metric.versions.length === 0) throw new Error('a metric has at least one version');
  const at = instantOrder(timestamp);
  for (let index = metric.versions.length - 1; index > 0; index--) {
    const version = metric.versions[index];
    if (version.effective_from !== null && instantOrder(version.effective_from) <= at) return version;
  }
  return metric.versions[0];
}

/** A version as the metering functions (aggregate, filters, groups) take it. */
export function metricDefinitionOf(metric: Pick<Metric, 'key'>, version: MetricVersion): MetricDefinition {
  const definition: MetricDefinition = {
    key: metric.key,
    aggregation: version.aggregation,
    field: version.field,
    filters: version.filters,
    group_by: version.group_by,
  };
  if (version.percentile !== undefined) definition.percentile = version.percentile;
  return definition;
}

/** The end (exclusive) of a version's applicability: the next version's effective_from; null: open. */
export function versionEffectiveUntil(metric: Pick<Metric, 'versions'>, version: MetricVersion): string | null {
  return metric.versions[version.version]?.effective_from ?? null;
}
