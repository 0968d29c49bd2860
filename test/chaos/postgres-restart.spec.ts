import type { ClientAnswer } from './support/event-client';
import { OutageLog } from './support/outage-log';
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
import type { ShutdownMode } from './support/restartable-postgres';
import { delay, randomBetween } from './support/wait';

/**
 * Issue #6: "Restart PostgreSQL under load: the API answers 503 (not 500, not a hang) while it is
 * down, /readyz reports it, and everything recovers without a manual step; no acknowledged event is
 * lost." A cluster of its own is stopped (fast, and an immediate stop: a crash with WAL recovery)
 * and started again on the same port, repeatedly, under 16 retrying clients and probes of /readyz
 * and of reads; `abaxus api` and `abaxus projector` are never restarted.
 */
const CLIENTS = 16;
/** "Not a hang": every answer during an outage within this (the pool's connect timeout is 5 s). */
const OUTAGE_ANSWER_BOUND_MS = 10_000;
const catalog: ChaosCatalog = { metricKey: 'chaos_pg_restart', customers: ['cus_r0', 'cus_r1', 'cus_r2', 'cus_r3'] };

jest.setTimeout(chaosTimeoutMs(240_000));

/** /readyz during an outage must name the failing database check. */
function readyzNamesDatabase(answer: ClientAnswer): string | null {
  if (answer.endpoint !== 'GET /readyz') return null;
  const checks = (answer.body as { checks?: Array<{ name: string; status: string }> } | undefined)?.checks ?? [];
  return checks.some((check) => check.name === 'database' && check.status === 'failed')
    ? null
    : `readyz checks ${JSON.stringify(checks)}`;
}

describe('chaos: restart PostgreSQL under load', () => {
  let rig: OutageRig;

  beforeAll(async () => {
    rig = await startOutageRig('pg-restart', catalog);
  });

  afterAll(() => rig?.close());

  /**
   * Up 1-3 s, down 2-4 s, until `stopAt` and at least twice (every second outage an immediate stop,
   * so there is always one crash); always ends with PostgreSQL up.
   */
  async function faultLoop(outages: OutageLog, stopAt: number): Promise<ShutdownMode[]> {
    const modes: ShutdownMode[] = [];
    while (Date.now() < stopAt || modes.length < 2) {
      await delay(randomBetween(1_000, 3_000));
      const mode: ShutdownMode = modes.length % 2 === 1 ? 'immediate' : 'fast';
      await rig.cluster.stop(mode);
      // The outage begins once the postmaster is gone and ends when it is asked to start again.
      outages.begin();
      await delay(randomBetween(2_000, 4_000));
      outages.end();
      await rig.cluster.startAgain();
      modes.push(mode);
      // Fail fast (the clients would only give up minutes later) if a process died with the database.
      for (const engine of [rig.api, rig.projector]) {
        if (!engine.running) throw new Error(`a process exited during outage #${modes.length}:\n${engine.tail()}`);
      }
    }
    return modes;
  }

  it('answers 503 (never 500, never a hang) while PostgreSQL is down, and loses no acknowledged event', async () => {
    const outages = new OutageLog(OUTAGE_ANSWER_BOUND_MS);
    const {
      faults: modes,
      stats,
      probeStatuses,
      startedAt,
      endedAt,
    } = await loadThroughFaults(rig, catalog, {
      clients: CLIENTS,
      prefix: 'pg',
      // Longer than the bound: a hang shows as a judged answer over the bound, not as a retry.
      attemptTimeoutMs: 30_000,
      faultLoop: (stopAt) => faultLoop(outages, stopAt),
      onAnswer: (answer) => outages.judge(answer),
      onProbe: (answer) => outages.judge(answer, readyzNamesDatabase),
    });

    // Recovered without a manual step: ready again, the projector caught up (summary == exact).
    const settled = await settle(rig, catalog);
    const { api, projector, cluster } = rig;
    const probe500s = Object.entries(probeStatuses)
      .filter(([name]) => name.endsWith(' 500'))
      .reduce((sum, [, n]) => sum + n, 0);

    reportChaos({
      scenario: 'postgres-restart',
      // Faults go on until the window ends and the minimum number of them happened.
      duration_ms: endedAt - startedAt,
      figures: {
        clients: CLIENTS,
        postgres_restarts: cluster.restarts,
        immediate_stops: modes.filter((mode) => mode === 'immediate').length,
        wal_recoveries: cluster.recoveries,
        outage_requests_judged: outages.judged,
        ...Object.fromEntries(Object.entries(outages.statuses).map(([name, n]) => [`outage ${name}`, n])),
        outage_max_latency_ms: outages.maxLatencyMs,
        outage_violations: outages.violationCount,
        probes: Object.values(probeStatuses).reduce((a, b) => a + b, 0),
        server_errors_500: stats.serverErrors + probe500s,
        process_restarts: api.starts - 1 + (projector.starts - 1),
        ...loadFigures(stats, settled),
      },
    });

    expect(stats.serverErrorSamples).toEqual([]);
    expect(failedProbes(probeStatuses)).toEqual([]);
    expect(outages.violations).toEqual([]);
    expect(cluster.restarts).toBeGreaterThanOrEqual(2);
    // Recovered by themselves: neither process exited or was restarted.
    expect([api.running, api.starts, projector.running, projector.starts]).toEqual([true, 1, true, 1]);
    // The immediate stop was a real crash: the next start ran WAL recovery.
    expect(cluster.recoveries).toBeGreaterThanOrEqual(1);
    // Outages were really observed: /readyz answered inside one at least once.
    expect(outages.statuses['GET /readyz 503']).toBeGreaterThan(0);
    await expectNothingLostOrDoubled(rig.pool, catalog, stats, settled);
  });
});
