#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '#platform';
import { registerServeCommands } from './commands/serve.command';
import { registerMigrateCommand } from './commands/migrate.command';
import { registerProjectionCommands } from './commands/projections.command';
import { registerTenantCommands } from './commands/tenants.command';
import { registerKeyCommands } from './commands/keys.command';
import { registerAuditCommands } from './commands/audit.command';
import { registerAdjustmentCommands } from './commands/adjustments.command';
import { registerEventCommands } from './commands/events.command';
import { registerInvoiceCommands } from './commands/invoices.command';
import { DemoError, registerDemoCommand } from './commands/demo.command';

export function buildProgram(): Command {
  const program = new Command('abaxus')
    .description('ABAXUS usage-based billing engine')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommands(program);
  registerMigrateCommand(program);
  registerProjectionCommands(program);
  registerTenantCommands(program);
  registerKeyCommands(program);
  registerInvoiceCommands(program);
  registerAdjustmentCommands(program);
  registerEventCommands(program);
  registerAuditCommands(program);
  registerDemoCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const message =
      error instanceof ConfigError
        ? `configuration error: ${error.message}`
        : error instanceof DemoError
          ? error.message
          : (error as Error).stack;
    process.stderr.write(`abaxus: ${message}\n`);
    process.exit(1);
  }
}

export { main };
if (require.main === module) void main(process.argv);
