import { randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { TestApi, TestResponse } from '../../support/api';

/**
 * The usage side of the projector scenarios: a catalog with one metric per aggregation, several
 * clients ingesting through `POST /v1/events/batch` over real HTTP, and the final check that the
 * eventual summary of every (customer, metric) equals its exact compute, and that the exact counts
 * add up to the events acknowledged.
 */
export const LOAD_METRICS = [
  { key: 'chaos_sum', aggregation: 'sum' },
  { key: 'chaos_count', aggregation: 'count' },
  { key: 'chaos_max', aggregation: 'max' },
  { key: 'chaos_users', aggregation: 'unique_count', field: 'properties.user' },
] as const;
export const LOAD_CUSTOMERS = ['cus_a', 'cus_b', 'cus_c', 'cus_d', 'cus_e'] as const;

export interface LoadPeriod {
  start: string;
  end: string;
}

/** Yesterday 00:00 UTC to the day after tomorrow: holds every timestamp the load sends, midnight or not. */
export function loadPeriod(now = new Date()): LoadPeriod {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return {
    start: new Date(day - 86_400_000).toISOString(),
    end: new Date(day + 2 * 86_400_000).toISOString(),
  };
}

/** Requests per endpoint and status, as the figures report them; 500s must stay at 0. */
export class RequestLog {
  private readonly counts = new Map<string, Map<number, number>>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are indexed freely
  async send(api: TestApi, method: string, path: string, body?: unknown, key?: string): Promise<TestResponse<any>> {
    const endpoint = `${method} ${path.split('?')[0]}`;
    const byStatus = this.counts.get(endpoint) ?? new Map<number, number>();
    this.counts.set(endpoint, byStatus);
    let response: TestResponse;
    try {
      response = await api.request(method, path, { body, key });
    } catch (error) {
      byStatus.set(0, (byStatus.get(0) ?? 0) + 1); // no answer at all
      throw error;
    }
    byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
    return response;
  }

  count(predicate: (endpoint: string, status: number) => boolean): number {
    let total = 0;
    for (const [endpoint, byStatus] of this.counts)
      for (const [status, n] of byStatus) if (predicate(endpoint, status)) total += n;
    return total;
  }

  /** `requests_<endpoint>` (tried) figures, and `status_500_seen`. */
  figures(): Record<string, number> {
    const figures: Record<string, number> = {};
    for (const [endpoint, byStatus] of this.counts) {
      const name = `requests_${endpoint
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/_$/, '')}`;
      figures[name] = [...byStatus.values()].reduce((a, b) => a + b, 0);
    }
    figures.status_500_seen = this.count((_, status) => status >= 500 && status !== 503);
    return figures;
  }
}

/** Metrics and customers of the load, and an ingest key. */
export async function setUpLoadCatalog(api: TestApi, log: RequestLog): Promise<{ ingestKey: string }> {
  for (const metric of LOAD_METRICS) {
    const created = await log.send(api, 'POST', '/v1/metrics', { ...metric, name: metric.key });
    if (created.status !== 201)
      throw new Error(`metric ${metric.key}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  for (const id of LOAD_CUSTOMERS) {
    const created = await log.send(api, 'POST', '/v1/customers', { id, name: id, currency: 'EUR', timezone: 'UTC' });
    if (created.status !== 201) throw new Error(`customer ${id}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const key = await log.send(api, 'POST', '/v1/api-keys', { role: 'ingest', kind: 'secret' });
  return { ingestKey: key.body.key as string };
}

export interface Ingestion {
  /** Idempotency keys answered 202 (accepted or duplicate of an accepted one). */
  readonly acknowledged: Set<string>;
  /** Events sent, retries of a batch included. */
  readonly sent: () => number;
  /** Stops the clients after their request in flight; rejects if a client saw something unexpected. */
  stop(): Promise<void>;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

function randomEvent(prefix: string, n: number) {
  return {
    customer_id: pick(LOAD_CUSTOMERS),
    metric_key: pick(LOAD_METRICS).key,
    // Decimal strings with 0-2 fraction digits; never a float.
    value: `${Math.floor(Math.random() * 1000)}.${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`,
    // Within the last 30 minutes: live ingestion, inside loadPeriod().
    timestamp: new Date(Date.now() - Math.floor(Math.random() * 1_800_000)).toISOString(),
    idempotency_key: `${prefix}-${n}`,
    properties: { user: `u${Math.floor(Math.random() * 40)}` },
  };
}

/**
 * `clients` loops posting batches of `batchSize`, `pauseMs` apart, until stop(); a 503 (overload)
 * retries the same batch. The pause bounds the backlog a killed projector must catch up on at the end.
 */
export function startIngestion(
  api: TestApi,
  log: RequestLog,
  options: { ingestKey: string; clients: number; batchSize: number; pauseMs: number },
): Ingestion {
  const acknowledged = new Set<string>();
  let sent = 0;
  let stopped = false;
  const client = async (index: number) => {
    const prefix = `c${index}-${randomUUID().slice(0, 8)}`;
    for (let n = 0; !stopped;) {
      const events = Array.from({ length: options.batchSize }, () => randomEvent(prefix, n++));
      for (;;) {
        sent += events.length;
        const response = await log.send(api, 'POST', '/v1/events/batch', { events }, options.ingestKey);
        if (response.status === 503) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        if (response.status !== 207) throw new Error(`batch: ${response.status} ${JSON.stringify(response.body)}`);
        for (const result of response.body.results as Array<{ index: number; status: number }>) {
          if (result.status !== 202) throw new Error(`event refused: ${JSON.stringify(result)}`);
          acknowledged.add(events[result.index].idempotency_key);
        }
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const clients = Array.from({ length: options.clients }, (_, index) => client(index));
  // A failing client must not be an unhandled rejection before stop() collects it.
  const all = Promise.all(clients);
  all.catch(() => undefined);
  return {
    acknowledged,
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await all;
    },
  };
}

export interface ParityResult {
  pairs: number;
  mismatches: Array<{ customer: string; metric: string; summary: unknown; compute: unknown }>;
  /** Sum of the exact event counts over every pair. */
  counted: bigint;
}

/** Both absent (no events: null), or the same decimal however spelled ("3.50" and "3.5"). */
const sameValue = (a: string | null | undefined, b: string | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? (a ?? null) === (b ?? null) : new Decimal(a).eq(b);

/** For every (customer, metric): GET /v1/usage/summary value == POST /v1/usage/compute value. */
export async function checkParity(api: TestApi, log: RequestLog, period: LoadPeriod): Promise<ParityResult> {
  const result: ParityResult = { pairs: 0, mismatches: [], counted: 0n };
  for (const customer of LOAD_CUSTOMERS) {
    for (const { key: metric } of LOAD_METRICS) {
      const query = new URLSearchParams({
        customer_id: customer,
        metric_key: metric,
        period_start: period.start,
        period_end: period.end,
      });
      const summary = await log.send(api, 'GET', `/v1/usage/summary?${query}`);
      const compute = await log.send(api, 'POST', '/v1/usage/compute', {
        customer_id: customer,
        metric_key: metric,
        period_start: period.start,
        period_end: period.end,
      });
      if (summary.status !== 200 || compute.status !== 200) {
        throw new Error(`parity ${customer}/${metric}: summary ${summary.status}, compute ${compute.status}`);
      }
      result.pairs += 1;
      result.counted += BigInt(compute.body.event_count);
      if (!sameValue(summary.body.value, compute.body.value)) {
        result.mismatches.push({ customer, metric, summary: summary.body.value, compute: compute.body.value });
      }
    }
  }
  return result;
}
