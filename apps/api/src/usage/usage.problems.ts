import { registerProblemTypes } from '../common/problems/problem-catalog';

/** Problem codes of the usage queries (the same titles as their owners' where shared). */
registerProblemTypes({
  'USAGE.NOT_CAUGHT_UP': {
    status: 503,
    title: 'Usage is not projected up to the log head yet; retry after Retry-After seconds',
  },
  'USAGE.INVALID_PERIOD': { status: 422, title: 'The usage period is not valid' },
  'METRIC.NOT_FOUND': { status: 404, title: 'No such metric' },
  'CUSTOMER.NOT_FOUND': { status: 404, title: 'No such customer' },
});
