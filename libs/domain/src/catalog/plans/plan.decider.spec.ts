import type { MetricCatalog } from './metric-catalog';
import { PlanError } from './plan.errors';
import type { PlanDraftCreated, PlanEvent, PlanVersionContent, PlanVersionPublished } from './plan.events';
import { planDecider, type PlanCommand } from './plan.decider';
import type { PlanVersionInput } from './plan-version';
import { fixtureMetrics, proPlanContent, proPlanInput } from './testing/plan-fixtures';

const at = new Date('2026-01-02T03:04:05.000Z');
const later = new Date('2026-02-01T00:00:00.000Z');

const metrics = fixtureMetrics;
const input = proPlanInput;
const content = proPlanContent;

const draft = (version: number, body: PlanVersionContent = content): PlanDraftCreated => ({
  type: 'PlanDraftCreated',
  data: { plan_key: 'pro', version, ...body, created_at: at.toISOString() },
});
const published = (version: number, body: PlanVersionContent = content): PlanVersionPublished => ({
  type: 'PlanVersionPublished',
  data: { plan_key: 'pro', version, ...body, published_at: later.toISOString() },
});
const archived: PlanEvent = { type: 'PlanArchived', data: { plan_key: 'pro', archived_at: later.toISOString() } };

const create = (publish = false, body: PlanVersionInput = input): PlanCommand => ({
  type: 'CreatePlan',
  plan_key: 'pro',
  content: body,
  publish,
  metrics,
  at,
});
const update = (version: number, changes: PlanVersionInput): PlanCommand => ({
  type: 'UpdatePlanDraft',
  plan_key: 'pro',
  version,
  changes,
  metrics,
  at: later,
});
const publish = (version: number, catalog: MetricCatalog = metrics): PlanCommand => ({
  type: 'PublishPlanVersion',
  plan_key: 'pro',
  version,
  metrics: catalog,
  at: later,
});
const nextDraft = (changes: PlanVersionInput = {}): PlanCommand => ({
  type: 'CreatePlanDraft',
  plan_key: 'pro',
  changes,
  metrics,
  at,
});

function given(...events: PlanEvent[]) {
  const state = events.reduce(planDecider.evolve, planDecider.initialState());
  return { when: (command: PlanCommand) => () => planDecider.decide(command, state) };
}

function errorOf(run: () => unknown): PlanError {
  try {
    run();
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
  throw new Error('expected a PlanError');
}

describe('plan decider', () => {
  describe('CreatePlan', () => {
    it('creates version 1 as a draft, normalized (decimals canonical, defaults spelled out)', () => {
      expect(given().when(create())()).toEqual([draft(1)]);
      const [event] = given().when(
        create(false, { ...input, minimum_commitment: undefined, entitlements: undefined }),
      )();
      expect(event.data).toMatchObject({ minimum_commitment: null, entitlements: {} });
    });

    it('publishes version 1 at once with publish: the published event carries the whole normalized version', () => {
      const events = given().when(create(true))();
      expect(events).toEqual([
        draft(1),
        { ...published(1), data: { ...published(1).data, published_at: at.toISOString() } },
      ]);
    });

    it('is a no-op when the same plan is created again (a retry); another body is PLAN.ALREADY_EXISTS', () => {
      expect(given(draft(1)).when(create())()).toEqual([]);
      expect(given(draft(1), published(1)).when(create(true))()).toEqual([]);
      expect(errorOf(given(draft(1)).when(create(true))).code).toBe('PLAN.ALREADY_EXISTS');
      expect(errorOf(given(draft(1)).when(create(false, { ...input, name: 'Other' }))).code).toBe(
        'PLAN.ALREADY_EXISTS',
      );
    });

    it('names every invalid field (PLAN.INVALID), before looking at what exists', () => {
      const error = errorOf(
        given(draft(1)).when({
          ...create(),
          plan_key: 'bad key',
          content: { ...input, currency: 'usd', name: '' },
        } as PlanCommand),
      );
      expect(error.code).toBe('PLAN.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual(['key', 'name', 'currency']);
    });
  });

  describe('UpdatePlanDraft', () => {
    it('replaces only the given fields of a draft and records the whole new content', () => {
      const [event] = given(draft(1)).when(update(1, { name: 'Pro 2024', minimum_commitment: null }))();
      expect(event).toEqual({
        type: 'PlanDraftUpdated',
        data: {
          plan_key: 'pro',
          version: 1,
          ...content,
          name: 'Pro 2024',
          minimum_commitment: null,
          updated_at: later.toISOString(),
        },
      });
    });

    it('is a no-op when nothing changes', () => {
      expect(given(draft(1)).when(update(1, { name: 'Pro', currency: 'USD' }))()).toEqual([]);
    });

    it('refuses any change to a published version: PLAN.VERSION_IMMUTABLE (even one that changes nothing)', () => {
      expect(errorOf(given(draft(1), published(1)).when(update(1, { name: 'Cheaper' }))).code).toBe(
        'PLAN.VERSION_IMMUTABLE',
      );
      expect(errorOf(given(draft(1), published(1)).when(update(1, {}))).code).toBe('PLAN.VERSION_IMMUTABLE');
    });

    it('validates the merged draft (PLAN.INVALID naming fields); unknown versions are PLAN.VERSION_NOT_FOUND', () => {
      const error = errorOf(given(draft(1)).when(update(1, { billing_interval: 'fortnight' })));
      expect(error.errors).toEqual([
        { field: 'billing_interval', message: expect.stringContaining('day, week, month, year') },
      ]);
      expect(errorOf(given(draft(1)).when(update(2, { name: 'x' }))).code).toBe('PLAN.VERSION_NOT_FOUND');
      expect(errorOf(given().when(update(1, { name: 'x' }))).code).toBe('PLAN.NOT_FOUND');
    });

    it('refuses editing a draft of an archived plan: PLAN.ARCHIVED', () => {
      expect(errorOf(given(draft(1), archived).when(update(1, { name: 'x' }))).code).toBe('PLAN.ARCHIVED');
    });
  });

  describe('PublishPlanVersion', () => {
    it('publishes a draft with its whole content; publishing twice records nothing', () => {
      expect(given(draft(1)).when(publish(1))()).toEqual([published(1)]);
      expect(given(draft(1), published(1)).when(publish(1))()).toEqual([]);
      expect(given(draft(1), published(1), archived).when(publish(1))()).toEqual([]);
    });

    it('validates the draft again: a metric archived since the draft was written is PLAN.INVALID', () => {
      const since = new Map(metrics).set('api_calls', { key: 'api_calls', archived: true, group_by: [] });
      const error = errorOf(given(draft(1)).when(publish(1, since)));
      expect(error.code).toBe('PLAN.INVALID');
      expect(error.errors).toEqual([
        { field: 'charges[1].metric_key', message: 'metric "api_calls" is archived' },
        { field: 'entitlements.api_calls_per_month.metric_key', message: 'metric "api_calls" is archived' },
      ]);
    });

    it('refuses an unknown version (PLAN.VERSION_NOT_FOUND) and a draft of an archived plan (PLAN.ARCHIVED)', () => {
      expect(errorOf(given(draft(1)).when(publish(2))).code).toBe('PLAN.VERSION_NOT_FOUND');
      expect(errorOf(given(draft(1)).when(publish(0))).code).toBe('PLAN.VERSION_NOT_FOUND');
      expect(errorOf(given(draft(1), archived).when(publish(1))).code).toBe('PLAN.ARCHIVED');
    });
  });

  describe('CreatePlanDraft', () => {
    it('copies the latest version into the next draft, with the given fields replaced', () => {
      expect(given(draft(1), published(1)).when(nextDraft())()).toEqual([draft(2)]);
      const [event] = given(draft(1), published(1)).when(nextDraft({ name: 'Pro (2027)' }))();
      expect(event.data).toMatchObject({ version: 2, name: 'Pro (2027)', charges: content.charges });
    });

    it('refuses a second draft while one is open: PLAN.DRAFT_EXISTS', () => {
      expect(errorOf(given(draft(1)).when(nextDraft())).code).toBe('PLAN.DRAFT_EXISTS');
      expect(errorOf(given(draft(1), published(1), draft(2)).when(nextDraft())).code).toBe('PLAN.DRAFT_EXISTS');
    });

    it('refuses an archived plan (PLAN.ARCHIVED) and an unknown one (PLAN.NOT_FOUND)', () => {
      expect(errorOf(given(draft(1), published(1), archived).when(nextDraft())).code).toBe('PLAN.ARCHIVED');
      expect(errorOf(given().when(nextDraft())).code).toBe('PLAN.NOT_FOUND');
    });
  });

  describe('ArchivePlan', () => {
    const archive: PlanCommand = { type: 'ArchivePlan', plan_key: 'pro', at: later };
    it('archives once; archiving twice records nothing; versions stay', () => {
      expect(given(draft(1), published(1)).when(archive)()).toEqual([archived]);
      expect(given(draft(1), published(1), archived).when(archive)()).toEqual([]);
      const state = [draft(1), published(1), archived].reduce(planDecider.evolve, planDecider.initialState());
      expect(state).toMatchObject({ status: 'archived', plan: { versions: [{ version: 1, status: 'published' }] } });
    });
  });

  it('folds drafts and publications into versions with their status; a replayed event changes nothing', () => {
    const events = [draft(1), published(1), draft(2, { ...content, name: 'Pro 2' })];
    const state = events.reduce(planDecider.evolve, planDecider.initialState());
    if (state.status === 'absent') throw new Error('unreachable');
    expect(state.plan.versions.map((v) => [v.version, v.status, v.name, v.published_at])).toEqual([
      [1, 'published', 'Pro', later.toISOString()],
      [2, 'draft', 'Pro 2', null],
    ]);
    for (const replayed of events) expect(planDecider.evolve(state, replayed)).toBe(state);
  });
});
