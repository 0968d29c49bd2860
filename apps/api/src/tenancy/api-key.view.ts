import type { ApiKeyKind, ApiKeyRecord, ApiKeyRole } from '#domain';

/** An API key as clients see it: never the hash, only the display prefix. */
export interface ApiKeyView {
  id: string;
  name: string | null;
  role: ApiKeyRole;
  kind: ApiKeyKind;
  prefix: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
}

/** Returned once, by the call that issued the key. */
export interface IssuedApiKey extends ApiKeyView {
  /** The whole key. Not stored anywhere: lose it and issue another. */
  key: string;
}

export function toApiKeyView(record: ApiKeyRecord): ApiKeyView {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    kind: record.kind,
    prefix: record.prefix,
    status: record.revoked_at === null ? 'active' : 'revoked',
    created_at: record.created_at,
    revoked_at: record.revoked_at,
  };
}
