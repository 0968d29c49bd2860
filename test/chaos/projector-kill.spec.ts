import { startTestApi, type TestApi } from '../support/api';
import { chaosDurationMs, chaosTimeoutMs, reportChaos } from './support/report';
import {
  awaitProjectorTransaction,
  pause,
  randomBetween,
  startProjectorChild,
  type ProjectorChild,
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
 * Issue #6: "Kill -9 the projector mid-batch, repeatedly, during ingestion: after it restarts and
 * catches up, every summary equals its exact compute." The API runs in-process over real HTTP with
 * several clients ingesting; a real `abaxus projector` process is SIGKILLed every 1-3 s (aimed at a
 * moment it has a transaction open) and restarted. At the end it catches up by position, and for every
 * (customer, metric) the eventual summary equals the exact compute, whose counts add up to the events
 * acknowledged.
 */
jest.setTimeout(chaosTimeoutMs());

describe('chaos: projector SIGKILLed mid-batch during ingestion', () => {
  let api: TestApi;
  let ingestion: Ingestion | undefined;
  const children: ProjectorChild[] = [];
  const log = new RequestLog();

  const spawn = () => {
    const child = startProjectorChild({
      databaseUrl: api.db.url,
      label: `projector-${children.length + 1}`,
      billingCycleSeconds: 0,
    });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await ingestion?.stop().catch(() => undefined);
    for (const child of children) if (child.alive) await child.kill();
    await api?.close();
  });

  it('every summary equals its exact compute after repeated kills, and nothing acknowledged is lost', async () => {
    const { ingestKey } = await setUpLoadCatalog(api, log);
    const period = loadPeriod();
    const durationMs = chaosDurationMs();
    const faultsFrom = Date.now();
    let current = spawn();
    await current.started();
    ingestion = startIngestion(api, log, { ingestKey, clients: 4, batchSize: 25, pauseMs: 100 });
    const checkpoints = watchCheckpoints(api);

    let kills = 0;
    let killsInTransaction = 0;
    let batchesObserved = 0;
    const faultsEnd = Date.now() + durationMs;
    // The fault window, and at least 2 kills however slowly a loaded machine starts processes (the CLI
    // loads for several seconds before the projector runs: that, not the 1-3 s, sets the pace).
    while (Date.now() < faultsEnd || kills < 2) {
      await pause(randomBetween(1_000, 3_000));
      // Aim at a batch in flight: wait (briefly) for the projector to have a transaction open.
      const metrics = await current.scrape();
      batchesObserved += metrics?.value('abaxus_projector_batch_duration_seconds_count') ?? 0;
      if (await awaitProjectorTransaction(api.db.pool, api.db.name, 1_000)) killsInTransaction += 1;
      expect(await current.kill()).toBe('SIGKILL');
      kills += 1;
      current = spawn();
      await current.started();
    }
    await ingestion.stop();
    const faultWindowMs = Date.now() - faultsFrom;
    const sent = ingestion.sent();
    const acknowledged = ingestion.acknowledged.size;

    // The last projector is left alone: catch-up by position, then the parity law for every pair.
    const caughtUpFrom = Date.now();
    await waitForAllProjections(api, 120_000);
    const catchUpMs = Date.now() - caughtUpFrom;
    await checkpoints.stop();
    const metrics = await current.scrape();
    batchesObserved += metrics?.value('abaxus_projector_batch_duration_seconds_count') ?? 0;
    const parityFrom = Date.now();
    const parity = await checkParity(api, log, period);
    const parityMs = Date.now() - parityFrom;
    const applied = await appliedVersusLog(api);
    const catalog = await api.db.pool.query(`SELECT name FROM projections WHERE last_error IS NOT NULL`);
    expect(await current.terminate()).toBe(0);

    reportChaos({
      scenario: 'projector-kill',
      duration_ms: faultWindowMs,
      figures: {
        events_sent: sent,
        events_acknowledged: acknowledged,
        events_counted: Number(parity.counted),
        projector_kills: kills,
        kills_with_transaction_open: killsInTransaction,
        restarts_survived: kills,
        batches_observed: batchesObserved,
        checkpoint_moves_seen: checkpoints.moves(),
        checkpoints_backwards: checkpoints.backwards.length,
        projections_checked: applied.length,
        projections_applied_not_log: applied.filter((p) => p.applied !== p.inLog).length,
        pairs_checked: parity.pairs,
        mismatches: parity.mismatches.length,
        catch_up_ms: catchUpMs,
        parity_check_ms: parityMs,
        ...log.figures(),
      },
    });

    expect(parity.mismatches).toEqual([]);
    expect(parity.pairs).toBe(20);
    expect(parity.counted).toBe(BigInt(acknowledged));
    expect(acknowledged).toBeGreaterThan(0);
    expect(checkpoints.backwards).toEqual([]);
    // Every projection (not only usage) applied each event of its types exactly once.
    expect(applied.filter((p) => p.applied !== p.inLog)).toEqual([]);
    expect(catalog.rows).toEqual([]);
    expect(log.figures().status_500_seen).toBe(0);
    // At least one kill landed with a projector transaction open (a batch or its checkpoint in flight).
    expect(killsInTransaction).toBeGreaterThan(0);
  });
});
