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
        print(command, rows, () =>
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
      const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: true });
      try {
        const result = await rebuildProjection({ pool: runtime.pool, store: runtime.store, name, force: Boolean(options.force) });
        print(command, result, () => `rebuilt ${name}: ${JSON.stringify(result)}`);
      } finally {
        await runtime.close();
      }
    });
}
