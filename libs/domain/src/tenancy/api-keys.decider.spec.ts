import { apiKeys, type ApiKeyCommand, type IssueApiKey } from './api-keys.decider';
import { TenancyError } from './tenancy.errors';
import type { ApiKeyEvent, ApiKeyIssued } from './tenancy.events';

const at = new Date('2026-01-02T03:04:05.000Z');
const later = new Date('2026-01-03T00:00:00.000Z');
const hash = (c: string) => c.repeat(64);

const issue = (overrides: Partial<IssueApiKey> = {}): IssueApiKey => ({
  type: 'IssueApiKey',
  tenant_id: 't_1',
  key_id: 'key_aaaaaaaaaaaa',
  name: 'backend',
  role: 'finance',
  kind: 'secret',
  prefix: 'sk_AbCdEfG',
  key_sha256: hash('a'),
  at,
  ...overrides,
});
const issued = (command: IssueApiKey = issue()): ApiKeyIssued => ({
  type: 'ApiKeyIssued',
  data: {
    key_id: command.key_id,
    tenant_id: command.tenant_id,
    name: command.name ?? null,
    role: command.role,
    kind: command.kind,
    prefix: command.prefix,
    key_sha256: command.key_sha256,
    issued_at: command.at.toISOString(),
  },
});
const revoke = (key_id = 'key_aaaaaaaaaaaa'): ApiKeyCommand => ({
  type: 'RevokeApiKey',
  tenant_id: 't_1',
  key_id,
  at: later,
});
const revoked = (key_id = 'key_aaaaaaaaaaaa'): ApiKeyEvent => ({
  type: 'ApiKeyRevoked',
  data: { key_id, tenant_id: 't_1', revoked_at: later.toISOString() },
});

function given(...events: ApiKeyEvent[]) {
  const state = events.reduce(apiKeys.evolve, apiKeys.initialState());
  return { when: (command: ApiKeyCommand) => () => apiKeys.decide(command, state) };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TenancyError) return error.code;
    throw error;
  }
  throw new Error('expected a TenancyError');
}

describe('api keys decider', () => {
  it('issues a key: only its hash and prefix are recorded', () => {
    expect(given().when(issue())()).toEqual([issued()]);
  });

  it('records a blank name as null', () => {
    const [event] = given().when(issue({ name: '   ' }))() as ApiKeyIssued[];
    expect(event.data.name).toBeNull();
  });

  it('is a no-op when the same key is issued again (a retried command)', () => {
    expect(given(issued()).when(issue())()).toEqual([]);
  });

  it('refuses a key id reused for another secret', () => {
    expect(codeOf(given(issued()).when(issue({ key_sha256: hash('b') })))).toBe('API_KEY.ALREADY_EXISTS');
  });

  it.each<[string, Partial<IssueApiKey>]>([
    ['an unknown role', { role: 'owner' as never }],
    ['an unknown kind', { kind: 'shared' as never }],
    ['a hash that is not hex SHA-256', { key_sha256: 'abc' }],
    ['a publishable key with a secret prefix', { kind: 'publishable', prefix: 'sk_AbCdEfG' }],
    ['a malformed key id', { key_id: 'k1' }],
    ['a name too long', { name: 'n'.repeat(101) }],
  ])('refuses %s', (_label, overrides) => {
    expect(codeOf(given().when(issue(overrides)))).toBe('API_KEY.INVALID');
  });

  it('revokes an active key', () => {
    expect(given(issued()).when(revoke())()).toEqual([revoked()]);
  });

  it('revoking twice is idempotent: no events the second time', () => {
    expect(given(issued(), revoked()).when(revoke())()).toEqual([]);
  });

  it('revoking an unknown key is API_KEY.NOT_FOUND', () => {
    expect(codeOf(given(issued()).when(revoke('key_bbbbbbbbbbbb')))).toBe('API_KEY.NOT_FOUND');
  });

  it('evolves revocation into the key record and ignores a second revocation', () => {
    const first = revoked();
    const second: ApiKeyEvent = {
      type: 'ApiKeyRevoked',
      data: { ...first.data, revoked_at: '2030-01-01T00:00:00.000Z' },
    };
    const state = [issued(), first, second].reduce(apiKeys.evolve, apiKeys.initialState());
    expect(state.keys.get('key_aaaaaaaaaaaa')).toMatchObject({ revoked_at: later.toISOString(), role: 'finance' });
  });
});
