import {
  DEFAULT_BILLING_GRACE_SECONDS,
  TenantSettingsError,
  tenantSettingsDecider,
  type TenantSettingsEvent,
  type UpdateTenantSettings,
} from './tenant-settings';

const at = new Date('2026-05-01T10:00:00.000Z');
const update = (billing_grace_seconds: unknown): UpdateTenantSettings => ({
  type: 'UpdateTenantSettings',
  tenant_id: 'acme',
  billing_grace_seconds,
  at,
});
const given = (...events: TenantSettingsEvent[]) =>
  events.reduce(tenantSettingsDecider.evolve, tenantSettingsDecider.initialState());

describe('tenant settings', () => {
  it('defaults to one hour of billing grace until changed', () => {
    expect(given()).toEqual({ billing_grace_seconds: DEFAULT_BILLING_GRACE_SECONDS, updated_at: null });
    expect(DEFAULT_BILLING_GRACE_SECONDS).toBe(3600);
  });

  it('records a change as the whole document; the same settings again decide nothing', () => {
    const events = tenantSettingsDecider.decide(update(600), given());
    expect(events).toEqual([
      {
        type: 'TenantSettingsUpdated',
        data: { tenant_id: 'acme', billing_grace_seconds: 600, updated_at: at.toISOString() },
      },
    ]);
    expect(given(...events)).toEqual({ billing_grace_seconds: 600, updated_at: at.toISOString() });
    expect(tenantSettingsDecider.decide(update(600), given(...events))).toEqual([]);
    expect(tenantSettingsDecider.decide(update(0), given(...events))[0].data.billing_grace_seconds).toBe(0);
  });

  it('writing the defaults explicitly is recorded once (so GET shows when they were set)', () => {
    const events = tenantSettingsDecider.decide(update(3600), given());
    expect(events).toHaveLength(1);
    expect(tenantSettingsDecider.decide(update(3600), given(...events))).toEqual([]);
  });

  it.each([[-1], [1.5], ['60'], [null], [90 * 24 * 3600 + 1]])(
    'refuses %p as SETTINGS.INVALID naming the field',
    (value) => {
      try {
        tenantSettingsDecider.decide(update(value), given());
        throw new Error('expected a refusal');
      } catch (error) {
        expect(error).toBeInstanceOf(TenantSettingsError);
        expect((error as TenantSettingsError).code).toBe('SETTINGS.INVALID');
        expect((error as TenantSettingsError).errors.map((e) => e.field)).toEqual(['billing_grace_seconds']);
      }
    },
  );
});
