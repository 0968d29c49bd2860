import type { FieldError } from '../../decimal';
import { KEY_PATTERN } from '../../metering';
import { jsonEqual } from './json-equal';
import {
  normalizeLabel,
  normalizeMetricDefinition,
  validateMetricDefinition,
  validateMetricLabels,
  type Metric,
  type MetricDefinitionInput,
} from './metric';
import { invalidMetric, MetricError } from './metric.errors';
import type { MetricArchived, MetricCreated, MetricEvent, MetricVersionPublished } from './metric.events';
import { instantOrder, normalizeInstant } from './metric-instant';

export interface CreateMetric {
  type: 'CreateMetric';
  metric_key: string;
  name: string;
  unit?: string | null;
  definition: MetricDefinitionInput;
  at: Date;
}

export interface PublishMetricVersion {
  type: 'PublishMetricVersion';
  metric_key: string;
  /** RFC 3339; must be later than the latest version's. */
  effective_from: string;
  definition: MetricDefinitionInput;
  at: Date;
}

export interface ArchiveMetric {
  type: 'ArchiveMetric';
  metric_key: string;
  at: Date;
  /**
   * Ids of the live subscriptions whose charges or entitlement limits read this metric (usesMetric),
   * sorted; the caller gathers them. Archiving would refuse their new usage while they still bill it.
   */
  used_by: readonly string[];
}

export type MetricCommand = CreateMetric | PublishMetricVersion | ArchiveMetric;

/** One metric stream. Archived metrics keep every version and stay readable. */
export type MetricState =
  { status: 'absent' } | { status: 'active'; metric: Metric } | { status: 'archived'; metric: Metric };

export const metricDecider = {
  initialState(): MetricState {
    return { status: 'absent' };
  },

  evolve(state: MetricState, event: MetricEvent): MetricState {
    const metric = evolveMetric(state.status === 'absent' ? undefined : state.metric, event);
    if (metric === undefined || (state.status !== 'absent' && metric === state.metric)) return state;
    return { status: metric.archived_at === null ? 'active' : 'archived', metric };
  },

  decide(command: MetricCommand, state: MetricState): MetricEvent[] {
    switch (command.type) {
      case 'CreateMetric':
        return decideCreate(command, state);
      case 'PublishMetricVersion':
        return decidePublish(command, state);
      case 'ArchiveMetric':
        return decideArchive(command, state);
      default:
        return unreachable(command);
    }
  },
};

export function metricFromCreated(event: MetricCreated): Metric {
  const { metric_key, name, unit, definition, created_at } = event.data;
  return {
    key: metric_key,
    name,
    unit,
    versions: [{ version: 1, effective_from: null, published_at: created_at, ...definition }],
    created_at,
    archived_at: null,
  };
}

/**
 * The metric after one event (undefined: no metric yet). The decider and the `metrics` read model
 * both fold events with it, so a list shows exactly what a read of the stream shows. Never throws;
 * an event out of sequence (a replay) leaves the metric as it is.
 */
export function evolveMetric(metric: Metric | undefined, event: MetricEvent): Metric | undefined {
  switch (event.type) {
    case 'MetricCreated':
      return metric ?? metricFromCreated(event);
    case 'MetricVersionPublished': {
      if (metric === undefined || event.data.version !== metric.versions.length + 1) return metric;
      const { version, effective_from, definition, published_at } = event.data;
      return { ...metric, versions: [...metric.versions, { version, effective_from, published_at, ...definition }] };
    }
    case 'MetricArchived':
      if (metric === undefined || metric.archived_at !== null) return metric;
      return { ...metric, archived_at: event.data.archived_at };
    default:
      return unreachable(event);
  }
}

export const isValidMetricKey = (key: unknown): key is string => typeof key === 'string' && KEY_PATTERN.test(key);

/** Creating a metric that exists with the same name, unit and definition is a retry: nothing to do. */
function decideCreate(command: CreateMetric, state: MetricState): MetricCreated[] {
  const errors: FieldError[] = [
    ...validateMetricDefinition(command.metric_key, command.definition),
    ...validateMetricLabels(command),
  ];
  if (errors.length > 0) throw invalidMetric('METRIC.INVALID', errors);
  const data: MetricCreated['data'] = {
    metric_key: command.metric_key,
    name: normalizeLabel(command.name)!,
    unit: normalizeLabel(command.unit),
    definition: normalizeMetricDefinition(command.metric_key, command.definition),
    created_at: command.at.toISOString(),
  };
  if (state.status === 'absent') return [{ type: 'MetricCreated', data }];
  const { metric } = state;
  const { version: _v, effective_from: _e, published_at: _p, ...first } = metric.versions[0];
  if (metric.name === data.name && metric.unit === data.unit && jsonEqual(first, data.definition)) return [];
  throw new MetricError('METRIC.ALREADY_EXISTS', `metric ${command.metric_key} already exists with another definition`);
}

function decidePublish(command: PublishMetricVersion, state: MetricState): MetricVersionPublished[] {
  if (state.status === 'absent') throw notFound(command.metric_key);
  const effective = normalizeInstant(command.effective_from, 'effective_from');
  const errors = validateMetricDefinition(command.metric_key, command.definition);
  if (!effective.ok) errors.push(effective.error);
  if (errors.length > 0) throw invalidMetric('METRIC.INVALID', errors);
  const definition = normalizeMetricDefinition(command.metric_key, command.definition);
  const latest = state.metric.versions[state.metric.versions.length - 1];
  const { version: _v, effective_from: latestFrom, published_at: _p, ...latestDefinition } = latest;
  const effectiveFrom = (effective as { value: string }).value;
  // The same version sent again (a retry) has already been published.
  if (latestFrom === effectiveFrom && jsonEqual(latestDefinition, definition)) return [];
  if (state.status === 'archived') {
    throw new MetricError('METRIC.ARCHIVED', `metric ${command.metric_key} is archived; it takes no new versions`);
  }
  if (latestFrom !== null && instantOrder(effectiveFrom) <= instantOrder(latestFrom)) {
    throw invalidMetric('METRIC.INVALID_VERSION', [
      {
        field: 'effective_from',
        message: `must be later than version ${latest.version}'s effective_from (${latestFrom})`,
      },
    ]);
  }
  return [
    {
      type: 'MetricVersionPublished',
      data: {
        metric_key: command.metric_key,
        version: latest.version + 1,
        effective_from: effectiveFrom,
        definition,
        published_at: command.at.toISOString(),
      },
    },
  ];
}

/** Archiving an archived metric changes nothing (idempotent); one that live subscriptions use is refused. */
function decideArchive(command: ArchiveMetric, state: MetricState): MetricArchived[] {
  if (state.status === 'absent') throw notFound(command.metric_key);
  if (state.status === 'archived') return [];
  const users = command.used_by;
  if (users.length > 0) {
    const named = users.slice(0, 5).join(', ') + (users.length > 5 ? `, and ${users.length - 5} more` : '');
    throw new MetricError(
      'METRIC.IN_USE',
      `metric ${command.metric_key} is billed or limited by ${users.length} live subscription(s) (${named}): ` +
        'archiving it would refuse their new usage; end them or move them to a plan without it first',
    );
  }
  return [{ type: 'MetricArchived', data: { metric_key: command.metric_key, archived_at: command.at.toISOString() } }];
}

function notFound(key: string): MetricError {
  return new MetricError('METRIC.NOT_FOUND', `no metric ${key}`);
}

function unreachable(value: never): never {
  throw new Error(`unhandled metric message ${JSON.stringify(value)}`);
}
