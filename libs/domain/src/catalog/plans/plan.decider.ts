import { KEY_PATTERN } from '../../metering';
import { jsonEqual } from '../metrics/json-equal';
import type { MetricCatalog } from './metric-catalog';
import { contentOf, findPlanVersion, openDraft, type Plan, type PlanVersion } from './plan';
import { invalidPlan, PlanError } from './plan.errors';
import type {
  PlanArchived,
  PlanDraftCreated,
  PlanDraftUpdated,
  PlanEvent,
  PlanVersionContent,
  PlanVersionPublished,
} from './plan.events';
import { parsePlanVersion, PLAN_VERSION_FIELDS, type PlanVersionInput } from './plan-version';

/** Creates the plan with version 1 as a draft, published at once with `publish`. */
export interface CreatePlan {
  type: 'CreatePlan';
  plan_key: string;
  content: PlanVersionInput;
  publish: boolean;
  /** The tenant's metrics the content references (loaded by the caller). */
  metrics: MetricCatalog;
  at: Date;
}

/** Replaces the given fields of a draft (absent fields stay); the whole draft is validated again. */
export interface UpdatePlanDraft {
  type: 'UpdatePlanDraft';
  plan_key: string;
  version: number;
  changes: PlanVersionInput;
  metrics: MetricCatalog;
  at: Date;
}

/** Locks a draft. The content is validated again: a metric may have been archived since it was written. */
export interface PublishPlanVersion {
  type: 'PublishPlanVersion';
  plan_key: string;
  version: number;
  metrics: MetricCatalog;
  at: Date;
}

/** Starts the next draft as a copy of the latest version, with `changes` (if any) replacing fields. */
export interface CreatePlanDraft {
  type: 'CreatePlanDraft';
  plan_key: string;
  changes: PlanVersionInput;
  metrics: MetricCatalog;
  at: Date;
}

export interface ArchivePlan {
  type: 'ArchivePlan';
  plan_key: string;
  at: Date;
}

export type PlanCommand = CreatePlan | UpdatePlanDraft | PublishPlanVersion | CreatePlanDraft | ArchivePlan;

export type PlanState = { status: 'absent' } | { status: 'active'; plan: Plan } | { status: 'archived'; plan: Plan };

export const planDecider = {
  initialState(): PlanState {
    return { status: 'absent' };
  },

  evolve(state: PlanState, event: PlanEvent): PlanState {
    const plan = evolvePlan(state.status === 'absent' ? undefined : state.plan, event);
    if (plan === undefined || (state.status !== 'absent' && plan === state.plan)) return state;
    return { status: plan.archived_at === null ? 'active' : 'archived', plan };
  },

  decide(command: PlanCommand, state: PlanState): PlanEvent[] {
    switch (command.type) {
      case 'CreatePlan':
        return decideCreate(command, state);
      case 'UpdatePlanDraft':
        return decideUpdate(command, state);
      case 'PublishPlanVersion':
        return decidePublish(command, state);
      case 'CreatePlanDraft':
        return decideNextDraft(command, state);
      case 'ArchivePlan':
        return decideArchive(command, state);
      default:
        return unreachable(command);
    }
  },
};

function draftFrom(data: PlanDraftCreated['data']): PlanVersion {
  const { version, created_at } = data;
  return { version, status: 'draft', ...contentOf(data), created_at, updated_at: created_at, published_at: null };
}

function replaceVersion(plan: Plan, version: PlanVersion): Plan {
  const versions = plan.versions.map((existing) => (existing.version === version.version ? version : existing));
  return { ...plan, versions };
}

/**
 * The plan after one event (undefined: no plan yet). The decider and the `price_plans` read model
 * both fold events with it. Never throws; an event out of sequence (a replay) leaves the plan as is.
 */
export function evolvePlan(plan: Plan | undefined, event: PlanEvent): Plan | undefined {
  switch (event.type) {
    case 'PlanDraftCreated': {
      const { plan_key, version, created_at } = event.data;
      if (plan === undefined) {
        return version === 1
          ? { key: plan_key, versions: [draftFrom(event.data)], created_at, archived_at: null }
          : plan;
      }
      if (version !== plan.versions.length + 1) return plan;
      return { ...plan, versions: [...plan.versions, draftFrom(event.data)] };
    }
    case 'PlanDraftUpdated': {
      const current = plan && findPlanVersion(plan, event.data.version);
      if (plan === undefined || current?.status !== 'draft') return plan;
      return replaceVersion(plan, { ...current, ...contentOf(event.data), updated_at: event.data.updated_at });
    }
    case 'PlanVersionPublished': {
      const current = plan && findPlanVersion(plan, event.data.version);
      if (plan === undefined || current?.status !== 'draft') return plan;
      const { published_at } = event.data;
      return replaceVersion(plan, { ...current, ...contentOf(event.data), status: 'published', published_at });
    }
    case 'PlanArchived':
      if (plan === undefined || plan.archived_at !== null) return plan;
      return { ...plan, archived_at: event.data.archived_at };
    default:
      return unreachable(event);
  }
}

export const isValidPlanKey = (key: unknown): key is string => typeof key === 'string' && KEY_PATTERN.test(key);

/** Fields of `changes` that were given (undefined means "keep"), laid over `base`. */
function merge(base: PlanVersionContent, changes: PlanVersionInput): PlanVersionInput {
  const merged: PlanVersionInput = { ...base };
  for (const field of PLAN_VERSION_FIELDS) if (changes[field] !== undefined) merged[field] = changes[field];
  return merged;
}

function validContent(input: PlanVersionInput, metrics: MetricCatalog): PlanVersionContent {
  const parsed = parsePlanVersion(input, metrics);
  if (!parsed.value) throw invalidPlan(parsed.errors);
  return parsed.value;
}

function decideCreate(command: CreatePlan, state: PlanState): PlanEvent[] {
  if (!isValidPlanKey(command.plan_key)) {
    const content = parsePlanVersion(command.content, command.metrics);
    throw invalidPlan([
      {
        field: 'key',
        message: 'must be 1-100 characters of letters, digits, "_", "." or "-", starting with a letter or digit',
      },
      ...content.errors,
    ]);
  }
  const content = validContent(command.content, command.metrics);
  const at = command.at.toISOString();
  if (state.status !== 'absent') {
    // The same create sent again (a retry) finds its version 1 as it left it: nothing to do.
    const first = state.plan.versions[0];
    if (jsonEqual(contentOf(first), content) && (!command.publish || first.status === 'published')) return [];
    throw new PlanError('PLAN.ALREADY_EXISTS', `plan ${command.plan_key} already exists; add a version instead`);
  }
  const created: PlanDraftCreated = {
    type: 'PlanDraftCreated',
    data: { plan_key: command.plan_key, version: 1, ...content, created_at: at },
  };
  if (!command.publish) return [created];
  return [created, published(command.plan_key, 1, content, at)];
}

function published(plan_key: string, version: number, content: PlanVersionContent, at: string): PlanVersionPublished {
  return { type: 'PlanVersionPublished', data: { plan_key, version, ...content, published_at: at } };
}

/** The version a command names, or PLAN.NOT_FOUND / PLAN.VERSION_NOT_FOUND. */
function versionOf(state: PlanState, key: string, number: number): { plan: Plan; version: PlanVersion } {
  if (state.status === 'absent') throw planNotFound(key);
  const version = findPlanVersion(state.plan, number);
  if (!version) throw new PlanError('PLAN.VERSION_NOT_FOUND', `plan ${key} has no version ${String(number)}`);
  return { plan: state.plan, version };
}

function immutable(key: string, version: PlanVersion): PlanError {
  return new PlanError(
    'PLAN.VERSION_IMMUTABLE',
    `version ${version.version} of plan ${key} is published and can never change; start a new draft instead`,
  );
}

function archived(key: string): PlanError {
  return new PlanError('PLAN.ARCHIVED', `plan ${key} is archived`);
}

function decideUpdate(command: UpdatePlanDraft, state: PlanState): PlanDraftUpdated[] {
  const { version } = versionOf(state, command.plan_key, command.version);
  if (version.status === 'published') throw immutable(command.plan_key, version);
  if (state.status === 'archived') throw archived(command.plan_key);
  const content = validContent(merge(contentOf(version), command.changes), command.metrics);
  if (jsonEqual(content, contentOf(version))) return [];
  const data = {
    plan_key: command.plan_key,
    version: version.version,
    ...content,
    updated_at: command.at.toISOString(),
  };
  return [{ type: 'PlanDraftUpdated', data }];
}

/** Publishing a published version is a no-op (idempotent), archived plan or not. */
function decidePublish(command: PublishPlanVersion, state: PlanState): PlanVersionPublished[] {
  const { version } = versionOf(state, command.plan_key, command.version);
  if (version.status === 'published') return [];
  if (state.status === 'archived') throw archived(command.plan_key);
  const content = validContent(contentOf(version), command.metrics);
  return [published(command.plan_key, version.version, content, command.at.toISOString())];
}

function decideNextDraft(command: CreatePlanDraft, state: PlanState): PlanDraftCreated[] {
  if (state.status === 'absent') throw planNotFound(command.plan_key);
  if (state.status === 'archived') throw archived(command.plan_key);
  const draft = openDraft(state.plan);
  if (draft) {
    throw new PlanError(
      'PLAN.DRAFT_EXISTS',
      `plan ${command.plan_key} already has an open draft (version ${draft.version}); edit or publish it first`,
    );
  }
  const latest = state.plan.versions[state.plan.versions.length - 1];
  const content = validContent(merge(contentOf(latest), command.changes), command.metrics);
  const data = {
    plan_key: command.plan_key,
    version: latest.version + 1,
    ...content,
    created_at: command.at.toISOString(),
  };
  return [{ type: 'PlanDraftCreated', data }];
}

/** Archiving an archived plan changes nothing (idempotent). */
function decideArchive(command: ArchivePlan, state: PlanState): PlanArchived[] {
  if (state.status === 'absent') throw planNotFound(command.plan_key);
  if (state.status === 'archived') return [];
  return [{ type: 'PlanArchived', data: { plan_key: command.plan_key, archived_at: command.at.toISOString() } }];
}

export function planNotFound(key: string): PlanError {
  return new PlanError('PLAN.NOT_FOUND', `no plan ${key}`);
}

function unreachable(value: never): never {
  throw new Error(`unhandled plan message ${JSON.stringify(value)}`);
}
