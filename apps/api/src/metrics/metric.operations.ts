import {
  METRIC_STREAM_CATEGORY,
  invalidMetric,
  isValidMetricKey,
  metricDecider,
  validateMetricDefinition,
  validateMetricLabels,
  MetricError,
  type Metric,
  type MetricCommand,
  type MetricDefinitionInput,
  type MetricEvent,
  type MetricState,
} from '#domain';
import { streamName, type Checkpoint, type EventMetadata, type EventStore } from '#ledger';
import { decideAndAppend, loadState, type CommandOf } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';

/**
 * Metric commands as plain functions over the event store (the HTTP handlers call them; so can the
 * CLI or a seed script). Each returns the metric after the command and the log position of what it
 * appended (null when the command was already done).
 */
export interface MetricCommandContext {
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on every event. */
  actor: string;
  requestId?: string;
  /** Clock, injectable for tests; the decider never reads one. */
  now?: () => Date;
}

export interface MetricResult {
  metric: Metric;
  position: Checkpoint | null;
}

export const metricStream = (tenantId: string, key: string) => streamName(tenantId, METRIC_STREAM_CATEGORY, key);

/** Created and archived happen once per metric, version n once: ids derived from that make retries no-ops. */
const metricEventId = (stream: string) => (event: MetricEvent) =>
  deterministicUuid(
    event.type === 'MetricVersionPublished'
      ? `${stream}/${event.type}/${event.data.version}`
      : `${stream}/${event.type}`,
  );

async function run(
  ctx: MetricCommandContext,
  key: string,
  command: MetricCommand | CommandOf<MetricCommand, MetricState>,
): Promise<MetricResult> {
  const stream = metricStream(ctx.tenantId, key);
  const metadata: EventMetadata = { tenant_id: ctx.tenantId, actor: ctx.actor };
  if (ctx.requestId !== undefined) metadata.request_id = ctx.requestId;
  const decision = await decideAndAppend({
    store: ctx.store,
    stream,
    decider: metricDecider,
    command,
    metadata,
    eventId: metricEventId(stream),
  });
  return { metric: present(decision.state, key), position: decision.position };
}

function present(state: MetricState, key: string): Metric {
  if (state.status === 'absent') throw new MetricError('METRIC.NOT_FOUND', `no metric ${key}`);
  return state.metric;
}

export interface CreateMetricInput extends MetricCommandContext {
  key: unknown;
  name: unknown;
  unit?: unknown;
  definition: MetricDefinitionInput;
}

export async function createMetric(input: CreateMetricInput): Promise<MetricResult> {
  // Checked before the key names a stream; the decider checks the same again.
  const key = typeof input.key === 'string' ? input.key : '';
  const errors = [...validateMetricDefinition(key, input.definition), ...validateMetricLabels(input)];
  if (errors.length > 0) throw invalidMetric('METRIC.INVALID', errors);
  const at = (input.now ?? (() => new Date()))();
  return run(input, key, {
    type: 'CreateMetric',
    metric_key: key,
    name: input.name as string,
    unit: (input.unit ?? null) as string | null,
    definition: input.definition,
    at,
  });
}

export interface PublishMetricVersionInput extends MetricCommandContext {
  key: string;
  effectiveFrom: unknown;
  definition: MetricDefinitionInput;
}

export async function publishMetricVersion(input: PublishMetricVersionInput): Promise<MetricResult> {
  assertKnownKey(input.key);
  return run(input, input.key, {
    type: 'PublishMetricVersion',
    metric_key: input.key,
    effective_from: input.effectiveFrom as string,
    definition: input.definition,
    at: (input.now ?? (() => new Date()))(),
  });
}

/**
 * `usedBy`: the live subscriptions whose charges or entitlement limits read the metric (METRIC.IN_USE);
 * asked only when the metric is there and not archived yet (a 404 or a repeated archive needs no scan).
 */
export async function archiveMetric(
  input: MetricCommandContext & { key: string; usedBy: () => Promise<readonly string[]> },
): Promise<MetricResult> {
  assertKnownKey(input.key);
  const at = (input.now ?? (() => new Date()))();
  return run(input, input.key, async (state) => ({
    type: 'ArchiveMetric',
    metric_key: input.key,
    used_by: state.status === 'active' ? await input.usedBy() : [],
    at,
  }));
}

/** Strongly consistent: folds the metric's own stream (read-your-writes). Throws METRIC.NOT_FOUND. */
export async function loadMetric(store: EventStore, tenantId: string, key: string): Promise<Metric> {
  assertKnownKey(key);
  const { state } = await loadState(store, metricStream(tenantId, key), metricDecider);
  return present(state, key);
}

/** A key no metric can have names no stream: answer 404 without reading one. */
function assertKnownKey(key: string): void {
  if (!isValidMetricKey(key)) throw new MetricError('METRIC.NOT_FOUND', `no metric ${key}`);
}
