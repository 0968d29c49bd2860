import { adjustmentsProjection } from './adjustments.projection';
import { invoicesProjection } from './invoices.projection';
import { ledgerBalancesProjection } from './ledger-balances.projection';
import { ledgerEntriesProjection } from './ledger-entries.projection';

export { adjustmentsProjection, invoicesProjection, ledgerBalancesProjection, ledgerEntriesProjection };
export * from './billing.queries';

/** The billing read models, registered in ../projections.ts. */
export const billingProjections = [
  invoicesProjection,
  ledgerEntriesProjection,
  ledgerBalancesProjection,
  adjustmentsProjection,
];
