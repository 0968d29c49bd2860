import { Module } from '@nestjs/common';
import { ArchivePricePlanHandler } from './archive-price-plan.handler';
import { CreatePlanDraftHandler } from './create-plan-draft.handler';
import { CreatePricePlanHandler } from './create-price-plan.handler';
import { PricePlansController } from './price-plans.controller';
import { PricePlansReader } from './price-plans.reader';
import { PublishPlanVersionHandler } from './publish-plan-version.handler';
import { UpdatePlanDraftHandler } from './update-plan-draft.handler';
import './price-plans.problems';

@Module({
  controllers: [PricePlansController],
  providers: [
    CreatePricePlanHandler,
    UpdatePlanDraftHandler,
    PublishPlanVersionHandler,
    CreatePlanDraftHandler,
    ArchivePricePlanHandler,
    PricePlansReader,
  ],
})
export class PricePlansModule {}
