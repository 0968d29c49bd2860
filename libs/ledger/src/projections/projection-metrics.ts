import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';
import type { Checkpoint, EventStore } from '../event-store';

/**
 * Projector metrics on prom-client's default registry. Get-or-create: several runners in one process
 * (the API embedding the projector, tests) share one set of series instead of failing to register.
 */
export interface ProjectorMetrics {
  lagSeconds: Gauge<'projection'>;
  lagEvents: Gauge<'projection'>;
  eventsApplied: Counter<'projection'>;
  batchDuration: Histogram<'projection'>;
  failures: Counter<'projection'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function projectorMetrics(registry: Registry = register): ProjectorMetrics {
  const registers = [registry];
  const labelNames = ['projection'] as const;
  return {
    lagSeconds: getOrCreate(
      registry,
      'abaxus_projector_lag_seconds',
      () =>
        new Gauge({
          name: 'abaxus_projector_lag_seconds',
          help: 'Age of the oldest event the live build has not applied (0 at the head)',
          labelNames,
          registers,
        }),
    ),
    lagEvents: getOrCreate(
      registry,
      'abaxus_projector_lag_events',
      () =>
        new Gauge({
          name: 'abaxus_projector_lag_events',
          help: 'Events the live build has not applied yet',
          labelNames,
          registers,
        }),
    ),
    eventsApplied: getOrCreate(
      registry,
      'abaxus_projector_events_applied_total',
      () =>
        new Counter({
          name: 'abaxus_projector_events_applied_total',
          help: 'Events applied by this process, all builds',
          labelNames,
          registers,
        }),
    ),
    batchDuration: getOrCreate(
      registry,
      'abaxus_projector_batch_duration_seconds',
      () =>
        new Histogram({
          name: 'abaxus_projector_batch_duration_seconds',
          help: 'Read + apply + commit time of one projector batch',
          labelNames,
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    ),
    failures: getOrCreate(
      registry,
      'abaxus_projector_failures_total',
      () =>
        new Counter({
          name: 'abaxus_projector_failures_total',
          help: 'Failed projector steps (each is retried with back-off)',
          labelNames,
          registers,
        }),
    ),
  };
}

export interface Lag {
  /** Events visible after the checkpoint, counted up to the limit given. */
  eventsBehind: number;
  /** Age of the first event after the checkpoint, from its `recorded_at`; 0 at the head. */
  lagSeconds: number;
}

/** Two cheap reads: a bounded count and the first event after the checkpoint. */
export async function measureLag(store: EventStore, checkpoint: Checkpoint | null, countLimit: number): Promise<Lag> {
  const [eventsBehind, next] = await Promise.all([
    store.countAfter(checkpoint, countLimit),
    store.readAll(checkpoint, { maxCount: 1 }),
  ]);
  const oldest = next.events[0];
  const lagSeconds = oldest ? Math.max(0, (Date.now() - oldest.recorded_at.getTime()) / 1000) : 0;
  return { eventsBehind, lagSeconds: Math.round(lagSeconds * 1000) / 1000 };
}
