import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { billingProblem } from './billing.problems';
import { BillingService } from './billing.service';
import { invoiceView, type InvoiceView } from './billing.views';
import type { CreateInvoiceRequest } from './dto/create-invoice.request';
import { draftInvoice } from './invoice.operations';

/** POST /v1/invoices: the invoice of a subscription period (drafted, refreshed, or as closed). */
export class DraftInvoice extends Command<InvoiceView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CreateInvoiceRequest,
  ) {
    super();
  }
}

@CommandHandler(DraftInvoice)
export class DraftInvoiceHandler implements ICommandHandler<DraftInvoice> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, body }: DraftInvoice): Promise<InvoiceView> {
    try {
      const ctx = this.billing.context(caller, requestId);
      const period = await this.billing.period(ctx, body.subscription_id, body.period_start, body.period_end);
      const outcome = await draftInvoice(ctx, body.subscription_id, period);
      return invoiceView(outcome.invoiceId, outcome.state);
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
