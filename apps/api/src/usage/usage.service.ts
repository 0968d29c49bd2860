import { measureUsageState, type UsageReadState } from './usage-lag.measure';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { GRANULARITY_MS, type GroupValues } from '#domain';
import { ProjectionWaitTimeoutError, waitForPosition, type Checkpoint, type EventStore } from '#ledger';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import type { UsageComputeRequest } from './dto/usage-compute.request';
import type { UsageHistogramQuery } from './dto/usage-histogram.query';
import type { UsageSummaryQuery } from './dto/usage-summary.query';
import { withSharedSnapshot } from './shared-snapshot';
import { StampedCache } from './stamped-cache';
import { CatalogDirectory } from '../common/catalog-directory';
import {
  listMeters,
  metricsWithUsage,
  loadLiveSubscriptions,
  loadMeter,
  metricNotFound,
  usageCheckpoint,
  type Meter,
} from './usage-catalog';
import { currentPeriod, requestedPeriod, type PeriodBasis } from './usage-period';
import { scanUsage, summarizeUsage, usageHistogram, type SummarySource, type UsagePeriod } from './usage-reader';

/** How long an exact compute waits for the projector to pass the log head it saw. */
export const COMPUTE_BARRIER_MS = 5_000;
/** Connections one exact compute reads with, in parallel, on one snapshot. */
const COMPUTE_CONNECTIONS = 2;
const MAX_HISTOGRAM_POINTS = 800;

export interface UsageGroupView {
  group: GroupValues;
  value: string | null;
}

export interface MetricUsageView {
  metric_key: string;
  value: string | null;
  groups?: UsageGroupView[];
  /** Where the value came from: pre-aggregated buckets, plus raw edges, or raw rows (unique_count, percentile). */
  source: SummarySource;
  meter_versions: number[];
}

interface SummaryMeta {
  consistency: 'eventual';
  lag_seconds: number;
  period_basis: PeriodBasis;
  subscription_id?: string;
}

export type SummaryView =
  | ({ customer_id: string; period_start: string; period_end: string } & Omit<
      MetricUsageView,
      'source' | 'meter_versions'
    > & {
        meta: SummaryMeta & { source: SummarySource; meter_versions: number[] };
      })
  | { customer_id: string; period_start: string; period_end: string; data: MetricUsageView[]; meta: SummaryMeta };

export interface ComputeView {
  customer_id: string;
  metric_key: string;
  period_start: string;
  period_end: string;
  value: string | null;
  event_count: string;
  groups?: UsageGroupView[];
  meta: {
    consistency: 'exact';
    late_event_count: string;
    meter_versions: number[];
    as_of_position: Checkpoint | null;
    checksum: string;
  };
}

export interface HistogramView {
  customer_id: string;
  metric_key: string;
  granularity: 'hour' | 'day';
  from: string;
  to: string;
  data: Array<{ start: string; end: string; value: string | null }>;
  meta: { consistency: 'eventual'; lag_seconds: number; timezone: 'UTC' };
}

const groupsView = (groups: ReadonlyArray<{ group: GroupValues; value: string | null }> | undefined) =>
  groups?.map(({ group, value }) => ({ group, value }));

@Injectable()
export class UsageService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: CatalogDirectory,
  ) {}

  /**
   * The customer, from the catalog directory (the log, cached): it exists whether or not any
   * projector runs, so another tenant's customer is a 404 here, never a 503.
   */
  private async customer(tenantId: string, customerId: string) {
    const customer = await this.directory.customer(tenantId, customerId);
    if (customer === null) throw new ApiProblem('CUSTOMER.NOT_FOUND', `customer ${customerId} not found`);
    return customer;
  }

  /**
   * The metric's versions as the usage projection has them (its buckets were derived with those);
   * the directory decides existence, and stands in while the projection has not seen the metric yet.
   */
  private async meter(tenantId: string, metricKey: string, db: Pool | PoolClient = this.pool): Promise<Meter> {
    return this.projectedMeter(tenantId, await this.knownMetric(tenantId, metricKey), db);
  }

  /** The metric as the catalog directory (memory) knows it; 404 METRIC.NOT_FOUND if it does not. */
  private async knownMetric(tenantId: string, metricKey: string) {
    const known = await this.directory.metric(tenantId, metricKey);
    if (known === null) throw metricNotFound(metricKey);
    return known;
  }

  private async projectedMeter(
    tenantId: string,
    known: NonNullable<Awaited<ReturnType<CatalogDirectory['metric']>>>,
    db: Pool | PoolClient = this.pool,
  ): Promise<Meter> {
    return (
      (await loadMeter(db, tenantId, known.key)) ?? {
        key: known.key,
        versions: known.versions,
        archived_at: known.archived_at,
      }
    );
  }

  /**
   * Age of the oldest event the usage projection has not applied (0 at the head), as the projection
   * status measures it: one catalog read and one read of the log after the checkpoint.
   */
  lagSeconds(): Promise<number> {
    return this.readState().then((state) => state.lagSeconds);
  }

  /** The usage read model's lag and stamp. Single flight: concurrent requests share the measurement in progress (never an older one). */
  private readState(): Promise<UsageReadState> {
    this.stateInFlight ??= measureUsageState(this.pool, this.store).finally(() => {
      this.stateInFlight = undefined;
    });
    return this.stateInFlight;
  }

  private stateInFlight?: Promise<UsageReadState>;

  /** Summaries by customer, metric and period, kept while the usage read model's stamp stays the same. */
  private readonly summaries = new StampedCache<MetricUsageView>();

  async summary(tenantId: string, query: UsageSummaryQuery, now = new Date()): Promise<SummaryView> {
    const state = this.readState();
    state.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const customer = await this.customer(tenantId, query.customer_id);
    const chosen = await this.summaryPeriod(tenantId, query, customer.timezone, now);
    const meta = {
      consistency: 'eventual' as const,
      period_basis: chosen.basis,
      ...(chosen.subscription_id ? { subscription_id: chosen.subscription_id } : {}),
    };
    const head = { customer_id: query.customer_id, period_start: chosen.period.start, period_end: chosen.period.end };
    const summarize = (metricKey: string, stamp: string | null, meter: () => Meter | Promise<Meter>) =>
      this.summaries.get(
        JSON.stringify([tenantId, query.customer_id, metricKey, chosen.period.start, chosen.period.end]),
        stamp,
        () => this.summarizeMeter(tenantId, query.customer_id, meter(), metricKey, chosen.period),
      );
    if (query.metric_key !== undefined) {
      const metricKey = query.metric_key;
      // Existence from the directory (memory) every time: an unknown metric is a 404 at once; an archived
      // one still answers the usage it has.
      const known = await this.knownMetric(tenantId, metricKey);
      const { lagSeconds, stamp } = await state;
      const usage = await summarize(metricKey, stamp, () => this.projectedMeter(tenantId, known));
      const { source, meter_versions, ...rest } = usage;
      return { ...head, ...rest, meta: { ...meta, lag_seconds: lagSeconds, source, meter_versions } };
    }
    // Every live metric, and the archived ones the customer has usage of in the period (archiving a
    // metric stops new events, not the billing of those it already has).
    const all = await listMeters(this.pool, tenantId);
    const archived = all.filter((meter) => meter.archived_at !== null).map((meter) => meter.key);
    const used = await metricsWithUsage(this.pool, tenantId, query.customer_id, archived, chosen.period);
    const meters = all.filter((meter) => meter.archived_at === null || used.has(meter.key));
    const { lagSeconds, stamp } = await state;
    const data = await Promise.all(meters.map((meter) => summarize(meter.key, stamp, () => meter)));
    return { ...head, data, meta: { ...meta, lag_seconds: lagSeconds } };
  }

  private async summaryPeriod(tenantId: string, query: UsageSummaryQuery, timezone: string, now: Date) {
    if (query.period_start !== undefined || query.period_end !== undefined) {
      return { period: requestedPeriod(query.period_start, query.period_end), basis: 'request' as const };
    }
    const live = await loadLiveSubscriptions(this.pool, tenantId, query.customer_id, now);
    return currentPeriod({ timezone, live }, now);
  }

  private async summarizeMeter(
    tenantId: string,
    customerId: string,
    meter: Meter | Promise<Meter>,
    metricKey: string,
    period: UsagePeriod,
  ): Promise<MetricUsageView> {
    const usage = await summarizeUsage(this.pool, { tenantId, customerId, metricKey }, meter, period);
    return {
      metric_key: metricKey,
      value: usage.value,
      ...(usage.grouped ? { groups: groupsView(usage.groups) } : {}),
      source: usage.source,
      meter_versions: usage.meter_versions,
    };
  }

  /**
   * The exact path: the log's last committed event at request time, a bounded wait for the usage
   * projection to pass it (503 USAGE.NOT_CAUGHT_UP otherwise), then a complete scan of the period's
   * raw rows on one snapshot, whose projection checkpoint is `as_of_position`.
   */
  async compute(tenantId: string, body: UsageComputeRequest): Promise<ComputeView> {
    const period = requestedPeriod(body.period_start, body.period_end);
    await this.customer(tenantId, body.customer_id);
    await this.meter(tenantId, body.metric_key);
    await this.barrier();
    return withSharedSnapshot(this.pool, COMPUTE_CONNECTIONS, async (clients) => {
      // Read again inside the snapshot: past the barrier, the projection's copy is the one its rows follow.
      const [asOf, meter] = [
        await usageCheckpoint(clients[0]),
        await this.meter(tenantId, body.metric_key, clients[0]),
      ];
      const exact = await scanUsage(
        clients,
        { tenantId, customerId: body.customer_id, metricKey: meter.key },
        meter,
        period,
        { groupBy: body.group_by },
      );
      return {
        customer_id: body.customer_id,
        metric_key: meter.key,
        period_start: period.start,
        period_end: period.end,
        value: exact.value,
        event_count: exact.event_count,
        ...(body.group_by ? { groups: groupsView(exact.groups) } : {}),
        meta: {
          consistency: 'exact',
          late_event_count: exact.late_event_count,
          meter_versions: exact.meter_versions,
          as_of_position: asOf,
          checksum: exact.checksum,
        },
      };
    });
  }

  private async barrier(): Promise<void> {
    const target = await this.lastCommitted();
    try {
      await waitForPosition({ pool: this.pool, store: this.store }, 'usage', target, COMPUTE_BARRIER_MS);
    } catch (error) {
      if (!(error instanceof ProjectionWaitTimeoutError)) throw error;
      throw new ApiProblem(
        'USAGE.NOT_CAUGHT_UP',
        `usage is projected up to ${error.reached ?? 'nothing'}, not yet to ${error.target}; an exact answer must include every accepted event`,
        { headers: { 'retry-after': '2' } },
      );
    }
  }

  /**
   * The last event committed when the request arrived. For the Postgres store not headCheckpoint():
   * that stops below any transaction still open (a projector batch, a group commit), and an event
   * whose 202 the client already has could be left out of an "exact" answer.
   */
  private async lastCommitted(): Promise<Checkpoint | null> {
    if (this.store.kind !== 'postgres') return this.store.headCheckpoint();
    const { rows } = await this.pool.query<{ checkpoint: string }>(
      `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
    );
    return rows[0]?.checkpoint ?? null;
  }

  async histogram(tenantId: string, query: UsageHistogramQuery): Promise<HistogramView> {
    const range = requestedPeriod(query.from, query.to, ['from', 'to']);
    const step = GRANULARITY_MS[query.granularity];
    const misaligned = (['from', 'to'] as const).filter(
      (field) => Date.parse(range[field === 'from' ? 'start' : 'end']) % step !== 0,
    );
    if (misaligned.length > 0) {
      throw new ApiProblem('USAGE.INVALID_PERIOD', `from and to must be on UTC ${query.granularity} boundaries`, {
        errors: misaligned.map((field) => ({ field, message: `must be a whole UTC ${query.granularity}` })),
      });
    }
    if ((Date.parse(range.end) - Date.parse(range.start)) / step > MAX_HISTOGRAM_POINTS) {
      throw new ApiProblem('USAGE.INVALID_PERIOD', `a histogram has at most ${MAX_HISTOGRAM_POINTS} points`, {
        errors: [{ field: 'to', message: `must be at most ${MAX_HISTOGRAM_POINTS} ${query.granularity}s after from` }],
      });
    }
    const lag = this.lagSeconds();
    lag.catch(() => undefined);
    await this.customer(tenantId, query.customer_id);
    const meter = await this.meter(tenantId, query.metric_key);
    const data = await usageHistogram(
      this.pool,
      { tenantId, customerId: query.customer_id, metricKey: meter.key },
      meter,
      range,
      query.granularity,
    );
    return {
      customer_id: query.customer_id,
      metric_key: meter.key,
      granularity: query.granularity,
      from: range.start,
      to: range.end,
      data,
      meta: { consistency: 'eventual', lag_seconds: await lag, timezone: 'UTC' },
    };
  }
}
