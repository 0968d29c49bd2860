import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { recordManualAdjustment } from './adjustment.operations';
import { billingProblem } from './billing.problems';
import { BillingService } from './billing.service';
import { adjustmentView, type AdjustmentView } from './billing.views';
import type { CreateAdjustmentRequest } from './dto/create-adjustment.request';

/** POST /v1/adjustments: a manual credit or debit, with its actor, and its journal entry. */
export class RecordAdjustment extends Command<AdjustmentView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CreateAdjustmentRequest,
  ) {
    super();
  }
}

@CommandHandler(RecordAdjustment)
export class RecordAdjustmentHandler implements ICommandHandler<RecordAdjustment> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, body }: RecordAdjustment): Promise<AdjustmentView> {
    try {
      return adjustmentView(await recordManualAdjustment(this.billing.context(caller, requestId), body));
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
