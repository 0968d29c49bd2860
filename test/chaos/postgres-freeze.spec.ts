import type { ClientAnswer } from './support/event-client';
import {
  failedProbes,
  loadFigures,
  loadThroughFaults,
  settle,
  startOutageRig,
  type OutageRig,
} from './support/outage-load';
import { expectNothingLostOrDoubled, type ChaosCatalog } from './support/reconcile';
import { chaosTimeoutMs, reportChaos } from './support/report';
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

  beforeAll(async () => {
    rig = await startOutageRig('pg-freeze', catalog, { ABAXUS_DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS) });
  });

  afterAll(() => rig?.close());

  /** Answers 1-3 s, then frozen FREEZE_MS, until `stopAt` and at least MIN_FREEZES times; ends thawed. */
  async function freezeLoop(log: FreezeLog, stopAt: number): Promise<void> {
    while (Date.now() < stopAt || log.freezes.length < MIN_FREEZES) {
      await delay(randomBetween(1_000, 3_000));
      rig.cluster.freeze();
      log.begin();
      await delay(FREEZE_MS);
      rig.cluster.thaw();
      log.end();
      for (const engine of [rig.api, rig.projector]) {
        if (!engine.running)
          throw new Error(`a process exited during freeze #${log.freezes.length}:\n${engine.tail()}`);
      }
    }
  }

  it('answers every request within the bound while frozen (503, never a hang or a 500), and loses or doubles nothing', async () => {
    const log = new FreezeLog();
    const { stats, probeStatuses, startedAt, endedAt } = await loadThroughFaults(rig, catalog, {
      clients: CLIENTS,
      prefix: 'fz',
      // Far longer than the bound: a hang shows as a slow answer, not as a client-side retry.
      attemptTimeoutMs: 60_000,
      faultLoop: (stopAt) => freezeLoop(log, stopAt),
      onAnswer: (answer) => log.judge(answer),
      onProbe: (answer) => log.judge(answer),
      onFailure: () => rig.cluster.thaw(),
    });

    const settled = await settle(rig, catalog);
    const { api, projector } = rig;
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
        server_errors_500: stats.serverErrors,
        ...loadFigures(stats, settled),
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
    await expectNothingLostOrDoubled(rig.pool, catalog, stats, settled);
  });
});
