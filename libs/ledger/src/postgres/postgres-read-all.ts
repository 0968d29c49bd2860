import { inTransaction } from '#platform';
import type { Pool } from 'pg';
import type { Checkpoint, ReadAllOptions, ReadAllResult } from '../event-store';
import { START_CHECKPOINT, decodeCheckpoint, encodeCheckpoint } from './postgres-checkpoint';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './postgres-event-row';

/**
 * The visibility rule, used by every read of the global log: an event is readable once its
 * transaction id is below the horizon, `pg_snapshot_xmin(pg_current_snapshot())`, the oldest
 * transaction still running. Every transaction below it has finished, and every transaction still
 * to commit has an id at or above it, so once a reader passes `(tx_id, position)` nothing can later
 * appear behind it. Reading by `position` alone would skip an event whose transaction commits after
 * one holding a greater position.
 */
const HORIZON = 'pg_snapshot_xmin(pg_current_snapshot())';

/**
 * The one event type left out of the (type, tx_id, position) index (infra/migrations/0009): usage,
 * the bulk of the log, which no reader follows by type. The same string as the domain's
 * USAGE_RECORDED (libs/domain/src/usage/usage.events.ts); the store does not depend on the domain.
 */
export const UNINDEXED_TYPE = 'UsageRecorded';

export interface LogPage extends ReadAllResult {
  /** Committed events exist at or above the horizon: they become visible when older transactions end. */
  pending: boolean;
}

/** Committed events at or above the horizon; ordered with a limit so it walks the index from the horizon. */
const PENDING =
  '(SELECT p.tx_id FROM events p WHERE p.tx_id >= (SELECT horizon FROM h) ORDER BY p.tx_id LIMIT 1) IS NOT NULL';

/**
 * Without a filter: the next maxCount visible events. The outer LEFT JOIN returns one row even
 * when the page is empty, to carry `pending`. No outer ORDER BY: the limited walk of the index
 * yields the rows in log order, and sorting them again (wide rows, data and metadata) spilled a
 * page of 8,000 usage events to disk: 28 ms for the statement against 11 ms for the walk. SQL
 * promises no order without it, so inLogOrder checks the order, and sorts should it ever differ.
 */
const READ_PAGE = `
WITH h AS MATERIALIZED (SELECT ${HORIZON} AS horizon)
SELECT ${PENDING} AS pending, page.*
  FROM (SELECT 1) one
  LEFT JOIN (
    SELECT ${EVENT_COLUMNS} FROM events e
     WHERE (e.tx_id, e.position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT horizon FROM h)
     ORDER BY e.tx_id, e.position LIMIT $3
  ) page ON true`;

/**
 * With a filter: each wanted type is an ordered, limited walk of the (type, tx_id, position) index,
 * and the walks are merged; so a reader following a few rare types (API keys, catalog changes) reads
 * only those events, however much usage the log holds. When fewer than maxCount match, every visible
 * event up to the head was looked at, and the checkpoint moves to the head (`s`), read in the same
 * snapshot so an event committed meanwhile cannot be passed over unseen.
 */
export function filteredPageSql(typeCount: number, bulkLast: boolean): string {
  const walks = Array.from({ length: typeCount }, (_, i) => {
    // The partial index (migration 0009) holds every type but UsageRecorded: a walk of another type
    // repeats its predicate so the planner can use it; a walk of UsageRecorded, nearly every event,
    // walks the log in order (events_tx_position) and checks the type of each row.
    const bulk = bulkLast && i === typeCount - 1;
    const rare = bulk ? '' : ` AND e.type <> '${UNINDEXED_TYPE}'`;
    return `(SELECT e.tx_id, e.position FROM events e
       WHERE e.type = $${i + 4}${rare} AND (e.tx_id, e.position) > ($1::xid8, $2::bigint)
         AND e.tx_id < (SELECT horizon FROM h)
       ORDER BY e.tx_id, e.position LIMIT $3)`;
  });
  return `
WITH h AS MATERIALIZED (SELECT ${HORIZON} AS horizon),
m AS MATERIALIZED (
  SELECT t.position FROM (${walks.join(' UNION ALL ')}) t ORDER BY t.tx_id, t.position LIMIT $3
),
s AS (
  SELECT l.tx_id::text AS end_tx_id, l.position::text AS end_position, ${PENDING} AS pending
    FROM (SELECT 1) one
    LEFT JOIN (SELECT e.tx_id, e.position FROM events e
                WHERE (e.tx_id, e.position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT horizon FROM h)
                ORDER BY e.tx_id DESC, e.position DESC LIMIT 1) l ON true
)
SELECT s.end_tx_id, s.end_position, s.pending, ${EVENT_COLUMNS}
  FROM s LEFT JOIN (m JOIN events e ON e.position = m.position) ON true
 ORDER BY e.tx_id, e.position`;
}

/**
 * Visible events one excluding page looks at, per event it may return: the excluded types are the
 * bulk of the log (usage), so a page walks this many times maxCount positions in log order, checks
 * each row's type, and fetches only the rows it keeps. A wider window means fewer (often empty)
 * pages; the walk reads narrow heap tuples, never the payloads it skips.
 */
export const EXCLUDE_SCAN_FACTOR = 10;

/**
 * "Every type but these": one ordered, limited walk of the (tx_id, position) index over a window of
 * maxCount * EXCLUDE_SCAN_FACTOR visible events ($4), keeping at most maxCount of the other types.
 * `s` carries the last position the window looked at, so an empty page still moves the checkpoint.
 */
function excludingPageSql(): string {
  return `
WITH h AS MATERIALIZED (SELECT ${HORIZON} AS horizon),
w AS MATERIALIZED (
  SELECT e.tx_id, e.position, e.type FROM events e
   WHERE (e.tx_id, e.position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT horizon FROM h)
   ORDER BY e.tx_id, e.position LIMIT $4
),
m AS MATERIALIZED (
  SELECT w.tx_id, w.position FROM w WHERE w.type <> ALL ($5::text[]) ORDER BY w.tx_id, w.position LIMIT $3
),
s AS (
  SELECT l.tx_id::text AS end_tx_id, l.position::text AS end_position, (SELECT count(*) FROM w)::int AS scanned,
         ${PENDING} AS pending
    FROM (SELECT 1) one
    LEFT JOIN (SELECT w.tx_id, w.position FROM w ORDER BY w.tx_id DESC, w.position DESC LIMIT 1) l ON true
)
SELECT s.end_tx_id, s.end_position, s.scanned, s.pending, ${EVENT_COLUMNS}
  FROM s LEFT JOIN (m JOIN events e ON e.position = m.position) ON true
 ORDER BY e.tx_id, e.position`;
}

interface PageRow extends EventRow {
  pending: boolean;
  /** Filtered reads only: the last visible event after the checkpoint. */
  end_tx_id?: string | null;
  end_position?: string | null;
  /** Excluding reads only: visible events the window looked at. */
  scanned?: number;
}

/**
 * Decimal text of a non-negative integer (xid8, bigint), no leading zeros: shorter is smaller. The
 * order of compareLogPositions, on the rows' text: parsing two BigInts per row for it cost 4 ms per
 * 8,000-row page against 0.3 ms.
 */
function compareNumericText(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareLogOrder(a: EventRow, b: EventRow): number {
  return compareNumericText(a.tx_id, b.tx_id) || compareNumericText(a.position, b.position);
}

/** The rows in log order, (tx_id, position): as they are when they already are (one pass), else sorted. */
export function inLogOrder<Row extends EventRow>(rows: Row[]): Row[] {
  for (let i = 1; i < rows.length; i++) {
    if (compareLogOrder(rows[i - 1], rows[i]) > 0) return [...rows].sort(compareLogOrder);
  }
  return rows;
}

export function assertCount(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

export async function readLogPage(pool: Pool, from: Checkpoint | null, options: ReadAllOptions = {}): Promise<LogPage> {
  const start = decodeCheckpoint(from);
  const maxCount = options.maxCount ?? 1000;
  assertCount('maxCount', maxCount);
  const excluded = new Set(options.excludeTypes ?? []);
  const types = options.types === undefined ? null : [...new Set(options.types)].filter((type) => !excluded.has(type));
  const cursor = [start.txId.toString(), start.position.toString(), maxCount];
  if (types === null && excluded.size > 0) return readExcludingPage(pool, from, cursor, [...excluded]);
  // Named (prepared once per connection): a projector reads a page per projection at every commit
  // it is told of, and planning these statements cost more than running them (pg_stat_statements,
  // 64 clients sending single events: 0.5 ms of planning per read, ~7 s of server CPU in 25 s).
  const result =
    types === null
      ? await pool.query<PageRow>({ name: 'abaxus_read_page', text: READ_PAGE, values: cursor })
      : await readFilteredPage(pool, cursor, types);
  const summary = result.rows[0];
  const rows = result.rows.filter((row) => row.id !== null);
  const events = (types === null ? inLogOrder(rows) : rows).map(toRecordedEvent);
  if (types === null) {
    const checkpoint = events.at(-1)?.position ?? from ?? START_CHECKPOINT;
    return { events, checkpoint, atHead: events.length < maxCount, pending: summary.pending };
  }
  const head = summary.end_tx_id ? encodeCheckpoint(summary.end_tx_id, summary.end_position!) : null;
  if (events.length === maxCount) {
    // More may match: resume after the last event returned.
    const checkpoint = events[events.length - 1].position;
    return { events, checkpoint, atHead: checkpoint === head, pending: summary.pending };
  }
  // Every visible event up to the head was considered: skip past the ones the filter left out.
  return { events, checkpoint: head ?? from ?? START_CHECKPOINT, atHead: true, pending: summary.pending };
}

/**
 * No types: one NULL type that matches nothing, so the page still reports the head and `pending`.
 * UsageRecorded, if wanted, walks last (the one walk not on the partial type index).
 */
function readFilteredPage(pool: Pool, cursor: Array<string | number>, types: string[]) {
  const slots = Math.max(1, types.length);
  const bulkLast = types.includes(UNINDEXED_TYPE);
  const ordered = bulkLast ? [...types.filter((type) => type !== UNINDEXED_TYPE), UNINDEXED_TYPE] : types;
  return pool.query<PageRow>({
    name: `abaxus_read_filtered_${slots}${bulkLast ? '_bulk' : ''}`,
    text: filteredPageSql(slots, bulkLast),
    values: types.length === 0 ? [...cursor, null] : [...cursor, ...ordered],
  });
}

async function readExcludingPage(
  pool: Pool,
  from: Checkpoint | null,
  cursor: Array<string | number>,
  excluded: string[],
): Promise<LogPage> {
  const maxCount = cursor[2] as number;
  const window = maxCount * EXCLUDE_SCAN_FACTOR;
  const result = await pool.query<PageRow>({
    name: 'abaxus_read_excluding',
    text: excludingPageSql(),
    values: [...cursor, window, excluded],
  });
  const summary = result.rows[0];
  const events = result.rows.filter((row) => row.id !== null).map(toRecordedEvent);
  const end = summary.end_tx_id ? encodeCheckpoint(summary.end_tx_id, summary.end_position!) : null;
  const windowEnded = summary.scanned! < window;
  if (events.length === maxCount) {
    // The page filled up inside the window: resume after its last event, not after the window.
    const checkpoint = events[events.length - 1].position;
    return { events, checkpoint, atHead: windowEnded && checkpoint === end, pending: summary.pending };
  }
  // Every event of the window was looked at: resume after the window, past what it skipped.
  return { events, checkpoint: end ?? from ?? START_CHECKPOINT, atHead: windowEnded, pending: summary.pending };
}

/**
 * The visible events after a checkpoint, counted up to $3: a walk of the (tx_id, position) index from
 * the checkpoint, in order, so its cost follows the events counted, not the size of the log. Run it
 * with COUNT_VISIBLE_AFTER_SETTINGS. Why each part (auto_explain during the ingestion and metering
 * benches, on a log autovacuum had not analysed yet):
 * - Without the ORDER BY and the plain `tx_id >= $1`, the planner guessed a third of the table
 *   matched and took a sequential scan to find the first $3 rows; the rows after a recent checkpoint
 *   are the last of the table, so each of the projector's lag counts read the whole log (40-275 ms
 *   at up to 1 M events, under load).
 * - With them but without the settings, it took a bitmap scan and sorted the rows it found (it
 *   expected 13,000, and got up to $3): a count of 750,000 events sorted them on disk, 657 ms
 *   against 269 ms for the index walk.
 */
export const COUNT_VISIBLE_AFTER_SQL = `SELECT count(*)::text AS n FROM (
  SELECT 1 FROM events e
   WHERE e.tx_id >= $1::xid8 AND (e.tx_id, e.position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT ${HORIZON})
   ORDER BY e.tx_id, e.position LIMIT $3) visible`;

/** For COUNT_VISIBLE_AFTER_SQL's transaction alone: no plan that sorts, so the ordered index walk. */
export const COUNT_VISIBLE_AFTER_SETTINGS = 'SET LOCAL enable_sort = off';

export async function countVisibleAfter(pool: Pool, from: Checkpoint | null, limit: number): Promise<number> {
  const start = decodeCheckpoint(from);
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`limit must be an integer >= 0, got ${String(limit)}`);
  if (limit === 0) return 0;
  const params = [start.txId.toString(), start.position.toString(), limit];
  const result = await inTransaction(pool, (client) => client.query<{ n: string }>(COUNT_VISIBLE_AFTER_SQL, params), {
    readOnly: true,
    settings: [COUNT_VISIBLE_AFTER_SETTINGS],
  });
  return Number(result.rows[0].n);
}

export async function visibleHead(pool: Pool): Promise<Checkpoint | null> {
  const result = await pool.query<{ tx_id: string; position: string }>(
    `SELECT e.tx_id::text AS tx_id, e.position::text AS position FROM events e
      WHERE e.tx_id < (SELECT ${HORIZON}) ORDER BY e.tx_id DESC, e.position DESC LIMIT 1`,
  );
  const row = result.rows[0];
  return row === undefined ? null : encodeCheckpoint(row.tx_id, row.position);
}
