import type { DecimalString } from '../../decimal';
import type { Aggregation, PropertyFilter } from '../../metering';

/**
 * Metric (meter) events, in the stream `<tenant>:metric-<key>` (`streamName(tenant, 'metric', key)`).
 * A metric's key, name and unit belong to the metric; its definition is versioned: version 1 comes
 * with MetricCreated and applies from the beginning of time, version n (MetricVersionPublished)
 * applies from its `effective_from` until the next version's.
 */
/** `streamName(tenant, METRIC_STREAM_CATEGORY, key)` from '#ledger'. */
export const METRIC_STREAM_CATEGORY = 'metric';

export const METRIC_EVENT_TYPES = ['MetricCreated', 'MetricVersionPublished', 'MetricArchived'] as const;

/** One version's definition in its stored form: every default spelled out, decimals as strings. */
export interface MetricDefinitionBody {
  aggregation: Aggregation;
  /** `value` or `properties.<name>`. */
  field: string;
  /** Only for `percentile`: 0-100 as a canonical decimal string ("95", "99.9"). */
  percentile?: DecimalString;
  /** Property name -> filter; {} for none. */
  filters: Record<string, PropertyFilter>;
  /** Dimension property names, in order; [] for none. */
  group_by: string[];
}

export interface MetricCreated {
  type: 'MetricCreated';
  data: {
    metric_key: string;
    name: string;
    /** Null when not given. */
    unit: string | null;
    /** Version 1. */
    definition: MetricDefinitionBody;
    created_at: string;
  };
}

export interface MetricVersionPublished {
  type: 'MetricVersionPublished';
  data: {
    metric_key: string;
    /** 2, 3, … (version 1 is in MetricCreated). */
    version: number;
    /** RFC 3339 UTC, microseconds at most; later than the previous version's. */
    effective_from: string;
    definition: MetricDefinitionBody;
    published_at: string;
  };
}

export interface MetricArchived {
  type: 'MetricArchived';
  data: { metric_key: string; archived_at: string };
}

export type MetricEvent = MetricCreated | MetricVersionPublished | MetricArchived;
