import type { Command } from 'commander';
import { loadConfig } from '#platform';
import { createTenant } from '../../../api/src';
import { openRuntime } from '../runtime';
import { cliActor, print } from '../output';

export function registerTenantCommands(program: Command): void {
  const tenants = program.command('tenants').description('tenants (operator)');
  tenants
    .command('create <name>')
    .description('create a tenant and print its first admin key (shown once)')
    .action(async (name: string, _options: unknown, command: Command) => {
      const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: true });
      try {
        const tenant = await createTenant({ store: runtime.store, name, actor: cliActor() });
        print(
          command,
          tenant,
          () => `tenant ${tenant.id} (${tenant.name})\nadmin key (shown once): ${tenant.admin_key}`,
        );
      } finally {
        await runtime.close();
      }
    });
}
