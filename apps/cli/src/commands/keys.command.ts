import type { Command } from 'commander';
import { loadConfig } from '#platform';
import { issueApiKey, revokeApiKey } from '../../../api/src';
import { openRuntime } from '../runtime';
import { cliActor, print } from '../output';

const ROLES = ['admin', 'finance', 'auditor', 'ingest'] as const;

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('issue an API key (shown once)')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'admin')
    .option('--publishable', 'a pk_ key that may only read entitlements and usage')
    .option('--name <name>', 'a label for the key')
    .action(
      async (options: { tenant: string; role: string; publishable?: boolean; name?: string }, command: Command) => {
        if (!(ROLES as readonly string[]).includes(options.role)) {
          throw new Error(`--role must be one of ${ROLES.join(', ')}`);
        }
        const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: true });
        try {
          const issued = await issueApiKey({
            store: runtime.store,
            tenantId: options.tenant,
            role: options.role as (typeof ROLES)[number],
            kind: options.publishable ? 'publishable' : 'secret',
            name: options.name,
            actor: cliActor(),
          });
          print(command, issued, () => `key ${issued.id} (${issued.role})\nkey (shown once): ${issued.key}`);
        } finally {
          await runtime.close();
        }
      },
    );
  keys
    .command('revoke <key-id>')
    .description('revoke an API key (takes effect on every API replica within a second)')
    .requiredOption('--tenant <id>', 'tenant id')
    .action(async (keyId: string, options: { tenant: string }, command: Command) => {
      const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate: true });
      try {
        const revoked = await revokeApiKey({
          store: runtime.store,
          tenantId: options.tenant,
          keyId,
          actor: cliActor(),
        });
        print(command, revoked, () => `revoked ${keyId} at ${revoked.revoked_at}`);
      } finally {
        await runtime.close();
      }
    });
}
