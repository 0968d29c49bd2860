import { createHash, randomUUID } from 'node:crypto';
import {
  METRIC_STREAM_CATEGORY,
  metricDecider,
  usageStreamId,
  type Metric,
  type MetricCommand,
  type MetricEvent,
  type UsageRecordedData,
  type UsageVoidedData,
} from '#domain';
import type { Pool } from 'pg';
import {
  StreamNotFoundError,
  rebuildProjection,
  streamName,
  type Checkpoint,
  type EventStore,
  type NewEvent,
} from '#ledger';
import { usageProjection } from '../usage.projection';

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

/** Decides a metric command on the stream's current state and appends the result (as the API does). */
export async function runMetricCommand(
  store: EventStore,
  tenant: string,
  command: MetricCommand,
): Promise<{ metric: Metric; position: Checkpoint | null }> {
  const stream = streamName(tenant, METRIC_STREAM_CATEGORY, command.metric_key);
  const recorded = await store.readStream(stream).catch((error: unknown) => {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  });
  const fold = (events: ReadonlyArray<{ type: string; data: unknown }>, from = metricDecider.initialState()) =>
    events.reduce((s, e) => metricDecider.evolve(s, { type: e.type, data: e.data } as MetricEvent), from);
  const state = fold(recorded);
  const events = metricDecider.decide(command, state);
  let position: Checkpoint | null = null;
  if (events.length > 0) {
    position = (
      await store.append(
        stream,
        events.map((event) => ({
          id: randomUUID(),
          type: event.type,
          data: event.data,
          metadata: { tenant_id: tenant, actor: 'system:test', request_id: `req_${randomUUID()}` },
        })),
        { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
      )
    ).position;
  }
  const after = fold(events, state);
  if (after.status === 'absent') throw new Error('metric fixture: no metric');
  return { metric: after.metric, position };
}

/** A forced rebuild of the usage projection into fresh tables, in batches of `batchSize`; throws unless it switched. */
export async function rebuildUsage(deps: { pool: Pool; store: EventStore }, batchSize: number): Promise<void> {
  const result = await rebuildProjection({
    ...deps,
    projections: [usageProjection],
    name: 'usage',
    force: true,
    batchSize,
  });
  if (result.outcome !== 'switched') throw new Error(`usage rebuild ended ${result.outcome}`);
}
