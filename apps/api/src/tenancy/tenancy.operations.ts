import { randomBytes, randomUUID } from 'node:crypto';
import {
  TenancyError,
  apiKeys,
  tenantRegistry,
  type ApiKeyEvent,
  type ApiKeyKind,
  type ApiKeyRole,
  type TenantRegistryEvent,
} from '#domain';
import { TENANTS_STREAM, streamName, type Checkpoint, type EventMetadata, type EventStore } from '#ledger';
import { generateApiKey, keyPrefix, newKeyId, sha256Hex } from '../common/auth/api-key-material';
import { decideAndAppend, loadState } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';
import { toApiKeyView, type ApiKeyView, type IssuedApiKey } from './api-key.view';

/**
 * Tenancy commands as plain functions over the event store, so the CLI (`abaxus tenants create`,
 * `abaxus keys create|revoke`) runs exactly what the HTTP handlers run, without HTTP or Nest.
 * The `*Command` variants also return the log position, for read-your-writes in the API.
 */
export interface CommandContext {
  store: EventStore;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on every event. */
  actor: string;
  requestId?: string;
  /** Clock, injectable for tests; the deciders never read one. */
  now?: () => Date;
}

export interface IssueApiKeyInput extends CommandContext {
  tenantId: string;
  role: ApiKeyRole;
  kind: ApiKeyKind;
  name?: string | null;
  /** Check the tenant registry first (the CLI names any tenant; an API caller's tenant exists). */
  verifyTenant?: boolean;
  /** Use this key instead of generating one (the bootstrap's ABAXUS_ADMIN_KEY). */
  presetKey?: string;
}

export interface CreatedTenant {
  id: string;
  name: string;
  created_at: string;
  admin_key_id: string;
  /** Shown once. */
  admin_key: string;
}

export const apiKeysStream = (tenantId: string) => streamName(tenantId, 'apikeys');

/** Outside HTTP (the CLI) a command still gets a request id: every event can be traced to one call. */
function withRequestId<T extends CommandContext>(ctx: T): T & { requestId: string } {
  return { ...ctx, requestId: ctx.requestId ?? `cmd-${randomUUID()}` };
}

function metadata(ctx: CommandContext & { requestId: string }, tenantId: string): EventMetadata {
  return { tenant_id: tenantId, actor: ctx.actor, request_id: ctx.requestId };
}

// Each tenancy event is about one entity: its id makes the event id, so a retry re-appends nothing.
const apiKeyEventId = (stream: string) => (event: ApiKeyEvent) =>
  deterministicUuid(`${stream}/${event.type}/${event.data.key_id}`);
const tenantEventId = (event: TenantRegistryEvent) =>
  deterministicUuid(`${TENANTS_STREAM}/${event.type}/${event.data.tenant_id}`);

export async function assertTenantExists(store: EventStore, tenantId: string): Promise<void> {
  const { state } = await loadState(store, TENANTS_STREAM, tenantRegistry);
  if (!state.byId.has(tenantId))
    throw new TenancyError('TENANT.NOT_FOUND', `no tenant "${tenantId}"`, { tenant_id: tenantId });
}

export async function issueApiKeyCommand(
  command: IssueApiKeyInput,
): Promise<{ key: IssuedApiKey; position: Checkpoint | null }> {
  const input = withRequestId(command);
  if (input.verifyTenant ?? true) await assertTenantExists(input.store, input.tenantId);
  const key = input.presetKey ?? generateApiKey(input.kind);
  const stream = apiKeysStream(input.tenantId);
  const keyId = newKeyId();
  const decision = await decideAndAppend({
    store: input.store,
    stream,
    decider: apiKeys,
    command: {
      type: 'IssueApiKey',
      tenant_id: input.tenantId,
      key_id: keyId,
      name: input.name ?? null,
      role: input.role,
      kind: input.kind,
      prefix: keyPrefix(key),
      key_sha256: sha256Hex(key),
      at: (input.now ?? (() => new Date()))(),
    },
    metadata: metadata(input, input.tenantId),
    eventId: apiKeyEventId(stream),
  });
  const record = decision.state.keys.get(keyId)!;
  return { key: { ...toApiKeyView(record), key }, position: decision.position };
}

export async function issueApiKey(input: IssueApiKeyInput): Promise<IssuedApiKey> {
  return (await issueApiKeyCommand(input)).key;
}

export interface RevokeApiKeyInput extends CommandContext {
  tenantId: string;
  keyId: string;
}

/** Idempotent: revoking a revoked key returns it unchanged. Another tenant's key is API_KEY.NOT_FOUND. */
export async function revokeApiKeyCommand(
  command: RevokeApiKeyInput,
): Promise<{ key: ApiKeyView; position: Checkpoint | null }> {
  const input = withRequestId(command);
  const stream = apiKeysStream(input.tenantId);
  const decision = await decideAndAppend({
    store: input.store,
    stream,
    decider: apiKeys,
    command: {
      type: 'RevokeApiKey',
      tenant_id: input.tenantId,
      key_id: input.keyId,
      at: (input.now ?? (() => new Date()))(),
    },
    metadata: metadata(input, input.tenantId),
    eventId: apiKeyEventId(stream),
  });
  return { key: toApiKeyView(decision.state.keys.get(input.keyId)!), position: decision.position };
}

export async function revokeApiKey(input: RevokeApiKeyInput): Promise<ApiKeyView> {
  return (await revokeApiKeyCommand(input)).key;
}

export function newTenantId(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

export interface CreateTenantInput extends CommandContext {
  name: string;
}

/** Registers the tenant (names unique, case-insensitive) and issues its first admin key. */
export async function createTenantCommand(
  command: CreateTenantInput,
): Promise<{ tenant: CreatedTenant; position: Checkpoint | null }> {
  const input = withRequestId(command);
  const tenantId = newTenantId();
  const decision = await decideAndAppend({
    store: input.store,
    stream: TENANTS_STREAM,
    decider: tenantRegistry,
    command: { type: 'CreateTenant', tenant_id: tenantId, name: input.name, at: (input.now ?? (() => new Date()))() },
    metadata: metadata(input, tenantId),
    eventId: tenantEventId,
  });
  const record = decision.state.byId.get(tenantId)!;
  const issued = await issueApiKeyCommand({
    ...input,
    tenantId,
    role: 'admin',
    kind: 'secret',
    name: 'initial admin key',
    verifyTenant: false,
  });
  return {
    tenant: {
      id: tenantId,
      name: record.name,
      created_at: record.created_at,
      admin_key_id: issued.key.id,
      admin_key: issued.key.key,
    },
    position: issued.position ?? decision.position,
  };
}

export async function createTenant(input: CreateTenantInput): Promise<CreatedTenant> {
  return (await createTenantCommand(input)).tenant;
}
