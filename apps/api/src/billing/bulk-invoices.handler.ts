import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BillingError, normalizeInstant } from '#domain';
import type { AuthContext } from '../common/auth/key-directory';
import { billingProblem } from './billing.problems';
import { BillingService } from './billing.service';
import { invoicePeriodEnd, type BulkInvoicesResult } from './bulk-invoices.operations';
import type { BulkInvoicesRequest } from './dto/bulk-invoices.request';

/** POST /v1/invoices/bulk: every subscription period ending at period_end, drafted (or closed) once. */
export class BulkInvoices extends Command<BulkInvoicesResult> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: BulkInvoicesRequest,
  ) {
    super();
  }
}

@CommandHandler(BulkInvoices)
export class BulkInvoicesHandler implements ICommandHandler<BulkInvoices> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, body }: BulkInvoices): Promise<BulkInvoicesResult> {
    try {
      const periodEnd = normalizeInstant(body.period_end, 'period_end');
      if (!periodEnd.ok) {
        throw new BillingError('CALCULATION.INVALID_PERIOD', periodEnd.error.message, [periodEnd.error]);
      }
      return await invoicePeriodEnd(this.billing.context(caller, requestId), periodEnd.value, body.close ?? false);
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
