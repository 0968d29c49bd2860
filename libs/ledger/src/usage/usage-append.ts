import type { ClientBase, Pool } from 'pg';
import { jsonbRowsDocument, type JsonbRowColumn } from '#domain';
import type { Checkpoint } from '../event-store';
import { commitNotice } from '../postgres/postgres-notification-listener';
import type { UsageAppendItem, UsageAppendOutcome } from './usage-writer';

/**
 * The set-based core of usage ingestion in Postgres mode: many usage events (many requests, many
 * streams) in ONE transaction, with ONE statement that claims their idempotency keys and inserts the
 * events whose keys were free. The statement is the server-side function `abaxus_append_usage`
 * (infra/migrations/0010_usage_append_function.sql), and the rules of libs/ledger/README.md hold:
 *
 * - every stream written is locked first (advisory locks in name order, before any write, as
 *   `lockStreams` takes them), so the transaction gets its id only after the previous writer of each
 *   stream committed and the global order (tx_id, position) keeps every stream in revision order;
 * - revisions are assigned in SQL from `streams.revision` (exact under the locks), positions follow
 *   revisions, `streams` is upserted and subscribers are notified at commit, as `append` does.
 *
 * The key row and the event commit together or not at all: a crash can leave neither half alone.
 */
/**
 * The columns of a flush's document, in the order of each item's values: the order in which
 * `abaxus_append_usage` reads them (`r->>0` is tenant_id, and so on).
 */
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

/**
 * Named: each connection parses it once, and the function caches the plan of its statement, so a
 * flush is neither parsed nor planned again. $1 the rows' document, $2 the streams, $3 the channel,
 * $4 the notice.
 */
const APPEND_USAGE = `SELECT claimed, checkpoint FROM abaxus_append_usage($1::jsonb, $2::text[], $3, $4)`;

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
 * Locks the items' streams, claims their keys and appends the events of the keys it claimed, in one
 * round trip. Outside a transaction the call is its own (implicit) transaction, committed when it
 * returns and rolled back on any error: what the group commit does. Inside the caller's open READ
 * COMMITTED transaction, that transaction must have written nothing yet. Items must have distinct
 * (tenant, key). An item not claimed was not appended: its key was already taken (see readUsageKeys,
 * after commit).
 */
export async function appendUsage(
  client: ClientBase,
  items: readonly UsageAppendItem[],
  notifyChannel: string,
): Promise<AppendedUsage> {
  if (items.length === 0) return { claimed: new Set(), position: null };
  const result = await client.query<{ claimed: string[]; checkpoint: string | null }>({
    name: 'abaxus_append_usage',
    text: APPEND_USAGE,
    values: [
      jsonbRowsDocument(FLUSH_COLUMNS, items),
      [...new Set(items.map((item) => item.stream))],
      notifyChannel,
      // The flush's NOTIFY payload: the types of its events (all UsageRecorded, from the API).
      commitNotice(items.map((item) => item.event.type)),
    ],
  });
  const row = result.rows[0];
  // Ordinals are 1-based.
  return { claimed: new Set(row.claimed.map((ord) => Number(ord) - 1)), position: row.checkpoint };
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
