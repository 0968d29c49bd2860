import { PostgresEventStore } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { chaosDurationMs, chaosTimeoutMs, reportChaos } from './support/report';
import {
  auditBilling,
  billingProgress,
  projectorAppending,
  seedBillingTenant,
  seedEndedSubscriptions,
  type BilledPeriod,
} from './support/billing-fixtures';
import {
  awaitProjectorTransaction,
  pause,
  randomBetween,
  startProjectorChild,
  type ProjectorChild,
} from './support/projector-child';

/*
 * Issue #6: "Kill the billing cycle while it closes invoices: no period billed twice, no period
 * skipped, the invoice numbers stay gapless." SUBSCRIPTIONS subscriptions whose two monthly periods
 * really ended (grace 0), a real `abaxus projector` running the cycle every 0.5 s, SIGKILLed as soon
 * as it has drafted, numbered or closed something since its start (aimed at an open transaction),
 * restarted, again and again for the fault window; then left to finish. Every (subscription, period)
 * has exactly one closed invoice, the numbers are INV-000001..N with no gap and no repeat, and the
 * journal balances.
 */
const SUBSCRIPTIONS = 40;
jest.setTimeout(chaosTimeoutMs());

describe('chaos: billing cycle SIGKILLed while it drafts and closes', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const children: ProjectorChild[] = [];

  const spawn = () => {
    const child = startProjectorChild({
      databaseUrl: db.url,
      label: `cycle-${children.length + 1}`,
      billingCycleSeconds: 0.5,
    });
    children.push(child);
    return child;
  };
  const progressed = (a: Awaited<ReturnType<typeof billingProgress>>, b: typeof a) =>
    a.drafted !== b.drafted || a.assigned !== b.assigned || a.closed !== b.closed;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    for (const child of children) if (child.alive) await child.kill();
    await store?.close();
    await db?.close();
  });

  it('closes every ended period exactly once, numbers gapless, journal balanced, across repeated kills', async () => {
    const catalog = await seedBillingTenant(store);
    const expected: BilledPeriod[] = await seedEndedSubscriptions(store, catalog, { from: 1, count: SUBSCRIPTIONS });
    const durationMs = chaosDurationMs();
    const faultsFrom = Date.now();
    let kills = 0;
    let killsInTransaction = 0;
    let killsMidAppend = 0;
    let closesLeftInFlight = 0;
    const closedAtKills: number[] = [];
    // For the window (and at least twice), or until everything is closed. Odd processes are killed in
    // the middle of an append (a draft, a number, a close in flight: rolled back), even ones right
    // after the cycle moved (partial progress: some periods closed, the rest to resume).
    while (Date.now() - faultsFrom < durationMs || kills < 2) {
      const before = await billingProgress(db.pool);
      if (before.closed === expected.length) {
        // All billed with fault time left (long runs): more subscriptions whose periods ended.
        if (Date.now() - faultsFrom >= durationMs) break;
        const from = expected.length / 2 + 1;
        expected.push(...(await seedEndedSubscriptions(store, catalog, { from, count: SUBSCRIPTIONS })));
        continue;
      }
      const child = spawn();
      const midAppend = children.length % 2 === 1;
      let now = before;
      let appending = false;
      const deadline = Date.now() + 90_000;
      while (!progressed(now, before) && !appending) {
        if (Date.now() > deadline || !child.alive) throw new Error(`no billing progress from ${child.label}`);
        await pause(5);
        if (midAppend) appending = await projectorAppending(db.pool, db.name);
        now = await billingProgress(db.pool);
      }
      if (!appending) {
        await pause(randomBetween(0, 250));
        if (await awaitProjectorTransaction(db.pool, db.name, 200)) killsInTransaction += 1;
      }
      expect(await child.kill()).toBe('SIGKILL');
      kills += 1;
      if (appending) killsMidAppend += 1;
      const after = await billingProgress(db.pool);
      closedAtKills.push(after.closed);
      // A number taken whose InvoiceClosed is not written: the next process must complete that close.
      if (after.assigned > after.closed) closesLeftInFlight += 1;
    }
    const faultWindowMs = Date.now() - faultsFrom;

    // The last process is left alone until every period is closed and journaled.
    const last = spawn();
    await last.started();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = await billingProgress(db.pool);
      if (now.closed >= expected.length && now.journal >= now.closed) break;
      if (Date.now() > deadline || !last.alive) throw new Error(`billing did not finish: ${JSON.stringify(now)}`);
      await pause(100);
    }
    // Two more ticks of its own after the last close: they find nothing to do (checked by the audit).
    const ticks = async () => (await last.scrape())?.value('abaxus_billing_cycle_tick_duration_seconds_count') ?? 0;
    const ticksAtEnd = await ticks();
    while ((await ticks()) < ticksAtEnd + 2) {
      if (Date.now() > deadline || !last.alive) throw new Error('the last billing process stopped ticking');
      await pause(100);
    }
    expect(await last.terminate()).toBe(0);
    const audit = await auditBilling(db.pool, expected);

    reportChaos({
      scenario: 'billing-cycle-kill',
      duration_ms: faultWindowMs,
      figures: {
        subscriptions: expected.length / 2,
        periods_expected: expected.length,
        invoices_drafted: audit.drafts,
        invoices_closed: audit.closed,
        kills,
        kills_mid_append: killsMidAppend,
        kills_with_transaction_open: killsInTransaction,
        kills_leaving_a_close_in_flight: closesLeftInFlight,
        invoices_closed_at_each_kill: closedAtKills.join(','),
        restarts_survived: kills,
        numbers_checked: audit.numbers,
        duplicates: audit.duplicates.length,
        gaps: audit.gaps.length,
        missing: audit.missing.length,
        journal_entries: audit.journal.entries,
        journal_debits: audit.journal.debits,
        journal_credits: audit.journal.credits,
      },
    });

    expect(audit.missing).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.unexpected).toEqual([]);
    expect(audit.gaps).toEqual([]);
    expect(audit.numberMismatches).toEqual([]);
    expect(audit.closed).toBe(expected.length);
    expect(audit.numbers).toBe(expected.length);
    expect(audit.journal.invoiceEntries).toBe(expected.length);
    expect(audit.journal.debits).toBe(audit.journal.credits);
    expect(kills).toBeGreaterThanOrEqual(1);
  });
});
