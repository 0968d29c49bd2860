import { TenancyError } from './tenancy.errors';
import type { TenantRegistryEvent } from './tenancy.events';
import { tenantRegistry, type CreateTenant } from './tenant-registry.decider';

const at = new Date('2026-01-02T03:04:05.000Z');
const created = (tenant_id: string, name: string): TenantRegistryEvent => ({
  type: 'TenantCreated',
  data: { tenant_id, name, created_at: at.toISOString() },
});
const create = (tenant_id: string, name: string): CreateTenant => ({ type: 'CreateTenant', tenant_id, name, at });

/** given `events`, when `command`: the events decided (or the error thrown). */
function given(...events: TenantRegistryEvent[]) {
  const state = events.reduce(tenantRegistry.evolve, tenantRegistry.initialState());
  return { when: (command: CreateTenant) => () => tenantRegistry.decide(command, state) };
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

describe('tenant registry decider', () => {
  it('creates a tenant with its trimmed name and the command time', () => {
    expect(given().when(create('t_0123456789ab', '  Acme  '))()).toEqual([created('t_0123456789ab', 'Acme')]);
  });

  it('refuses a name already taken, ignoring case and spaces', () => {
    expect(codeOf(given(created('default', 'Default'), created('t_1', 'Acme')).when(create('t_2', ' aCME ')))).toBe(
      'TENANT.NAME_TAKEN',
    );
  });

  it('is a no-op when the same tenant is created again (a retried command)', () => {
    expect(given(created('t_1', 'Acme')).when(create('t_1', 'acme'))()).toEqual([]);
  });

  it('refuses an id already used by another name', () => {
    expect(codeOf(given(created('t_1', 'Acme')).when(create('t_1', 'Globex')))).toBe('TENANT.ID_TAKEN');
  });

  it.each([[''], ['   '], ['x'.repeat(101)]])('refuses the invalid name %j', (name) => {
    expect(codeOf(given().when(create('t_1', name)))).toBe('TENANT.INVALID_NAME');
  });

  it.each([['Upper'], ['_leading'], ['with-dash'], ['a'.repeat(64)]])('refuses the invalid id %j', (id) => {
    expect(codeOf(given().when(create(id, 'Acme')))).toBe('TENANT.INVALID_ID');
  });

  it('evolves an index of names to ids', () => {
    const state = [created('default', 'Default'), created('t_1', 'Acme')].reduce(
      tenantRegistry.evolve,
      tenantRegistry.initialState(),
    );
    expect([...state.byId.keys()]).toEqual(['default', 't_1']);
    expect(state.idByName.get('acme')).toBe('t_1');
  });
});
