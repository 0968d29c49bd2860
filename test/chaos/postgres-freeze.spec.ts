import type { Pool } from 'pg';
import type { EngineProcess } from './support/engine-process';
import { ClientStats, RetryingEventClient, type ClientAnswer } from './support/event-client';
import { failedProbes, probeReads, settle, startOutageRig, streamEvents, type OutageRig } from './support/outage-load';
import { CHAOS_ADMIN_KEY, type ChaosCatalog } from './support/reconcile';
import { chaosDurationMs, chaosTimeoutMs, reportChaos } from './support/report';
import type { RestartablePostgres } from './support/restartable-postgres';
import { delay, randomBetween } from './support/wait';

/**
 * A PostgreSQL that stops answering without closing anything (every process of the cluster
 * SIGSTOPped: a server stalled on its disk, or paused by its host) under load. The API must not hang
 * with it: every request is answered within a bound (503 problem+json with Retry-After while the
 * server is frozen), and when the server answers again everything resumes by itself with nothing
 * lost and nothing counted twice (a request timed out on our side may still commit: its retry is a
 * `duplicate`).
 */
const CLIENTS = 16;
/** The API's query timeout here (production default 60 s): short, so the scenario stays short. */
const QUERY_TIMEOUT_MS = 2_000;
/**
 * Every answer to a request in flight during a freeze comes within this. The longest honest wait is
 * two pool connect timeouts (5 s each): a request waits for a pool slot, gets the slot of a client
 * dropped after its query timed out (2 s; no ROLLBACK is queued behind it), and the new connection's
 * start-up gets no answer either. Measured: 9.97 s at most (two scenarios at once on 2 cores).
 */
const ANSWER_BOUND_MS = 12_000;
/** Longer than the bound: a request that waited for the server to come back would exceed it. */
const FREEZE_MS = 15_000;
const MIN_FREEZES = 2;
const catalog: ChaosCatalog = { metricKey: 'chaos_pg_freeze', customers: ['cus_f0', 'cus_f1', 'cus_f2', 'cus_f3'] };

jest.setTimeout(chaosTimeoutMs(240_000));

interface Freeze {
  from: number;
  to: number | null;
}

/** Answers to requests in flight during a freeze: within the bound, and 202/207/200 or 503 problem+json. */
class FreezeLog {
  readonly freezes: Freeze[] = [];
  readonly statuses: Record<string, number> = {};
  readonly violations: string[] = [];
  judged = 0;
  maxLatencyMs = 0;

  begin(): void {
    this.freezes.push({ from: Date.now(), to: null });
  }

  end(): void {
    this.freezes.at(-1)!.to = Date.now();
  }

  judge(answer: ClientAnswer): void {
    const answeredAt = answer.at + answer.latencyMs;
    if (!this.freezes.some((f) => answer.at <= (f.to ?? Date.now()) && answeredAt >= f.from)) return;
    this.judged += 1;
    const name = `${answer.endpoint} ${answer.status}`;
    this.statuses[name] = (this.statuses[name] ?? 0) + 1;
    this.maxLatencyMs = Math.max(this.maxLatencyMs, answer.latencyMs);
    const contentType = String(answer.headers['content-type']);
    const problem =
      answer.latencyMs > ANSWER_BOUND_MS
        ? `answered in ${answer.latencyMs} ms (bound ${ANSWER_BOUND_MS} ms)`
        : answer.status === 503
          ? !contentType.startsWith('application/problem+json')
            ? `503 as ${contentType}`
            : answer.headers['retry-after'] === undefined
              ? '503 without Retry-After'
              : null
          : typeof answer.status === 'number' && answer.status < 300
            ? null
            : `status ${answer.status}`;
    if (problem !== null && this.violations.length < 10) this.violations.push(`${name}: ${problem}`);
  }

  get answered503(): number {
    return Object.entries(this.statuses)
      .filter(([name]) => name.endsWith(' 503'))
      .reduce((sum, [, n]) => sum + n, 0);
  }
}

describe('chaos: PostgreSQL freezes (stops answering) under load', () => {
  let rig: OutageRig;
  let cluster: RestartablePostgres;
  let pool: Pool;
  let api: EngineProcess;
  let projector: EngineProcess;
  let admin: RetryingEventClient;

  beforeAll(async () => {
    rig = await startOutageRig('pg-freeze', catalog, { ABAXUS_DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS) });
    ({ cluster, pool, api, projector, admin } = rig);
  });

  afterAll(() => rig?.close());

  /** Answers 1-3 s, then frozen FREEZE_MS, until `stopAt` and at least MIN_FREEZES times; ends thawed. */
  async function freezeLoop(log: FreezeLog, stopAt: number): Promise<void> {
    while (Date.now() < stopAt || log.freezes.length < MIN_FREEZES) {
      await delay(randomBetween(1_000, 3_000));
      cluster.freeze();
      log.begin();
      await delay(FREEZE_MS);
      cluster.thaw();
      log.end();
      for (const engine of [api, projector]) {
        if (!engine.running)
          throw new Error(`a process exited during freeze #${log.freezes.length}:\n${engine.tail()}`);
      }
    }
  }

  it('answers every request within the bound while frozen (503, never a hang or a 500), and loses or doubles nothing', async () => {
    const stats = new ClientStats();
    const log = new FreezeLog();
    const clients = Array.from(
      { length: CLIENTS },
      () =>
        new RetryingEventClient({
          baseUrl: api.url!,
          key: CHAOS_ADMIN_KEY,
          stats,
          // Far longer than the bound: a hang shows as a slow answer, not as a client-side retry.
          attemptTimeoutMs: 60_000,
          onAnswer: (answer) => log.judge(answer),
        }),
    );
    const durationMs = chaosDurationMs();
    const startedAt = Date.now();
    let done = false;
    const faulting = () => !done;
    let endedAt = 0;
    const freezes = freezeLoop(log, startedAt + durationMs).finally(() => {
      done = true;
      endedAt = Date.now();
    });
    const [, probeStatuses] = await Promise.all([
      freezes,
      probeReads(api.url!, catalog, faulting, (answer) => log.judge(answer)),
      ...clients.map((client, index) => streamEvents(client, catalog, { index, prefix: 'fz', faulting })),
    ]).catch(async (error: Error) => {
      cluster.thaw();
      await Promise.all(clients.map((client) => client.abort()));
      throw new Error(`${error.message}\napi:${api.tail()}\nprojector:${projector.tail()}`);
    });
    await Promise.all(clients.map((client) => client.close()));

    const { exact, summary, stored } = await settle(api, projector, admin, catalog, pool);
    const sent = stats.keysSent;
    const acknowledged = stats.acknowledged();
    reportChaos({
      scenario: 'postgres-freeze',
      duration_ms: endedAt - startedAt,
      figures: {
        clients: CLIENTS,
        freezes: log.freezes.length,
        freeze_ms: FREEZE_MS,
        query_timeout_ms: QUERY_TIMEOUT_MS,
        answers_judged: log.judged,
        ...Object.fromEntries(Object.entries(log.statuses).map(([name, n]) => [`frozen ${name}`, n])),
        frozen_max_latency_ms: log.maxLatencyMs,
        violations: log.violations.length,
        requests_tried_events: stats.tried['POST /v1/events'] ?? 0,
        requests_tried_batch: stats.tried['POST /v1/events/batch'] ?? 0,
        unavailable_503: stats.unavailable,
        timeouts: stats.timeouts,
        server_errors_500: stats.serverErrors,
        keys_sent: sent.size,
        keys_acknowledged: acknowledged.size,
        accepted_202: stats.accepted.size,
        duplicate_202: stats.duplicate.size,
        counted_exact: exact,
        counted_log_events: stored.usage_recorded_events,
        counted_read_model_rows: stored.usage_events_rows,
        counted_summary: summary.count,
      },
    });

    expect(log.violations).toEqual([]);
    expect(stats.serverErrorSamples).toEqual([]);
    expect(failedProbes(probeStatuses)).toEqual([]);
    expect(log.freezes.length).toBeGreaterThanOrEqual(MIN_FREEZES);
    // The freezes were felt: requests in flight were answered 503 (not left to wait them out).
    expect(log.answered503).toBeGreaterThan(0);
    expect(stats.timeouts).toBe(0);
    // Resumed by themselves: neither process exited or was restarted.
    expect([api.running, api.starts, projector.running, projector.starts]).toEqual([true, 1, true, 1]);
    expect(acknowledged.size).toBe(sent.size);
    expect(stored).toEqual({
      usage_recorded_events: sent.size,
      distinct_keys_in_log: sent.size,
      usage_events_rows: sent.size,
    });
    expect(exact).toBe(sent.size);
  });
});
