import { isServiceUnavailable } from './service-unavailable';

describe('isServiceUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ["pg's client-side query timeout (a server that stopped answering)", new Error('Query read timeout')],
    ['a server shutting down (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['a connection exception (08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['a wrapped cause', new Error('append failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })],
    [
      'an AggregateError of connects',
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'connect failed'),
    ],
  ])('recognises %s', (_label, error) => {
    expect(isServiceUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a domain error', Object.assign(new Error('no key'), { code: 'API_KEY.NOT_FOUND' })],
    ['a message that only mentions a query timeout', new Error('Query read timeout is configurable')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'ECONNREFUSED'],
  ])('does not mistake %s for an outage', (_label, error) => {
    expect(isServiceUnavailable(error)).toBe(false);
  });
});
