import type { Command } from 'commander';
import { loadConfig, migrate } from '#platform';
import { openRuntime } from '../runtime';
import { print } from '../output';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending SQL migrations from infra/migrations')
    .action(async (_options: unknown, command: Command) => {
      const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: false });
      try {
        const applied = await migrate(runtime.pool);
        print(command, { applied: applied.map((m) => `${m.version}_${m.name}`) }, () =>
          applied.length === 0 ? 'nothing to migrate' : applied.map((m) => `applied ${m.version}_${m.name}`).join('\n'),
        );
      } finally {
        await runtime.close();
      }
    });
}
