import type { FieldError } from '../../decimal';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type CustomerErrorCode =
  | 'CUSTOMER.NOT_FOUND'
  | 'CUSTOMER.ALREADY_EXISTS'
  | 'CUSTOMER.INVALID'
  | 'CUSTOMER.IMMUTABLE_FIELD'
  | 'CUSTOMER.ARCHIVED'
  | 'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS';

export class CustomerError extends Error {
  constructor(
    readonly code: CustomerErrorCode,
    message: string,
    /** The request fields at fault, named as the request names them (`payment.provider`). */
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'CustomerError';
  }
}

export function invalidCustomer(
  code: 'CUSTOMER.INVALID' | 'CUSTOMER.IMMUTABLE_FIELD',
  errors: FieldError[],
): CustomerError {
  return new CustomerError(code, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}
