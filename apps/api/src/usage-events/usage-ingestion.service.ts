import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { FieldError, Metric } from '#domain';
import {
  StoreUsageWriter,
  UsageGroupCommitWriter,
  judge,
  readUsageKeys,
  usageKeyOf,
  type EventStore,
  type UsageAppendItem,
  type UsageGroupCommitOptions,
  type UsageWriter,
} from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogDirectory, type CatalogCustomer } from '../common/catalog-directory';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { usageAppendItem, type IngestSource } from './usage-append-item';
import {
  MAX_LIVE_AGE_MS,
  meteredPropertyErrors,
  usagePayloadHash,
  validateUsageEvent,
  type NormalizedUsageEvent,
  type UsageValidation,
} from './usage-event.validation';

export type IngestResult =
  | { status: 'accepted' | 'duplicate' | 'conflict'; id: string; idempotency_key: string }
  | { status: 'invalid'; errors: FieldError[] };

export type { IngestSource };

/** Group-commit tuning from the environment (defaults measured by bench/ingestion.ts). */
export function groupCommitOptions(env: NodeJS.ProcessEnv = process.env): UsageGroupCommitOptions {
  const number = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined);
  return {
    maxBatchEvents: number('ABAXUS_USAGE_FLUSH_MAX_EVENTS'),
    partitions: number('ABAXUS_USAGE_FLUSH_PARTITIONS'),
    lingerMs: number('ABAXUS_USAGE_FLUSH_LINGER_MS'),
    maxQueuedEvents: number('ABAXUS_USAGE_MAX_QUEUED_EVENTS'),
  };
}

/**
 * The write path of usage: validate each event (shape, then customer and metric from the in-memory
 * CatalogDirectory: no database round trip), derive its id, stream and payload hash, and hand the
 * valid ones to the writer, which answers once they are committed. Postgres: the group-commit writer
 * (keys checked and stored in the events' transaction). Another store (KurrentDB): the store writer,
 * which cannot check keys synchronously (see apps/api/README.md, "Usage events").
 */
@Injectable()
export class UsageIngestion implements OnApplicationShutdown {
  /** Requests of several events (batch, backfill): flushes on the configured partitions. */
  readonly writer: UsageWriter;
  /**
   * Requests of one event (POST /v1/events), Postgres mode: ONE flusher, so that every concurrent
   * single event shares the next flush. Measured with 64 clients (bench/ingestion.ts, A/B back to
   * back): half the flushes and ~1.4x the requests/s of spreading them over two partitions, whose
   * flushes each carried half as many events for the same per-flush cost (statement, fsync), while
   * batches gain from two flushes overlapping. Flushes of both writers may share a stream: the
   * second waits for the first's stream lock and commit, as two partitions' flushes never do.
   */
  readonly singleWriter: UsageWriter;
  /** Where recorded keys are read (usage_idempotency); null where keys are not stored (KurrentDB). */
  private readonly keys: Pool | null;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(PG_POOL) pool: Pool,
    private readonly catalog: CatalogDirectory,
  ) {
    this.keys = store.kind === 'postgres' ? pool : null;
    if (store.kind === 'postgres') {
      const options = groupCommitOptions();
      this.writer = new UsageGroupCommitWriter(pool, options);
      this.singleWriter = new UsageGroupCommitWriter(pool, { ...options, partitions: 1 });
    } else {
      this.writer = this.singleWriter = new StoreUsageWriter(store);
    }
  }

  /** Runs after the HTTP server stopped taking requests: writes what is still queued. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.writer.close(), this.singleWriter.close()]);
  }

  /** One result per raw event, in order. Only infrastructure failures throw. */
  async ingest(
    caller: AuthContext,
    requestId: string,
    raw: readonly unknown[],
    source: IngestSource,
  ): Promise<IngestResult[]> {
    const now = new Date();
    const maxAgeMs = source.kind === 'ingest' ? MAX_LIVE_AGE_MS : null;
    const pending = raw.map((event) => this.check(caller.tenantId, event, now, maxAgeMs));
    // Catalog hits are synchronous; only events naming something not in memory yet wait for a read.
    const fresh = pending.some((c) => c instanceof Promise) ? await Promise.all(pending) : (pending as Checked[]);
    const checked = await this.settleRetries(caller.tenantId, fresh);
    const items: UsageAppendItem[] = [];
    for (const result of checked)
      if (result.ok) items.push(usageAppendItem(caller.tenantId, caller.keyId, requestId, result.event, source));
    const outcomes = await (raw.length === 1 ? this.singleWriter : this.writer).append(items);
    let next = 0;
    return checked.map((result): IngestResult => {
      if ('settled' in result) return result.settled;
      if (!result.ok) return { status: 'invalid', errors: result.errors };
      const outcome = outcomes[next++];
      return { status: outcome.status, id: outcome.usageId, idempotency_key: result.event.idempotency_key };
    });
  }

  /**
   * An event refused only for what changed since it may have been recorded (its customer or metric
   * archived, its timestamp now older than the live window) is a retry when its key is recorded: it
   * is answered as any retry, `duplicate` (same payload) or `conflict`, never as invalid. A key not
   * recorded leaves it invalid. Only Postgres stores keys where a read finds them.
   */
  private async settleRetries(tenantId: string, checked: Checked[]): Promise<Array<Checked | Settled>> {
    const retries = checked.map(retryOf).filter((event) => event !== undefined);
    if (retries.length === 0 || this.keys === null) return checked;
    const recorded = await readUsageKeys(
      this.keys,
      retries.map((event) => ({ tenantId, idempotencyKey: event.idempotency_key })),
    );
    return checked.map((result): Checked | Settled => {
      const event = retryOf(result);
      const stored = event && recorded.get(usageKeyOf(tenantId, event.idempotency_key));
      if (!event || !stored) return result;
      const outcome = judge(usagePayloadHash(event), stored.payloadHash, stored.usageId);
      return {
        ok: false,
        settled: { status: outcome.status, id: outcome.usageId, idempotency_key: event.idempotency_key },
      };
    });
  }

  private check(tenantId: string, raw: unknown, now: Date, maxAgeMs: number | null): Checked | Promise<Checked> {
    const validation = validateUsageEvent(raw, { now, maxAgeMs });
    const fields = validation.ok ? validation.event : (raw as Record<string, unknown> | null);
    const customerId = typeof fields?.customer_id === 'string' && fields.customer_id !== '' ? fields.customer_id : null;
    const metricKey = typeof fields?.metric_key === 'string' && fields.metric_key !== '' ? fields.metric_key : null;
    const customer = customerId === null ? null : this.catalog.peekCustomer(tenantId, customerId);
    const metric = metricKey === null ? null : this.catalog.peekMetric(tenantId, metricKey);
    if (customer === undefined || metric === undefined) {
      return Promise.all([
        customerId === null ? null : this.catalog.customer(tenantId, customerId),
        metricKey === null ? null : this.catalog.metric(tenantId, metricKey),
      ]).then(([c, m]) => withCatalog(raw, now, validation, catalogErrors(customerId, c, metricKey, m)));
    }
    return withCatalog(raw, now, validation, catalogErrors(customerId, customer, metricKey, metric));
  }
}

/**
 * `retry`: the event in canonical form when it is refused only for what may have changed since it
 * was recorded (archived customer or metric, age): settleRetries asks its key.
 */
type Checked =
  { ok: true; event: NormalizedUsageEvent } | { ok: false; errors: FieldError[]; retry?: NormalizedUsageEvent };
/** A retry of a recorded key, answered without writing. */
type Settled = { ok: false; settled: IngestResult };

const retryOf = (result: Checked) => (result.ok ? undefined : result.retry);

interface CatalogCheck {
  errors: FieldError[];
  /** Both named and known (archived or not): only their archiving can be what changed. */
  known: boolean;
  metric: Metric | null;
}

/**
 * Catalog problems name customer_id and metric_key, the first two fields: they come first. A valid
 * event is checked against its metric's meter too (meteredPropertyErrors): a version published since
 * may meter a property differently, so that refusal is one a recorded key overrides as well.
 */
function withCatalog(raw: unknown, now: Date, validation: UsageValidation, catalog: CatalogCheck): Checked {
  const metered =
    validation.ok && catalog.metric !== null ? meteredPropertyErrors(catalog.metric, validation.event) : [];
  if (validation.ok && catalog.errors.length === 0 && metered.length === 0) return validation;
  const errors = [...catalog.errors, ...(validation.ok ? metered : validation.errors)];
  if (!catalog.known) return { ok: false, errors };
  // Valid at any age: then the live window and archiving are all that refuse it (a rare path).
  const anyAge = validation.ok ? validation : validateUsageEvent(raw, { now, maxAgeMs: null });
  return anyAge.ok ? { ok: false, errors, retry: anyAge.event } : { ok: false, errors };
}

function catalogErrors(
  customerId: string | null,
  customer: CatalogCustomer | null,
  metricKey: string | null,
  metric: Metric | null,
): CatalogCheck {
  const errors: FieldError[] = [];
  if (customerId !== null) {
    if (customer === null) errors.push({ field: 'customer_id', message: `no customer "${customerId}"` });
    else if (customer.archived_at !== null) errors.push({ field: 'customer_id', message: 'the customer is archived' });
  }
  if (metricKey !== null) {
    if (metric === null) errors.push({ field: 'metric_key', message: `no metric "${metricKey}"` });
    else if (metric.archived_at !== null) errors.push({ field: 'metric_key', message: 'the metric is archived' });
  }
  return { errors, known: customer !== null && metric !== null, metric };
}
