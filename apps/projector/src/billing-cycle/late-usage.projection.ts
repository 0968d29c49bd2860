import type { PoolClient } from 'pg';
import {
  USAGE_RECORDED,
  USAGE_VOIDED,
  isInstant,
  type AdjustmentRecorded,
  type InvoiceClosed,
  type InvoiceVoided,
} from '#domain';
import type { Projection, RecordedEvent } from '#ledger';
import { LATE_USAGE_CHECKED, type LateUsageChecked } from './late-usage.events';

/**
 * `late_usage`: which closed invoices may owe a late-usage check. One row per closed invoice (its
 * customer, period and metered metrics, copied from InvoiceClosed: projections never read each other's
 * tables) with two sequence numbers:
 *
 * - `changed_seq`: the last change that may affect it: its own close (so every invoice is checked once
 *   after it closed: usage that reached the log between its last calculation and its close is caught
 *   there), then every UsageRecorded or UsageVoided of its customer and metrics with a timestamp in
 *   its period, applied after the close;
 * - `checked_seq`: the highest `through_seq` of its LateUsageChecked events;
 * - `awaiting`: the adjustments its last check decided that are not recorded yet (a check is written
 *   before its adjustments: a crash in between leaves them here, and the invoice due).
 *
 * An invoice needs the cycle while `changed_seq > checked_seq` or something is awaited (a partial index
 * serves exactly those), and voided invoices never do. Sequence numbers count the InvoiceClosed, UsageRecorded and UsageVoided
 * events in log order (`late_usage_log`), so they depend on the log alone, never on batch boundaries:
 * a rebuild gives every row the same numbers, and the checks already in the log still match them.
 */
export const LATE_USAGE_PROJECTION = 'late_usage';

interface Close {
  tenant_id: string;
  invoice_id: string;
  customer_id: string;
  period_start: string;
  period_end: string;
  metric_keys: string;
  seq: number;
}

/** What a batch's checks and recorded late-usage adjustments do to one invoice's row, folded in log order. */
interface CheckFold {
  tenant_id: string;
  invoice_id: string;
  /** Highest through_seq of the batch's checks (0: none). */
  seq: number;
  /** The last check's adjustments not recorded since, when the batch holds a check; else null. */
  awaiting: Set<string> | null;
  /** Adjustments recorded in the batch, when it holds no check (removed from the stored list). */
  recorded: Set<string>;
}

interface Mark {
  tenant_id: string;
  customer_id: string;
  metric_key: string;
  ts: string;
  seq: number;
}

/** The events `apply` folds; every other type of the log is ignored. */
const FOLDED_TYPES: ReadonlySet<string> = new Set([
  'InvoiceClosed',
  'InvoiceVoided',
  USAGE_RECORDED,
  USAGE_VOIDED,
  LATE_USAGE_CHECKED,
  'AdjustmentRecorded',
]);

export const lateUsageProjection: Projection = {
  name: LATE_USAGE_PROJECTION,
  version: 1,
  // No `eventTypes`: usage is nearly all of the log, and a type-filtered page (one index walk per
  // type, the rows fetched again by position) costs more than the plain page holding the same rows
  // plus the few others. apply() keeps FOLDED_TYPES itself (the same events as the filter gave it).
  tables: {
    late_usage_invoices: (t) => `
      CREATE TABLE ${t} (
        tenant_id     text              NOT NULL,
        invoice_id    text COLLATE "C"  NOT NULL,
        customer_id   text              NOT NULL,
        period_start  timestamptz       NOT NULL,
        period_end    timestamptz       NOT NULL,
        metric_keys   text[]            NOT NULL,
        status        text              NOT NULL CHECK (status IN ('closed', 'void')),
        changed_seq   bigint            NOT NULL,
        checked_seq   bigint            NOT NULL,
        awaiting      jsonb             NOT NULL DEFAULT '[]',
        PRIMARY KEY (tenant_id, invoice_id)
      );
      CREATE INDEX ${t}_by_customer ON ${t} (tenant_id, customer_id, period_start);
      CREATE INDEX ${t}_due ON ${t} (tenant_id, changed_seq)
        WHERE status = 'closed' AND (changed_seq > checked_seq OR awaiting <> '[]');`,
    late_usage_log: (t) => `
      CREATE TABLE ${t} (id boolean PRIMARY KEY DEFAULT true CHECK (id), last_seq bigint NOT NULL);
      INSERT INTO ${t} (id, last_seq) VALUES (true, 0);`,
  },
  async apply(events, { client, table }) {
    const invoices = table('late_usage_invoices');
    const log = table('late_usage_log');
    const first = await lastSeq(client, log);
    let seq = first;
    const closes: Close[] = [];
    const marks: Mark[] = [];
    const voids: Array<[string, string]> = [];
    const checks = new Map<string, CheckFold>();
    for (const event of events) {
      if (!FOLDED_TYPES.has(event.type)) continue;
      const tenantId = event.metadata.tenant_id;
      if (event.type === 'InvoiceClosed') {
        seq += 1;
        const close = closeOf(tenantId, event, seq);
        if (close) closes.push(close);
      } else if (event.type === USAGE_RECORDED || event.type === USAGE_VOIDED) {
        seq += 1;
        const mark = markOf(tenantId, event, seq);
        if (mark) marks.push(mark);
      } else if (event.type === 'InvoiceVoided') {
        const { invoice_id } = (event.data ?? {}) as Partial<InvoiceVoided['data']>;
        if (typeof invoice_id === 'string') voids.push([tenantId, invoice_id]);
      } else {
        foldCheck(checks, tenantId, event);
      }
    }
    await insertCloses(client, invoices, closes);
    await markChanges(client, invoices, await marksThatMayMatter(client, invoices, marks));
    await applyVoidsAndChecks(client, invoices, voids, checks);
    if (seq !== first) await client.query(`UPDATE ${log} SET last_seq = $1`, [seq]);
  },
};

function foldCheck(checks: Map<string, CheckFold>, tenantId: string, event: RecordedEvent): void {
  const data = (event.data ?? {}) as Partial<LateUsageChecked['data']> & Partial<AdjustmentRecorded['data']>;
  if (typeof data.invoice_id !== 'string') return;
  if (event.type === 'AdjustmentRecorded' && (data.kind !== 'late_usage' || typeof data.adjustment_id !== 'string'))
    return;
  const key = JSON.stringify([tenantId, data.invoice_id]);
  let fold = checks.get(key);
  if (!fold) {
    fold = { tenant_id: tenantId, invoice_id: data.invoice_id, seq: 0, awaiting: null, recorded: new Set() };
    checks.set(key, fold);
  }
  if (event.type === LATE_USAGE_CHECKED) {
    if (!Number.isSafeInteger(data.through_seq)) return;
    fold.seq = Math.max(fold.seq, data.through_seq!);
    const planned = Array.isArray(data.adjustments) ? data.adjustments : [];
    fold.awaiting = new Set(planned.map((a) => a?.adjustment_id).filter((id): id is string => typeof id === 'string'));
  } else if (fold.awaiting !== null) {
    fold.awaiting.delete(data.adjustment_id!);
  } else {
    fold.recorded.add(data.adjustment_id!);
  }
}

async function lastSeq(client: PoolClient, log: string): Promise<number> {
  const { rows } = await client.query<{ last_seq: string }>(`SELECT last_seq FROM ${log}`);
  return Number(rows[0].last_seq);
}

/** The row of a closed invoice, or null for data no valid close has (never throw on an event). */
function closeOf(tenantId: string, event: RecordedEvent, seq: number): Close | null {
  const data = (event.data ?? {}) as Partial<InvoiceClosed['data']>;
  const { invoice_id, customer_id, period_start, period_end } = data;
  if (typeof invoice_id !== 'string' || typeof customer_id !== 'string') return null;
  if (!isInstant(period_start) || !isInstant(period_end)) return null;
  const lines = Array.isArray(data.calculation?.line_items) ? data.calculation.line_items : [];
  const metrics = [...new Set(lines.map((line) => line?.metric_key).filter((k) => typeof k === 'string'))];
  return {
    tenant_id: tenantId,
    invoice_id,
    customer_id,
    period_start,
    period_end,
    metric_keys: JSON.stringify(metrics),
    seq,
  };
}

/** A usage change's mark; its timestamp is checked by marksThatMayMatter, for the few marks it keeps. */
function markOf(tenantId: string, event: RecordedEvent, seq: number): Mark | null {
  const data = (event.data ?? {}) as { customer_id?: unknown; metric_key?: unknown; timestamp?: unknown };
  if (typeof data.customer_id !== 'string' || typeof data.metric_key !== 'string') return null;
  if (typeof data.timestamp !== 'string') return null;
  return { tenant_id: tenantId, customer_id: data.customer_id, metric_key: data.metric_key, ts: data.timestamp, seq };
}

/** A customer's key: (tenant, customer). */
const customerOf = (row: { tenant_id: string; customer_id: string }) => `${row.tenant_id}\u0000${row.customer_id}`;

/**
 * The marks that may touch a closed invoice: those of a customer with one, timestamped before the end
 * of the customer's latest closed period (a mark needs `ts < period_end` of some closed invoice). Nearly
 * all usage is of the open period, or of customers with nothing closed yet: one lookup per batch, by the
 * batch's customers, spares sending every usage event to markChanges (an array element per event and
 * column, and a join attempt each). Runs after insertCloses, so the batch's own closes count.
 */
async function marksThatMayMatter(client: PoolClient, invoices: string, marks: Mark[]): Promise<Mark[]> {
  if (marks.length === 0) return marks;
  const customers = new Map<string, [string, string]>();
  for (const mark of marks) customers.set(customerOf(mark), [mark.tenant_id, mark.customer_id]);
  const pairs = [...customers.values()];
  const { rows } = await client.query<{ tenant_id: string; customer_id: string; end_ms: string }>(
    `SELECT tenant_id, customer_id, ceil(extract(epoch FROM max(period_end)) * 1000)::bigint AS end_ms
       FROM ${invoices}
      WHERE status = 'closed' AND (tenant_id, customer_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      GROUP BY tenant_id, customer_id`,
    [pairs.map(([tenant]) => tenant), pairs.map(([, customer]) => customer)],
  );
  if (rows.length === 0) return [];
  const lastEnd = new Map(rows.map((row) => [customerOf(row), Number(row.end_ms)]));
  return marks.filter((mark) => {
    const endMs = lastEnd.get(customerOf(mark));
    if (endMs === undefined || !isInstant(mark.ts)) return false;
    // Date.parse keeps milliseconds (rounded or cut): a mark a whole millisecond past the end is past it.
    return Date.parse(mark.ts) - 1 < endMs;
  });
}

async function insertCloses(client: PoolClient, invoices: string, closes: Close[]): Promise<void> {
  if (closes.length === 0) return;
  await client.query(
    `INSERT INTO ${invoices} (tenant_id, invoice_id, customer_id, period_start, period_end, metric_keys, status,
                              changed_seq, checked_seq)
     SELECT c.tenant_id, c.invoice_id, c.customer_id, c.period_start, c.period_end,
            ARRAY(SELECT jsonb_array_elements_text(c.metric_keys)), 'closed', c.seq, 0
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[], $7::bigint[])
            AS c(tenant_id, invoice_id, customer_id, period_start, period_end, metric_keys, seq)
     ON CONFLICT (tenant_id, invoice_id) DO NOTHING`,
    [
      closes.map((c) => c.tenant_id),
      closes.map((c) => c.invoice_id),
      closes.map((c) => c.customer_id),
      closes.map((c) => c.period_start),
      closes.map((c) => c.period_end),
      closes.map((c) => c.metric_keys),
      closes.map((c) => c.seq),
    ],
  );
}

/** Each closed invoice a usage change touches takes the change's sequence number (the latest one). */
async function markChanges(client: PoolClient, invoices: string, marks: Mark[]): Promise<void> {
  if (marks.length === 0) return;
  await client.query(
    `UPDATE ${invoices} AS i SET changed_seq = m.seq
       FROM (SELECT t.tenant_id, t.invoice_id, max(u.seq) AS seq
               FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
                    AS u(tenant_id, customer_id, metric_key, ts, seq)
               JOIN ${invoices} t ON t.tenant_id = u.tenant_id AND t.customer_id = u.customer_id
                AND t.period_start <= u.ts AND u.ts < t.period_end AND u.metric_key = ANY (t.metric_keys)
              WHERE t.status = 'closed'
              GROUP BY t.tenant_id, t.invoice_id) AS m
      WHERE i.tenant_id = m.tenant_id AND i.invoice_id = m.invoice_id AND m.seq > i.changed_seq`,
    [
      marks.map((m) => m.tenant_id),
      marks.map((m) => m.customer_id),
      marks.map((m) => m.metric_key),
      marks.map((m) => m.ts),
      marks.map((m) => m.seq),
    ],
  );
}

async function applyVoidsAndChecks(
  client: PoolClient,
  invoices: string,
  voids: Array<[string, string]>,
  checks: Map<string, CheckFold>,
): Promise<void> {
  if (voids.length > 0) {
    await client.query(
      `UPDATE ${invoices} SET status = 'void'
        WHERE (tenant_id, invoice_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [voids.map(([t]) => t), voids.map(([, id]) => id)],
    );
  }
  if (checks.size === 0) return;
  const folds = [...checks.values()];
  // A check replaces what is awaited; recorded adjustments alone are taken off the stored list.
  await client.query(
    `UPDATE ${invoices} AS i SET
       checked_seq = GREATEST(i.checked_seq, u.seq),
       awaiting = CASE WHEN u.replace THEN u.awaiting
                       ELSE COALESCE((SELECT jsonb_agg(a.id) FROM jsonb_array_elements_text(i.awaiting) AS a(id)
                                       WHERE NOT (u.recorded ? a.id)), '[]'::jsonb) END
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::jsonb[], $6::jsonb[])
            AS u(tenant_id, invoice_id, seq, replace, awaiting, recorded)
      WHERE i.tenant_id = u.tenant_id AND i.invoice_id = u.invoice_id`,
    [
      folds.map((f) => f.tenant_id),
      folds.map((f) => f.invoice_id),
      folds.map((f) => f.seq),
      folds.map((f) => f.awaiting !== null),
      folds.map((f) => JSON.stringify([...(f.awaiting ?? [])].sort())),
      folds.map((f) => JSON.stringify([...f.recorded].sort())),
    ],
  );
}
