import type { Metric } from '../metrics';

/** What a plan needs to know about a metric it references. */
export interface MetricRef {
  key: string;
  archived: boolean;
  /** The group_by of the metric's latest version: the dimensions a matrix charge may price by. */
  group_by: readonly string[];
}

/**
 * The tenant's metrics a command references, loaded by the caller (deciders do no I/O). A key
 * missing from the map is a metric that does not exist in the tenant.
 */
export type MetricCatalog = ReadonlyMap<string, MetricRef>;

export function metricRefOf(metric: Metric): MetricRef {
  const latest = metric.versions[metric.versions.length - 1];
  return { key: metric.key, archived: metric.archived_at !== null, group_by: [...latest.group_by] };
}

export function metricCatalogOf(metrics: Iterable<Metric>): MetricCatalog {
  return new Map([...metrics].map((metric) => [metric.key, metricRefOf(metric)]));
}
