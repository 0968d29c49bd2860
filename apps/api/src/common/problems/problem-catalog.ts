/**
 * Every problem code the API can answer with, and its HTTP status. Domain errors carry a stable `code`
 * (`API_KEY.NOT_FOUND`); only this catalog turns one into a status. Each area registers its own codes
 * from its module file (see `tenancy/tenancy.problems.ts`); an error whose code is not registered is
 * answered as a 500 and logged, so a missing registration shows up in the first test that hits it.
 */
export interface ProblemType {
  status: number;
  title: string;
}

const PROBLEM_BASE_URI = 'https://abaxus.dev/problems/';
const catalog = new Map<string, ProblemType>();

export function registerProblemTypes(types: Readonly<Record<string, ProblemType>>): void {
  for (const [code, type] of Object.entries(types)) {
    const known = catalog.get(code);
    if (known && (known.status !== type.status || known.title !== type.title)) {
      throw new Error(`problem code ${code} is registered twice with different meanings`);
    }
    catalog.set(code, type);
  }
}

export function problemType(code: string): ProblemType | undefined {
  return catalog.get(code);
}

/** `API_KEY.NOT_FOUND` -> `https://abaxus.dev/problems/api-key-not-found`: stable as long as the code is. */
export function problemTypeUri(code: string): string {
  return PROBLEM_BASE_URI + code.toLowerCase().replace(/[._]/g, '-');
}

export function registeredProblemCodes(): string[] {
  return [...catalog.keys()].sort();
}

registerProblemTypes({
  'REQUEST.VALIDATION_FAILED': { status: 400, title: 'The request is not valid' },
  'REQUEST.MALFORMED_JSON': { status: 400, title: 'The request body is not valid JSON' },
  'REQUEST.INVALID_BODY': { status: 400, title: 'The request body must be a JSON object' },
  'REQUEST.INEXACT_NUMBER': { status: 422, title: 'A JSON number cannot be kept exactly' },
  'REQUEST.INVALID_HEADER': { status: 400, title: 'A request header is not valid' },
  'REQUEST.BAD_REQUEST': { status: 400, title: 'Bad request' },
  'REQUEST.ROUTE_NOT_FOUND': { status: 404, title: 'No such route' },
  'REQUEST.BODY_TOO_LARGE': { status: 413, title: 'The request body is too large' },
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': { status: 415, title: 'Unsupported media type' },
  'REQUEST.RATE_LIMITED': { status: 429, title: 'Too many requests' },
  'AUTH.UNAUTHENTICATED': { status: 401, title: 'Authentication required' },
  'AUTH.FORBIDDEN': { status: 403, title: 'This key may not do that' },
  'IDEMPOTENCY.KEY_REUSED': { status: 422, title: 'Idempotency key reused with a different request' },
  'IDEMPOTENCY.IN_PROGRESS': { status: 409, title: 'A request with this idempotency key is still running' },
  'CONCURRENCY.CONFLICT': { status: 409, title: 'Concurrent modification; retry the request' },
  'SERVICE.UNAVAILABLE': { status: 503, title: 'Service temporarily unavailable' },
  'SERVICE.NOT_READY': { status: 503, title: 'Not ready' },
  'INTERNAL.ERROR': { status: 500, title: 'Internal server error' },
});
