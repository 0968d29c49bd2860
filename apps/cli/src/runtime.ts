import type { Pool } from 'pg';
import pino, { type Logger } from 'pino';
import { createEventStore, type EventStore } from '#ledger';
import {
  DEFAULT_DATABASE_WAIT_SECONDS,
  createPool,
  migrate,
  startEmbeddedPostgres,
  waitForDatabase,
  type AbaxusConfig,
  type EmbeddedPostgresHandle,
} from '#platform';

/** The shared parts every process needs: a database (embedded or external), migrations, the event store. */
export interface Runtime {
  config: AbaxusConfig;
  logger: Logger;
  pool: Pool;
  /** Connection string of the database in use (embedded or DATABASE_URL). */
  url: string;
  store: EventStore;
  embedded?: EmbeddedPostgresHandle;
  close(): Promise<void>;
}

export function createLogger(config: AbaxusConfig, name: string): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: {
      paths: ['key', 'admin_key', 'adminKey', '*.key', '*.admin_key', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}

export interface RuntimeOptions {
  name: string;
  migrate: boolean;
  /**
   * Wait (up to config.databaseWaitMs) for an external database that is not reachable yet: the
   * long-running processes do, so that starting before the database is not fatal; one-shot commands
   * fail at once.
   */
  waitForDatabase?: boolean;
  /** PoolOptions.queryTimeoutMs of the runtime's pool (the API's); migrations run on a pool without it. */
  queryTimeoutMs?: number;
}

export async function openRuntime(config: AbaxusConfig, options: RuntimeOptions): Promise<Runtime> {
  const logger = createLogger(config, options.name);
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      onLog: (line) => logger.debug({ component: 'embedded-postgres' }, line),
    });
    url = embedded.url;
    logger.info(
      { dataDir: config.dataDir, port: embedded.port, ms: Date.now() - started },
      'embedded PostgreSQL started',
    );
  }
  const pool = createPool(url, { applicationName: `abaxus-${options.name}`, queryTimeoutMs: options.queryTimeoutMs });
  try {
    if (!embedded && options.waitForDatabase) {
      await waitForDatabase(pool, {
        timeoutMs: config.databaseWaitMs ?? DEFAULT_DATABASE_WAIT_SECONDS * 1000,
        onRetry: (error, attempt) =>
          logger.warn({ err: error, attempt }, 'database not reachable yet: waiting (ABAXUS_DATABASE_WAIT_SECONDS)'),
      });
    }
    if (options.migrate) {
      // A migration may read the whole log (an index build): never cut off by the API's query timeout.
      const migrator = createPool(url, { applicationName: `abaxus-${options.name}-migrate`, max: 1 });
      const applied = await migrate(migrator).finally(() => migrator.end());
      if (applied.length > 0)
        logger.info({ migrations: applied.map((m) => `${m.version}_${m.name}`) }, 'migrations applied');
    }
  } catch (error) {
    await pool.end();
    await embedded?.stop();
    throw error;
  }
  const store = createEventStore({ eventStoreUrl: config.eventStoreUrl, pool });
  let closed = false;
  return {
    config,
    logger,
    pool,
    url,
    store,
    embedded,
    close: async () => {
      if (closed) return;
      closed = true;
      await store.close();
      await pool.end();
      await embedded?.stop();
    },
  };
}

/** Runs `stop` once on SIGINT/SIGTERM/SIGHUP; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and the projector batch in flight');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}
