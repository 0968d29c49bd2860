import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Checkpoint, EventStore, Subscription } from '../event-store';
import type { Projection } from './projection';
import {
  applyNextBatch,
  DEFAULT_BATCH_SIZE,
  ProjectionApplyError,
  readOptions,
  type BatchReader,
  type ReadAhead,
} from './projection-batch';
import { waitForPosition } from './projection-barrier';
import {
  clearProjectionErrors,
  dropRetiredTables,
  readBuilds,
  recordError,
  recordProjectionError,
  type CatalogRow,
} from './projection-catalog';
import { measureLag, projectorMetrics, type ProjectorMetrics } from './projection-metrics';
import { buildLabel, validateProjectionSet } from './projection-naming';
import { ensureProjection, switchToBuild } from './projection-rebuild';
import { projectionStatus, STATUS_COUNT_LIMIT, type ProjectionStatus } from './projection-status';
import { SharedPages } from './shared-pages';
import { Wakeup } from './wakeup';

/**
 * After a batch that did not reach the head, the events-behind gauge counts exactly up to this many
 * (a bounded count per batch) and estimates beyond it from the last full count.
 */
const LAG_COUNT_WINDOW = 4000;

/**
 * …and does so at most this often: the two reads take 20 ms or so on a busy machine, on the loop's
 * path between two batches (5% of a 200,000-event catch-up measured here, at 2 batches a second).
 * Between them the gauges keep their last value; a batch that reaches the head sets them to 0.
 */
const LAG_AFTER_BATCH_INTERVAL_MS = 1000;

/** See ProjectionRunnerOptions.minStepIntervalMs. */
export const DEFAULT_MIN_STEP_INTERVAL_MS = 100;

export type ProjectionLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface ProjectionRunnerOptions {
  pool: Pool;
  store: EventStore;
  projections: readonly Projection[];
  logger?: ProjectionLogger;
  /** Events per batch and per transaction. Default 2000. */
  batchSize?: number;
  /** At the head, re-check this often even without a signal from the store. Default 1000 ms. */
  idlePollMs?: number;
  /**
   * At the head, a projection steps again at most this often, however often the store rings (each
   * ingestion flush rings once). A step costs every projection a catalog read, a page read and, when
   * the checkpoint moved, a transaction, whether it brings one event or hundreds. The same holds
   * after a short unfiltered page that was not the head (a shared page, a page read ahead): under
   * 4,500 single-event requests/s that cut the usage projection's steps from 17 to at most 10 a
   * second and the CPU per request by 8%. Catching up (full pages) never waits. Default 100 ms; 0
   * steps on every ring.
   */
  minStepIntervalMs?: number;
  /** Back-off after a failure doubles from this… Default 500 ms. */
  retryInitialMs?: number;
  /** …up to this. Default 30 s. */
  retryMaxMs?: number;
  /** Lag gauges are also refreshed on this timer (a stuck projection's lag keeps growing). Default 5 s. */
  metricsIntervalMs?: number;
}

interface ProjectionState {
  readonly projection: Projection;
  ensured: boolean;
  failures: number;
  lastError: { message: string; at: Date } | null;
  /** Events behind at the last full count, and applied since: the per-batch estimate uses both. */
  countedBehind: number;
  appliedSinceCount: number;
  /**
   * The last step moved only near the head (live pages shorter than the batch size, not the head):
   * the next one waits for the step interval. Any other progress (a build filling, a race) does not.
   */
  nearHead: boolean;
  /** When the gauges were last measured after a batch (performance.now()). */
  lagMeasuredAt?: number;
  /** A retired build's tables could not be dropped yet (a reader held them): retried on the timer. */
  dropPending: boolean;
  /** The store as this projection reads it: pages shared with projections reading alike. */
  reader: BatchReader;
  /** The page read while the last batch applied, and the build it was read for. */
  readAhead?: { build: string; ahead: ReadAhead };
  stats: ProjectionRunnerStats;
}

/** What this runner did for one projection since it started. */
export interface ProjectionRunnerStats {
  batches: number;
  events: number;
  /** Batches read from a checkpoint another runner had moved by the time the row lock was taken. */
  dropped: number;
  failures: number;
}

const SILENT: ProjectionLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Runs every registered projection: one loop per projection, each applying checkpointed batches
 * (see applyNextBatch), filling new builds and switching them live, and waiting at the head for the
 * store's subscription to signal new events. A projection that fails is logged, recorded in the
 * catalog, retried with back-off; the others keep going.
 */
export class ProjectionRunner {
  private readonly states: ProjectionState[];
  private readonly logger: ProjectionLogger;
  /** Most events one batch reads (ProjectionRunnerOptions.batchSize, else DEFAULT_BATCH_SIZE). */
  readonly batchSize: number;
  private readonly minStepIntervalMs: number;
  private readonly metrics: ProjectorMetrics = projectorMetrics();
  private readonly wakeup = new Wakeup();
  private readonly pages: SharedPages;
  private loops: Promise<void>[] = [];
  private doorbell?: Subscription;
  private timer?: NodeJS.Timeout;
  private started = false;
  /** The timer's work in flight; stop() waits for it so it never outlives the caller's pool. */
  private ticking?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly options: ProjectionRunnerOptions) {
    validateProjectionSet(options.projections);
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.minStepIntervalMs = options.minStepIntervalMs ?? DEFAULT_MIN_STEP_INTERVAL_MS;
    const { store } = options;
    this.pages = new SharedPages(
      store,
      options.projections.map((projection) => ({
        name: projection.name,
        options: readOptions(projection, this.batchSize),
      })),
    );
    this.states = options.projections.map((projection) => ({
      projection,
      reader: {
        readAll: this.pages.readerFor(projection.name).readAll,
        compareCheckpoints: (a, b) => store.compareCheckpoints(a, b),
      },
      ensured: false,
      failures: 0,
      lastError: null,
      countedBehind: 0,
      dropPending: false,
      appliedSinceCount: 0,
      nearHead: false,
      stats: { batches: 0, events: 0, dropped: 0, failures: 0 },
    }));
    this.logger = options.logger ?? SILENT;
  }

  get projections(): readonly Projection[] {
    return this.options.projections;
  }

  /**
   * Creates missing tables and views (first start) and starts rebuilds of projections whose code
   * version is newer than the live one, then starts the loops. Resolves once every projection had its
   * first setup attempt; one that failed is retried by its loop and does not fail the start.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('projection runner already started');
    this.started = true;
    this.doorbell = await this.openDoorbell();
    await Promise.all(this.states.map((state) => this.setUp(state).catch((error) => this.failed(state, error))));
    this.loops = this.states.map((state) => this.loop(state));
    this.timer = setInterval(() => void this.onTimer(), this.options.metricsIntervalMs ?? 5_000);
    this.timer.unref();
    void this.onTimer();
  }

  /** Lets the batch in flight of every projection commit (or roll back), then stops. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.wakeup.close();
      this.pages.close();
      if (this.timer) clearInterval(this.timer);
      await Promise.all(this.loops);
      // A read-ahead still in flight uses the caller's pool: let it finish (its result is dropped).
      await Promise.all(this.states.map((state) => state.readAhead?.ahead.page.catch(() => undefined)));
      await this.ticking;
      await this.doorbell
        ?.stop()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'store subscription stop failed'));
    })();
    return this.stopping;
  }

  status(): Promise<ProjectionStatus[]> {
    return projectionStatus({
      pool: this.options.pool,
      store: this.options.store,
      projections: this.options.projections,
    });
  }

  /** Failures since the last successful step, as seen by this process. */
  lastErrors(): Map<string, { message: string; at: Date; failures: number }> {
    const errors = new Map<string, { message: string; at: Date; failures: number }>();
    for (const state of this.states) {
      if (state.lastError) errors.set(state.projection.name, { ...state.lastError, failures: state.failures });
    }
    return errors;
  }

  stats(): Map<string, ProjectionRunnerStats> {
    return new Map(this.states.map((state) => [state.projection.name, { ...state.stats }]));
  }

  /** See the standalone waitForPosition: resolves when the live build's checkpoint reaches `checkpoint`. */
  waitForPosition(
    projectionName: string,
    checkpoint: Checkpoint | null,
    timeoutMs: number,
  ): Promise<Checkpoint | null> {
    return waitForPosition(this.options, projectionName, checkpoint, timeoutMs);
  }

  /**
   * The store's live subscription only rings the bell; the loops read through the catalog checkpoint.
   * Any new event rings, whatever its type: a projection's checkpoint must follow the head even past
   * events it skips, as barriers wait for positions (waitForPosition). It filters on no type at all
   * (`types: []`): each page then only moves its checkpoint to the head, so the bell never reads (and
   * parses) the rows the projections read anyway.
   */
  private async openDoorbell(): Promise<Subscription | undefined> {
    try {
      const head = await this.options.store.headCheckpoint();
      return this.options.store.subscribeToAll(head, {
        types: [],
        // The loops step at most this often anyway: rings in between would only cost reads.
        minIntervalMs: this.minStepIntervalMs,
        onBatch: async () => this.wakeup.ring(),
        onError: (error) =>
          this.logger.warn({ err: error }, 'store subscription failed; the projector falls back to polling'),
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'store subscription unavailable; the projector falls back to polling');
      return undefined;
    }
  }

  private async setUp(state: ProjectionState): Promise<void> {
    const { projection } = state;
    const result = await ensureProjection(this.options.pool, projection);
    state.ensured = true;
    if (result.createdLive)
      this.logger.info({ projection: buildLabel(result.live!) }, 'projection created; catching up');
    if (result.startedBuild) {
      this.logger.info(
        { projection: projection.name, live: buildLabel(result.live!), building: buildLabel(result.building!) },
        'projection version changed; building the new version while the old one serves reads',
      );
    }
    for (const row of result.abandoned)
      this.logger.warn({ projection: buildLabel(row) }, 'abandoned a build of an older version');
    await this.dropRetired(state);
  }

  private async loop(state: ProjectionState): Promise<void> {
    while (!this.wakeup.isClosed) {
      const seen = this.wakeup.generation;
      const stepStarted = performance.now();
      let progressed: boolean;
      try {
        progressed = await this.step(state);
        if (state.failures > 0) await this.recovered(state);
      } catch (error) {
        await this.failed(state, error);
        const backoff = Math.min(
          this.options.retryMaxMs ?? 30_000,
          (this.options.retryInitialMs ?? 500) * 2 ** (state.failures - 1),
        );
        await this.wakeup.sleep(backoff);
        continue;
      }
      if (!progressed) await this.wakeup.wait(seen, this.options.idlePollMs ?? 1_000);
      else if (!state.nearHead) continue;
      // Rings that come faster than the interval are taken together by the next step. So are the
      // events behind a short page that was not the head (another reader's shared page, a page read
      // ahead): stepping again at once would take them in one small batch per flush.
      const rest = stepStarted + this.minStepIntervalMs - performance.now();
      if (rest > 0) await this.wakeup.sleep(rest);
    }
  }

  /** One batch for each build this code can work (live and/or building). True if anything moved. */
  private async step(state: ProjectionState): Promise<boolean> {
    const { projection } = state;
    if (!state.ensured) await this.setUp(state);
    const rows = await readBuilds(this.options.pool, { name: projection.name });
    const workable = rows.filter((row) => row.version === projection.version && row.status !== 'retired');
    if (workable.length === 0) {
      // Someone else changed the catalog (a newer version went live, rows removed): set up again.
      state.ensured = false;
      return false;
    }
    let progressed = false;
    state.nearHead = true;
    for (const row of workable) {
      if (this.wakeup.isClosed) break;
      progressed = (await this.advance(state, row)) || progressed;
    }
    return progressed;
  }

  private async advance(state: ProjectionState, row: CatalogRow): Promise<boolean> {
    const { projection } = state;
    const labels = { projection: projection.name };
    const stopTimer = this.metrics.batchDuration.startTimer(labels);
    const status = row.status === 'live' ? 'live' : 'building';
    const build = buildLabel(row);
    const ahead = state.readAhead?.build === build ? state.readAhead.ahead : undefined;
    state.readAhead = undefined;
    // Only live builds share pages: a build filling from position 0 next to them never lines up.
    const deps = { pool: this.options.pool, store: status === 'live' ? state.reader : this.options.store };
    const outcome = await applyNextBatch(deps, projection, { ...row, status }, this.batchSize, ahead);
    switch (outcome.kind) {
      case 'applied':
        stopTimer();
        if (outcome.readAhead) state.readAhead = { build, ahead: outcome.readAhead };
        state.stats.batches += 1;
        state.stats.events += outcome.events;
        this.metrics.eventsApplied.inc(labels, outcome.events);
        if (status === 'live') {
          // The batch is committed: a failed lag read only leaves the gauges to the timer.
          await this.updateLagAfterBatch(state, outcome.checkpoint, outcome.events, outcome.atHead).catch(
            (error: unknown) => this.logger.warn({ err: error, projection: projection.name }, 'lag update failed'),
          );
          // A live batch that read to the head is done: what committed since rang the bell, so the
          // loop waits for it instead of reading an empty page first. Only an unfiltered short page
          // says it was near the head: a filtered read also stops short at the end of each window of
          // the log it scans, however far behind.
          const unfiltered = projection.eventTypes === undefined && projection.excludedEventTypes === undefined;
          state.nearHead &&= unfiltered && !outcome.atHead && outcome.events < this.batchSize;
          return !outcome.atHead;
        }
        state.nearHead = false;
        return true;
      case 'raced':
        state.stats.dropped += 1;
        state.nearHead = false;
        return true; // re-read the catalog and go again
      case 'inactive':
        state.nearHead = false;
        return true;
      case 'at_head':
        if (status === 'live') {
          this.metrics.lagSeconds.set(labels, 0);
          this.metrics.lagEvents.set(labels, 0);
          return false;
        }
        return this.switchWhenDone(state, row, outcome.checkpoint);
    }
  }

  private async switchWhenDone(
    state: ProjectionState,
    row: CatalogRow,
    checkpoint: Checkpoint | null,
  ): Promise<boolean> {
    if (!(await switchToBuild(this.options, state.projection, { ...row, checkpoint }))) return false;
    this.logger.info({ projection: buildLabel(row), events: row.eventsApplied }, 'new build is live; views switched');
    await this.dropRetired(state);
    return true;
  }

  private async dropRetired(state: ProjectionState): Promise<void> {
    try {
      const dropped = await dropRetiredTables(this.options.pool, state.projection.name);
      state.dropPending = false;
      for (const row of dropped)
        this.logger.info({ projection: buildLabel(row) }, 'dropped the tables of a retired build');
    } catch (error) {
      state.dropPending = true;
      this.logger.warn(
        { err: error, projection: state.projection.name },
        'could not drop retired tables yet; will retry',
      );
    }
  }

  private async failed(state: ProjectionState, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    state.failures += 1;
    state.stats.failures += 1;
    state.lastError = { message, at: new Date() };
    this.pages.stalled(state.projection.name);
    this.metrics.failures.inc({ projection: state.projection.name });
    this.logger.error(
      { err: error, projection: state.projection.name, failures: state.failures },
      'projection failed; retrying with back-off',
    );
    const record =
      error instanceof ProjectionApplyError
        ? recordError(this.options.pool, error.key, message)
        : recordProjectionError(this.options.pool, state.projection.name, message);
    await record.catch(() => undefined); // the database may be the thing that failed
  }

  private async recovered(state: ProjectionState): Promise<void> {
    this.logger.info({ projection: state.projection.name, failures: state.failures }, 'projection recovered');
    state.failures = 0;
    state.lastError = null;
    await clearProjectionErrors(this.options.pool, state.projection.name);
  }

  /**
   * A full count after every batch of a long catch-up would scan up to the whole backlog each time;
   * count a bounded window and fall back to the last full count minus what was applied since. At
   * most every LAG_AFTER_BATCH_INTERVAL_MS, except at the head.
   */
  private async updateLagAfterBatch(
    state: ProjectionState,
    checkpoint: Checkpoint | null,
    applied: number,
    atHead: boolean,
  ) {
    const labels = { projection: state.projection.name };
    state.appliedSinceCount += applied;
    if (atHead) {
      this.metrics.lagSeconds.set(labels, 0);
      this.metrics.lagEvents.set(labels, 0);
      return;
    }
    const now = performance.now();
    if (state.lagMeasuredAt !== undefined && now - state.lagMeasuredAt < LAG_AFTER_BATCH_INTERVAL_MS) return;
    state.lagMeasuredAt = now;
    const lag = await measureLag(this.options.store, checkpoint, LAG_COUNT_WINDOW);
    this.metrics.lagSeconds.set(labels, lag.lagSeconds);
    const estimate = Math.max(LAG_COUNT_WINDOW, state.countedBehind - state.appliedSinceCount);
    this.metrics.lagEvents.set(labels, lag.eventsBehind < LAG_COUNT_WINDOW ? lag.eventsBehind : estimate);
  }

  private onTimer(): Promise<void> {
    // A full count can take longer than the timer period on a big backlog: never stack them up.
    this.ticking ??= this.refreshEach().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Lag gauges of every live build (a stuck projection keeps lagging), and drops left to retry. */
  private async refreshEach(): Promise<void> {
    for (const state of this.states) {
      if (this.wakeup.isClosed) return;
      if (state.dropPending) await this.dropRetired(state);
      const labels = { projection: state.projection.name };
      try {
        const live = (await readBuilds(this.options.pool, { name: state.projection.name })).find(
          (row) => row.status === 'live',
        );
        if (!live) continue;
        const lag = await measureLag(this.options.store, live.checkpoint, STATUS_COUNT_LIMIT);
        state.countedBehind = lag.eventsBehind;
        state.appliedSinceCount = 0;
        this.metrics.lagSeconds.set(labels, lag.lagSeconds);
        this.metrics.lagEvents.set(labels, lag.eventsBehind);
      } catch (error) {
        this.logger.warn({ err: error, projection: state.projection.name }, 'lag refresh failed');
      }
    }
  }
}
