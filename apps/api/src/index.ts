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
