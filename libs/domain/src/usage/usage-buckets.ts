/**
 * Pre-aggregation buckets of the `usage` read model: 15 minutes of UTC time, starting at multiples
 * of 15 minutes since the epoch, and their roll-up per UTC day. Billing periods start at local
 * midnight in the customer's IANA zone (or at an anchor's wall-clock time) and every UTC offset in
 * use is a multiple of 15 minutes, so a period starting at a local midnight starts on a 15-minute
 * boundary. A period is read as: whole UTC days inside it (day rows), the 15-minute buckets of its
 * partial days, and the raw events of its partial 15-minute buckets (an anniversary anchor at 10:37).
 * Hour histograms are unions of 15-minute buckets, day histograms the day rows, in UTC.
 */
export const BUCKET_MINUTES = 15;
export const BUCKET_MS = BUCKET_MINUTES * 60_000;
export const DAY_MS = 86_400_000;

/** `quarter`: the 15-minute buckets; `day`: their roll-up per UTC day. */
export type BucketLevel = 'quarter' | 'day';
export const BUCKET_LEVEL_MS: Readonly<Record<BucketLevel, number>> = { quarter: BUCKET_MS, day: DAY_MS };

/** The SQL of a timestamptz expression's bucket start at a level (same origin as bucketFloor). */
export function bucketStartSql(ts: string, level: BucketLevel = 'quarter'): string {
  const width = level === 'quarter' ? `${BUCKET_MINUTES} minutes` : '1 day';
  return `date_bin('${width}', ${ts}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
}

/** `instant` rounded down to a multiple of `ms` since the epoch. */
export function floorTo(instant: Date, ms: number): Date {
  return new Date(Math.floor(instant.getTime() / ms) * ms);
}

/** `instant` rounded up to a multiple of `ms` since the epoch. */
export function ceilTo(instant: Date, ms: number): Date {
  return new Date(Math.ceil(instant.getTime() / ms) * ms);
}

/** Start of the bucket holding `instant`. */
export function bucketFloor(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / BUCKET_MS) * BUCKET_MS);
}

/** The first bucket boundary at or after `instant`. */
export function bucketCeil(instant: Date): Date {
  return new Date(Math.ceil(instant.getTime() / BUCKET_MS) * BUCKET_MS);
}

export const HISTOGRAM_GRANULARITIES = ['hour', 'day'] as const;
export type HistogramGranularity = (typeof HISTOGRAM_GRANULARITIES)[number];

export const GRANULARITY_MS: Readonly<Record<HistogramGranularity, number>> = {
  hour: 3_600_000,
  day: 86_400_000,
};
