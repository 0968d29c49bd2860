import { randomUUID } from 'node:crypto';
import { SqlParams, USAGE_RECORDED, jsonbRowsDocument, jsonbRowsSql } from '#domain';
import type { RecordedEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { prepareUsageRows, usageInputSql } from './usage-events.writer';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db.close();
});

describe('rows sent as one jsonb array of arrays (jsonbRowsSql)', () => {
  it('reads every value back as sent, in order, cast to its column type', async () => {
    const columns = [
      { name: 'label', type: 'text', value: (row: (typeof rows)[number]) => row.label },
      { name: 'amount', type: 'numeric', value: (row: (typeof rows)[number]) => row.amount },
      { name: 'doc', type: 'jsonb', value: (row: (typeof rows)[number]) => row.doc },
    ];
    const rows = [
      { label: 'quote " backslash \\ newline \n tab \t', amount: '0.0000000001', doc: { a: [1, 'x'], b: null } },
      { label: 'unicode é 日本 🚀 \u2028', amount: '9999999999.9999999999', doc: {} },
      { label: undefined, amount: '12', doc: { nested: { deep: true, n: 1.5 } } },
      { label: '', amount: '0', doc: null },
    ];
    const result = await db.pool.query<{ label: string | null; amount: string; doc: unknown; ord: string }>(
      `${jsonbRowsSql('$1::jsonb', columns)} ORDER BY ord`,
      [jsonbRowsDocument(columns, rows)],
    );
    expect(result.rows).toEqual([
      { label: rows[0].label, amount: '0.0000000001', doc: rows[0].doc, ord: '1' },
      { label: rows[1].label, amount: '9999999999.9999999999', doc: {}, ord: '2' },
      { label: null, amount: '12', doc: rows[2].doc, ord: '3' },
      // A JSON null is SQL NULL, in a jsonb column too (a NOT NULL column refuses it, as before).
      { label: '', amount: '0', doc: null, ord: '4' },
    ]);
    const nulls = await db.pool.query<{ doc_is_null: boolean }>(
      `SELECT doc IS NULL AS doc_is_null FROM (${jsonbRowsSql('$1::jsonb', columns)}) x ORDER BY ord`,
      [jsonbRowsDocument(columns, rows)],
    );
    expect(nulls.rows.map((row) => row.doc_is_null)).toEqual([false, false, false, true]);
  });
});

describe('the usage projection input (usageInputSql)', () => {
  function recorded(data: Record<string, unknown>, metadata: Record<string, unknown> = {}): RecordedEvent {
    const id = randomUUID();
    return {
      id,
      type: USAGE_RECORDED,
      stream: 'spec:usage-cus-2026-03',
      revision: 0,
      position: `1/${id}`,
      data: { usage_id: id, customer_id: 'cus "1"', metric_key: 'api_calls', value: '1.5', ...data },
      metadata: { tenant_id: 'spec', actor: 'key_1', request_id: 'req_1', ...metadata },
      occurred_at: new Date('2026-03-17T14:00:00.000Z'),
      recorded_at: new Date('2026-03-17T14:00:01.234Z'),
    };
  }

  it('holds exactly the prepared rows: keys, values, properties, origins, log positions', async () => {
    const events = [
      recorded({ idempotency_key: 'k\\1 "q"', timestamp: '2026-03-17T14:00:00.000123Z', properties: { a: 'é', n: 2 } }),
      recorded({ idempotency_key: 'k2', timestamp: '2026-03-17T14:00:00Z', source: 'backfill' }, { request_id: null }),
      // A malformed source or request id (no client can send one): stored as its JSON text, as ever.
      recorded({ idempotency_key: 'k3', timestamp: '2026-03-17T14:00:00Z', source: 7 }, { request_id: { a: 1 } }),
    ];
    const prepared = prepareUsageRows(events);
    const params = new SqlParams();
    const result = await db.pool.query(
      `WITH input AS (${usageInputSql(params, prepared, 41n)})
       SELECT tenant_id, usage_id::text, idempotency_key, customer_id, metric_key, ts, value::text, properties,
              recorded_at, log_position::text, source, actor, request_id
         FROM input ORDER BY ord`,
      params.values,
    );
    const common = {
      tenant_id: 'spec',
      customer_id: 'cus "1"',
      metric_key: 'api_calls',
      value: '1.5',
      recorded_at: new Date('2026-03-17T14:00:01.234Z'),
      actor: 'key_1',
    };
    expect(result.rows).toEqual([
      {
        ...common,
        usage_id: events[0].id,
        idempotency_key: 'k\\1 "q"',
        ts: new Date('2026-03-17T14:00:00.000Z'),
        properties: { a: 'é', n: 2 },
        log_position: '41',
        source: 'ingest',
        request_id: 'req_1',
      },
      {
        ...common,
        usage_id: events[1].id,
        idempotency_key: 'k2',
        ts: new Date('2026-03-17T14:00:00.000Z'),
        properties: {},
        log_position: '42',
        source: 'backfill',
        request_id: null,
      },
      {
        ...common,
        usage_id: events[2].id,
        idempotency_key: 'k3',
        ts: new Date('2026-03-17T14:00:00.000Z'),
        properties: {},
        log_position: '43',
        source: '7',
        request_id: '{"a":1}',
      },
    ]);
    // Microseconds survive (the JS Date above cannot show them).
    const again = new SqlParams();
    const micros = await db.pool.query<{ us: string }>(
      `WITH input AS (${usageInputSql(again, prepared, 41n)}) SELECT extract(microseconds FROM ts)::text AS us FROM input ORDER BY ord LIMIT 1`,
      again.values,
    );
    expect(micros.rows[0].us).toBe('123');
  });
});
