/**
 * Tenancy events. Tenants are registered in the `$system:tenants` stream; each tenant's API keys
 * live in `<tenant>:apikeys`. Keys are stored only as a SHA-256 hash plus a short display prefix.
 */

export const API_KEY_ROLES = ['admin', 'finance', 'auditor', 'ingest'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export const API_KEY_KINDS = ['secret', 'publishable'] as const;
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

/** The tenant created on first start; its admin keys are the operator. */
export const DEFAULT_TENANT_ID = 'default';

export const TENANCY_EVENT_TYPES = ['TenantCreated', 'ApiKeyIssued', 'ApiKeyRevoked'] as const;

export interface TenantCreated {
  type: 'TenantCreated';
  data: { tenant_id: string; name: string; created_at: string };
}

export interface ApiKeyIssued {
  type: 'ApiKeyIssued';
  data: {
    key_id: string;
    tenant_id: string;
    name: string | null;
    role: ApiKeyRole;
    kind: ApiKeyKind;
    /** First characters of the key, for people to recognise it in lists. */
    prefix: string;
    /** Hex SHA-256 of the whole key: the key itself is never stored. */
    key_sha256: string;
    issued_at: string;
  };
}

export interface ApiKeyRevoked {
  type: 'ApiKeyRevoked';
  data: { key_id: string; tenant_id: string; revoked_at: string };
}

export type TenantRegistryEvent = TenantCreated;
export type ApiKeyEvent = ApiKeyIssued | ApiKeyRevoked;
export type TenancyEvent = TenantRegistryEvent | ApiKeyEvent;
