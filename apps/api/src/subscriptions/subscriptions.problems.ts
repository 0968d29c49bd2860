import { SubscriptionError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the subscription domain's error codes (libs/domain/src/catalog/subscriptions). */
registerProblemTypes({
  'SUBSCRIPTION.NOT_FOUND': { status: 404, title: 'No such subscription' },
  'SUBSCRIPTION.INVALID': { status: 422, title: 'The subscription request is not valid' },
  'SUBSCRIPTION.ENDED': { status: 409, title: 'The subscription has ended or is ending' },
});

/** A domain error as a problem that names the request fields at fault (`errors`); anything else as is. */
export function subscriptionProblem(error: unknown): unknown {
  if (!(error instanceof SubscriptionError)) return error;
  return new ApiProblem(error.code, error.message, error.errors.length > 0 ? { errors: [...error.errors] } : {});
}
