import type { Customer } from '../customers';
import type { MetricCatalog } from '../plans/metric-catalog';
import type { Plan } from '../plans/plan';
import { endOf, type Subscription } from './subscription';
import { SubscriptionError, invalidSubscription } from './subscription.errors';
import type {
  EndAt,
  SubscriptionCancelled,
  SubscriptionEvent,
  SubscriptionPlanChanged,
  SubscriptionStarted,
} from './subscription.events';
import { decideStart, type SubscriptionRequest } from './subscription-start';

/** Starts a new subscription (the caller chose a fresh id and loaded the customer, plan and metrics). */
export interface StartSubscription {
  type: 'StartSubscription';
  subscription_id: string;
  request: SubscriptionRequest;
  customer: Customer | null;
  plan: Plan | null;
  metrics: MetricCatalog;
  at: Date;
}

/** Ends the subscription now or at the end of its current period. `at` is the caller's clock. */
export interface CancelSubscription {
  type: 'CancelSubscription';
  subscription_id: string;
  end: EndAt;
  at: Date;
}

/**
 * Ends this subscription (now or at the end of its period) so that `next_subscription_id` continues
 * it on another plan version. Validates the next subscription too, so nothing ends unless it can start.
 */
export interface ChangeSubscriptionPlan {
  type: 'ChangeSubscriptionPlan';
  subscription_id: string;
  next_subscription_id: string;
  request: Pick<SubscriptionRequest, 'plan_key' | 'plan_version' | 'overrides'>;
  end: EndAt;
  customer: Customer | null;
  plan: Plan | null;
  metrics: MetricCatalog;
  at: Date;
}

/** The second half of a plan change, on the next subscription's stream: start where the previous ends. */
export interface StartNextSubscription {
  type: 'StartNextSubscription';
  previous: Subscription;
  request: Pick<SubscriptionRequest, 'overrides'>;
  customer: Customer | null;
  plan: Plan | null;
  metrics: MetricCatalog;
  at: Date;
}

export type SubscriptionCommand =
  StartSubscription | CancelSubscription | ChangeSubscriptionPlan | StartNextSubscription;

export type SubscriptionState = { status: 'absent' } | { status: 'present'; subscription: Subscription };

export const subscriptionDecider = {
  initialState(): SubscriptionState {
    return { status: 'absent' };
  },

  evolve(state: SubscriptionState, event: SubscriptionEvent): SubscriptionState {
    const subscription = evolveSubscription(state.status === 'absent' ? undefined : state.subscription, event);
    if (subscription === undefined || (state.status === 'present' && subscription === state.subscription)) return state;
    return { status: 'present', subscription };
  },

  decide(command: SubscriptionCommand, state: SubscriptionState): SubscriptionEvent[] {
    switch (command.type) {
      case 'StartSubscription':
        return decideStartCommand(command, state);
      case 'CancelSubscription':
        return decideCancel(command, state);
      case 'ChangeSubscriptionPlan':
        return decideChangePlan(command, state);
      case 'StartNextSubscription':
        return decideStartNext(command, state);
      default:
        return unreachable(command);
    }
  },
};

/**
 * The subscription after one event (undefined: none yet). The decider and the `subscriptions` read
 * model both fold with it. Never throws; an event out of sequence (a replay) changes nothing.
 */
export function evolveSubscription(
  subscription: Subscription | undefined,
  event: SubscriptionEvent,
): Subscription | undefined {
  switch (event.type) {
    case 'SubscriptionStarted':
      return subscription ?? { ...event.data, status: 'active', end: null };
    case 'SubscriptionCancelled': {
      if (subscription === undefined || subscription.status !== 'active') return subscription;
      const { subscription_id: _id, ...end } = event.data;
      return { ...subscription, status: 'cancelled', end: { reason: 'cancelled', ...end } };
    }
    case 'SubscriptionPlanChanged': {
      if (subscription === undefined || subscription.status !== 'active') return subscription;
      const { subscription_id: _id, ...end } = event.data;
      return { ...subscription, status: 'plan_changed', end: { reason: 'plan_changed', ...end } };
    }
    default:
      return unreachable(event);
  }
}

function decideStartCommand(command: StartSubscription, state: SubscriptionState): SubscriptionStarted[] {
  // Ids are fresh per request; an existing stream is a retry of this very start.
  if (state.status === 'present') return [];
  return [decideStart({ ...command })];
}

function notFound(id: string): SubscriptionError {
  return new SubscriptionError('SUBSCRIPTION.NOT_FOUND', `no subscription ${id}`);
}

/** Cancelling a subscription that already ends (cancelled, or replaced by a plan change) changes nothing. */
function decideCancel(command: CancelSubscription, state: SubscriptionState): SubscriptionCancelled[] {
  if (state.status === 'absent') throw notFound(command.subscription_id);
  const { subscription } = state;
  if (subscription.status !== 'active') return [];
  const { ends_at, final_period } = endOf(subscription, command.end, command.at);
  return [
    {
      type: 'SubscriptionCancelled',
      data: {
        subscription_id: subscription.subscription_id,
        at: command.end,
        ends_at,
        cancelled_at: command.at.toISOString(),
        final_period,
      },
    },
  ];
}

function decideChangePlan(command: ChangeSubscriptionPlan, state: SubscriptionState): SubscriptionPlanChanged[] {
  if (state.status === 'absent') throw notFound(command.subscription_id);
  const { subscription } = state;
  if (subscription.status === 'plan_changed' && isSameChange(subscription, command)) return [];
  if (subscription.status !== 'active') {
    const how = subscription.status === 'cancelled' ? 'is cancelled' : 'was changed to another plan';
    throw new SubscriptionError(
      'SUBSCRIPTION.ENDED',
      `subscription ${subscription.subscription_id} ${how}; it ends at ${subscription.end.ends_at}`,
    );
  }
  const { ends_at, final_period } = endOf(subscription, command.end, command.at);
  // Decided now, so that nothing ends unless its successor can start.
  const next = decideStart({
    subscription_id: command.next_subscription_id,
    request: { ...command.request, customer_id: subscription.customer_id },
    customer: command.customer,
    plan: command.plan,
    metrics: command.metrics,
    continues: { subscription, starts_at: ends_at, decided: false },
    at: command.at,
  });
  if (next.data.plan_key === subscription.plan_key && next.data.plan_version === subscription.plan_version) {
    throw invalidSubscription([
      {
        field: 'plan_version',
        message: `the subscription is on version ${subscription.plan_version} of this plan already`,
      },
    ]);
  }
  return [
    {
      type: 'SubscriptionPlanChanged',
      data: {
        subscription_id: subscription.subscription_id,
        at: command.end,
        ends_at,
        changed_at: command.at.toISOString(),
        next_subscription_id: command.next_subscription_id,
        next_plan_key: next.data.plan_key,
        next_plan_version: next.data.plan_version,
        final_period,
      },
    },
  ];
}

/** A retry of the change already recorded (same plan, same or no version asked): nothing to do. */
function isSameChange(
  subscription: Extract<Subscription, { status: 'plan_changed' }>,
  command: ChangeSubscriptionPlan,
): boolean {
  const { plan_key, plan_version } = command.request;
  return (
    plan_key === subscription.end.next_plan_key &&
    (plan_version === undefined || plan_version === null || plan_version === subscription.end.next_plan_version)
  );
}

/** Idempotent: the next subscription's stream already started is a retry after a crash in between. */
function decideStartNext(command: StartNextSubscription, state: SubscriptionState): SubscriptionStarted[] {
  const { previous } = command;
  if (previous.status !== 'plan_changed') {
    throw new Error(`subscription ${previous.subscription_id} was not changed to another plan`);
  }
  if (state.status === 'present') return [];
  return [
    decideStart({
      subscription_id: previous.end.next_subscription_id,
      request: {
        customer_id: previous.customer_id,
        plan_key: previous.end.next_plan_key,
        // The version resolved when the change was decided, even if a newer one was published since.
        plan_version: previous.end.next_plan_version,
        overrides: command.request.overrides,
      },
      customer: command.customer,
      plan: command.plan,
      metrics: command.metrics,
      continues: { subscription: previous, starts_at: previous.end.ends_at, decided: true },
      at: command.at,
    }),
  ];
}

function unreachable(value: never): never {
  throw new Error(`unhandled subscription message ${JSON.stringify(value)}`);
}
