import { randomUUID } from 'node:crypto';
import { PostgresEventStore, streamName, type EventStore } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { SubscriptionDirectory } from './subscription-directory';

/*
 * The in-memory directory behind entitlement checks, on the real Postgres event store: loaded to the
 * head before start() resolves, then following the log; which subscription is in force when.
 */

const PRO = {
  sso: { type: 'boolean', value: true },
  api_calls_per_month: { type: 'limit', value: '100', metric_key: 'api_calls' },
};
const TEAM = { sso: { type: 'boolean', value: false } };

function started(id: string, customer: string, start: string, entitlements: object = PRO) {
  return {
    type: 'SubscriptionStarted',
    data: {
      subscription_id: id,
      customer_id: customer,
      plan_key: 'pro',
      plan_version: 1,
      currency: 'USD',
      timezone: 'Europe/Paris',
      billing_interval: 'month',
      start_date: start,
      billing_anchor: { kind: 'calendar', at: '2026-01-01T00:00:00+01:00' },
      charges: [],
      overrides: { charges: {} },
      minimum_commitment: null,
      entitlements,
      previous_subscription_id: null,
      created_at: start,
    },
  };
}

const ended = (id: string, endsAt: string, type = 'SubscriptionCancelled') => ({
  type,
  data: { subscription_id: id, at: 'now', ends_at: endsAt },
});

describe('SubscriptionDirectory', () => {
  let db: TestDatabase;
  let store: EventStore;
  const directories: SubscriptionDirectory[] = [];

  const append = (tenant: string, event: { type: string; data: { subscription_id: string } }) =>
    store.append(streamName(tenant, 'subscription', event.data.subscription_id), [
      { id: randomUUID(), type: event.type, data: event.data, metadata: { tenant_id: tenant, actor: 'system:test' } },
    ]);
  const startDirectory = async () => {
    const directory = new SubscriptionDirectory(store);
    directories.push(directory);
    await directory.start();
    return directory;
  };
  const at = (instant: string) => Date.parse(instant);

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    for (const directory of directories) await directory.stop();
    await store.close();
    await db.close();
  });

  it('has read every subscription already in the log when start() resolves', async () => {
    await append('t1', started('sub_a', 'c_a', '2026-01-10T00:00:00Z'));
    await append('t1', ended('sub_a', '2026-03-01T00:00:00Z'));
    const directory = await startDirectory();
    const inForce = directory.inForce('t1', 'c_a', at('2026-02-01T00:00:00Z'));
    expect(inForce.subscription).toMatchObject({ subscriptionId: 'sub_a', customerId: 'c_a', entitlements: PRO });
    expect(directory.inForce('t1', 'c_a', at('2026-03-01T00:00:00Z'))).toEqual({ reason: 'subscription_ended' });
    expect(directory.inForce('t1', 'c_a', at('2026-01-09T00:00:00Z'))).toEqual({ reason: 'subscription_not_started' });
    expect(directory.status()).toMatchObject({ loaded: true, live: true, subscriptions: 1 });
  });

  it('follows the log: waitFor(position) resolves once a new start or end is applied', async () => {
    const directory = await startDirectory();
    expect(directory.inForce('t1', 'c_b', at('2026-02-01T00:00:00Z'))).toEqual({ reason: 'no_live_subscription' });
    const { position } = await append('t1', started('sub_b', 'c_b', '2026-01-15T00:00:00Z'));
    expect(await directory.waitFor(position)).toBe(true);
    expect(directory.inForce('t1', 'c_b', at('2026-02-01T00:00:00Z')).subscription?.subscriptionId).toBe('sub_b');
    const cancelled = await append('t1', ended('sub_b', '2026-02-01T00:00:00Z'));
    expect(await directory.waitFor(cancelled.position)).toBe(true);
    expect(directory.inForce('t1', 'c_b', at('2026-02-01T00:00:00Z'))).toEqual({ reason: 'subscription_ended' });
    // Until its end the subscription is still in force.
    expect(directory.inForce('t1', 'c_b', at('2026-01-31T23:59:59Z')).subscription?.subscriptionId).toBe('sub_b');
  });

  it('a plan change hands over at its instant; overlapping subscriptions: the latest started wins', async () => {
    await append('t1', started('sub_c1', 'c_c', '2026-01-01T00:00:00Z'));
    await append('t1', ended('sub_c1', '2026-02-10T12:00:00Z', 'SubscriptionPlanChanged'));
    const { position } = await append('t1', started('sub_c2', 'c_c', '2026-02-10T12:00:00Z', TEAM));
    const directory = await startDirectory();
    expect(await directory.waitFor(position)).toBe(true);
    expect(directory.inForce('t1', 'c_c', at('2026-02-10T11:59:59Z')).subscription?.entitlements).toEqual(PRO);
    expect(directory.inForce('t1', 'c_c', at('2026-02-10T12:00:00Z')).subscription?.entitlements).toEqual(TEAM);
    const overlap = await append('t1', started('sub_c3', 'c_c', '2026-03-01T00:00:00Z', PRO));
    expect(await directory.waitFor(overlap.position)).toBe(true);
    expect(directory.inForce('t1', 'c_c', at('2026-03-02T00:00:00Z')).subscription?.subscriptionId).toBe('sub_c3');
  });

  it("tenants never see each other's customers", async () => {
    const directory = await startDirectory();
    const { position } = await append('t2', started('sub_d', 'c_shared', '2026-01-01T00:00:00Z'));
    expect(await directory.waitFor(position)).toBe(true);
    expect(directory.inForce('t2', 'c_shared', at('2026-02-01T00:00:00Z')).subscription).toBeDefined();
    expect(directory.inForce('t1', 'c_shared', at('2026-02-01T00:00:00Z'))).toEqual({
      reason: 'no_live_subscription',
    });
  });

  it('skips a malformed event without stopping, and applies the next ones', async () => {
    const directory = await startDirectory();
    await append('t1', { type: 'SubscriptionStarted', data: { subscription_id: 'sub_bad' } });
    await append('t1', ended('sub_unknown', 'not a date'));
    const { position } = await append('t1', started('sub_e', 'c_e', '2026-01-01T00:00:00Z'));
    expect(await directory.waitFor(position)).toBe(true);
    expect(directory.inForce('t1', 'c_e', at('2026-02-01T00:00:00Z')).subscription?.subscriptionId).toBe('sub_e');
    expect(directory.status().live).toBe(true);
  });

  it("periodAt: the billing period in the subscription's zone, recomputed once a period ends", async () => {
    const directory = await startDirectory();
    const { subscription } = directory.inForce('t1', 'c_e', at('2026-02-01T00:00:00Z'));
    // Calendar months in Paris: February starts at 23:00 UTC on January 31.
    expect(directory.periodAt(subscription!, at('2026-02-15T00:00:00Z'))).toMatchObject({
      start: '2026-01-31T23:00:00.000Z',
      end: '2026-02-28T23:00:00.000Z',
    });
    expect(directory.periodAt(subscription!, at('2026-02-28T23:00:00Z'))).toMatchObject({
      start: '2026-02-28T23:00:00.000Z',
      end: '2026-03-31T22:00:00.000Z', // summer time from March 29
    });
  });

  it('waitFor gives up after its timeout on a position it never reaches', async () => {
    const directory = await startDirectory();
    const head = await store.headCheckpoint();
    const beyond = head!.replace(/\d+$/, (position) => String(Number(position) + 1_000));
    expect(await directory.waitFor(beyond, 50)).toBe(false);
  });
});
