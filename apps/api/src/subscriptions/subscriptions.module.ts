import { Module } from '@nestjs/common';
import { CancelSubscriptionHandler } from './cancel-subscription.handler';
import { ChangeSubscriptionPlanHandler } from './change-subscription-plan.handler';
import { StartSubscriptionHandler } from './start-subscription.handler';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsReader } from './subscriptions.reader';
import './subscriptions.problems';

@Module({
  controllers: [SubscriptionsController],
  providers: [StartSubscriptionHandler, CancelSubscriptionHandler, ChangeSubscriptionPlanHandler, SubscriptionsReader],
})
export class SubscriptionsModule {}
