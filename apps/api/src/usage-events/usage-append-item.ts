import { USAGE_RECORDED, usageStreamId, type UsageRecordedData } from '#domain';
import { streamName, type UsageAppendItem } from '#ledger';
import { usageIdFor, usagePayloadHash, type NormalizedUsageEvent } from './usage-event.validation';

/** `ingest`: the live API (timestamps up to 35 days old); `backfill`: any age, with its reason. */
export type IngestSource = { kind: 'ingest' } | { kind: 'backfill'; reason: string };

/**
 * What the usage writer appends for one validated event: its UsageRecorded event (the usage id derived
 * from the key), its key's payload hash and its stream. No Nest and no I/O, so bench/usage-flush.ts
 * builds its flushes with it too.
 */
export function usageAppendItem(
  tenantId: string,
  actor: string,
  requestId: string,
  event: NormalizedUsageEvent,
  source: IngestSource,
): UsageAppendItem {
  const usageId = usageIdFor(tenantId, event.idempotency_key);
  const payloadHash = usagePayloadHash(event);
  const data: UsageRecordedData = {
    usage_id: usageId,
    customer_id: event.customer_id,
    metric_key: event.metric_key,
    value: event.value,
    timestamp: event.timestamp,
    idempotency_key: event.idempotency_key,
    properties: event.properties,
    payload_hash: payloadHash,
    source: source.kind,
  };
  if (source.kind === 'backfill') data.backfill_reason = source.reason;
  return {
    tenantId,
    idempotencyKey: event.idempotency_key,
    payloadHash,
    stream: streamName(tenantId, 'usage', usageStreamId(event.customer_id, event.timestamp)),
    customerId: event.customer_id,
    metricKey: event.metric_key,
    timestamp: event.timestamp,
    event: {
      id: usageId,
      type: USAGE_RECORDED,
      data,
      metadata: { tenant_id: tenantId, actor, request_id: requestId },
    },
  };
}
