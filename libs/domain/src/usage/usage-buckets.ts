/**
 * Pre-aggregation buckets of the `usage` read model: 15 minutes of UTC time, starting at multiples
 * of 15 minutes since the epoch. Billing periods start at local midnight in the customer's IANA zone
 * (or at an anchor's wall-clock time) and every UTC offset in use is a multiple of 15 minutes, so a
 * period starting at a local midnight starts on a bucket boundary; a period that does not (an
 * anniversary anchor at 10:37) is served from whole buckets inside it plus the raw events of its
 * partial edge buckets. Hour and day histograms are unions of these buckets, in UTC.
 */
export const BUCKET_MINUTES = 15;
export const BUCKET_MS = BUCKET_MINUTES * 60_000;

/** The SQL of a timestamptz expression's bucket start (same origin as bucketFloor). */
export function bucketStartSql(ts: string): string {
  return `date_bin('${BUCKET_MINUTES} minutes', ${ts}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
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
