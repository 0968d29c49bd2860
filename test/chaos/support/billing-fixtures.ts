import type { Pool } from 'pg';
import type { EventStore } from '#ledger';
import { invoiceIdFor } from '../../../apps/api/src/billing/billing-context';
import { updateTenantSettings } from '../../../apps/api/src/settings/settings.operations';
import { seedCatalog, type SeededCatalog } from '../../../apps/projector/src/billing-cycle/testing/cycle-fixtures';
import { appendUsage, usageRecorded } from '../../../apps/projector/src/usage/testing/usage-fixtures';

/**
 * The billing side of the chaos scenarios: subscriptions whose billing periods really ended before
 * now (calendar months, UTC, started two months ago: two ended periods each), usage in each period,
 * a grace of 0 so the cycle drafts and closes at once, and the checks of what the cycle left behind.
 */
export const BILLING_TENANT = 'chaos';

export interface BilledPeriod {
  subscriptionId: string;
  start: string;
  end_exclusive: string;
  invoiceId: string;
}

const monthStart = (now: Date, monthsBack: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1));

/** The tenant, its catalog (metric `calls`, plan `pro`) and a grace of 0: ended periods close at once. */
export async function seedBillingTenant(store: EventStore): Promise<SeededCatalog> {
  const catalog = await seedCatalog(store, BILLING_TENANT);
  await updateTenantSettings({ store, tenantId: BILLING_TENANT, actor: 'system:test', billing_grace_seconds: 0 });
  return catalog;
}

/**
 * Subscriptions `from`..`from + count - 1` (customers `bc_<n>`), started two calendar months ago, with
 * three usage events in each of their two ended periods.
 */
export async function seedEndedSubscriptions(
  store: EventStore,
  catalog: SeededCatalog,
  range: { from: number; count: number },
  now = new Date(),
): Promise<BilledPeriod[]> {
  const periods = [
    { start: monthStart(now, 2).toISOString(), end_exclusive: monthStart(now, 1).toISOString() },
    { start: monthStart(now, 1).toISOString(), end_exclusive: monthStart(now, 0).toISOString() },
  ];
  const billed: BilledPeriod[] = [];
  for (let n = range.from; n < range.from + range.count; n += 1) {
    const customer = `bc_${String(n).padStart(3, '0')}`;
    const subscriptionId = await catalog.subscribe(customer, periods[0].start.slice(0, 10));
    const usage = periods.flatMap((period, p) =>
      [1, 2, 3].map((i) =>
        usageRecorded({
          tenant: BILLING_TENANT,
          customer,
          metric: 'calls',
          timestamp: new Date(Date.parse(period.start) + i * 86_400_000).toISOString(),
          value: String(n * 10 + p + i),
        }),
      ),
    );
    await appendUsage(store, usage);
    for (const period of periods)
      billed.push({ subscriptionId, ...period, invoiceId: invoiceIdFor(subscriptionId, period) });
  }
  return billed;
}

/** Counts of the cycle's facts so far (the kill trigger watches them move). */
export async function billingProgress(
  pool: Pool,
): Promise<{ drafted: number; assigned: number; closed: number; journal: number }> {
  const { rows } = await pool.query<{ type: string; n: number }>(
    `SELECT type, count(*)::int AS n FROM events
      WHERE tenant_id = $1 AND type IN ('InvoiceDrafted', 'InvoiceNumberAssigned', 'InvoiceClosed', 'LedgerEntryPosted')
      GROUP BY type`,
    [BILLING_TENANT],
  );
  const of = (type: string) => rows.find((row) => row.type === type)?.n ?? 0;
  return {
    drafted: of('InvoiceDrafted'),
    assigned: of('InvoiceNumberAssigned'),
    closed: of('InvoiceClosed'),
    journal: of('LedgerEntryPosted'),
  };
}

export interface BillingAudit {
  /** Expected (subscription, period) pairs without a closed invoice. */
  missing: string[];
  /** Invoices (or subscription periods) closed more than once. */
  duplicates: string[];
  /** Closed invoices that are not one of the expected periods. */
  unexpected: string[];
  /** Numbers 1..n expected; those absent from the assignments, and assignments repeated. */
  gaps: number[];
  numbers: number;
  /** Closed invoices whose number differs from their assignment's. */
  numberMismatches: string[];
  closed: number;
  drafts: number;
  journal: { entries: number; invoiceEntries: number; debits: string; credits: string };
}

/** Everything the scenario asserts about the invoices, the numbers and the journal, read from the log. */
export async function auditBilling(pool: Pool, expected: readonly BilledPeriod[]): Promise<BillingAudit> {
  const closed = await pool.query<{ invoice_id: string; number: string; sub: string; start: string }>(
    `SELECT data->>'invoice_id' AS invoice_id, data->>'number' AS number,
            data->>'subscription_id' AS sub, data->>'period_start' AS start
       FROM events WHERE tenant_id = $1 AND type = 'InvoiceClosed' ORDER BY position`,
    [BILLING_TENANT],
  );
  const assigned = await pool.query<{ invoice_id: string; revision: string }>(
    `SELECT data->>'invoice_id' AS invoice_id, revision::text FROM events
      WHERE tenant_id = $1 AND type = 'InvoiceNumberAssigned' ORDER BY revision`,
    [BILLING_TENANT],
  );
  const seen = new Map<string, number>();
  for (const row of closed.rows) {
    for (const key of [row.invoice_id, `${row.sub}@${new Date(row.start).toISOString()}`])
      seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const expectedIds = new Set(expected.map((period) => period.invoiceId));
  const numberOf = new Map(assigned.rows.map((row) => [row.invoice_id, Number(row.revision) + 1]));
  const sequences = assigned.rows.map((row) => Number(row.revision) + 1);
  const gaps: number[] = [];
  for (let n = 1; n <= Math.max(expected.length, ...sequences); n += 1)
    if (sequences.filter((s) => s === n).length !== 1) gaps.push(n);
  const journal = await pool.query<{ entries: number; invoice_entries: number; debits: string; credits: string }>(
    `SELECT count(DISTINCT e.id)::int AS entries,
            count(DISTINCT e.id) FILTER (WHERE e.data->>'kind' = 'invoice')::int AS invoice_entries,
            coalesce(sum((l->>'debit')::numeric), 0)::text AS debits,
            coalesce(sum((l->>'credit')::numeric), 0)::text AS credits
       FROM events e CROSS JOIN LATERAL jsonb_array_elements(e.data->'lines') l
      WHERE e.tenant_id = $1 AND e.type = 'LedgerEntryPosted'`,
    [BILLING_TENANT],
  );
  const drafts = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE tenant_id = $1 AND type = 'InvoiceDrafted'`,
    [BILLING_TENANT],
  );
  return {
    missing: expected.filter((period) => !seen.has(period.invoiceId)).map((p) => `${p.subscriptionId}@${p.start}`),
    duplicates: [...seen].filter(([, n]) => n > 1).map(([key]) => key),
    unexpected: closed.rows.filter((row) => !expectedIds.has(row.invoice_id)).map((row) => row.invoice_id),
    gaps,
    numbers: sequences.length,
    numberMismatches: closed.rows
      .filter((row) => row.number !== `INV-${String(numberOf.get(row.invoice_id) ?? 0).padStart(6, '0')}`)
      .map((row) => row.invoice_id),
    closed: closed.rows.length,
    drafts: drafts.rows[0].n,
    journal: {
      entries: journal.rows[0].entries,
      invoiceEntries: journal.rows[0].invoice_entries,
      debits: journal.rows[0].debits,
      credits: journal.rows[0].credits,
    },
  };
}

/**
 * Whether a projector process is in the middle of an append on `database`: it holds a stream's
 * transaction-level advisory lock (two-key, taken by the event store's append until commit; the
 * billing lease is a one-key session lock). A SIGKILL now lands mid-write: the append rolls back.
 */
export async function projectorAppending(pool: Pool, database: string): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE a.datname = $1 AND a.application_name = 'abaxus-projector'
        AND l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted`,
    [database],
  );
  return rows[0].n > 0;
}
