import { TenantSettingsError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the tenant settings' error codes (libs/domain/src/tenancy/tenant-settings.ts). */
registerProblemTypes({
  'SETTINGS.INVALID': { status: 422, title: 'The settings are not valid' },
});

/** The domain's refusal as a problem naming each field at fault; anything else as is. */
export function settingsProblem(error: unknown): unknown {
  if (error instanceof TenantSettingsError) {
    return new ApiProblem(error.code, error.message, { errors: [...error.errors] });
  }
  return error;
}
