import pino, { type Logger } from 'pino';
import type { AbaxusConfig } from '#platform';

/** Secrets never reach the logs: bearer tokens and any field holding a key shown once. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  // Headers logged by hand (an error's context, a failed outbound call) are redacted too.
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'res.headers["set-cookie"]',
  'key',
  'admin_key',
  'adminKey',
  '*.key',
  '*.admin_key',
  '*.adminKey',
];

/** The API's logger: the process logger when given (CLI), else its own, always with redaction. */
export function apiLogger(config: AbaxusConfig, base?: Logger): Logger {
  const redact = { paths: REDACT_PATHS, censor: '[redacted]' };
  if (base) return base.child({ component: 'api' }, { redact, level: config.logLevel });
  return pino({ name: 'abaxus-api', level: config.logLevel, redact });
}
