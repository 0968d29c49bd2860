import { HttpException } from '@nestjs/common';
import { ApiProblem, type FieldError, type ProblemDetails } from './api-problem';
import { problemType, problemTypeUri, registerProblemTypes } from './problem-catalog';
import { isServiceUnavailable } from './service-unavailable';

export interface ProblemResponse {
  status: number;
  body: ProblemDetails;
  headers: Record<string, string>;
  /** 5xx that are not "unavailable": the caller logs the original error, the client sees nothing of it. */
  unexpected: boolean;
}

const DOMAIN_CODE = /^[A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*$/;
export const RETRY_AFTER_SECONDS = '5';
/** Still conflicting after the command's retries: the client may retry the request. */
const WRITE_CONFLICTS = new Set(['EVENT_STORE.WRONG_EXPECTED_REVISION', 'EVENT_STORE.EVENT_ID_CONFLICT']);

// Fastify's own request errors (content-type parsing, body size) reach the filter wrapped in an
// HttpException whose `cause` is the FastifyError.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST.BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST.MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST.INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST.BAD_REQUEST',
  // Raised by the router itself, before any route (see request-edge.ts), unwrapped.
  FST_ERR_BAD_URL: 'REQUEST.BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'REQUEST.URI_TOO_LONG',
};
const ROUTER_DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not validly percent-encoded',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than 100 characters',
};
registerProblemTypes({ 'REQUEST.URI_TOO_LONG': { status: 414, title: 'A path parameter is too long' } });
const STATUS_CODES: Record<number, string> = {
  400: 'REQUEST.BAD_REQUEST',
  401: 'AUTH.UNAUTHENTICATED',
  403: 'AUTH.FORBIDDEN',
  404: 'REQUEST.ROUTE_NOT_FOUND',
  413: 'REQUEST.BODY_TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  429: 'REQUEST.RATE_LIMITED',
  503: 'SERVICE.UNAVAILABLE',
};
const MALFORMED_JSON = /JSON|Unexpected (token|end)|prototype/i;

function build(code: string, detail: string, requestId: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  const type = problemType(code)!;
  return {
    type: problemTypeUri(code),
    title: type.title,
    status: type.status,
    detail,
    code,
    request_id: requestId,
    ...extra,
  };
}

function fromHttpException(exception: HttpException): { code: string; detail: string } {
  const status = exception.getStatus();
  const cause = exception.cause as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const fastifyCode = typeof cause?.code === 'string' ? FASTIFY_CODES[cause.code] : undefined;
  if (fastifyCode) return { code: fastifyCode, detail: exception.message };
  if (status === 400 && (cause?.name === 'SyntaxError' || MALFORMED_JSON.test(exception.message))) {
    return { code: 'REQUEST.MALFORMED_JSON', detail: 'the request body is not valid JSON' };
  }
  const code = STATUS_CODES[status] ?? (status < 500 ? 'REQUEST.BAD_REQUEST' : 'INTERNAL.ERROR');
  return { code, detail: exception.message };
}

/** One mapping from anything thrown to the problem+json response, shared by every error path. */
export function toProblem(exception: unknown, requestId: string): ProblemResponse {
  const response = (code: string, detail: string, extras: ApiProblem['extras'] = {}): ProblemResponse => {
    const body = build(code, detail, requestId, { ...extras.members });
    if (extras.errors) body.errors = extras.errors;
    const headers = { ...extras.headers };
    if (body.status === 503) headers['retry-after'] ??= RETRY_AFTER_SECONDS;
    return { status: body.status, body, headers, unexpected: false };
  };
  if (exception instanceof ApiProblem) return response(exception.code, exception.message, exception.extras);
  if (isServiceUnavailable(exception)) {
    return response('SERVICE.UNAVAILABLE', 'a backing service is unreachable; retry later');
  }
  if (exception instanceof HttpException) {
    const { code, detail } = fromHttpException(exception);
    if (code !== 'INTERNAL.ERROR') return response(code, detail);
  } else {
    const code = (exception as { code?: unknown } | null)?.code;
    // Their messages quote the whole path (up to 16 KiB): the client sent it, it needs no echo.
    if (typeof code === 'string' && ROUTER_DETAILS[code]) return response(FASTIFY_CODES[code], ROUTER_DETAILS[code]);
    if (typeof code === 'string' && DOMAIN_CODE.test(code)) {
      const mapped = WRITE_CONFLICTS.has(code) ? 'CONCURRENCY.CONFLICT' : code;
      if (problemType(mapped)) return response(mapped, (exception as Error).message);
    }
  }
  const failure = response('INTERNAL.ERROR', `an unexpected error occurred; quote request id ${requestId}`);
  return { ...failure, unexpected: true };
}

export function validationErrors(errors: FieldError[]): ApiProblem {
  const fields = errors.map((e) => e.field).join(', ');
  return new ApiProblem('REQUEST.VALIDATION_FAILED', `invalid fields: ${fields}`, { errors });
}
