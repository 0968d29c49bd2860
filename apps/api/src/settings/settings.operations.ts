import {
  TENANT_SETTINGS_STREAM_CATEGORY,
  tenantSettingsDecider,
  type TenantSettings,
  type TenantSettingsEvent,
} from '#domain';
import { streamName, type Checkpoint, type EventStore } from '#ledger';
import { decideAndAppend, loadState } from '../common/decide-and-append';

/**
 * Tenant settings without HTTP (the billing cycle in the projector reads them, the CLI could write
 * them): the stream `<tenant>:settings`, folded by the domain's tenantSettingsDecider.
 */
export const settingsStream = (tenantId: string) => streamName(tenantId, TENANT_SETTINGS_STREAM_CATEGORY);

/** The tenant's settings as the log says (strongly consistent); the defaults when never set. */
export async function loadTenantSettings(store: EventStore, tenantId: string): Promise<TenantSettings> {
  const { state } = await loadState<TenantSettingsEvent, TenantSettings>(
    store,
    settingsStream(tenantId),
    tenantSettingsDecider,
  );
  return state;
}

export interface UpdateSettingsInput {
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on the event. */
  actor: string;
  requestId?: string;
  billing_grace_seconds?: unknown;
  now?: () => Date;
}

/** Records the new settings (nothing when they are the current ones). Throws SETTINGS.INVALID. */
export async function updateTenantSettings(
  input: UpdateSettingsInput,
): Promise<{ settings: TenantSettings; position: Checkpoint | null }> {
  const metadata = { tenant_id: input.tenantId, actor: input.actor, request_id: input.requestId };
  const decision = await decideAndAppend({
    store: input.store,
    stream: settingsStream(input.tenantId),
    decider: tenantSettingsDecider,
    command: {
      type: 'UpdateTenantSettings' as const,
      tenant_id: input.tenantId,
      billing_grace_seconds: input.billing_grace_seconds,
      at: (input.now ?? (() => new Date()))(),
    },
    metadata,
  });
  return { settings: decision.state, position: decision.position };
}
