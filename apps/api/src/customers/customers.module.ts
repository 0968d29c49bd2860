import { Module } from '@nestjs/common';
import { ArchiveCustomerHandler } from './archive-customer.handler';
import { CreateCustomerHandler } from './create-customer.handler';
import { CustomersController } from './customers.controller';
import { CustomersReader } from './customers.reader';
import { LIVE_SUBSCRIPTION_COUNTER, NoSubscriptionsYet } from './live-subscriptions';
import { UpdateCustomerHandler } from './update-customer.handler';
import './customers.problems';

@Module({
  controllers: [CustomersController],
  providers: [
    CreateCustomerHandler,
    UpdateCustomerHandler,
    ArchiveCustomerHandler,
    CustomersReader,
    // SEAM: the subscriptions area replaces this with the real count of live subscriptions.
    { provide: LIVE_SUBSCRIPTION_COUNTER, useClass: NoSubscriptionsYet },
  ],
})
export class CustomersModule {}
