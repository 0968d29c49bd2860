import { resolve } from 'node:path';

/** Runtime configuration, read once from the environment (DESIGN.md section 8). */
export interface AbaxusConfig {
  port: number;
  host: string;
  /** Unset: an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** Unset: the Postgres event store in `databaseUrl`. `kurrentdb://…` or `esdb://…`: KurrentDB. */
  eventStoreUrl?: string;
  /** First-start admin secret key of the default tenant. */
  adminKey?: string;
  logLevel: string;
  /** Maximum request body, bytes. */
  bodyLimitBytes: number;
  /** Requests per second per API key (per client IP without a valid key), per API replica; 0: off. */
  rateLimitPerSecond?: number;
  /** Longest time a client may take to send a whole request (headers: at most 10 s of it), ms. */
  requestTimeoutMs?: number;
  /** How long a starting process waits for an external database that is not reachable yet, ms. */
  databaseWaitMs?: number;
  /**
   * The API's longest wait for one database query (client-side, so a frozen server is covered too),
   * ms; then the request is answered 503. 0: no limit. Migrations and CLI commands never time out.
   */
  databaseQueryTimeoutMs?: number;
  /** Most events a projector batch (and a rebuild's batch) reads and applies in one transaction; unset: the ledger's default. */
  projectorBatchSize?: number;
}

export const DEFAULT_RATE_LIMIT_PER_SECOND = 2_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_DATABASE_WAIT_SECONDS = 60;
export const DEFAULT_DATABASE_QUERY_TIMEOUT_MS = 60_000;
/** Largest ABAXUS_PROJECTOR_BATCH_SIZE: a batch is one transaction, and the log stays invisible to readers past it until it ends. */
export const MAX_PROJECTOR_BATCH_SIZE = 100_000;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export const ADMIN_KEY_PATTERN = /^sk_[A-Za-z0-9_]{24,}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parsePort(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(variable, `expected a port number 0-65535, got "${raw}"`);
  }
  return port;
}

function parseInteger<T extends number | undefined>(
  variable: string,
  raw: string | undefined,
  fallback: T,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | T {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(variable, `expected an integer ${range}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AbaxusConfig {
  const adminKey = env.ABAXUS_ADMIN_KEY || undefined;
  if (adminKey !== undefined && !ADMIN_KEY_PATTERN.test(adminKey)) {
    throw new ConfigError('ABAXUS_ADMIN_KEY', 'expected "sk_" followed by at least 24 characters of [A-Za-z0-9_]');
  }
  const eventStoreUrl = env.EVENT_STORE_URL || undefined;
  if (
    eventStoreUrl !== undefined &&
    !/^(kurrentdb|kurrent|esdb|esdb\+discover|kurrentdb\+discover):\/\//.test(eventStoreUrl)
  ) {
    throw new ConfigError('EVENT_STORE_URL', 'expected a kurrentdb:// or esdb:// connection string');
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const bodyLimit = env.ABAXUS_BODY_LIMIT_BYTES ? Number(env.ABAXUS_BODY_LIMIT_BYTES) : 1_048_576;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) {
    throw new ConfigError('ABAXUS_BODY_LIMIT_BYTES', 'expected an integer >= 1024');
  }
  return {
    port: parsePort('PORT', env.PORT, 8080),
    host: env.HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.ABAXUS_DATA_DIR || './.abaxus'),
    eventStoreUrl,
    adminKey,
    logLevel,
    bodyLimitBytes: bodyLimit,
    rateLimitPerSecond: parseInteger(
      'ABAXUS_RATE_LIMIT_PER_SECOND',
      env.ABAXUS_RATE_LIMIT_PER_SECOND,
      DEFAULT_RATE_LIMIT_PER_SECOND,
      0,
    ),
    requestTimeoutMs: parseInteger(
      'ABAXUS_REQUEST_TIMEOUT_MS',
      env.ABAXUS_REQUEST_TIMEOUT_MS,
      DEFAULT_REQUEST_TIMEOUT_MS,
      1_000,
    ),
    databaseWaitMs:
      1_000 *
      parseInteger('ABAXUS_DATABASE_WAIT_SECONDS', env.ABAXUS_DATABASE_WAIT_SECONDS, DEFAULT_DATABASE_WAIT_SECONDS, 0),
    databaseQueryTimeoutMs: parseInteger(
      'ABAXUS_DATABASE_QUERY_TIMEOUT_MS',
      env.ABAXUS_DATABASE_QUERY_TIMEOUT_MS,
      DEFAULT_DATABASE_QUERY_TIMEOUT_MS,
      0,
    ),
    projectorBatchSize: parseInteger(
      'ABAXUS_PROJECTOR_BATCH_SIZE',
      env.ABAXUS_PROJECTOR_BATCH_SIZE,
      undefined,
      1,
      MAX_PROJECTOR_BATCH_SIZE,
    ),
  };
}
