import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { EventStore } from '#ledger';
import { EVENT_STORE, PG_POOL, ROOT_LOGGER } from '../common/tokens';
import { EntitlementsController } from './entitlements.controller';
import { EntitlementsService } from './entitlements.service';
import { SubscriptionDirectory } from './subscription-directory';
import { measureUsageLag, UsageLag } from './usage-lag';
import './entitlements.problems';

/**
 * GET /v1/entitlements/check and GET /v1/entitlements. Nest calls the SubscriptionDirectory's
 * onModuleInit (read the log's subscription events to the head, then follow) before the server
 * listens, and its onApplicationShutdown.
 */
@Module({
  controllers: [EntitlementsController],
  providers: [
    EntitlementsService,
    {
      provide: SubscriptionDirectory,
      useFactory: (store: EventStore, logger: Logger) => new SubscriptionDirectory(store, logger),
      inject: [EVENT_STORE, ROOT_LOGGER],
    },
    {
      provide: UsageLag,
      useFactory: (pool: Pool, store: EventStore) => new UsageLag(() => measureUsageLag(pool, store)),
      inject: [PG_POOL, EVENT_STORE],
    },
  ],
  exports: [SubscriptionDirectory],
})
export class EntitlementsModule {}
