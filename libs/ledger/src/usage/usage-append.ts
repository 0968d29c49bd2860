import { randomBytes } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { jsonbRowsDocument, jsonbRowsSql, type JsonbRowColumn } from '#domain';
import type { Checkpoint } from '../event-store';
import { STREAM_LOCK_NAMESPACE, lockStreams } from '../postgres/postgres-append';
import { commitNotice } from '../postgres/postgres-notification-listener';
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
/** The columns of a flush's `batch`, in the order of each item's values. */
const FLUSH_COLUMNS: ReadonlyArray<JsonbRowColumn<UsageAppendItem>> = [
  { name: 'tenant_id', type: 'text', value: (i) => i.tenantId },
  { name: 'idempotency_key', type: 'text', value: (i) => i.idempotencyKey },
  { name: 'payload_hash', type: 'text', value: (i) => i.payloadHash },
  { name: 'id', type: 'uuid', value: (i) => i.event.id },
  { name: 'stream', type: 'text', value: (i) => i.stream },
  { name: 'customer_id', type: 'text', value: (i) => i.customerId },
  { name: 'metric_key', type: 'text', value: (i) => i.metricKey },
  { name: 'ts', type: 'text', value: (i) => i.timestamp },
  { name: 'type', type: 'text', value: (i) => i.event.type },
  { name: 'data', type: 'jsonb', value: (i) => i.event.data },
  { name: 'metadata', type: 'jsonb', value: (i) => i.event.metadata },
];

const claimAndInsert = (rows: string, channel: string, notice: string) => `
WITH batch AS (
  -- One jsonb document for the whole flush (jsonbRowsSql): parsed once by the server, nested data
  -- and metadata taken from it as jsonb, in the items' order (ord).
  ${jsonbRowsSql(`${rows}::jsonb`, FLUSH_COLUMNS)}
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
), last AS (
  SELECT i.tx_id::text || '/' || max(i.position)::text AS checkpoint FROM inserted i GROUP BY i.tx_id
)
-- Which items were claimed (by ordinal), the flush's last position, and the commit-time wake-up,
-- which names the types written (subscriptions that follow other types do not read on it).
SELECT coalesce((SELECT array_agg(f.ord) FROM fresh f), '{}') AS claimed,
       (SELECT checkpoint FROM last) AS checkpoint,
       (SELECT count(pg_notify(${channel}, ${notice})) FROM last) AS notified`;

/**
 * The statement with bind parameters ($1 the rows' jsonb document, $2 the channel, $3 the notice), prepared
 * once per connection.
 */
const CLAIM_AND_INSERT = claimAndInsert('$1', '$2', '$3');

const READ_KEYS = `
SELECT k.tenant_id, k.idempotency_key, k.payload_hash, k.usage_id::text AS usage_id
  FROM unnest($1::text[], $2::text[]) AS q(tenant_id, idempotency_key)
  JOIN usage_idempotency k ON k.tenant_id = q.tenant_id AND k.idempotency_key = q.idempotency_key`;

/** What one flush statement wrote. */
export interface AppendedUsage {
  /** Indexes (into the items passed) of the items whose keys were claimed and events appended. */
  claimed: Set<number>;
  /** Position of the flush's last event (at or after each appended event's); null when none. */
  position: Checkpoint | null;
}

/**
 * Inside the caller's open READ COMMITTED transaction, which has written nothing yet: locks the
 * items' streams, claims their keys and appends the events of the keys it claimed. Items must have
 * distinct (tenant, key). An item not claimed was not appended: its key was already taken (see
 * readUsageKeys, after commit).
 */
export async function appendUsageWithin(
  client: ClientBase,
  items: readonly UsageAppendItem[],
  notifyChannel: string,
): Promise<AppendedUsage> {
  if (items.length === 0) return { claimed: new Set(), position: null };
  await lockStreams(client, [...new Set(items.map((item) => item.stream))]);
  const result = await client.query<ClaimRow>({
    name: 'abaxus_usage_claim_and_insert',
    text: CLAIM_AND_INSERT,
    values: [flushRows(items), notifyChannel, noticeOf(items)],
  });
  return appendedOf(result.rows[0]);
}

interface ClaimRow {
  claimed: string[];
  checkpoint: string | null;
}

function appendedOf(row: ClaimRow): AppendedUsage {
  // Ordinals are 1-based.
  return { claimed: new Set(row.claimed.map((ord) => Number(ord) - 1)), position: row.checkpoint };
}

/** The rows of a flush, as the statement's `batch` reads them (jsonbRowsDocument). */
function flushRows(items: readonly UsageAppendItem[]): string {
  return jsonbRowsDocument(FLUSH_COLUMNS, items);
}

/** The flush's NOTIFY payload: the types of its events (all UsageRecorded, from the API). */
function noticeOf(items: readonly UsageAppendItem[]): string {
  return commitNotice(items.map((item) => item.event.type));
}

/** A dollar-quoted literal: no escaping at all, with a tag that does not occur in the text. */
function dollarQuoted(text: string): string {
  for (;;) {
    const tag = `$u${randomBytes(6).toString('hex')}$`;
    if (!text.includes(tag)) return `${tag}${text}${tag}`;
  }
}

/**
 * appendUsageWithin as its own transaction in ONE round trip: the stream locks and the claim/insert
 * statement sent together as one simple query, which Postgres runs as one implicit transaction
 * (committed at its end, rolled back on any error) with a fresh READ COMMITTED snapshot per
 * statement, so the insert sees what the writers it waited for committed. The same locks in the same
 * order as lockStreams (so it never deadlocks with appends), the same statement. Round trips, not
 * SQL, dominate a small flush on a busy machine: this one is a third of the latency of
 * BEGIN / lock / insert / COMMIT. The data travels as dollar-quoted JSON literals, never as SQL.
 */
export async function appendUsageInOneTrip(
  client: ClientBase,
  items: readonly UsageAppendItem[],
  notifyChannel: string,
): Promise<AppendedUsage> {
  if (items.length === 0) return { claimed: new Set(), position: null };
  const streams = dollarQuoted(JSON.stringify([...new Set(items.map((item) => item.stream))]));
  const text = `SELECT count(pg_advisory_xact_lock(${STREAM_LOCK_NAMESPACE}, hashtext(s)))
      FROM (SELECT s FROM (SELECT DISTINCT s FROM json_array_elements_text(${streams}::json) AS s) d
            ORDER BY s COLLATE "C") sorted;
    ${claimAndInsert(dollarQuoted(flushRows(items)), dollarQuoted(notifyChannel), dollarQuoted(noticeOf(items)))}`;
  const results = (await client.query(text)) as unknown as Array<{ rows: ClaimRow[] }>;
  return appendedOf(results[1].rows[0]);
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

/** An item's outcome and the payload hash its key is recorded with (to judge repeats of the key). */
export interface UsageKeyResult {
  outcome: UsageAppendOutcome;
  winnerHash: string;
}

/**
 * Outcome of each item, in order, once the transaction committed. Items sharing a key: the first
 * is the one written (or compared with the stored row); the others compare their hash with it.
 */
export function outcomesOf(
  items: readonly UsageAppendItem[],
  leaders: readonly UsageAppendItem[],
  appended: AppendedUsage,
  stored: ReadonlyMap<string, StoredUsageKey>,
): UsageKeyResult[] {
  const winners = new Map<string, UsageKeyResult>();
  leaders.forEach((item, index) => {
    const key = keyOf(item.tenantId, item.idempotencyKey);
    if (appended.claimed.has(index)) {
      const outcome: UsageAppendOutcome = { status: 'accepted', usageId: item.event.id, position: appended.position };
      winners.set(key, { outcome, winnerHash: item.payloadHash });
      return;
    }
    const row = stored.get(key);
    if (row === undefined) throw new Error(`usage key ${item.idempotencyKey} was neither appended nor found`);
    winners.set(key, { outcome: judge(item.payloadHash, row.payloadHash, row.usageId), winnerHash: row.payloadHash });
  });
  const leading = new Set(leaders);
  return items.map((item) => {
    const winner = winners.get(keyOf(item.tenantId, item.idempotencyKey))!;
    if (leading.has(item)) return winner;
    return {
      outcome: judge(item.payloadHash, winner.winnerHash, winner.outcome.usageId),
      winnerHash: winner.winnerHash,
    };
  });
}

/** A repeat of a recorded key: the same payload is a duplicate, another one a conflict. */
export function judge(payloadHash: string, recordedHash: string, usageId: string): UsageAppendOutcome {
  return payloadHash === recordedHash ? { status: 'duplicate', usageId } : { status: 'conflict', usageId };
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
