import type { ClientBase, Pool } from 'pg';
import type { Checkpoint } from '../event-store';
import { encodeCheckpoint } from '../postgres/postgres-checkpoint';
import { lockStreams } from '../postgres/postgres-append';
import type { UsageAppendItem, UsageAppendOutcome } from './usage-writer';

/**
 * The set-based core of usage ingestion in Postgres mode: many usage events (many requests, many
 * streams) in ONE transaction, with ONE statement that claims their idempotency keys and inserts the
 * events whose keys were free. The rules of libs/ledger/README.md hold:
 *
 * - every stream written is locked first (`lockStreams`: advisory locks in name order, before any
 *   write), so the transaction gets its id only after the previous writer of each stream committed
 *   and the global order (tx_id, position) keeps every stream in revision order;
 * - revisions are assigned in SQL from `streams.revision` (exact under the locks), positions follow
 *   revisions, `streams` is upserted and subscribers are notified at commit, as `append` does.
 *
 * The key row and the event commit together or not at all: a crash can leave neither half alone.
 */
const CLAIM_AND_INSERT = `
WITH batch AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::jsonb[], $11::jsonb[])
    WITH ORDINALITY AS b(tenant_id, idempotency_key, payload_hash, id, stream, customer_id, metric_key, ts,
                         type, data, metadata, ord)
), claimed AS (
  -- Sorted by key: concurrent flushes that share keys wait for each other in one order (no cycle).
  -- A key held by a transaction still running makes this wait for its outcome, then skip or take it.
  INSERT INTO usage_idempotency (tenant_id, idempotency_key, payload_hash, usage_id, customer_id, metric_key, ts)
  SELECT tenant_id, idempotency_key, payload_hash, id, customer_id, metric_key, ts
    FROM batch ORDER BY tenant_id, idempotency_key
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING usage_id
), fresh AS (
  SELECT b.*, coalesce(s.revision, -1) + row_number() OVER (PARTITION BY b.stream ORDER BY b.ord) AS revision
    FROM batch b
    JOIN claimed c ON c.usage_id = b.id
    LEFT JOIN streams s ON s.stream = b.stream
), inserted AS (
  INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
  SELECT id, stream, revision, type, tenant_id, data, metadata, ts::timestamptz FROM fresh ORDER BY ord
  RETURNING id, tx_id, position
), recorded AS (
  INSERT INTO streams (stream, tenant_id, revision)
  SELECT stream, min(tenant_id), max(revision) FROM fresh GROUP BY stream
  ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision
), notified AS (
  SELECT pg_notify($12, '')
)
SELECT i.id::text AS id, i.tx_id::text AS tx_id, i.position::text AS position
  FROM inserted i CROSS JOIN notified`;

const READ_KEYS = `
SELECT k.tenant_id, k.idempotency_key, k.payload_hash, k.usage_id::text AS usage_id
  FROM unnest($1::text[], $2::text[]) AS q(tenant_id, idempotency_key)
  JOIN usage_idempotency k ON k.tenant_id = q.tenant_id AND k.idempotency_key = q.idempotency_key`;

/**
 * Inside the caller's open READ COMMITTED transaction, which has written nothing yet: locks the
 * items' streams, claims their keys and appends the events of the keys it claimed. Items must have
 * distinct (tenant, key). Returns the position of each appended event by id; an id missing from the
 * map was not appended (its key was already taken: see readUsageKeys, after commit).
 */
export async function appendUsageWithin(
  client: ClientBase,
  items: readonly UsageAppendItem[],
  notifyChannel: string,
): Promise<Map<string, Checkpoint>> {
  if (items.length === 0) return new Map();
  await lockStreams(client, [...new Set(items.map((item) => item.stream))]);
  const result = await client.query<{ id: string; tx_id: string; position: string }>({
    name: 'abaxus_usage_claim_and_insert',
    text: CLAIM_AND_INSERT,
    values: [
      items.map((i) => i.tenantId),
      items.map((i) => i.idempotencyKey),
      items.map((i) => i.payloadHash),
      items.map((i) => i.event.id),
      items.map((i) => i.stream),
      items.map((i) => i.customerId),
      items.map((i) => i.metricKey),
      items.map((i) => i.timestamp),
      items.map((i) => i.event.type),
      items.map((i) => JSON.stringify(i.event.data)),
      items.map((i) => JSON.stringify(i.event.metadata)),
      notifyChannel,
    ],
  });
  return new Map(result.rows.map((row) => [row.id, encodeCheckpoint(row.tx_id, row.position)]));
}

export interface StoredUsageKey {
  tenantId: string;
  idempotencyKey: string;
  payloadHash: string;
  usageId: string;
}

const keyOf = (tenantId: string, idempotencyKey: string) => `${tenantId}\u0000${idempotencyKey}`;

/** The stored rows of these keys (committed ones: run it after the claiming transaction ended). */
export async function readUsageKeys(
  db: Pool | ClientBase,
  keys: ReadonlyArray<{ tenantId: string; idempotencyKey: string }>,
): Promise<Map<string, StoredUsageKey>> {
  if (keys.length === 0) return new Map();
  const result = await db.query<{ tenant_id: string; idempotency_key: string; payload_hash: string; usage_id: string }>(
    READ_KEYS,
    [keys.map((k) => k.tenantId), keys.map((k) => k.idempotencyKey)],
  );
  return new Map(
    result.rows.map((row) => [
      keyOf(row.tenant_id, row.idempotency_key),
      {
        tenantId: row.tenant_id,
        idempotencyKey: row.idempotency_key,
        payloadHash: row.payload_hash,
        usageId: row.usage_id,
      },
    ]),
  );
}

/**
 * Outcome of each item, in order, once the transaction committed. Items sharing a key: the first
 * is the one written (or compared with the stored row); the others compare their hash with it.
 */
export function outcomesOf(
  items: readonly UsageAppendItem[],
  appended: ReadonlyMap<string, Checkpoint>,
  stored: ReadonlyMap<string, StoredUsageKey>,
): UsageAppendOutcome[] {
  const winners = new Map<string, { usageId: string; payloadHash: string }>();
  return items.map((item) => {
    const key = keyOf(item.tenantId, item.idempotencyKey);
    let winner = winners.get(key);
    if (winner === undefined) {
      const position = appended.get(item.event.id);
      if (position !== undefined) {
        winners.set(key, { usageId: item.event.id, payloadHash: item.payloadHash });
        return { status: 'accepted', usageId: item.event.id, position };
      }
      const row = stored.get(key);
      if (row === undefined) throw new Error(`usage key ${item.idempotencyKey} was neither appended nor found`);
      winner = { usageId: row.usageId, payloadHash: row.payloadHash };
      winners.set(key, winner);
    }
    return winner.payloadHash === item.payloadHash
      ? { status: 'duplicate', usageId: winner.usageId }
      : { status: 'conflict', usageId: winner.usageId };
  });
}

/** The first item of each (tenant, key), in order: the ones that go to the database. */
export function distinctKeys(items: readonly UsageAppendItem[]): UsageAppendItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = keyOf(item.tenantId, item.idempotencyKey);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export { keyOf as usageKeyOf };
