import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from './observability/request-id';
import { ApiProblem } from './problems/api-problem';
import { PROBLEM_CONTENT_TYPE } from './problems/problem-details.filter';
import { toProblem } from './problems/to-problem';
import { mayHoldInexactNumber, withExactNumbers } from './exact-numbers';

type JsonParser = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;
type BufferParser = (
  request: FastifyRequest,
  body: Buffer,
  done: (error: Error | null, value?: unknown) => void,
) => void;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The `charset` parameter of a content type, lower-cased; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  return match?.[1].toLowerCase();
}

/**
 * The request body as JSON, strictly UTF-8 (RFC 8259): a body with invalid bytes is refused instead
 * of being decoded with U+FFFD replacement characters that would be stored as if the client had sent
 * them, and a declared charset other than UTF-8 is 415 rather than silently read as UTF-8.
 */
export function strictJsonParser(parseJson: JsonParser): BufferParser {
  return (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new ApiProblem('REQUEST.UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not supported; send UTF-8 JSON`));
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new ApiProblem('REQUEST.MALFORMED_JSON', 'the request body is not valid UTF-8'));
      return;
    }
    parseJson(request, text, (error, value) => {
      if (error !== null || !mayHoldInexactNumber(text)) done(error, value);
      else done(...withExactNumbers(request, text, value));
    });
  };
}

/**
 * Errors the router raises before any route, hook or Nest filter runs (a malformed percent-encoding,
 * a path parameter over `maxParamLength`): answered as problem+json like every other error, with the
 * headers the skipped `onRequest` hooks would have set (`securityHeaders`, `X-Request-Id`). Fastify's
 * own answer (and Nest's `reply.send(error)`, which reaches the root error handler) is plain JSON.
 */
export function frameworkErrorAnswer(
  securityHeaders: Readonly<Record<string, string>>,
): (error: Error, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const problem = toProblem(error, String(request.id));
    void reply
      .status(problem.status)
      .headers(securityHeaders)
      .header(REQUEST_ID_HEADER, String(request.id))
      .headers(problem.headers)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(problem.body));
  };
}
