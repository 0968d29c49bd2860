import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '#platform';
import { projectionStatus, rebuildProjection } from '../../../projector/src';
import { openRuntime } from '../runtime';
import { print } from '../output';

export function registerProjectionCommands(program: Command): void {
  const projections = program.command('projections').description('read-model projections');

  projections
    .command('status')
    .description("each projection's version, checkpoint and lag")
    .action(async (_options: unknown, command: Command) => {
      const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: true });
      try {
        const rows = await projectionStatus({ pool: runtime.pool, store: runtime.store });
        print(
          command,
          rows,
          () =>
            rows
              .map(
                (r) =>
                  `${r.name} v${r.version} ${r.status}  checkpoint=${r.checkpoint ?? '-'}  behind=${r.events_behind} events  lag=${r.lag_seconds}s` +
                  (r.last_error ? `  error=${r.last_error}` : ''),
              )
              .join('\n') || 'no projections',
        );
      } finally {
        await runtime.close();
      }
    });

  projections
    .command('rebuild <name>')
    .description('build a projection from position 0 into fresh tables, then switch reads to it atomically')
    .option('--force', 'rebuild even when the live version matches the code version')
    .action(async (name: string, options: { force?: boolean }, command: Command) => {
      const config = loadConfig();
      const runtime = await openRuntime(config, { name: 'cli', migrate: true });
      // A progress bar on a terminal only; scripts (--json, pipes, CI) get clean output.
      const interactive = process.stderr.isTTY && !command.optsWithGlobals<{ json?: boolean }>().json;
      const bar = new SingleBar(
        { format: `${name} [{bar}] {value}/{total} events`, stream: process.stderr },
        Presets.shades_classic,
      );
      try {
        const total = interactive ? await runtime.store.countAfter(null, Number.MAX_SAFE_INTEGER) : 0;
        if (interactive) bar.start(total, 0);
        const result = await rebuildProjection({
          pool: runtime.pool,
          store: runtime.store,
          name,
          force: Boolean(options.force),
          batchSize: config.projectorBatchSize,
          onProgress: interactive ? (progress) => bar.update(Math.min(progress.events_applied, total)) : undefined,
        });
        if (interactive) bar.stop();
        print(command, result, () =>
          result.outcome === 'already_live'
            ? `${name} v${result.version} is already live (use --force to rebuild it anyway)`
            : `${name}: ${result.outcome} to v${result.version} build ${result.build} after ${result.events_applied} events in ${result.batches} batches` +
              (result.previous ? ` (was v${result.previous.version} build ${result.previous.build})` : ''),
        );
      } finally {
        bar.stop();
        await runtime.close();
      }
    });
}
