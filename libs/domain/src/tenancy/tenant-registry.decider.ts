import { TenancyError } from './tenancy.errors';
import type { TenantCreated, TenantRegistryEvent } from './tenancy.events';

/** Same rule as TENANT_ID_PATTERN in libs/ledger/src/streams.ts (the domain cannot import the ledger). */
const TENANT_ID = /^[a-z0-9][a-z0-9_]{0,62}$/;
export const TENANT_NAME_MAX_LENGTH = 100;

export interface CreateTenant {
  type: 'CreateTenant';
  tenant_id: string;
  name: string;
  /** Business time of the command (the decider has no clock). */
  at: Date;
}

export interface TenantRecord {
  id: string;
  name: string;
  created_at: string;
}

export interface TenantRegistryState {
  byId: ReadonlyMap<string, TenantRecord>;
  /** Normalised name -> tenant id: names are unique, ignoring case and surrounding spaces. */
  idByName: ReadonlyMap<string, string>;
}

export function normaliseTenantName(name: string): string {
  return name.trim().normalize('NFKC').toLowerCase();
}

export const tenantRegistry = {
  initialState(): TenantRegistryState {
    return { byId: new Map(), idByName: new Map() };
  },

  evolve(state: TenantRegistryState, event: TenantRegistryEvent): TenantRegistryState {
    switch (event.type) {
      case 'TenantCreated': {
        const { tenant_id, name, created_at } = event.data;
        const byId = new Map(state.byId).set(tenant_id, { id: tenant_id, name, created_at });
        const idByName = new Map(state.idByName).set(normaliseTenantName(name), tenant_id);
        return { byId, idByName };
      }
      default:
        return unreachable(event.type);
    }
  },

  /** Creating a tenant that already exists with the same name is a no-op (a retried command). */
  decide(command: CreateTenant, state: TenantRegistryState): TenantCreated[] {
    const name = command.name.trim();
    if (!TENANT_ID.test(command.tenant_id)) {
      throw new TenancyError('TENANT.INVALID_ID', `invalid tenant id "${command.tenant_id}"`);
    }
    if (name.length === 0 || name.length > TENANT_NAME_MAX_LENGTH) {
      throw new TenancyError('TENANT.INVALID_NAME', `a tenant name has 1 to ${TENANT_NAME_MAX_LENGTH} characters`);
    }
    const existing = state.byId.get(command.tenant_id);
    const holder = state.idByName.get(normaliseTenantName(name));
    if (existing && holder === existing.id) return [];
    if (existing) {
      throw new TenancyError('TENANT.ID_TAKEN', `tenant id "${command.tenant_id}" is already used`, {
        tenant_id: command.tenant_id,
      });
    }
    if (holder !== undefined) {
      throw new TenancyError('TENANT.NAME_TAKEN', `a tenant named "${name}" already exists`, { name });
    }
    return [
      { type: 'TenantCreated', data: { tenant_id: command.tenant_id, name, created_at: command.at.toISOString() } },
    ];
  },
};

function unreachable(value: never): never {
  throw new Error(`unhandled tenant registry event ${String(value)}`);
}
