import { invoiceSequenceOf, isClosedState, type Subscription } from '#domain';
import { assignInvoiceNumber, loadInvoice, readAssignments, type PostgresEventStore } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { invoiceIdFor } from '../../../api/src/billing/billing-context';
import { cancelSubscription, loadSubscription } from '../../../api/src/subscriptions/subscription.operations';
import { updateTenantSettings } from '../../../api/src/settings/settings.operations';
import type { Projector } from '../start-projector';
import { appendUsage, usageRecorded } from '../usage/testing/usage-fixtures';
import { startBillingCycle, type BillingCycle } from './billing-cycle';
import { BILLING_CYCLE_LOCK } from './billing-lease';
import { endedPeriods, nextPeriodEnd } from './ended-periods';
import { caughtUp, ctx, fakeClock, seedCatalog, startSpecProjector } from './testing/cycle-fixtures';

/*
 * The billing cycle on a real PostgreSQL with every projection running, driven tick by tick on a fake
 * clock. Tenant `acme`: c1 subscribed from Jan 1 (calendar months, UTC), c2 from Feb 15 and cancelled
 * on Mar 10 at noon. The tests run in order along the clock.
 */
const TENANT = 'acme';
const JAN = { start: '2026-01-01T00:00:00.000Z', end_exclusive: '2026-02-01T00:00:00.000Z' };

describe('billing cycle', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let projector: Projector;
  const clock = fakeClock('2026-01-31T23:00:00.000Z');
  const subscriptions: Record<string, string> = {};
  const cycles: BillingCycle[] = [];

  const cycle = (leaseKey = BILLING_CYCLE_LOCK) => {
    const started = startBillingCycle({ pool: db.pool, store, now: clock.now, intervalMs: 0, leaseKey });
    cycles.push(started);
    return started;
  };
  /** One tick at `at`, after the projections caught up with the test's own writes. */
  const tickAt = async (on: BillingCycle, at: string) => {
    clock.set(at);
    await caughtUp(db, store);
    const report = await on.tick();
    expect(report.failed).toEqual([]);
    return report;
  };
  const invoiceOf = async (customer: string, period: { start: string; end_exclusive: string }) =>
    (await loadInvoice(store, TENANT, invoiceIdFor(subscriptions[customer], period))).state;
  const numbers = async () => (await readAssignments(store, TENANT)).map((a) => [a.invoice_id, a.sequence] as const);

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ store, projector } = await startSpecProjector(db));
    const catalog = await seedCatalog(store, TENANT);
    subscriptions.c1 = await catalog.subscribe('c1', '2026-01-01');
    subscriptions.c2 = await catalog.subscribe('c2', '2026-02-15');
    await cancelSubscription({
      ...ctx(store, TENANT),
      id: subscriptions.c2,
      end: 'now',
      now: () => new Date('2026-03-10T12:00:00.000Z'),
    });
    const use = (customer: string, timestamp: string, value: string) =>
      usageRecorded({ tenant: TENANT, customer, metric: 'calls', timestamp, value });
    await appendUsage(store, [
      use('c1', '2026-01-10T00:00:00.000Z', '10'),
      use('c1', '2026-02-05T00:00:00.000Z', '20'),
      use('c1', '2026-03-03T00:00:00.000Z', '30'),
      use('c2', '2026-03-05T00:00:00.000Z', '50'),
      use('c2', '2026-03-20T00:00:00.000Z', '70'), // after c2 ended: never billed
    ]);
  });
  afterAll(async () => {
    for (const started of cycles) await started.stop();
    await projector?.stop();
    await store?.close();
    await db?.close();
  });

  it('ended periods: oldest first from the start, an ended subscription up to its final partial period', async () => {
    const c1: Subscription = await loadSubscription(store, TENANT, subscriptions.c1);
    const c2: Subscription = await loadSubscription(store, TENANT, subscriptions.c2);
    expect(endedPeriods(c1, new Date('2026-01-31T23:59:59.999Z'))).toEqual([]);
    expect(endedPeriods(c1, new Date('2026-03-01T00:00:00.000Z')).map((p) => p.period.start)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
    ]);
    expect(nextPeriodEnd(c1, new Date('2026-03-01T00:00:00.000Z'))).toBe('2026-04-01T00:00:00.000Z');
    // c2's final period (March) ends when c2 does, at noon on the 10th; nothing after it, ever.
    expect(endedPeriods(c2, new Date('2026-03-10T11:59:00.000Z')).map((p) => p.period.start)).toEqual([
      '2026-02-01T00:00:00.000Z',
    ]);
    expect(endedPeriods(c2, new Date('2027-01-01T00:00:00.000Z'))).toEqual([
      {
        period: { start: '2026-02-01T00:00:00.000Z', end_exclusive: '2026-03-01T00:00:00.000Z' },
        usage_end: '2026-03-01T00:00:00.000Z',
      },
      {
        period: { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' },
        usage_end: '2026-03-10T12:00:00.000Z',
      },
    ]);
    expect(nextPeriodEnd(c2, new Date('2026-03-10T11:00:00.000Z'))).toBe('2026-03-10T12:00:00.000Z');
    expect(nextPeriodEnd(c2, new Date('2026-03-10T12:00:00.000Z'))).toBeNull();
  });

  it('drafts nothing before a period ends; drafts at its end; closes once the grace (default 1 h) has passed', async () => {
    const billing = cycle();
    expect(await tickAt(billing, '2026-01-31T23:00:00.000Z')).toMatchObject({ lease: true, drafted: 0, closed: 0 });
    expect((await invoiceOf('c1', JAN)).status).toBe('absent');

    expect(await tickAt(billing, '2026-02-01T00:30:00.000Z')).toMatchObject({ drafted: 1, closed: 0 });
    const draft = await invoiceOf('c1', JAN);
    expect(draft.status).toBe('draft');
    expect(await tickAt(billing, '2026-02-01T00:59:59.000Z')).toMatchObject({ drafted: 0, closed: 0 });

    expect(await tickAt(billing, '2026-02-01T01:00:00.000Z')).toMatchObject({ drafted: 0, closed: 1 });
    const closed = await invoiceOf('c1', JAN);
    if (!isClosedState(closed)) throw new Error('expected the January invoice closed');
    expect(closed.invoice).toMatchObject({
      number: 'INV-000001',
      total: '21.00',
      closed_at: '2026-02-01T01:00:00.000Z',
    });
    expect(await tickAt(billing, '2026-02-01T01:00:05.000Z')).toMatchObject({ drafted: 0, closed: 0 });
  });

  it('catches up after downtime: every missed period, oldest first per customer, numbers gapless', async () => {
    const billing = cycles[0];
    const report = await tickAt(billing, '2026-04-01T02:00:00.000Z');
    // c1 February and March; c2 February (from the 15th) and its final March (to the 10th, noon).
    expect(report).toMatchObject({ drafted: 4, closed: 4 });
    const FEB = { start: '2026-02-01T00:00:00.000Z', end_exclusive: '2026-03-01T00:00:00.000Z' };
    const MAR = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
    const totals: Record<string, string> = {};
    const sequence: Record<string, number> = {};
    for (const [customer, label, period] of [
      ['c1', 'feb', FEB],
      ['c1', 'mar', MAR],
      ['c2', 'feb', FEB],
      ['c2', 'mar', MAR],
    ] as const) {
      const state = await invoiceOf(customer, period);
      if (!isClosedState(state)) throw new Error(`${customer} ${label} is not closed`);
      totals[`${customer}_${label}`] = state.invoice.total;
      sequence[`${customer}_${label}`] = invoiceSequenceOf(state.invoice.number)!;
    }
    // c2: half of February's 20.00 (14 of 28 days); March to the 10th at noon is 10 of 31 days (a started
    // day counts): 6.45, + 50 calls. Its usage after it ended (Mar 20) is billed nowhere.
    expect(totals).toEqual({ c1_feb: '22.00', c1_mar: '23.00', c2_feb: '10.00', c2_mar: '11.45' });
    expect(sequence.c1_feb).toBeLessThan(sequence.c1_mar);
    expect(sequence.c2_feb).toBeLessThan(sequence.c2_mar);
    expect((await numbers()).map(([, n]) => n)).toEqual([1, 2, 3, 4, 5]);
    expect(await tickAt(billing, '2026-04-01T02:00:10.000Z')).toMatchObject({ drafted: 0, closed: 0 });
  });

  it('survives a restart between draft and close: the period is billed once, with the next number', async () => {
    const APR = { start: '2026-04-01T00:00:00.000Z', end_exclusive: '2026-05-01T00:00:00.000Z' };
    expect(await tickAt(cycles[0], '2026-05-01T00:10:00.000Z')).toMatchObject({ drafted: 1, closed: 0 });
    await cycles[0].stop();
    // A new process: nothing remembered, everything read again from the read models and the log.
    const restarted = cycle();
    expect(await tickAt(restarted, '2026-05-01T01:30:00.000Z')).toMatchObject({ drafted: 0, closed: 1 });
    const stream = await store.readStream(`${TENANT}:invoice-${invoiceIdFor(subscriptions.c1, APR)}`);
    expect(stream.map((e) => e.type)).toEqual(['InvoiceDrafted', 'InvoiceClosed']);
    expect((await numbers()).map(([, n]) => n)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("closes at once when the tenant's grace is 0", async () => {
    await updateTenantSettings({ ...ctx(store, TENANT), billing_grace_seconds: 0 });
    expect(await tickAt(cycles[1], '2026-06-01T00:00:01.000Z')).toMatchObject({ drafted: 1, closed: 1 });
    await updateTenantSettings({ ...ctx(store, TENANT), billing_grace_seconds: 3600 });
  });

  it('completes a close that crashed after taking its number (the sweep), before anything else is numbered', async () => {
    const JUN = { start: '2026-06-01T00:00:00.000Z', end_exclusive: '2026-07-01T00:00:00.000Z' };
    expect(await tickAt(cycles[1], '2026-07-01T00:05:00.000Z')).toMatchObject({ drafted: 1, closed: 0 });
    const invoiceId = invoiceIdFor(subscriptions.c1, JUN);
    const draft = await loadInvoice(store, TENANT, invoiceId);
    if (draft.state.status !== 'draft') throw new Error('expected a draft');
    // The commit point of a close, then a crash: the number is taken, the invoice still a draft.
    await assignInvoiceNumber({
      store,
      tenantId: TENANT,
      invoiceId,
      request: {
        closed_at: '2026-07-01T00:05:30.000Z',
        customer: { id: 'c1', name: 'c1', email: null, currency: 'USD', timezone: 'UTC' },
        plan: {
          key: 'pro',
          version: 1,
          name: 'Pro',
          currency: 'USD',
          billing_interval: 'month',
          charges: [],
          minimum_commitment: null,
        },
        tax_amount: null,
        tax_lines: [],
      },
      metadata: { tenant_id: TENANT, actor: 'system:test' },
    });
    const report = await tickAt(cycles[1], '2026-07-01T00:06:00.000Z');
    expect(report).toMatchObject({ swept: 1, drafted: 0, closed: 0 });
    const state = await invoiceOf('c1', JUN);
    if (!isClosedState(state)) throw new Error('expected the sweep to close it');
    expect(state.invoice).toMatchObject({ number: 'INV-000008', closed_at: '2026-07-01T00:05:30.000Z' });
  });

  it('one cycle works at a time (advisory-lock lease); a stopped or dead holder is taken over', async () => {
    const key = BILLING_CYCLE_LOCK + 1;
    const [a, b] = [cycle(key), cycle(key)];
    expect((await a.tick()).lease).toBe(true);
    expect(await b.tick()).toMatchObject({ lease: false, drafted: 0 });
    expect([a.holdsLease, b.holdsLease]).toEqual([true, false]);
    await a.stop();
    expect((await b.tick()).lease).toBe(true);
    // The holder dies: its session ends (the connection is cut), and with it the lock.
    const holder = await db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
      [key],
    );
    expect(holder.rows).toHaveLength(1);
    await db.pool.query('SELECT pg_terminate_backend($1)', [holder.rows[0].pid]);
    // Termination is asynchronous: wait (on a condition, not a delay) for the session to be gone.
    for (let gone = false; !gone;) {
      const { rows } = await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [holder.rows[0].pid]);
      gone = rows.length === 0;
    }
    const c = cycle(key);
    expect((await c.tick()).lease).toBe(true);
    expect((await b.tick()).lease).toBe(false);
  });
});
