import type { Command } from 'commander';
import { recordManualAdjustment } from '../../../api/src';
import { adjustmentView } from '../../../api/src/billing/billing.views';
import { print } from '../output';
import { cliBillingContext, withRuntime } from './audit.command';

interface CreateOptions {
  tenant: string;
  customer: string;
  amount: string;
  currency: string;
  reason: string;
  invoice?: string;
}

/** Manual credits and debits (finance): the operation POST /v1/adjustments runs, with the CLI user as actor. */
export function registerAdjustmentCommands(program: Command): void {
  const adjustments = program.command('adjustments').description('manual credits and debits (finance)');
  adjustments
    .command('create')
    .description(
      'record a signed adjustment (negative credits the customer); pending until the next invoice carries it',
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--customer <id>', 'customer id')
    .requiredOption('--amount <decimal>', 'signed money in the currency ("-25.00" credits, "10" charges)')
    .requiredOption('--currency <code>', "the customer's currency (ISO 4217)")
    .requiredOption('--reason <text>', 'why (recorded with the adjustment)')
    .option('--invoice <id>', 'the closed invoice of this customer it corrects')
    .action(async (options: CreateOptions, command: Command) => {
      await withRuntime(true, async (runtime) => {
        const recorded = await recordManualAdjustment(cliBillingContext(runtime, options.tenant), {
          customer_id: options.customer,
          amount: options.amount,
          currency: options.currency,
          reason: options.reason,
          invoice_id: options.invoice ?? null,
        });
        const view = adjustmentView(recorded);
        print(command, view, () => {
          const { adjustment } = recorded;
          return `adjustment ${adjustment.adjustment_id}: ${adjustment.amount} ${adjustment.currency} for ${adjustment.customer_id} (pending)`;
        });
      });
    });
}
