import type { Customer } from '../customers';
import { evolvePlan, type Plan } from '../plans';
import type { PlanEvent, PlanVersionContent } from '../plans/plan.events';
import { fixtureMetrics as metrics, proPlanContent } from '../plans/testing/plan-fixtures';
import { currentPeriod, isLive, type Subscription } from './subscription';
import { SubscriptionError } from './subscription.errors';
import type { SubscriptionEvent, SubscriptionPlanChanged, SubscriptionStarted } from './subscription.events';
import { subscriptionDecider, type SubscriptionCommand } from './subscription.decider';
import type { SubscriptionRequest } from './subscription-start';

const NY = 'America/New_York';
const created = new Date('2026-01-10T12:00:00.000Z');

const customer: Customer = {
  id: 'c1',
  name: 'Acme',
  email: null,
  currency: 'USD',
  timezone: NY,
  payment: null,
  metadata: {},
  created_at: created.toISOString(),
  updated_at: created.toISOString(),
  archived_at: null,
};

function planOf(key: string, ...steps: Array<['draft' | 'publish', PlanVersionContent] | ['archive']>): Plan {
  let version = 0;
  const events: PlanEvent[] = steps.map((step): PlanEvent => {
    const at = created.toISOString();
    if (step[0] === 'archive') return { type: 'PlanArchived', data: { plan_key: key, archived_at: at } };
    if (step[0] === 'draft')
      return { type: 'PlanDraftCreated', data: { plan_key: key, version: ++version, ...step[1], created_at: at } };
    return { type: 'PlanVersionPublished', data: { plan_key: key, version, ...step[1], published_at: at } };
  });
  return events.reduce<Plan | undefined>(evolvePlan, undefined)!;
}

const team: PlanVersionContent = {
  ...proPlanContent,
  name: 'Team',
  charges: [{ key: 'seat', model: 'flat_fee', amount: '99' }],
};
/** pro: version 1 published, version 2 a draft. */
const pro = planOf(
  'pro',
  ['draft', proPlanContent],
  ['publish', proPlanContent],
  ['draft', { ...proPlanContent, name: 'Pro 2' }],
);
const teamPlan = planOf('team', ['draft', team], ['publish', team]);

const request = (overrides: SubscriptionRequest = {}): SubscriptionRequest => ({
  customer_id: 'c1',
  plan_key: 'pro',
  start_date: '2026-01-15',
  ...overrides,
});

const start = (
  req: SubscriptionRequest = request(),
  plan: Plan | null = pro,
  who: Customer | null = customer,
): SubscriptionCommand => ({
  type: 'StartSubscription',
  subscription_id: 'sub_1',
  request: req,
  customer: who,
  plan,
  metrics,
  at: created,
});

function given(...events: SubscriptionEvent[]) {
  const state = events.reduce(subscriptionDecider.evolve, subscriptionDecider.initialState());
  return { when: (command: SubscriptionCommand) => () => subscriptionDecider.decide(command, state) };
}

const stateOf = (...events: SubscriptionEvent[]): Subscription => {
  const state = events.reduce(subscriptionDecider.evolve, subscriptionDecider.initialState());
  if (state.status === 'absent') throw new Error('no subscription');
  return state.subscription;
};

function errorOf(run: () => unknown): SubscriptionError {
  try {
    run();
  } catch (error) {
    if (error instanceof SubscriptionError) return error;
    throw error;
  }
  throw new Error('expected a SubscriptionError');
}

const startedEvent = (req?: SubscriptionRequest) => given().when(start(req))()[0] as SubscriptionStarted;

describe('subscription decider', () => {
  describe('StartSubscription', () => {
    it('locks the latest published version with its pricing; a date starts at midnight in the customer zone', () => {
      const event = startedEvent();
      expect(event.data).toEqual({
        subscription_id: 'sub_1',
        customer_id: 'c1',
        plan_key: 'pro',
        plan_version: 1,
        currency: 'USD',
        timezone: NY,
        billing_interval: 'month',
        start_date: '2026-01-15T05:00:00.000Z',
        billing_anchor: { kind: 'anniversary', at: '2026-01-15T05:00:00.000Z' },
        charges: proPlanContent.charges,
        overrides: { charges: {} },
        minimum_commitment: '100',
        entitlements: proPlanContent.entitlements,
        previous_subscription_id: null,
        first_period: {
          period: { start: '2026-01-15T05:00:00.000Z', end_exclusive: '2026-02-15T05:00:00.000Z' },
          active_from: '2026-01-15T05:00:00.000Z',
          active_to_exclusive: null,
          factor: '1',
          flat_fees: [{ charge_key: 'base', proration_factor: '1' }],
        },
        created_at: created.toISOString(),
      });
    });

    it('with a calendar anchor, the first period is the calendar month, prorated from the start', () => {
      const event = startedEvent(request({ billing_anchor: 'calendar' }));
      expect(event.data.billing_anchor).toEqual({ kind: 'calendar', at: '2000-01-01T05:00:00.000Z' });
      expect(event.data.first_period).toMatchObject({
        period: { start: '2026-01-01T05:00:00.000Z', end_exclusive: '2026-02-01T05:00:00.000Z' },
        factor: '0.5483870968', // 17 of 31 days
      });
    });

    it('a month-end anniversary anchor clamps to shorter months without drifting', () => {
      const event = startedEvent(request({ start_date: '2026-01-31T10:00:00-05:00' }));
      const sub = stateOf(event);
      expect(currentPeriod(sub, new Date('2026-02-20T00:00:00Z'))).toEqual({
        start: '2026-01-31T15:00:00.000Z',
        end_exclusive: '2026-02-28T15:00:00.000Z',
      });
      expect(currentPeriod(sub, new Date('2026-03-05T00:00:00Z'))).toEqual({
        start: '2026-02-28T15:00:00.000Z',
        end_exclusive: '2026-03-31T14:00:00.000Z', // 10:00 EDT
      });
    });

    it('takes an explicit version and a fixed anchor', () => {
      const plan = planOf(
        'pro',
        ['draft', proPlanContent],
        ['publish', proPlanContent],
        ['draft', proPlanContent],
        ['publish', proPlanContent],
      );
      const [event] = given().when(
        start(request({ plan_version: 1, billing_anchor: '2026-01-01' }), plan),
      )() as SubscriptionStarted[];
      expect(event.data.plan_version).toBe(1);
      expect(event.data.billing_anchor).toEqual({ kind: 'fixed', at: '2026-01-01T05:00:00.000Z' });
      expect((given().when(start(request(), plan))()[0] as SubscriptionStarted).data.plan_version).toBe(2);
    });

    it('refuses a draft version: SUBSCRIPTION.INVALID naming plan_version, and records nothing', () => {
      const error = errorOf(given().when(start(request({ plan_version: 2 }))));
      expect(error.code).toBe('SUBSCRIPTION.INVALID');
      expect(error.errors).toEqual([
        { field: 'plan_version', message: 'version 2 of plan "pro" is a draft; publish it first' },
      ]);
      const onlyDraft = planOf('new', ['draft', proPlanContent]);
      expect(errorOf(given().when(start(request({ plan_key: 'new' }), onlyDraft))).errors).toEqual([
        { field: 'plan_version', message: 'plan "new" has no published version' },
      ]);
    });

    it.each<[string, SubscriptionCommand, string[]]>([
      ['an unknown customer', start(request({ customer_id: 'ghost' }), pro, null), ['customer_id']],
      [
        'an archived customer',
        start(request(), pro, { ...customer, archived_at: created.toISOString() }),
        ['customer_id'],
      ],
      ['another currency', start(request(), pro, { ...customer, currency: 'EUR' }), ['plan_key']],
      ['an unknown plan', start(request({ plan_key: 'gold' }), null), ['plan_key']],
      [
        'an archived plan',
        start(request(), planOf('pro', ['draft', proPlanContent], ['publish', proPlanContent], ['archive'])),
        ['plan_key'],
      ],
      ['an unknown version', start(request({ plan_version: 9 })), ['plan_version']],
      ['a version that is not a number', start(request({ plan_version: '1' })), ['plan_version']],
      ['a bad start date', start(request({ start_date: '15/01/2026' })), ['start_date']],
      ['a start without an offset', start(request({ start_date: '2026-01-15T00:00:00' })), ['start_date']],
      ['no start date', start(request({ start_date: undefined })), ['start_date']],
      ['a bad anchor', start(request({ billing_anchor: 'monthly' })), ['billing_anchor']],
      [
        'an override of an unknown charge',
        start(request({ overrides: { charges: { nope: { amount: '1' } } } })),
        ['overrides.charges.nope'],
      ],
      [
        'an invalid override',
        start(
          request({
            overrides: {
              charges: {
                api: {
                  tiers: [
                    { up_to: null, unit_price: '1' },
                    { up_to: '5', unit_price: '1' },
                  ],
                },
              },
            },
          }),
        ),
        ['overrides.charges.api.tiers[0].up_to', 'overrides.charges.api.tiers[1].up_to'],
      ],
      [
        'an unknown override member',
        start(request({ overrides: { minimum_commitment: '1' } })),
        ['overrides.minimum_commitment'],
      ],
      [
        'invalid entitlement overrides',
        start(
          request({
            overrides: {
              entitlements: {
                api_calls_per_month: { type: 'limit', value: '-1', metric_key: 'api_calls' },
                sso: { type: 'boolean', value: 'yes' },
                quota: { type: 'limit', value: '5', metric_key: 'nope' },
              },
            },
          }),
        ),
        [
          'overrides.entitlements.api_calls_per_month.value',
          'overrides.entitlements.sso.value',
          'overrides.entitlements.quota.metric_key',
        ],
      ],
      [
        'entitlement overrides that are not an object',
        start(request({ overrides: { entitlements: [] } })),
        ['overrides.entitlements'],
      ],
    ])('refuses %s, naming the field', (_label, command, fields) => {
      const error = errorOf(given().when(command));
      expect(error.code).toBe('SUBSCRIPTION.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual(fields);
    });

    it('lays each override over the plan charge of its key (a new model keeps only key and metric)', () => {
      const event = startedEvent(
        request({
          overrides: {
            charges: {
              base: { amount: '39.5' },
              api: { model: 'per_unit', unit_price: '0.0015', max_amount: 400 },
            },
          },
        }),
      );
      const expected = {
        base: { key: 'base', model: 'flat_fee', amount: '39.5' },
        api: { key: 'api', model: 'per_unit', metric_key: 'api_calls', unit_price: '0.0015', max_amount: '400' },
      };
      expect(event.data.overrides).toEqual({ charges: expected });
      expect(event.data.charges).toEqual([expected.base, expected.api]);
    });

    it("lays entitlement overrides over the plan version's by key (replacing or adding); charges untouched", () => {
      const event = startedEvent(
        request({
          overrides: {
            entitlements: {
              api_calls_per_month: { type: 'limit', value: 250000, metric_key: 'api_calls' },
              advanced_analytics: { type: 'boolean', value: false },
              sso: { type: 'boolean', value: true },
            },
          },
        }),
      );
      const overridden = {
        api_calls_per_month: { type: 'limit', value: '250000', metric_key: 'api_calls' },
        advanced_analytics: { type: 'boolean', value: false },
        sso: { type: 'boolean', value: true },
      };
      expect(event.data.overrides).toEqual({ charges: {}, entitlements: overridden });
      expect(event.data.entitlements).toEqual({
        advanced_analytics: { type: 'boolean', value: false },
        api_calls_per_month: { type: 'limit', value: '250000', metric_key: 'api_calls' },
        model_tier: { type: 'config', value: 'gpt-4' },
        sso: { type: 'boolean', value: true },
      });
      expect(event.data.charges).toEqual(proPlanContent.charges);
    });

    it("records no entitlement overrides for an empty object (the plan version's entitlements as they are)", () => {
      const event = startedEvent(request({ overrides: { entitlements: {} } }));
      expect(event.data.overrides).toEqual({ charges: {} });
      expect(event.data.entitlements).toEqual(proPlanContent.entitlements);
    });

    it('is a no-op on a stream that has started already (a retry)', () => {
      expect(given(startedEvent()).when(start())()).toEqual([]);
    });

    it('refuses a version whose charge or entitlement limit reads a metric archived since it was published, unless overridden', () => {
      const withArchivedCalls = (req: SubscriptionRequest): SubscriptionCommand => ({
        ...(start(req) as Extract<SubscriptionCommand, { type: 'StartSubscription' }>),
        metrics: new Map([...metrics, ['api_calls', { key: 'api_calls', archived: true, group_by: [] }]]),
      });
      const hint = 'which is archived: override it or choose a version without it';
      const error = errorOf(given().when(withArchivedCalls(request())));
      expect(error.code).toBe('SUBSCRIPTION.INVALID');
      expect(error.errors).toEqual([
        { field: 'plan_key', message: `charge "api" of version 1 bills metric "api_calls", ${hint}` },
        {
          field: 'plan_key',
          message: `entitlement "api_calls_per_month" of version 1 limits metric "api_calls", ${hint}`,
        },
      ]);
      const chosen = errorOf(given().when(withArchivedCalls(request({ plan_version: 1 }))));
      expect(chosen.errors.map((e) => e.field)).toEqual(['plan_version', 'plan_version']);
      const onlyCharge = request({ overrides: { charges: { api: { metric_key: 'storage_gb' } } } });
      expect(errorOf(given().when(withArchivedCalls(onlyCharge))).errors.map((e) => e.message)).toEqual([
        `entitlement "api_calls_per_month" of version 1 limits metric "api_calls", ${hint}`,
      ]);
      const both = request({
        overrides: {
          charges: { api: { metric_key: 'storage_gb' } },
          entitlements: { api_calls_per_month: { type: 'limit', value: '5', metric_key: 'storage_gb' } },
        },
      });
      expect(given().when(withArchivedCalls(both))()).toHaveLength(1);
    });
  });

  describe('CancelSubscription', () => {
    const cancel = (end: 'now' | 'period_end', at: string): SubscriptionCommand => ({
      type: 'CancelSubscription',
      subscription_id: 'sub_1',
      end,
      at: new Date(at),
    });

    it('now: ends at once, with the last period prorated (partial days count whole)', () => {
      const [event] = given(startedEvent()).when(cancel('now', '2026-01-25T15:00:00.000Z'))();
      expect(event).toEqual({
        type: 'SubscriptionCancelled',
        data: {
          subscription_id: 'sub_1',
          at: 'now',
          ends_at: '2026-01-25T15:00:00.000Z',
          cancelled_at: '2026-01-25T15:00:00.000Z',
          final_period: {
            period: { start: '2026-01-15T05:00:00.000Z', end_exclusive: '2026-02-15T05:00:00.000Z' },
            active_from: '2026-01-15T05:00:00.000Z',
            active_to_exclusive: '2026-01-25T15:00:00.000Z',
            factor: '0.3548387097', // 11 of 31 days
            flat_fees: [{ charge_key: 'base', proration_factor: '0.3548387097' }],
          },
        },
      });
    });

    it('period_end: live until the end of the current period, which is charged whole', () => {
      const [event] = given(startedEvent()).when(cancel('period_end', '2026-03-01T00:00:00Z'))();
      expect(event.data).toMatchObject({ ends_at: '2026-03-15T04:00:00.000Z', final_period: { factor: '1' } });
      const sub = stateOf(startedEvent(), event);
      expect(isLive(sub, new Date('2026-03-15T03:59:59Z'))).toBe(true);
      expect(isLive(sub, new Date('2026-03-15T04:00:00Z'))).toBe(false);
      expect(currentPeriod(sub, new Date('2026-03-16T00:00:00Z'))).toBeNull();
    });

    it('cancelling twice records nothing the second time, whatever `at` says', () => {
      const first = given(startedEvent()).when(cancel('period_end', '2026-01-20T00:00:00Z'))();
      expect(given(startedEvent(), ...first).when(cancel('period_end', '2026-01-21T00:00:00Z'))()).toEqual([]);
      expect(given(startedEvent(), ...first).when(cancel('now', '2026-01-21T00:00:00Z'))()).toEqual([]);
    });

    it('before the start, "now" is the start: it never becomes live', () => {
      const [event] = given(startedEvent()).when(cancel('now', '2026-01-01T00:00:00Z'))();
      expect(event.data).toMatchObject({ ends_at: '2026-01-15T05:00:00.000Z', final_period: { factor: '0' } });
    });

    it('refuses an unknown subscription: SUBSCRIPTION.NOT_FOUND', () => {
      expect(errorOf(given().when(cancel('now', '2026-01-21T00:00:00Z'))).code).toBe('SUBSCRIPTION.NOT_FOUND');
    });
  });

  describe('ChangeSubscriptionPlan', () => {
    const change = (
      end: 'now' | 'period_end',
      at: string,
      req: Partial<SubscriptionRequest> = { plan_key: 'team' },
      plan: Plan = teamPlan,
    ): SubscriptionCommand => ({
      type: 'ChangeSubscriptionPlan',
      subscription_id: 'sub_1',
      next_subscription_id: 'sub_2',
      request: req,
      end,
      customer,
      plan,
      metrics,
      at: new Date(at),
    });
    const startNext = (previous: Subscription, plan: Plan = teamPlan): SubscriptionCommand => ({
      type: 'StartNextSubscription',
      previous,
      request: {},
      customer,
      plan,
      metrics,
      at: new Date('2026-01-25T15:00:00Z'),
    });

    it('now: records the proration of both partial periods, and the next subscription continues on the same anchor', () => {
      const [changed] = given(startedEvent()).when(
        change('now', '2026-01-25T15:00:00Z'),
      )() as SubscriptionPlanChanged[];
      expect(changed.data).toEqual({
        subscription_id: 'sub_1',
        at: 'now',
        ends_at: '2026-01-25T15:00:00.000Z',
        changed_at: '2026-01-25T15:00:00.000Z',
        next_subscription_id: 'sub_2',
        next_plan_key: 'team',
        next_plan_version: 1,
        final_period: expect.objectContaining({
          factor: '0.3548387097', // Jan 15-25: 11 of 31 days
          flat_fees: [{ charge_key: 'base', proration_factor: '0.3548387097' }],
        }),
      });
      const [next] = given().when(startNext(stateOf(startedEvent(), changed)))() as SubscriptionStarted[];
      expect(next.data).toMatchObject({
        subscription_id: 'sub_2',
        customer_id: 'c1',
        plan_key: 'team',
        plan_version: 1,
        start_date: '2026-01-25T15:00:00.000Z',
        billing_anchor: { kind: 'anniversary', at: '2026-01-15T05:00:00.000Z' },
        previous_subscription_id: 'sub_1',
        first_period: {
          period: { start: '2026-01-15T05:00:00.000Z', end_exclusive: '2026-02-15T05:00:00.000Z' },
          active_from: '2026-01-25T15:00:00.000Z',
          factor: '0.6774193548', // Jan 25 - Feb 14: 21 of 31 days
          flat_fees: [{ charge_key: 'seat', proration_factor: '0.6774193548' }],
        },
      });
    });

    it('period_end: the old one is charged whole and the next starts at the boundary', () => {
      const [changed] = given(startedEvent()).when(
        change('period_end', '2026-01-25T15:00:00Z'),
      )() as SubscriptionPlanChanged[];
      expect(changed.data).toMatchObject({ ends_at: '2026-02-15T05:00:00.000Z', final_period: { factor: '1' } });
      const [next] = given().when(startNext(stateOf(startedEvent(), changed)))() as SubscriptionStarted[];
      expect(next.data).toMatchObject({ start_date: '2026-02-15T05:00:00.000Z', first_period: { factor: '1' } });
    });

    it('validates the next subscription first: a draft version ends nothing (SUBSCRIPTION.INVALID)', () => {
      const error = errorOf(
        given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z', { plan_key: 'pro', plan_version: 2 }, pro)),
      );
      expect(error.errors.map((e) => e.field)).toEqual(['plan_version']);
      const same = errorOf(given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z', { plan_key: 'pro' }, pro)));
      expect(same.errors).toEqual([
        { field: 'plan_version', message: 'the subscription is on version 1 of this plan already' },
      ]);
    });

    it('the same change again records nothing; another change, or a change after cancelling, is SUBSCRIPTION.ENDED', () => {
      const changed = given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z'))();
      expect(given(startedEvent(), ...changed).when(change('now', '2026-01-26T00:00:00Z'))()).toEqual([]);
      expect(
        errorOf(given(startedEvent(), ...changed).when(change('now', '2026-01-26T00:00:00Z', { plan_key: 'pro' }, pro)))
          .code,
      ).toBe('SUBSCRIPTION.ENDED');
      const cancelled = given(startedEvent()).when({
        type: 'CancelSubscription',
        subscription_id: 'sub_1',
        end: 'now',
        at: new Date('2026-01-20T00:00:00Z'),
      })();
      expect(errorOf(given(startedEvent(), ...cancelled).when(change('now', '2026-01-26T00:00:00Z'))).code).toBe(
        'SUBSCRIPTION.ENDED',
      );
    });

    it('starting the next subscription twice records nothing the second time (a retry after a crash)', () => {
      const changed = given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z'))();
      const previous = stateOf(startedEvent(), ...changed);
      const next = given().when(startNext(previous))();
      expect(given(...next).when(startNext(previous))()).toEqual([]);
    });

    it('a change to a version billing an archived metric ends nothing; a recorded change still starts its successor', () => {
      const billsLegacy = {
        ...team,
        charges: [...team.charges, { key: 'old', model: 'per_unit' as const, metric_key: 'legacy', unit_price: '1' }],
      };
      const legacyPlan = planOf('team', ['draft', billsLegacy], ['publish', billsLegacy]);
      const error = errorOf(
        given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z', { plan_key: 'team' }, legacyPlan)),
      );
      expect(error.code).toBe('SUBSCRIPTION.INVALID');
      expect(error.errors).toEqual([
        {
          field: 'plan_key',
          message:
            'charge "old" of version 1 bills metric "legacy", which is archived: override it or choose a version without it',
        },
      ]);
      // Archived after the change was recorded (a crash before the successor started): it still starts.
      const changed = given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z'))();
      expect(given().when(startNext(stateOf(startedEvent(), ...changed), legacyPlan))()).toHaveLength(1);
    });

    it('a recorded change still starts its successor after the plan was archived', () => {
      const changed = given(startedEvent()).when(change('now', '2026-01-25T15:00:00Z'))();
      const archived = planOf('team', ['draft', team], ['publish', team], ['archive']);
      expect(given().when(startNext(stateOf(startedEvent(), ...changed), archived))()).toHaveLength(1);
    });
  });

  it('a replayed event changes nothing', () => {
    const events = [
      startedEvent(),
      ...given(startedEvent()).when({
        type: 'CancelSubscription',
        subscription_id: 'sub_1',
        end: 'now',
        at: created,
      })(),
    ];
    const state = events.reduce(subscriptionDecider.evolve, subscriptionDecider.initialState());
    for (const event of events) expect(subscriptionDecider.evolve(state, event)).toBe(state);
  });
});
