import type { Command } from 'commander';
import { BillingError } from '#domain';
import { loadInvoice } from '#ledger';
import { closeInvoice } from '../../../api/src';
import { closeRequestOf } from '../../../api/src/billing/billing.service';
import { invoiceView } from '../../../api/src/billing/billing.views';
import { print } from '../output';
import { cliBillingContext, withRuntime } from './audit.command';

/**
 * Invoices from the command line (finance): the same operation POST /v1/invoices/:id/close runs (the
 * last recalculation needs the projector's read models at the log head, as over HTTP).
 */
export function registerInvoiceCommands(program: Command): void {
  const invoices = program.command('invoices').description('invoices (finance)');
  invoices
    .command('close <invoice-id>')
    .description('close a draft: last recalculation, snapshots, the next gapless number (closing again is a no-op)')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--tax-amount <money>', "tax as computed by your tax provider, in the invoice's currency (default 0)")
    .action(async (invoiceId: string, options: { tenant: string; taxAmount?: string }, command: Command) => {
      await withRuntime(true, async (runtime) => {
        const ctx = cliBillingContext(runtime, options.tenant);
        const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
        if (state.status === 'absent') throw new BillingError('INVOICE.NOT_FOUND', `no invoice ${invoiceId}`);
        const currency = state.status === 'draft' ? state.draft.currency : state.invoice.currency;
        const outcome = await closeInvoice(ctx, invoiceId, closeRequestOf({ tax_amount: options.taxAmount }, currency));
        const view = invoiceView(outcome.invoiceId, outcome.state);
        print(command, view, () =>
          outcome.change === 'closed'
            ? `closed ${invoiceId} as ${view.number}: total ${view.total} ${view.currency}`
            : `${invoiceId} was already ${view.status} as ${view.number}: total ${view.total} ${view.currency}`,
        );
      });
    });
}
