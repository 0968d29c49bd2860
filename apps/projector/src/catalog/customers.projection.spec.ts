import { randomUUID } from 'node:crypto';
import { CUSTOMER_STREAM_CATEGORY, customerDecider, type CustomerCommand, type CustomerEvent } from '#domain';
import { PostgresEventStore, StreamNotFoundError, rebuildProjection, streamName, type Checkpoint } from '#ledger';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { customersProjection } from './customers.projection';

/** A command without its clock (`run` supplies one): Omit distributed over the union. */
type WithoutClock = CustomerCommand extends infer C ? (C extends unknown ? Omit<C, 'at'> : never) : never;

describe('customers projection', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: Checkpoint;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  async function load(tenant: string, id: string) {
    const recorded = await store
      .readStream(streamName(tenant, CUSTOMER_STREAM_CATEGORY, id))
      .catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      });
    const state = recorded.reduce(
      (s, e) => customerDecider.evolve(s, { type: e.type, data: e.data } as CustomerEvent),
      customerDecider.initialState(),
    );
    return { recorded, state };
  }

  /** Decides on the stream's current state and appends, as the API's handlers do. */
  async function run(tenant: string, command: WithoutClock): Promise<void> {
    const { recorded, state } = await load(tenant, command.customer_id);
    clock += 60_000;
    const events = customerDecider.decide({ ...command, at: new Date(clock) } as CustomerCommand, state);
    const result = await store.append(
      streamName(tenant, CUSTOMER_STREAM_CATEGORY, command.customer_id),
      events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: { tenant_id: tenant, actor: 'system:test', request_id: 'req_1' },
      })),
      { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
    );
    last = result.position;
  }

  const create = (id: string, currency = 'USD') => ({
    type: 'CreateCustomer' as const,
    customer_id: id,
    fields: {
      name: `Customer ${id}`,
      email: `${id}@example.com`,
      currency,
      timezone: 'America/New_York',
      payment: { provider: 'stripe', customer_ref: `cus_${id}` },
      metadata: { plan: 'gold', seats: 3 },
    },
  });
  const update = (id: string, fields: Record<string, unknown>) => ({
    type: 'UpdateCustomer' as const,
    customer_id: id,
    fields,
  });
  const rows = async () => (await db.pool.query('SELECT * FROM customers ORDER BY tenant_id, id')).rows;
  const project = async () => {
    await projectTo({ pool: db.pool, store }, [customersProjection], last);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await run('acme', create('cust_a'));
    await run('acme', update('cust_a', { name: 'Renamed', payment: null, metadata: { plan: 'platinum' } }));
    await run('acme', create('cust_b', 'EUR'));
    await run('acme', update('cust_b', { email: null }));
    await run('acme', { type: 'ArchiveCustomer', customer_id: 'cust_b', live_subscriptions: 0 });
    await run('globex', create('cust_a', 'JPY'));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('holds each customer exactly as a read of its stream shows it', async () => {
    await project();
    const projected = await rows();
    expect(projected.map((r) => [r.tenant_id, r.id, r.currency])).toEqual([
      ['acme', 'cust_a', 'USD'],
      ['acme', 'cust_b', 'EUR'],
      ['globex', 'cust_a', 'JPY'],
    ]);
    for (const row of projected) {
      const { state } = await load(row.tenant_id, row.id);
      if (state.status === 'absent') throw new Error('fixture');
      const { tenant_id: _t, stream_revision: _r, created_at, updated_at, archived_at, ...fields } = row;
      expect({
        ...fields,
        created_at: created_at.toISOString(),
        updated_at: updated_at.toISOString(),
        archived_at: archived_at?.toISOString() ?? null,
      }).toEqual(state.customer);
    }
    expect(projected[0]).toMatchObject({ name: 'Renamed', payment: null, metadata: { plan: 'platinum' } });
    expect(projected[1]).toMatchObject({ email: null, archived_at: expect.any(Date) });
  });

  it('replaying the whole log again gives the same rows', async () => {
    const before = await rows();
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'customers'`);
      await project();
      expect(await rows()).toEqual(before);
    }
  });

  it('a forced rebuild into fresh tables leaves every customer unchanged', async () => {
    const before = await rows();
    const result = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [customersProjection],
      name: 'customers',
      force: true,
    });
    expect(result.outcome).toBe('switched');
    const view = await db.pool.query(`SELECT definition FROM pg_views WHERE viewname = 'customers'`);
    expect(view.rows[0].definition).toContain(`customers__v1_r${result.build}`);
    expect(await rows()).toEqual(before);
  });

  it('applies an update that arrives in a later batch than its creation, and only once', async () => {
    await run('acme', create('cust_c'));
    await project();
    await run('acme', update('cust_c', { metadata: { plan: 'silver' } }));
    await run('acme', update('cust_c', { name: 'C two' }));
    await project();
    const row = (await rows()).find((r) => r.tenant_id === 'acme' && r.id === 'cust_c');
    expect(row).toMatchObject({ name: 'C two', metadata: { plan: 'silver' }, stream_revision: 2 });
  });
});
