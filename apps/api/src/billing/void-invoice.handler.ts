import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { billingProblem } from './billing.problems';
import { BillingService } from './billing.service';
import { invoiceView, type InvoiceView } from './billing.views';
import { voidInvoice } from './invoice.operations';

/** POST /v1/invoices/:id/void: the invoice stays; a credit note reverses it in the ledger. */
export class VoidInvoice extends Command<InvoiceView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly invoiceId: string,
    readonly reason: string,
  ) {
    super();
  }
}

@CommandHandler(VoidInvoice)
export class VoidInvoiceHandler implements ICommandHandler<VoidInvoice> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, invoiceId, reason }: VoidInvoice): Promise<InvoiceView> {
    try {
      const outcome = await voidInvoice(this.billing.context(caller, requestId), invoiceId, reason);
      return invoiceView(outcome.invoiceId, outcome.state);
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
