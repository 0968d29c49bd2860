import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_TENANT_ID, apiKeys, tenantRegistry, type ApiKeyIssued, type IssueApiKey } from '#domain';
import { EventIdConflictError, TENANTS_STREAM, WrongExpectedRevisionError, type EventStore } from '#ledger';
import { ADMIN_KEY_PATTERN, type AbaxusConfig } from '#platform';
import { generateApiKey, keyPrefix, sha256Hex } from '../common/auth/api-key-material';
import { decideAndAppend, loadState } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';
import { apiKeysStream } from './tenancy.operations';

export interface BootstrapResult {
  /** True when this call created the tenant or its admin key. */
  created: boolean;
  /** A generated admin key this call registered: print it once. Never set for ABAXUS_ADMIN_KEY. */
  adminKey?: string;
  /** Where the generated admin key is kept (mode 0600), when that file exists. */
  keyFile?: string;
}

export interface BootstrapDeps {
  store: EventStore;
  config: Pick<AbaxusConfig, 'adminKey' | 'dataDir'>;
  logger?: Logger;
  now?: () => Date;
}

const ACTOR = 'system:bootstrap';
export const DEFAULT_TENANT_NAME = 'Default';
const ADMIN_KEY_FILE = 'admin-key';

/**
 * The key to register: ABAXUS_ADMIN_KEY, else the one already in `<dataDir>/admin-key` (a previous
 * start wrote it and died before appending), else a new one written there FIRST, with mode 0600, so
 * no crash can leave a registered key that nobody has. `wx` makes two local starters agree on one.
 */
async function chooseAdminKey(
  config: BootstrapDeps['config'],
  keyFile: string,
): Promise<{ key: string; fromEnv: boolean; wrote: boolean }> {
  if (config.adminKey) return { key: config.adminKey, fromEnv: true, wrote: false };
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const key = generateApiKey('secret');
  // Written whole to a private temporary file, then linked into place: link() fails if the file
  // exists, so a concurrent reader never sees a half-written key.
  const temporary = `${keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${key}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temporary, 0o600);
    await link(temporary, keyFile);
    return { key, fromEnv: false, wrote: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const existing = (await readFile(keyFile, 'utf8')).trim();
  if (!ADMIN_KEY_PATTERN.test(existing)) {
    throw new Error(`${keyFile} exists but does not hold an admin key; move it away and start again`);
  }
  return { key: existing, fromEnv: false, wrote: false };
}

/**
 * Appends the admin key only if the tenant has no key yet. True only for the starter whose event
 * landed: a concurrent starter with the same key re-appends the same event id (a no-op), so the
 * event's request id, unique to this run, tells who wrote it.
 */
async function registerAdminKey(store: EventStore, key: string, at: Date, runId: string): Promise<boolean> {
  const stream = apiKeysStream(DEFAULT_TENANT_ID);
  const keySha256 = sha256Hex(key);
  // Derived from the key: two starters with the same key append the same event.
  const keyId = `key_${sha256Hex(`bootstrap:${keySha256}`).slice(0, 24)}`;
  const command: IssueApiKey = {
    type: 'IssueApiKey',
    tenant_id: DEFAULT_TENANT_ID,
    key_id: keyId,
    name: 'operator',
    role: 'admin',
    kind: 'secret',
    prefix: keyPrefix(key),
    key_sha256: keySha256,
    at,
  };
  const [event] = apiKeys.decide(command, apiKeys.initialState()) as [ApiKeyIssued];
  try {
    await store.append(
      stream,
      [
        {
          id: deterministicUuid(`${stream}/ApiKeyIssued/${keyId}`),
          type: event.type,
          data: event.data,
          metadata: { tenant_id: DEFAULT_TENANT_ID, actor: ACTOR, request_id: runId },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) return false;
    throw error;
  }
  const [first] = await store.readStream(stream, { maxCount: 1 });
  return first?.metadata.request_id === runId;
}

/**
 * First start: create the `default` tenant (the operator's) with an admin key. Later starts do
 * nothing. Safe to run from several replicas at once and to re-run after a crash at any point.
 */
export async function bootstrapDefaultTenant(deps: BootstrapDeps): Promise<BootstrapResult> {
  const { store, config } = deps;
  const at = (deps.now ?? (() => new Date()))();
  // Recorded as request_id on this run's events; also tells this run's key event from a concurrent one.
  const runId = `bootstrap-${randomUUID()}`;
  const keyFile = join(config.dataDir, ADMIN_KEY_FILE);
  const fileIfAny = () => (existsSync(keyFile) ? keyFile : undefined);
  const registry = await loadState(store, TENANTS_STREAM, tenantRegistry);
  const keys = await loadState(store, apiKeysStream(DEFAULT_TENANT_ID), apiKeys);
  if (registry.state.byId.has(DEFAULT_TENANT_ID) && keys.state.keys.size > 0)
    return { created: false, keyFile: fileIfAny() };

  const tenant = await decideAndAppend({
    store,
    stream: TENANTS_STREAM,
    decider: tenantRegistry,
    command: { type: 'CreateTenant', tenant_id: DEFAULT_TENANT_ID, name: DEFAULT_TENANT_NAME, at },
    metadata: { tenant_id: DEFAULT_TENANT_ID, actor: ACTOR, request_id: runId },
    eventId: (event) => deterministicUuid(`${TENANTS_STREAM}/${event.type}/${event.data.tenant_id}`),
  });
  if (keys.state.keys.size > 0) return { created: tenant.events.length > 0, keyFile: fileIfAny() };

  const chosen = await chooseAdminKey(config, keyFile);
  const registered = await registerAdminKey(store, chosen.key, at, runId);
  if (!registered) {
    // Another replica registered a different key first: ours never worked, do not leave it lying around.
    const winner = await loadState(store, apiKeysStream(DEFAULT_TENANT_ID), apiKeys);
    const ours = [...winner.state.keys.values()].some((k) => k.key_sha256 === sha256Hex(chosen.key));
    if (!ours && !chosen.fromEnv) await unlink(keyFile).catch(() => undefined);
    deps.logger?.info({ tenant: DEFAULT_TENANT_ID }, 'default tenant bootstrapped by another process');
    return { created: tenant.events.length > 0, keyFile: fileIfAny() };
  }
  deps.logger?.info({ tenant: DEFAULT_TENANT_ID, fromEnv: chosen.fromEnv }, 'default tenant admin key registered');
  return {
    created: true,
    adminKey: chosen.fromEnv ? undefined : chosen.key,
    keyFile: chosen.fromEnv ? fileIfAny() : keyFile,
  };
}
