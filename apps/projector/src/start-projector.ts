import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Gauge, register } from 'prom-client';
import { ProjectionRunner, startJournalPoster, type EventStore, type Projection, type Subscription } from '#ledger';
import {
  billingCycleIntervalMs,
  startBillingCycle,
  type BillingCycle,
  type BillingCycleOptions,
} from './billing-cycle';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { projections as registeredProjections } from './projections';

export interface ProjectorDeps {
  pool: Pool;
  store: EventStore;
  logger?: Logger;
  /** A port: serve `/metrics` on it (own process). null/undefined: the host process serves /metrics. */
  metricsPort?: number | null;
  metricsHost?: string;
  /** Default: every registered projection (`projections.ts`). */
  projections?: readonly Projection[];
  batchSize?: number;
  idlePollMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * The billing cycle (./billing-cycle). Default: on when the projector runs the registered
   * projections, ticking every ABAXUS_BILLING_CYCLE_SECONDS (default 5; 0: off); off when it is
   * given its own projection list (tests, tools). Options here start it (intervalMs 0: no timer,
   * call `tick()`); false: off.
   */
  billingCycle?: Omit<BillingCycleOptions, 'pool' | 'store' | 'logger'> | false;
}

export interface Projector {
  runner: ProjectionRunner;
  /** Where `/metrics` is served, when this projector serves it. */
  metricsUrl: string | null;
  /** The billing cycle running in this projector; null when off. */
  billingCycle: BillingCycle | null;
  /** Lets each projection's batch in flight commit, then stops (and closes the metrics server). */
  stop(): Promise<void>;
}

/** Runners of this process, for the dropped-batches gauge. */
const runningRunners = new Set<ProjectionRunner>();

/**
 * Replicas share the work batch by batch (the checkpoint row lock, see applyNextBatch): a batch read
 * while another replica applied the same one is dropped unapplied. That wasted read is the price of
 * running replicas, so it is exported (gauge, since this process started) rather than left unseen.
 */
function registerDroppedBatchesGauge(): void {
  if (register.getSingleMetric('abaxus_projector_batches_dropped')) return;
  new Gauge({
    name: 'abaxus_projector_batches_dropped',
    help: 'Batches read then dropped unapplied because another replica moved the checkpoint first (since start)',
    labelNames: ['projection'] as const,
    collect() {
      this.reset();
      for (const runner of runningRunners)
        for (const [projection, stats] of runner.stats()) this.inc({ projection }, stats.dropped);
    },
  });
}

/**
 * Starts the projector inside the calling process with the pool and store it owns (the CLI's
 * `abaxus start` / `abaxus projector`). Plain composition: the projector has no routes or request
 * scope, so a Nest container would only wrap this runner in a second lifecycle.
 */
export async function startProjector(deps: ProjectorDeps): Promise<Projector> {
  const logger = deps.logger?.child({ component: 'projector' });
  const runner = new ProjectionRunner({
    pool: deps.pool,
    store: deps.store,
    projections: deps.projections ?? registeredProjections,
    logger,
    batchSize: deps.batchSize,
    idlePollMs: deps.idlePollMs,
    retryInitialMs: deps.retryInitialMs,
    retryMaxMs: deps.retryMaxMs,
  });
  registerDroppedBatchesGauge();
  let metrics: MetricsServer | undefined;
  if (typeof deps.metricsPort === 'number') metrics = await startMetricsServer(deps.metricsPort, deps.metricsHost);
  let journal: Subscription | undefined;
  let cycle: BillingCycle | null = null;
  try {
    runningRunners.add(runner);
    await runner.start();
    // The journal poster posts the entry of every billing fact (libs/ledger/src/journal): it appends
    // events, so it is not a projection, but it follows the log like one, in this process.
    journal = await startJournalPoster({
      pool: deps.pool,
      store: deps.store,
      onError: (error) => logger?.error({ err: error }, 'journal poster failed; it retries'),
    });
    const cycleOptions =
      deps.billingCycle ?? (deps.projections === undefined ? { intervalMs: billingCycleIntervalMs() } : false);
    if (cycleOptions !== false && !(deps.billingCycle === undefined && cycleOptions.intervalMs === 0)) {
      cycle = startBillingCycle({ ...cycleOptions, pool: deps.pool, store: deps.store, logger: deps.logger });
    }
  } catch (error) {
    await journal?.stop();
    await runner.stop();
    runningRunners.delete(runner);
    await metrics?.close();
    throw error;
  }
  logger?.info(
    {
      projections: runner.projections.map((p) => `${p.name}@v${p.version}`),
      batch_size: runner.batchSize,
      metrics: metrics?.url ?? null,
    },
    'projector started',
  );
  let stopping: Promise<void> | undefined;
  return {
    runner,
    metricsUrl: metrics?.url ?? null,
    billingCycle: cycle,
    stop: () =>
      (stopping ??= (async () => {
        await cycle?.stop();
        await journal?.stop();
        await runner.stop();
        runningRunners.delete(runner);
        await metrics?.close();
        logger?.info({}, 'projector stopped');
      })()),
  };
}
