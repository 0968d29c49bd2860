import { createHash, randomBytes } from 'node:crypto';
import {
  CustomerError,
  SUBSCRIPTION_STREAM_CATEGORY,
  SubscriptionError,
  contentOf,
  referencedMetricKeys,
  subscriptionDecider,
  type Customer,
  type EndAt,
  type Plan,
  type Subscription,
  type SubscriptionCommand,
  type SubscriptionEvent,
  type SubscriptionRequest,
  type SubscriptionState,
} from '#domain';
import { streamName, type Checkpoint, type EventMetadata, type EventStore } from '#ledger';
import { decideAndAppend, loadState } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';
import { loadCustomer } from '../customers/customer.operations';
import { findPricePlan, loadMetricCatalog } from '../price-plans/price-plan.operations';

/**
 * Subscription commands as plain functions over the event store (the HTTP handlers call them; so can
 * the CLI or a seed script). Time comes from `now` (the request), never from the domain.
 */
export interface SubscriptionCommandContext {
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on every event. */
  actor: string;
  requestId?: string;
  /** Clock, injectable for tests; the decider never reads one. */
  now?: () => Date;
}

export interface SubscriptionResult {
  subscription: Subscription;
  position: Checkpoint | null;
}

const ID_PATTERN = /^sub_[A-Za-z0-9]{1,64}$/;
export const isValidSubscriptionId = (id: unknown): id is string => typeof id === 'string' && ID_PATTERN.test(id);
export const subscriptionStream = (tenantId: string, id: string) =>
  streamName(tenantId, SUBSCRIPTION_STREAM_CATEGORY, id);

export function newSubscriptionId(): string {
  return `sub_${randomBytes(12).toString('hex')}`;
}

/**
 * The id of the subscription that continues `id` after a plan change. A subscription changes plan at
 * most once, so deriving it makes a retried change (after a crash between its two appends) converge
 * on the same successor.
 */
export function nextSubscriptionId(id: string): string {
  return `sub_${createHash('sha256').update(`abaxus:next-subscription:${id}`).digest('hex').slice(0, 24)}`;
}

/** Each event happens once per subscription: ids derived from that make a retried append a no-op. */
const subscriptionEventId = (stream: string) => (event: SubscriptionEvent) =>
  deterministicUuid(`${stream}/${event.type}`);

const clock = (ctx: SubscriptionCommandContext) => (ctx.now ?? (() => new Date()))();

async function run(
  ctx: SubscriptionCommandContext,
  id: string,
  command: SubscriptionCommand,
): Promise<SubscriptionResult> {
  const stream = subscriptionStream(ctx.tenantId, id);
  const metadata: EventMetadata = { tenant_id: ctx.tenantId, actor: ctx.actor };
  if (ctx.requestId !== undefined) metadata.request_id = ctx.requestId;
  const decision = await decideAndAppend({
    store: ctx.store,
    stream,
    decider: subscriptionDecider,
    command,
    metadata,
    eventId: subscriptionEventId(stream),
  });
  return { subscription: present(decision.state, id), position: decision.position };
}

function present(state: SubscriptionState, id: string): Subscription {
  if (state.status === 'absent') throw notFound(id);
  return state.subscription;
}

const notFound = (id: string) => new SubscriptionError('SUBSCRIPTION.NOT_FOUND', `no subscription ${id}`);

/** The customer a request names, or null when there is none (a 422 naming customer_id, not a 404). */
async function findCustomer(store: EventStore, tenantId: string, id: unknown): Promise<Customer | null> {
  if (typeof id !== 'string') return null;
  return loadCustomer(store, tenantId, id).catch((error: unknown) => {
    if (error instanceof CustomerError && error.code === 'CUSTOMER.NOT_FOUND') return null;
    throw error;
  });
}

/** Metrics of the plan and of the overrides (charges, entitlements): an override is validated against them. */
function metricKeysOf(plan: Plan | null, overrides: unknown): string[] {
  const fromPlan = (plan?.versions ?? []).flatMap((version) => referencedMetricKeys(contentOf(version)));
  const given = overrides as { charges?: unknown; entitlements?: unknown } | null | undefined;
  const charges = given?.charges;
  const fromOverrides =
    typeof charges === 'object' && charges !== null ? referencedMetricKeys({ charges: Object.values(charges) }) : [];
  return [...fromPlan, ...fromOverrides, ...referencedMetricKeys({ entitlements: given?.entitlements })];
}

export async function startSubscription(
  input: SubscriptionCommandContext & { request: SubscriptionRequest },
): Promise<SubscriptionResult> {
  const { store, tenantId, request } = input;
  const [customer, plan] = await Promise.all([
    findCustomer(store, tenantId, request.customer_id),
    findPricePlan(store, tenantId, request.plan_key),
  ]);
  const metrics = await loadMetricCatalog(store, tenantId, metricKeysOf(plan, request.overrides));
  const id = newSubscriptionId();
  return run(input, id, {
    type: 'StartSubscription',
    subscription_id: id,
    request,
    customer,
    plan,
    metrics,
    at: clock(input),
  });
}

export async function cancelSubscription(
  input: SubscriptionCommandContext & { id: string; end: EndAt },
): Promise<SubscriptionResult> {
  if (!isValidSubscriptionId(input.id)) throw notFound(input.id);
  return run(input, input.id, {
    type: 'CancelSubscription',
    subscription_id: input.id,
    end: input.end,
    at: clock(input),
  });
}

export interface ChangePlanInput extends SubscriptionCommandContext {
  id: string;
  request: Pick<SubscriptionRequest, 'plan_key' | 'plan_version' | 'overrides'>;
  end: EndAt;
}

/**
 * Ends the subscription and starts its successor: two appends on two streams. The successor's id is
 * derived from the subscription's, so if the process dies between them, the same request again finds
 * the change recorded (no new event) and completes the start. Returns the successor.
 */
export async function changeSubscriptionPlan(input: ChangePlanInput): Promise<SubscriptionResult> {
  const { store, tenantId, request } = input;
  const current = await loadSubscription(store, tenantId, input.id);
  const [customer, plan] = await Promise.all([
    findCustomer(store, tenantId, current.customer_id),
    findPricePlan(store, tenantId, request.plan_key),
  ]);
  const metrics = await loadMetricCatalog(store, tenantId, metricKeysOf(plan, request.overrides));
  const ended = await run(input, input.id, {
    type: 'ChangeSubscriptionPlan',
    subscription_id: input.id,
    next_subscription_id: nextSubscriptionId(input.id),
    request,
    end: input.end,
    customer,
    plan,
    metrics,
    at: clock(input),
  });
  const previous = ended.subscription;
  if (previous.status !== 'plan_changed') throw new Error(`subscription ${input.id} did not record its plan change`);
  // A retry may name the plan differently only in ways the recorded change already settled.
  const nextPlan =
    plan?.key === previous.end.next_plan_key ? plan : await findPricePlan(store, tenantId, previous.end.next_plan_key);
  return run(input, previous.end.next_subscription_id, {
    type: 'StartNextSubscription',
    previous,
    request: { overrides: request.overrides },
    customer,
    plan: nextPlan,
    metrics,
    at: clock(input),
  });
}

/** Strongly consistent: folds the subscription's own stream (read-your-writes). Throws SUBSCRIPTION.NOT_FOUND. */
export async function loadSubscription(store: EventStore, tenantId: string, id: string): Promise<Subscription> {
  if (!isValidSubscriptionId(id)) throw notFound(id);
  const { state } = await loadState(store, subscriptionStream(tenantId, id), subscriptionDecider);
  return present(state, id);
}
