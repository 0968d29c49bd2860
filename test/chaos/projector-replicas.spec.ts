import type { Pool } from 'pg';
import { PostgresEventStore } from '#ledger';
import { BILLING_CYCLE_LOCK } from '../../apps/projector/src/billing-cycle/billing-lease';
import { startTestApi, type TestApi } from '../support/api';
import { chaosDurationMs, chaosTimeoutMs, reportChaos } from './support/report';
import {
  auditBilling,
  billingProgress,
  seedBillingTenant,
  seedEndedSubscriptions,
  type BilledPeriod,
} from './support/billing-fixtures';
import {
  pause,
  startProjectorChild,
  type ProjectorChild,
  type ProjectorMetricsSample,
} from './support/projector-child';
import { appliedVersusLog, waitForAllProjections, watchCheckpoints } from './support/projector-checkpoints';
import {
  checkParity,
  loadPeriod,
  RequestLog,
  setUpLoadCatalog,
  startIngestion,
  type Ingestion,
} from './support/projector-usage-load';

/*
 * Issue #6: "Two projector replicas at once: they do not both apply the same batch (lease/lock), and
 * one takes over when the other dies." Two real `abaxus projector` processes, billing cycle on in both,
 * on one database while clients ingest over HTTP. First half of the window: both project (every
 * batch applied once: each projection's events_applied equals the log's count of its types at the
 * end), only the lease holder runs the cycle and closes invoices. Then the lease holder is SIGKILLed:
 * the survivor keeps projecting to the head, takes the lease and closes the invoices of subscriptions
 * seeded after the kill. The summary equals the exact compute for every (customer, metric).
 */
const SUBSCRIPTIONS_BEFORE = 15;
const SUBSCRIPTIONS_AFTER = 10;
jest.setTimeout(chaosTimeoutMs());

const TICKS = 'abaxus_billing_cycle_tick_duration_seconds_count';
const CLOSED = 'abaxus_billing_cycle_actions_total';
const BATCHES = 'abaxus_projector_batch_duration_seconds_count';
const DROPPED = 'abaxus_projector_batches_dropped';

interface ReplicaFigures {
  leaseTicks: number;
  closed: number;
  batches: number;
  dropped: number;
}

const figuresOf = (sample: ProjectorMetricsSample | null): ReplicaFigures => ({
  leaseTicks: sample?.value(TICKS) ?? 0,
  closed: sample?.value(CLOSED, { action: 'closed' }) ?? 0,
  batches: sample?.value(BATCHES) ?? 0,
  dropped: sample?.value(DROPPED) ?? 0,
});

/** The backend holding the billing cycle's lease (BILLING_CYCLE_LOCK, a one-key advisory lock) on `database`. */
async function leaseHolderPid(pool: Pool, database: string): Promise<number | null> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE a.datname = $1 AND l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid = 0
        AND l.objid = $2 AND l.granted`,
    [database, BILLING_CYCLE_LOCK],
  );
  return rows[0]?.pid ?? null;
}

describe('chaos: two projector replicas, one killed', () => {
  let api: TestApi;
  let store: PostgresEventStore;
  let ingestion: Ingestion | undefined;
  const replicas: ProjectorChild[] = [];
  const log = new RequestLog();

  /** Waits for `condition` by polling the replicas' state; fails with `what` after `timeoutMs`. */
  const until = async (what: string, condition: () => Promise<boolean>, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await pause(100);
    }
  };
  const scrape = async (replica: ProjectorChild) => figuresOf(await replica.scrape());

  beforeAll(async () => {
    api = await startTestApi();
    store = new PostgresEventStore(api.db.pool);
  });
  afterAll(async () => {
    await ingestion?.stop().catch(() => undefined);
    for (const replica of replicas) if (replica.alive) await replica.kill();
    await store?.close();
    await api?.close();
  });

  it('no batch applied twice, one cycle at a time, and the survivor takes over both', async () => {
    const { ingestKey } = await setUpLoadCatalog(api, log);
    const catalog = await seedBillingTenant(store);
    const expected: BilledPeriod[] = await seedEndedSubscriptions(store, catalog, {
      from: 1,
      count: SUBSCRIPTIONS_BEFORE,
    });
    const period = loadPeriod();
    const durationMs = chaosDurationMs();
    for (const label of ['replica-a', 'replica-b']) {
      replicas.push(startProjectorChild({ databaseUrl: api.db.url, label, billingCycleSeconds: 1 }));
    }
    await Promise.all(replicas.map((replica) => replica.started()));
    const faultsFrom = Date.now();
    ingestion = startIngestion(api, log, { ingestKey, clients: 4, batchSize: 25, pauseMs: 100 });
    const checkpoints = watchCheckpoints(api);

    // First half: both replicas run; the cycle closes the first subscriptions' periods.
    // The holder's metrics count a tick's closes when the tick ends: wait for them there.
    const closedBy = async () => (await Promise.all(replicas.map(scrape))).reduce((sum, f) => sum + f.closed, 0);
    await until('the first invoices closed', async () => (await closedBy()) >= expected.length);
    await pause(Math.max(0, durationMs / 2 - (Date.now() - faultsFrom)));
    const before = await Promise.all(replicas.map(scrape));
    const holderIndex = before.findIndex((figures) => figures.leaseTicks > 0);
    const [holder, survivor] = holderIndex === 0 ? replicas : [replicas[1], replicas[0]];
    const holderBefore = before[holderIndex];
    const survivorBefore = before[1 - holderIndex];
    const holderBackend = await leaseHolderPid(api.db.pool, api.db.name);
    expect(holderBackend).not.toBeNull();
    expect(await holder.kill()).toBe('SIGKILL');
    const killedAt = Date.now();

    // Second half: the survivor alone takes the lease and the projections over. The lease is a session
    // advisory lock: taken over when the survivor's connection holds it (pg_locks); its first tick holding
    // it is counted in its metrics when that tick ends (a tick skipped for read models behind is not).
    const leaseTakenOver = until('the survivor holding the lease', async () => {
      const pid = await leaseHolderPid(api.db.pool, api.db.name);
      return pid !== null && pid !== holderBackend;
    }).then(() => Date.now() - killedAt);
    const firstLeaseTick = until('a tick of the survivor holding the lease', async () => {
      return (await scrape(survivor)).leaseTicks > 0;
    }).then(() => Date.now() - killedAt);
    expected.push(
      ...(await seedEndedSubscriptions(store, catalog, { from: SUBSCRIPTIONS_BEFORE + 1, count: SUBSCRIPTIONS_AFTER })),
    );
    await until('the survivor closing the new invoices', async () => {
      const progress = await billingProgress(api.db.pool);
      const closed = (await scrape(survivor)).closed;
      return closed >= SUBSCRIPTIONS_AFTER * 2 && progress.journal >= progress.closed;
    });
    const takeoverMs = Date.now() - killedAt;
    const leaseTakeoverMs = await leaseTakenOver;
    const firstLeaseTickMs = await firstLeaseTick;
    await pause(Math.max(0, durationMs - (Date.now() - faultsFrom)));
    await ingestion.stop();
    const faultWindowMs = Date.now() - faultsFrom;
    await waitForAllProjections(api, 120_000);
    await checkpoints.stop();
    const survivorAfter = await scrape(survivor);
    const parity = await checkParity(api, log, period);
    const applied = await appliedVersusLog(api);
    const audit = await auditBilling(api.db.pool, expected);
    expect(await survivor.terminate()).toBe(0);

    reportChaos({
      scenario: 'projector-replicas',
      duration_ms: faultWindowMs,
      figures: {
        events_sent: ingestion.sent(),
        events_acknowledged: ingestion.acknowledged.size,
        events_counted: Number(parity.counted),
        replicas: 2,
        replica_kills: 1,
        takeovers: survivorAfter.leaseTicks > 0 && survivorAfter.batches > survivorBefore.batches ? 1 : 0,
        killed_replica_batches_applied: holderBefore.batches,
        survivor_batches_applied_before_kill: survivorBefore.batches,
        survivor_batches_applied_total: survivorAfter.batches,
        wasted_batches_dropped: holderBefore.dropped + survivorAfter.dropped,
        killed_replica_invoices_closed: holderBefore.closed,
        survivor_invoices_closed: survivorAfter.closed,
        survivor_lease_ticks_before_kill: survivorBefore.leaseTicks,
        lease_takeover_ms: leaseTakeoverMs,
        first_lease_tick_after_kill_ms: firstLeaseTickMs,
        kill_to_new_invoices_closed_ms: takeoverMs,
        invoices_closed: audit.closed,
        numbers_checked: audit.numbers,
        duplicates: audit.duplicates.length,
        gaps: audit.gaps.length,
        projections_checked: applied.length,
        projections_applied_not_log: applied.filter((p) => p.applied !== p.inLog).length,
        checkpoints_backwards: checkpoints.backwards.length,
        pairs_checked: parity.pairs,
        mismatches: parity.mismatches.length,
        ...log.figures(),
      },
    });

    // One cycle at a time: before the kill only the lease holder ticked and closed.
    expect(survivorBefore.leaseTicks).toBe(0);
    expect(survivorBefore.closed).toBe(0);
    expect(holderBefore.closed).toBe(SUBSCRIPTIONS_BEFORE * 2);
    // The takeover: the survivor held the lease, closed the rest, and kept projecting.
    expect(survivorAfter.leaseTicks).toBeGreaterThan(0);
    expect(survivorAfter.closed).toBe(SUBSCRIPTIONS_AFTER * 2);
    expect(survivorAfter.batches).toBeGreaterThan(survivorBefore.batches);
    // No batch applied twice, by either replica, in any projection; checkpoints only moved forward.
    expect(applied.filter((p) => p.applied !== p.inLog)).toEqual([]);
    expect(checkpoints.backwards).toEqual([]);
    expect(parity.mismatches).toEqual([]);
    expect(parity.counted).toBe(BigInt(ingestion.acknowledged.size));
    expect(audit.missing).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.gaps).toEqual([]);
    expect(audit.closed).toBe(expected.length);
    expect(audit.journal.debits).toBe(audit.journal.credits);
    expect(log.figures().status_500_seen).toBe(0);
  });
});
