import type { FieldError } from '../decimal';

/**
 * A tenant's settings, in the stream `<tenant>:settings` (one stream per tenant, every change a
 * `TenantSettingsUpdated` carrying the whole settings document). Absent stream: the defaults.
 *
 * - `billing_grace_seconds`: how long after a billing period ends the billing cycle waits before it
 *   closes the period's invoice (the draft exists from the period end; late events arriving within
 *   the grace are simply part of it). Whole seconds, 0 to 90 days; default one hour.
 */
export const TENANT_SETTINGS_STREAM_CATEGORY = 'settings';
export const TENANT_SETTINGS_EVENT_TYPES = ['TenantSettingsUpdated'] as const;

export const DEFAULT_BILLING_GRACE_SECONDS = 3600;
export const MAX_BILLING_GRACE_SECONDS = 90 * 24 * 3600;

export interface TenantSettings {
  billing_grace_seconds: number;
  /** When the settings were last changed; null while they are the defaults. */
  updated_at: string | null;
}

export interface TenantSettingsUpdated {
  type: 'TenantSettingsUpdated';
  data: { tenant_id: string; billing_grace_seconds: number; updated_at: string };
}

export type TenantSettingsEvent = TenantSettingsUpdated;

export interface UpdateTenantSettings {
  type: 'UpdateTenantSettings';
  tenant_id: string;
  /** Unset: keep the current value (a PUT of the whole document names every field anyway). */
  billing_grace_seconds?: unknown;
  /** Business time of the command (the decider has no clock). */
  at: Date;
}

export class TenantSettingsError extends Error {
  readonly code = 'SETTINGS.INVALID';
  constructor(
    message: string,
    readonly errors: readonly FieldError[],
  ) {
    super(message);
    this.name = 'TenantSettingsError';
  }
}

function graceProblems(value: unknown): FieldError[] {
  const ok =
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_BILLING_GRACE_SECONDS;
  return ok
    ? []
    : [
        {
          field: 'billing_grace_seconds',
          message: `must be a whole number of seconds from 0 to ${MAX_BILLING_GRACE_SECONDS}`,
        },
      ];
}

export const tenantSettingsDecider = {
  initialState(): TenantSettings {
    return { billing_grace_seconds: DEFAULT_BILLING_GRACE_SECONDS, updated_at: null };
  },

  evolve(state: TenantSettings, event: TenantSettingsEvent): TenantSettings {
    switch (event.type) {
      case 'TenantSettingsUpdated':
        return { billing_grace_seconds: event.data.billing_grace_seconds, updated_at: event.data.updated_at };
      default:
        return unreachable(event.type);
    }
  },

  /** Settings equal to the current ones decide nothing (a retried PUT is a no-op). */
  decide(command: UpdateTenantSettings, state: TenantSettings): TenantSettingsEvent[] {
    const grace =
      command.billing_grace_seconds === undefined ? state.billing_grace_seconds : command.billing_grace_seconds;
    const problems = graceProblems(grace);
    if (problems.length > 0) {
      throw new TenantSettingsError(problems.map((p) => `${p.field} ${p.message}`).join('; '), problems);
    }
    if (state.updated_at !== null && grace === state.billing_grace_seconds) return [];
    return [
      {
        type: 'TenantSettingsUpdated',
        data: {
          tenant_id: command.tenant_id,
          billing_grace_seconds: grace as number,
          updated_at: command.at.toISOString(),
        },
      },
    ];
  },
};

function unreachable(value: never): never {
  throw new Error(`unhandled tenant settings event ${String(value)}`);
}
