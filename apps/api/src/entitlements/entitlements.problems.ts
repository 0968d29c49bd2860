import { registerProblemTypes } from '../common/problems/problem-catalog';

/** Problem codes of the entitlement checks (the same titles as their owners'). */
registerProblemTypes({
  'CUSTOMER.NOT_FOUND': { status: 404, title: 'No such customer' },
});
