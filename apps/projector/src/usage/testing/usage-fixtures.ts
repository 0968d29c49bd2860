import { createHash, randomUUID } from 'node:crypto';
import { usageStreamId, type UsageRecordedData, type UsageVoidedData } from '#domain';
import { streamName, type Checkpoint, type EventStore, type NewEvent } from '#ledger';

/** Test fixtures: usage events appended straight to the store, as ingestion would write them. */
export interface UsageInput {
  tenant?: string;
  customer: string;
  metric: string;
  value?: string;
  timestamp: string;
  key?: string;
  id?: string;
  properties?: Record<string, string | number | boolean | null>;
  source?: 'ingest' | 'backfill';
  actor?: string;
}

export function usageRecorded(input: UsageInput): NewEvent<UsageRecordedData> {
  const id = input.id ?? randomUUID();
  const data: UsageRecordedData = {
    usage_id: id,
    customer_id: input.customer,
    metric_key: input.metric,
    value: input.value ?? '1',
    timestamp: input.timestamp,
    idempotency_key: input.key ?? `key-${id}`,
    properties: input.properties ?? {},
    payload_hash: createHash('sha256').update(id).digest('hex'),
    source: input.source ?? 'ingest',
  };
  return {
    id,
    type: 'UsageRecorded',
    data,
    metadata: { tenant_id: input.tenant ?? 'acme', actor: input.actor ?? 'key_test', request_id: `req_${id}` },
  };
}

export function usageVoided(
  tenant: string,
  recorded: Pick<UsageRecordedData, 'usage_id' | 'customer_id' | 'metric_key' | 'timestamp'>,
  reason = 'test void',
): NewEvent<UsageVoidedData> {
  return {
    id: randomUUID(),
    type: 'UsageVoided',
    data: {
      usage_id: recorded.usage_id,
      customer_id: recorded.customer_id,
      metric_key: recorded.metric_key,
      timestamp: recorded.timestamp,
      reason,
    },
    metadata: { tenant_id: tenant, actor: 'key_test', request_id: `req_void_${recorded.usage_id}` },
  };
}

/** Appends each event to its customer-month stream (one append per stream, in the given order). */
export async function appendUsage(
  store: EventStore,
  events: ReadonlyArray<NewEvent<UsageRecordedData | UsageVoidedData>>,
): Promise<Checkpoint> {
  let last: Checkpoint | null = null;
  let run: Array<NewEvent<UsageRecordedData | UsageVoidedData>> = [];
  let runStream = '';
  const flush = async () => {
    if (run.length > 0) last = (await store.append(runStream, run)).position;
    run = [];
  };
  for (const event of events) {
    const stream = streamName(
      event.metadata.tenant_id,
      'usage',
      usageStreamId(event.data.customer_id, event.data.timestamp),
    );
    if (stream !== runStream) await flush();
    runStream = stream;
    run.push(event);
  }
  await flush();
  if (last === null) throw new Error('appendUsage: no events');
  return last;
}
