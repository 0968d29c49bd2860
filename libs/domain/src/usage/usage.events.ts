/**
 * The usage events: the contract between ingestion (writes them) and metering (projects and
 * queries them). Stored as is in the log; decimals are strings, instants RFC 3339 UTC.
 *
 * Stream: `<tenant>:usage-<customer_id>-<yyyy-mm>` (month of `timestamp`, UTC), so a period's events
 * sit in few streams and a stream stays short.
 */

export const USAGE_RECORDED = 'UsageRecorded';
export const USAGE_VOIDED = 'UsageVoided';

export interface UsageRecordedData {
  /** Equals the event id (uuid): what `POST /v1/events` answers as `id`. */
  usage_id: string;
  customer_id: string;
  metric_key: string;
  /** Canonical decimal string (parseDecimal), at most DECIMAL(20,10). */
  value: string;
  /** Business time of the usage, RFC 3339 UTC with milliseconds. */
  timestamp: string;
  /** Unique per tenant, forever. The first event with a key, in log order, counts. */
  idempotency_key: string;
  /** Flat object of scalars. */
  properties: Record<string, string | number | boolean | null>;
  /** sha256 hex of the canonical JSON of the client payload (same key + same hash = duplicate). */
  payload_hash: string;
  /** `ingest` (live API), `backfill` (POST /v1/events/backfill, with its reason). */
  source: 'ingest' | 'backfill';
  backfill_reason?: string;
}

export interface UsageVoidedData {
  /** The voided UsageRecorded event's id. */
  usage_id: string;
  customer_id: string;
  metric_key: string;
  /** The voided event's timestamp (so the void lands in the same period). */
  timestamp: string;
  reason: string;
}

export type UsageEvent =
  { type: typeof USAGE_RECORDED; data: UsageRecordedData } | { type: typeof USAGE_VOIDED; data: UsageVoidedData };

/** `2026-03` for a timestamp in March 2026 (UTC). */
export function usageMonth(timestamp: string): string {
  return timestamp.slice(0, 7);
}

export function usageStreamId(customerId: string, timestamp: string): string {
  return `${customerId}-${usageMonth(timestamp)}`;
}
