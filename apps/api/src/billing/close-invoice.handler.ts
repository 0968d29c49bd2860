import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BillingError } from '#domain';
import { loadInvoice } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { billingProblem } from './billing.problems';
import { BillingService, closeRequestOf } from './billing.service';
import { invoiceView, type InvoiceView } from './billing.views';
import type { CloseInvoiceRequest } from './dto/close-invoice.request';
import { closeInvoice } from './invoice.operations';

/** POST /v1/invoices/:id/close: the last recalculation, then the gapless number and the snapshots. */
export class CloseInvoice extends Command<InvoiceView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly invoiceId: string,
    readonly body: CloseInvoiceRequest,
  ) {
    super();
  }
}

@CommandHandler(CloseInvoice)
export class CloseInvoiceHandler implements ICommandHandler<CloseInvoice> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, invoiceId, body }: CloseInvoice): Promise<InvoiceView> {
    try {
      const ctx = this.billing.context(caller, requestId);
      const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
      if (state.status === 'absent') throw new BillingError('INVOICE.NOT_FOUND', `no invoice ${invoiceId}`);
      const currency = state.status === 'draft' ? state.draft.currency : state.invoice.currency;
      const outcome = await closeInvoice(ctx, invoiceId, closeRequestOf(body, currency));
      return invoiceView(outcome.invoiceId, outcome.state);
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
