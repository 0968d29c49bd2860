/** The API's public surface: the process entry points (CLI) and what later areas build on. */
export { createApiApp, startApi, type ApiDeps, type RunningApi } from './app.factory';
export { bootstrapDefaultTenant, type BootstrapResult, type BootstrapDeps } from './tenancy/bootstrap-default-tenant';
export {
  createTenant,
  issueApiKey,
  revokeApiKey,
  type CreatedTenant,
  type CreateTenantInput,
  type IssueApiKeyInput,
  type RevokeApiKeyInput,
} from './tenancy/tenancy.operations';
export type { ApiKeyView, IssuedApiKey } from './tenancy/api-key.view';
// Billing: reproducible calculations (pure calculate + the fast and audit loaders) and the invoice
// operations the billing cycle and the CLI build on (no Nest in any of them).
export * from './billing/calculation';
export {
  closeInvoice,
  currentInvoice,
  draftInvoice,
  voidInvoice,
  type CloseRequest,
  type InvoiceOutcome,
} from './billing/invoice.operations';
export { invoicePeriodEnd, periodEndingAt, type BulkInvoicesResult } from './billing/bulk-invoices.operations';
export { recordManualAdjustment, type ManualAdjustmentRequest } from './billing/adjustment.operations';
export { creditNoteIdFor, invoiceIdFor, type BillingContext } from './billing/billing-context';
// Audit: invoice reproduction from the event store alone and the audit log (no Nest: the CLI calls them).
export * from './audit';
