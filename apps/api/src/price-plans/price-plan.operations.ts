import { randomUUID } from 'node:crypto';
import {
  PLAN_STREAM_CATEGORY,
  PlanError,
  contentOf,
  isValidMetricKey,
  isValidPlanKey,
  metricCatalogOf,
  planDecider,
  planNotFound,
  referencedMetricKeys,
  type Metric,
  type MetricCatalog,
  type Plan,
  type PlanCommand,
  type PlanEvent,
  type PlanState,
  type PlanVersionInput,
} from '#domain';
import { streamName, type Checkpoint, type EventMetadata, type EventStore } from '#ledger';
import { decideAndAppend, loadState } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';
import { loadMetric } from '../metrics/metric.operations';

/**
 * Price plan commands as plain functions over the event store (the HTTP handlers call them; so can
 * the CLI or a seed script). Each returns the plan after the command and the log position of what it
 * appended (null when the command was already done).
 */
export interface PlanCommandContext {
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on every event. */
  actor: string;
  requestId?: string;
  /** Clock, injectable for tests; the decider never reads one. */
  now?: () => Date;
}

export interface PlanResult {
  plan: Plan;
  position: Checkpoint | null;
}

export const planStream = (tenantId: string, key: string) => streamName(tenantId, PLAN_STREAM_CATEGORY, key);

/**
 * A version is created and published once, a plan archived once: ids derived from that make a
 * retried append a no-op. A draft can be edited many times: each edit gets its own id.
 */
const planEventId = (stream: string) => (event: PlanEvent) => {
  if (event.type === 'PlanDraftUpdated') return randomUUID();
  const version = event.type === 'PlanArchived' ? '' : `/${event.data.version}`;
  return deterministicUuid(`${stream}/${event.type}${version}`);
};

const clock = (ctx: PlanCommandContext) => (ctx.now ?? (() => new Date()))();

async function run(ctx: PlanCommandContext, key: string, command: PlanCommand): Promise<PlanResult> {
  const stream = planStream(ctx.tenantId, key);
  const metadata: EventMetadata = { tenant_id: ctx.tenantId, actor: ctx.actor };
  if (ctx.requestId !== undefined) metadata.request_id = ctx.requestId;
  const decision = await decideAndAppend({
    store: ctx.store,
    stream,
    decider: planDecider,
    command,
    metadata,
    eventId: planEventId(stream),
  });
  return { plan: present(decision.state, key), position: decision.position };
}

function present(state: PlanState, key: string): Plan {
  if (state.status === 'absent') throw planNotFound(key);
  return state.plan;
}

/** A valid plan holds at most 100 charges and 100 entitlements: more keys than that cannot all be needed. */
const MAX_REFERENCED_METRICS = 200;

/**
 * The tenant's metrics among `keys`, each read from its own stream (strongly consistent: a metric
 * created or archived just before is seen). Keys that name no metric are simply absent.
 */
export async function loadMetricCatalog(
  store: EventStore,
  tenantId: string,
  keys: Iterable<string>,
): Promise<MetricCatalog> {
  const wanted = [...new Set(keys)].filter(isValidMetricKey).slice(0, MAX_REFERENCED_METRICS);
  const metrics = await Promise.all(
    wanted.map((key) =>
      loadMetric(store, tenantId, key).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'METRIC.NOT_FOUND') return undefined;
        throw error;
      }),
    ),
  );
  return metricCatalogOf(metrics.filter((metric): metric is Metric => metric !== undefined));
}

/** Metric keys of the plan's versions and of the changes: everything the decision may look at. */
function keysOf(plan: Plan | undefined, changes: PlanVersionInput): string[] {
  const fromPlan = (plan?.versions ?? []).flatMap((version) => referencedMetricKeys(contentOf(version)));
  return [...fromPlan, ...referencedMetricKeys(changes)];
}

export interface CreatePlanInput extends PlanCommandContext {
  key: unknown;
  content: PlanVersionInput;
  publish?: boolean;
}

export async function createPricePlan(input: CreatePlanInput): Promise<PlanResult> {
  const metrics = await loadMetricCatalog(input.store, input.tenantId, referencedMetricKeys(input.content));
  const command = {
    type: 'CreatePlan' as const,
    plan_key: input.key as string,
    content: input.content,
    publish: input.publish ?? false,
    metrics,
    at: clock(input),
  };
  if (!isValidPlanKey(input.key)) {
    // A key no plan can have names no stream: decide on an empty state, which names `key` (and any other bad field).
    planDecider.decide(command, planDecider.initialState());
    throw new Error('unreachable: an invalid plan key is PLAN.INVALID');
  }
  return run(input, input.key, command);
}

/** The plan as its stream folds now, and the metrics its versions and `changes` reference. */
async function loadForDecision(ctx: PlanCommandContext, key: string, changes: PlanVersionInput) {
  if (!isValidPlanKey(key)) throw planNotFound(key);
  const { state } = await loadState(ctx.store, planStream(ctx.tenantId, key), planDecider);
  const plan = state.status === 'absent' ? undefined : state.plan;
  return { metrics: await loadMetricCatalog(ctx.store, ctx.tenantId, keysOf(plan, changes)) };
}

export async function updatePlanDraft(
  input: PlanCommandContext & { key: string; version: number; changes: PlanVersionInput },
): Promise<PlanResult> {
  const { metrics } = await loadForDecision(input, input.key, input.changes);
  return run(input, input.key, {
    type: 'UpdatePlanDraft',
    plan_key: input.key,
    version: input.version,
    changes: input.changes,
    metrics,
    at: clock(input),
  });
}

export async function publishPlanVersion(
  input: PlanCommandContext & { key: string; version: number },
): Promise<PlanResult> {
  const { metrics } = await loadForDecision(input, input.key, {});
  return run(input, input.key, {
    type: 'PublishPlanVersion',
    plan_key: input.key,
    version: input.version,
    metrics,
    at: clock(input),
  });
}

export async function createPlanDraft(
  input: PlanCommandContext & { key: string; changes: PlanVersionInput },
): Promise<PlanResult> {
  const { metrics } = await loadForDecision(input, input.key, input.changes);
  return run(input, input.key, {
    type: 'CreatePlanDraft',
    plan_key: input.key,
    changes: input.changes,
    metrics,
    at: clock(input),
  });
}

export async function archivePricePlan(input: PlanCommandContext & { key: string }): Promise<PlanResult> {
  if (!isValidPlanKey(input.key)) throw planNotFound(input.key);
  return run(input, input.key, { type: 'ArchivePlan', plan_key: input.key, at: clock(input) });
}

/** Strongly consistent: folds the plan's own stream (read-your-writes). Throws PLAN.NOT_FOUND. */
export async function loadPricePlan(store: EventStore, tenantId: string, key: string): Promise<Plan> {
  if (!isValidPlanKey(key)) throw planNotFound(key);
  const { state } = await loadState(store, planStream(tenantId, key), planDecider);
  return present(state, key);
}

/** Like loadPricePlan, but null for a plan that does not exist (a reference in a request body). */
export async function findPricePlan(store: EventStore, tenantId: string, key: unknown): Promise<Plan | null> {
  if (!isValidPlanKey(key)) return null;
  return loadPricePlan(store, tenantId, key).catch((error: unknown) => {
    if (error instanceof PlanError && error.code === 'PLAN.NOT_FOUND') return null;
    throw error;
  });
}
