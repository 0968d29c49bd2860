import { BillingError, PricingError, SubscriptionError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the billing domain's error codes (libs/domain/src/billing, pricing at billing time). */
registerProblemTypes({
  'INVOICE.NOT_FOUND': { status: 404, title: 'No such invoice' },
  'INVOICE.CLOSED': { status: 409, title: 'The invoice is closed: it never changes' },
  'INVOICE.ALREADY_EXISTS': { status: 409, title: 'The invoice exists with another calculation' },
  'INVOICE.NOT_CLOSED': { status: 409, title: 'The invoice is still a draft' },
  'INVOICE.ALREADY_PAID': { status: 409, title: 'The invoice is paid' },
  'INVOICE.VOID': { status: 409, title: 'The invoice is void' },
  'INVOICE.INVALID': { status: 422, title: 'The invoice request is not valid' },
  'INVOICE.PAYMENT_MISMATCH': { status: 422, title: 'The payment is not the amount due' },
  'INVOICE.ADJUSTMENT_CARRIED': {
    status: 409,
    title: 'Another invoice carries one of its adjustments already; retry to close it recalculated',
  },
  'CALCULATION.INVALID': { status: 422, title: 'The calculation cannot be made from these inputs' },
  'CALCULATION.INVALID_PERIOD': { status: 422, title: 'Not a billing period of the subscription' },
  'CALCULATION.NOT_CAUGHT_UP': {
    status: 503,
    title: 'The read models have not reached the log head yet; retry after Retry-After seconds',
  },
  'ADJUSTMENT.INVALID': { status: 422, title: 'The adjustment is not valid' },
  'ADJUSTMENT.ALREADY_EXISTS': { status: 409, title: 'The adjustment exists with other details' },
  'PRICING.UNPRICED_GROUP': { status: 422, title: 'Usage falls in a matrix group the charge has no price for' },
  'PRICING.FORMULA_EVALUATION': { status: 422, title: 'The charge formula cannot be evaluated on this usage' },
  'SUBSCRIPTION.NOT_FOUND': { status: 404, title: 'No such subscription' },
  'CUSTOMER.NOT_FOUND': { status: 404, title: 'No such customer' },
});

/** A domain error as a problem naming the request fields at fault (`errors`); anything else as is. */
export function billingProblem(error: unknown): unknown {
  if (error instanceof BillingError || error instanceof SubscriptionError) {
    return new ApiProblem(error.code, error.message, error.errors.length > 0 ? { errors: [...error.errors] } : {});
  }
  if (
    error instanceof PricingError &&
    (error.code === 'PRICING.UNPRICED_GROUP' || error.code === 'PRICING.FORMULA_EVALUATION')
  ) {
    return new ApiProblem(error.code, error.message);
  }
  return error;
}
