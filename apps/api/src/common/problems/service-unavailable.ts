/**
 * Whether an error means "the database (or event store) cannot be reached right now", which the API
 * answers with 503 + Retry-After instead of a 500: the request may succeed if retried later.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now). */
const SQLSTATE_UNAVAILABLE = /^(08...|57P0[1-4]|53300)$/;
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /connect ECONNREFUSED/i,
  /Client has encountered a connection error/i,
  // pg's client-side query_timeout (ABAXUS_DATABASE_QUERY_TIMEOUT_MS): the server did not answer in time.
  /^Query read timeout$/,
];

export function isServiceUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true;
  if (typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message))) return true;
  // AggregateError (happy eyeballs connects to several addresses) and wrapped errors.
  if (Array.isArray(errors) && errors.some((inner) => isServiceUnavailable(inner, depth + 1))) return true;
  return isServiceUnavailable(cause, depth + 1);
}
