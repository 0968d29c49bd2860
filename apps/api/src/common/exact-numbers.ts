import type { FastifyRequest } from 'fastify';
import { parse as parseLossless } from 'lossless-json';
import { Dec, JsonNumberText, type FieldError } from '#domain';
import { ApiProblem } from './problems/api-problem';

/*
 * JSON numbers a double cannot hold as written, found at the JSON parser (request-edge.ts):
 * JSON.parse would round them without a word.
 */

/**
 * Key in a Fastify route's `config`: the route takes JSON numbers a double cannot hold as
 * JsonNumberText (usage events: `value` is read exactly, a property is refused per event). On every
 * other route such a number is a 422 naming it, before any handler runs.
 */
export const EXACT_NUMBERS = 'abaxusExactNumbers';

const isDigitOrPoint = (code: number) => (code >= 48 && code <= 57) || code === 46;
/** An exponent of -100 or below: a number JSON.parse may read as 0 or as a subnormal double. */
const TINY_EXPONENT = /\d[eE]-\d{3}/;

/**
 * Whether the body may hold a number JSON.parse does not keep as written: one with more than 15
 * significant digits shows as a run of at least 16 digits and points, and one below a double's
 * range needs an exponent of -100 or below (beyond 1.8e308 JSON.parse gives Infinity, which every
 * number check refuses already). Any run of 16 covers one of every 16th character, so only those
 * are looked at, and the runs around them measured. A 500-event batch (107 KB) with neither costs
 * about 160 us here, a fifth of its JSON.parse (one regex over the text took 480 us). A match (in a
 * string too) only means a second, exact parse.
 */
export function mayHoldInexactNumber(text: string): boolean {
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigitOrPoint(text.charCodeAt(i))) continue;
    let start = i;
    let end = i;
    while (start > 0 && isDigitOrPoint(text.charCodeAt(start - 1))) start -= 1;
    while (end + 1 < text.length && isDigitOrPoint(text.charCodeAt(end + 1))) end += 1;
    if (end - start + 1 >= 16) return true;
    i = end;
  }
  return (text.includes('e-') || text.includes('E-')) && TINY_EXPONENT.test(text);
}

/**
 * The body parsed again, numbers as written (lossless-json): those a double does not hold exactly
 * become JsonNumberText. None: the first parse stands. On an EXACT_NUMBERS route: the exact body.
 * Elsewhere: 422 REQUEST.INEXACT_NUMBER naming each.
 */
export function withExactNumbers(request: FastifyRequest, text: string, parsed: unknown): [Error | null, unknown?] {
  let exact: unknown;
  try {
    exact = parseLossless(text, null, (token) => (holdsExactly(token) ? Number(token) : new JsonNumberText(token)));
  } catch (error) {
    // JSON.parse took it, so this is a key repeated with another value, which JSON.parse resolves
    // silently (the last wins) and a body holding a number it cannot keep must not rely on.
    return [new ApiProblem('REQUEST.MALFORMED_JSON', `the request body is ambiguous: ${(error as Error).message}`)];
  }
  const inexact = inexactNumbers(exact, '');
  if (inexact.length === 0) return [null, parsed];
  if ((request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[EXACT_NUMBERS] === true)
    return [null, exact];
  return [
    new ApiProblem('REQUEST.INEXACT_NUMBER', `invalid fields: ${inexact.map((error) => error.field).join(', ')}`, {
      errors: inexact,
    }),
  ];
}

/** The double JSON.parse makes of a number token is the token's value: its shortest form reads the same. */
function holdsExactly(token: string): boolean {
  const double = Number(token);
  if (!Number.isFinite(double)) return false;
  const shortest = String(double);
  return shortest === token || new Dec(token).eq(shortest);
}

function inexactNumbers(value: unknown, path: string): FieldError[] {
  if (value instanceof JsonNumberText) {
    return [{ field: path, message: `${value.text} cannot be kept exactly as a JSON number: send it as a string` }];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => inexactNumbers(item, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => inexactNumbers(item, path === '' ? key : `${path}.${key}`));
  }
  return [];
}
