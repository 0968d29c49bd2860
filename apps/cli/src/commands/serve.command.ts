import type { Command } from 'commander';
import { startApi, bootstrapDefaultTenant } from '../../../api/src';
import { startProjector } from '../../../projector/src';
import { createPool, loadConfig } from '#platform';
import { onShutdownSignal, openRuntime, type Runtime } from '../runtime';

type Role = 'api' | 'projector' | 'all';

async function announceBootstrap(runtime: Runtime): Promise<void> {
  const result = await bootstrapDefaultTenant({ store: runtime.store, config: runtime.config, logger: runtime.logger });
  if (result.created && result.adminKey) {
    // Shown once, on the terminal only (never in the JSON logs).
    process.stdout.write(
      `\nABAXUS created tenant "default".\nAdmin key (shown once): ${result.adminKey}\n` +
        (result.keyFile ? `Saved with mode 0600 to ${result.keyFile}\n\n` : '\n'),
    );
  } else if (result.keyFile) {
    process.stdout.write(`Admin key of tenant "default": see ${result.keyFile}\n`);
  }
}

/** `start` (api + projector in one process), `api`, `projector`: same build, same configuration. */
export async function serve(role: Role): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  const runtime = await openRuntime(config, {
    name: role === 'all' ? 'abaxus' : role,
    migrate: true,
    waitForDatabase: true,
    // The API's queries (and, in one process, the store's) are bounded; the projector's own pool is not.
    queryTimeoutMs: role === 'projector' ? undefined : config.databaseQueryTimeoutMs,
  });
  const stops: Array<() => Promise<void>> = [];
  try {
    if (role !== 'projector') await announceBootstrap(runtime);
    if (role !== 'api') {
      const metricsPort = role === 'projector' ? Number(process.env.PROJECTOR_METRICS_PORT ?? 9464) : null;
      // In one process the projector gets its own pool: API load must never starve the read models
      // (or the billing cycle) of connections.
      const pool =
        role === 'all' ? createPool(runtime.url, { applicationName: 'abaxus-projector', max: 10 }) : runtime.pool;
      const projector = await startProjector({
        pool,
        store: runtime.store,
        logger: runtime.logger,
        metricsPort,
        batchSize: config.projectorBatchSize,
      });
      stops.push(async () => {
        await projector.stop();
        if (pool !== runtime.pool) await pool.end();
      });
    }
    if (role !== 'projector') {
      const api = await startApi({ config, pool: runtime.pool, store: runtime.store, logger: runtime.logger });
      // The API stops first (drain requests), then the projector (drain its batch).
      stops.unshift(() => api.close());
      runtime.logger.info({ url: api.url, ms: Date.now() - started }, 'ABAXUS API ready');
      process.stdout.write(`ABAXUS listening on ${api.url} (ready in ${Date.now() - started} ms)\n`);
    }
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    await runtime.close();
    throw error;
  }
  onShutdownSignal(runtime.logger, async () => {
    for (const stop of stops) await stop();
    await runtime.close();
  });
}

export function registerServeCommands(program: Command): void {
  program
    .command('start')
    .description('run the API and the projector in one process (embedded PostgreSQL when DATABASE_URL is unset)')
    .action(() => serve('all'));
  program
    .command('api')
    .description('run the REST API')
    .action(() => serve('api'));
  program
    .command('projector')
    .description('run the projector (read models, billing cycle)')
    .action(() => serve('projector'));
}
