import { Module } from '@nestjs/common';
import { LiveSubscriptionsCounter } from '../subscriptions/live-subscription-counter';
import { ArchiveCustomerHandler } from './archive-customer.handler';
import { CreateCustomerHandler } from './create-customer.handler';
import { CustomersController } from './customers.controller';
import { CustomersReader } from './customers.reader';
import { LIVE_SUBSCRIPTION_COUNTER } from './live-subscriptions';
import { UpdateCustomerHandler } from './update-customer.handler';
import './customers.problems';

@Module({
  controllers: [CustomersController],
  providers: [
    CreateCustomerHandler,
    UpdateCustomerHandler,
    ArchiveCustomerHandler,
    CustomersReader,
    // SEAM: the subscriptions area's count of live subscriptions (read model, or the log when it lags).
    { provide: LIVE_SUBSCRIPTION_COUNTER, useClass: LiveSubscriptionsCounter },
  ],
})
export class CustomersModule {}
