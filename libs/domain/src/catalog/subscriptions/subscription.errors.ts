import type { FieldError } from '../../decimal';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type SubscriptionErrorCode = 'SUBSCRIPTION.NOT_FOUND' | 'SUBSCRIPTION.INVALID' | 'SUBSCRIPTION.ENDED';

export class SubscriptionError extends Error {
  constructor(
    readonly code: SubscriptionErrorCode,
    message: string,
    /** The request fields at fault (`overrides.charges.api.unit_price`). */
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

export function invalidSubscription(errors: FieldError[]): SubscriptionError {
  return new SubscriptionError(
    'SUBSCRIPTION.INVALID',
    errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  );
}
