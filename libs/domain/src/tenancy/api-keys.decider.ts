import { TenancyError } from './tenancy.errors';
import {
  API_KEY_KINDS,
  API_KEY_ROLES,
  type ApiKeyEvent,
  type ApiKeyIssued,
  type ApiKeyKind,
  type ApiKeyRevoked,
  type ApiKeyRole,
} from './tenancy.events';

export const API_KEY_NAME_MAX_LENGTH = 100;
const KEY_ID = /^key_[A-Za-z0-9]{8,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const PREFIX = /^(sk|pk)_[A-Za-z0-9_]{1,16}$/;

export interface IssueApiKey {
  type: 'IssueApiKey';
  tenant_id: string;
  key_id: string;
  name?: string | null;
  role: ApiKeyRole;
  kind: ApiKeyKind;
  prefix: string;
  key_sha256: string;
  at: Date;
}

export interface RevokeApiKey {
  type: 'RevokeApiKey';
  tenant_id: string;
  key_id: string;
  at: Date;
}

export type ApiKeyCommand = IssueApiKey | RevokeApiKey;

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  name: string | null;
  role: ApiKeyRole;
  kind: ApiKeyKind;
  prefix: string;
  key_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

/** One tenant's keys, in issue order. */
export interface ApiKeysState {
  keys: ReadonlyMap<string, ApiKeyRecord>;
}

export function apiKeyFromIssued(event: ApiKeyIssued): ApiKeyRecord {
  const { key_id, tenant_id, name, role, kind, prefix, key_sha256, issued_at } = event.data;
  return { id: key_id, tenant_id, name, role, kind, prefix, key_sha256, created_at: issued_at, revoked_at: null };
}

export const apiKeys = {
  initialState(): ApiKeysState {
    return { keys: new Map() };
  },

  evolve(state: ApiKeysState, event: ApiKeyEvent): ApiKeysState {
    switch (event.type) {
      case 'ApiKeyIssued':
        return { keys: new Map(state.keys).set(event.data.key_id, apiKeyFromIssued(event)) };
      case 'ApiKeyRevoked': {
        const key = state.keys.get(event.data.key_id);
        if (!key || key.revoked_at !== null) return state;
        return { keys: new Map(state.keys).set(key.id, { ...key, revoked_at: event.data.revoked_at }) };
      }
      default:
        return unreachable(event);
    }
  },

  decide(command: ApiKeyCommand, state: ApiKeysState): ApiKeyEvent[] {
    switch (command.type) {
      case 'IssueApiKey':
        return decideIssue(command, state);
      case 'RevokeApiKey':
        return decideRevoke(command, state);
      default:
        return unreachable(command);
    }
  },
};

function decideIssue(command: IssueApiKey, state: ApiKeysState): ApiKeyIssued[] {
  assertIssuable(command);
  const existing = state.keys.get(command.key_id);
  // A retried command (same id, same secret) has already happened: nothing new to record.
  if (existing && existing.key_sha256 === command.key_sha256) return [];
  if (existing) throw new TenancyError('API_KEY.ALREADY_EXISTS', `key ${command.key_id} already exists`);
  const name = command.name?.trim() || null;
  return [
    {
      type: 'ApiKeyIssued',
      data: {
        key_id: command.key_id,
        tenant_id: command.tenant_id,
        name,
        role: command.role,
        kind: command.kind,
        prefix: command.prefix,
        key_sha256: command.key_sha256,
        issued_at: command.at.toISOString(),
      },
    },
  ];
}

function assertIssuable(command: IssueApiKey): void {
  const invalid = (message: string) => new TenancyError('API_KEY.INVALID', message);
  if (!KEY_ID.test(command.key_id)) throw invalid(`invalid key id "${command.key_id}"`);
  if (!(API_KEY_ROLES as readonly string[]).includes(command.role)) throw invalid(`unknown role "${command.role}"`);
  if (!(API_KEY_KINDS as readonly string[]).includes(command.kind)) throw invalid(`unknown kind "${command.kind}"`);
  if (!SHA256_HEX.test(command.key_sha256)) throw invalid('key_sha256 must be 64 lowercase hex digits');
  if (!PREFIX.test(command.prefix) || !command.prefix.startsWith(command.kind === 'secret' ? 'sk_' : 'pk_')) {
    throw invalid(`prefix "${command.prefix}" does not match a ${command.kind} key`);
  }
  if ((command.name ?? '').trim().length > API_KEY_NAME_MAX_LENGTH) {
    throw invalid(`a key name has at most ${API_KEY_NAME_MAX_LENGTH} characters`);
  }
}

/** Revoking a revoked key changes nothing (idempotent); revoking an unknown key is an error. */
function decideRevoke(command: RevokeApiKey, state: ApiKeysState): ApiKeyRevoked[] {
  const key = state.keys.get(command.key_id);
  if (!key) throw new TenancyError('API_KEY.NOT_FOUND', `no key ${command.key_id}`, { key_id: command.key_id });
  if (key.revoked_at !== null) return [];
  return [
    {
      type: 'ApiKeyRevoked',
      data: { key_id: key.id, tenant_id: command.tenant_id, revoked_at: command.at.toISOString() },
    },
  ];
}

function unreachable(value: never): never {
  throw new Error(`unhandled api key message ${JSON.stringify(value)}`);
}
