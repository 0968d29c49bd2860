import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EventStore } from '#ledger';
import { CatalogDirectory } from './catalog-directory';
import { EVENT_STORE, ROOT_LOGGER } from './tokens';

/**
 * The CatalogDirectory for every area: usage ingestion reads it; the metric and customer command
 * handlers wait on it after appending (read-your-writes on this replica). Nest calls its
 * onModuleInit (start following the log) before the server listens, and onApplicationShutdown.
 */
@Global()
@Module({
  providers: [
    {
      provide: CatalogDirectory,
      useFactory: (store: EventStore, logger: Logger) => new CatalogDirectory(store, logger),
      inject: [EVENT_STORE, ROOT_LOGGER],
    },
  ],
  exports: [CatalogDirectory],
})
export class CatalogDirectoryModule {}
