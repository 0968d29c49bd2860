import { ProjectionWaitTimeoutError, waitForPosition } from '#ledger';
import { checkLateUsage } from './late-usage-check';
import { LATE_USAGE_PROJECTION } from './late-usage.projection';
import { forEachConcurrently, type TenantRun } from './tenant-run';
import { failureOf } from './tick-report';

interface ChangedInvoice {
  invoice_id: string;
  customer_id: string;
  changed_seq: string;
  checkpoint: string | null;
}

/** How long a tick waits for the usage read model to show every change it is about to check. */
const USAGE_WAIT_MS = 10_000;

/**
 * Step 2 of a tick: the tenant's closed invoices whose usage changed since they closed (or since their
 * last check), or whose last check's adjustments a crash left unrecorded, oldest change first, at most `lateUsageLimit` of them, read from the `late_usage` read
 * model's partial index: the cost follows the late changes, not the number of invoices or events.
 * Each is checked (checkLateUsage) after the usage read model has applied everything `late_usage` had
 * seen when it was read, so a check never misses the change that made the invoice due for one. A
 * customer's invoices are checked one after the other; customers side by side.
 */
export async function checkChangedInvoices(run: TenantRun): Promise<void> {
  const { rows } = await run.pool.query<ChangedInvoice>(
    `SELECT invoice_id, customer_id, changed_seq::text AS changed_seq,
            (SELECT checkpoint FROM projections WHERE name = $3 AND status = 'live') AS checkpoint
       FROM late_usage_invoices
      WHERE tenant_id = $1 AND status = 'closed' AND (changed_seq > checked_seq OR awaiting <> '[]')
      ORDER BY changed_seq LIMIT $2`,
    [run.tenantId, run.lateUsageLimit, LATE_USAGE_PROJECTION],
  );
  if (rows.length === 0) return;
  try {
    await waitForPosition(run, 'usage', rows[0].checkpoint, USAGE_WAIT_MS);
  } catch (error) {
    if (!(error instanceof ProjectionWaitTimeoutError)) throw error;
    run.logger?.warn(
      { tenant_id: run.tenantId },
      'billing cycle: usage read model behind; late usage checked next tick',
    );
    return;
  }
  const byCustomer = new Map<string, ChangedInvoice[]>();
  for (const row of rows) byCustomer.set(row.customer_id, [...(byCustomer.get(row.customer_id) ?? []), row]);
  await forEachConcurrently([...byCustomer.values()], run.concurrency, async (invoices) => {
    for (const invoice of invoices) {
      try {
        if (await checkLateUsage(run, invoice.invoice_id, Number(invoice.changed_seq))) run.report.checked += 1;
      } catch (error) {
        const failure = failureOf(run.tenantId, `invoice:${invoice.invoice_id}`, error);
        run.report.failed.push(failure);
        run.logger?.warn(failure, 'billing cycle: late usage check failed; retried next tick');
      }
    }
  });
}
