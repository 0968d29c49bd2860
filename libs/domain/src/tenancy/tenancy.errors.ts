/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type TenancyErrorCode =
  | 'TENANT.NAME_TAKEN'
  | 'TENANT.ID_TAKEN'
  | 'TENANT.INVALID_NAME'
  | 'TENANT.INVALID_ID'
  | 'TENANT.NOT_FOUND'
  | 'API_KEY.NOT_FOUND'
  | 'API_KEY.ALREADY_EXISTS'
  | 'API_KEY.INVALID';

export class TenancyError extends Error {
  constructor(
    readonly code: TenancyErrorCode,
    message: string,
    /** Safe to show to the caller (no secrets). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'TenancyError';
  }
}
