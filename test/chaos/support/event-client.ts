import { Agent, request } from 'undici';
import { delay } from './wait';

/** The POST /v1/events body. `value` is a decimal string: never a JS number for quantities. */
export interface UsagePayload {
  customer_id: string;
  metric_key: string;
  value: string;
  timestamp: string;
  idempotency_key: string;
  properties?: Record<string, string | number | boolean | null>;
}

export type Outcome = 'accepted' | 'duplicate';

/**
 * What the clients of one scenario saw, shared by all of them. `tried` counts requests per endpoint
 * (every attempt, retries included); `statuses` counts answers by endpoint and status.
 */
export class ClientStats {
  readonly tried: Record<string, number> = {};
  readonly statuses: Record<string, number> = {};
  /** Keys whose first attempt was made (single events and batch members). */
  readonly keysSent = new Set<string>();
  /** Keys answered 202 accepted / duplicate (a key answered accepted once and duplicate on a retry counts in both). */
  readonly accepted = new Set<string>();
  readonly duplicate = new Set<string>();
  connectionErrors = 0;
  timeouts = 0;
  serverErrors = 0;
  unavailable = 0;
  /** 429s: the API's per-key rate limit (2,000 requests/s by default), which a fast machine can pass. */
  rateLimited = 0;
  /** Slowest answer (or failure) of any attempt. */
  maxLatencyMs = 0;
  /** Bodies of the first few 500s, for the failure message. */
  readonly serverErrorSamples: string[] = [];
  /** Failures that are neither a known connection error nor a timeout (counted as connection errors). */
  readonly otherErrorSamples: string[] = [];

  /** Every key that got its final answer: accepted or duplicate. */
  acknowledged(): Set<string> {
    return new Set([...this.accepted, ...this.duplicate]);
  }

  count(endpoint: string, status: number | 'error'): void {
    const name = `${endpoint} ${status}`;
    this.statuses[name] = (this.statuses[name] ?? 0) + 1;
  }
}

export interface RetryingClientOptions {
  baseUrl: string;
  key: string;
  stats: ClientStats;
  /** Per attempt: no answer within this is a timeout, and the same request is retried. */
  attemptTimeoutMs?: number;
  /** A key still unacknowledged after this fails the scenario (a hang, not a fault). */
  giveUpAfterMs?: number;
  /** Observes every answer (status, latency, time): scenarios classify them by fault window. */
  onAnswer?: (answer: ClientAnswer) => void;
}

/** One attempt as the client saw it. `at` is when it was sent (epoch ms). */
export interface ClientAnswer {
  endpoint: string;
  status: number | 'error';
  latencyMs: number;
  at: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, when there was one. */
  body?: unknown;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED']);

/**
 * A client that behaves like a careful producer: each usage event is sent with its idempotency key
 * and re-sent, byte for byte, on timeout, connection error, 503 or 500 (counted: the scenario
 * asserts there were none), until the API answers 202 accepted or duplicate. A 429 (rate limited)
 * is re-sent after its Retry-After, as a producer would. Anything else (409 conflict, another 4xx) is
 * a bug in the scenario or the engine and throws at once.
 */
export class RetryingEventClient {
  private readonly agent: Agent;
  private readonly attemptTimeoutMs: number;
  private readonly giveUpAfterMs: number;
  private aborted = false;

  constructor(private readonly options: RetryingClientOptions) {
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 180_000;
    // Few connections per client, like a producer; short keep-alive so a killed API is noticed.
    this.agent = new Agent({ connections: 2, connectTimeout: 5_000, keepAliveTimeout: 2_000 });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Stops retrying (a scenario that already failed must not leave clients looping after Jest ends). */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.agent.destroy().catch(() => undefined);
  }

  /** POST /v1/events until acknowledged. */
  async send(payload: UsagePayload): Promise<Outcome> {
    this.options.stats.keysSent.add(payload.idempotency_key);
    const body = JSON.stringify(payload);
    const answer = await this.untilAcknowledged('POST /v1/events', '/v1/events', body, 202);
    const outcome = (answer as { status: Outcome }).status;
    this.record(payload.idempotency_key, outcome);
    return outcome;
  }

  /** POST /v1/events/batch until every event of the batch is acknowledged (207, each result 202). */
  async sendBatch(payloads: UsagePayload[]): Promise<Outcome[]> {
    for (const payload of payloads) this.options.stats.keysSent.add(payload.idempotency_key);
    const body = JSON.stringify({ events: payloads });
    const answer = (await this.untilAcknowledged('POST /v1/events/batch', '/v1/events/batch', body, 207)) as {
      results: Array<{ index: number; status: number; outcome?: Outcome; error?: unknown }>;
    };
    const refused = answer.results.filter((result) => result.status !== 202);
    if (refused.length > 0) throw new Error(`batch events refused: ${JSON.stringify(refused.slice(0, 3))}`);
    return answer.results.map((result) => {
      this.record(payloads[result.index].idempotency_key, result.outcome!);
      return result.outcome!;
    });
  }

  /** Any authenticated JSON request, once (no retry): reconciliation and probes. */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await request(`${this.options.baseUrl}${path}`, {
      method,
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.options.key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text ? (JSON.parse(text) as unknown) : null };
  }

  private record(key: string, outcome: Outcome): void {
    if (outcome === 'accepted') this.options.stats.accepted.add(key);
    else if (outcome === 'duplicate') this.options.stats.duplicate.add(key);
    else throw new Error(`unexpected outcome ${String(outcome)} for ${key}`);
  }

  private async untilAcknowledged(endpoint: string, path: string, body: string, ok: number): Promise<unknown> {
    const stats = this.options.stats;
    const giveUpAt = Date.now() + this.giveUpAfterMs;
    for (let attempt = 1; ; attempt += 1) {
      stats.tried[endpoint] = (stats.tried[endpoint] ?? 0) + 1;
      const result = await this.attempt(endpoint, path, body);
      if (result.status === ok) return result.body;
      const retryable = result.status === 'error' || [429, 500, 503].includes(result.status);
      if (!retryable) throw new Error(`${endpoint} answered ${result.status}: ${JSON.stringify(result.body)}`);
      if (this.aborted) throw new Error(`${endpoint}: client aborted`);
      if (Date.now() > giveUpAt) {
        throw new Error(`${endpoint} not acknowledged after ${attempt} attempts: last ${String(result.status)}`);
      }
      // Rate limited: after its Retry-After (at most 2 s). Otherwise a short jittered backoff, not
      // Retry-After: the scenario wants to probe recovery closely.
      await delay(
        result.status === 429
          ? Math.min(1_000 * retryAfterSeconds(result.headers), 2_000)
          : Math.min(50 * 2 ** Math.min(attempt - 1, 4), 1_000) * (0.5 + Math.random()),
      );
    }
  }

  private async attempt(
    endpoint: string,
    path: string,
    body: string,
  ): Promise<{ status: number | 'error'; body?: unknown; headers: ClientAnswer['headers'] }> {
    const stats = this.options.stats;
    const started = Date.now();
    let status: number | 'error' = 'error';
    let parsed: unknown;
    let text = '';
    let headers: ClientAnswer['headers'] = {};
    try {
      const response = await request(`${this.options.baseUrl}${path}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { authorization: `Bearer ${this.options.key}`, 'content-type': 'application/json' },
        body,
        headersTimeout: this.attemptTimeoutMs,
        bodyTimeout: this.attemptTimeoutMs,
      });
      text = await response.body.text();
      status = response.statusCode;
      headers = response.headers;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (TIMEOUT_CODES.has(code)) stats.timeouts += 1;
      else {
        stats.connectionErrors += 1;
        if (!CONNECTION_CODES.has(code) && stats.otherErrorSamples.length < 5) {
          stats.otherErrorSamples.push(`${code} ${(error as Error).message}`);
        }
      }
    }
    if (status === 500) {
      stats.serverErrors += 1;
      if (stats.serverErrorSamples.length < 5) stats.serverErrorSamples.push(text);
    } else if (status === 503) stats.unavailable += 1;
    else if (status === 429) stats.rateLimited += 1;
    if (status !== 'error' && text) parsed = JSON.parse(text) as unknown;
    const latencyMs = Date.now() - started;
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, latencyMs);
    stats.count(endpoint, status);
    this.options.onAnswer?.({ endpoint, status, latencyMs, at: started, headers, body: parsed });
    return { status, body: parsed, headers };
  }
}

/** Retry-After in seconds (1 when absent or not a number). */
function retryAfterSeconds(headers: ClientAnswer['headers']): number {
  const value = Number(headers['retry-after']);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

/** One usage event with a unique key, timestamped now (live ingestion refuses more than 35 days old). */
export function usageEvent(customerId: string, metricKey: string, key: string): UsagePayload {
  return {
    customer_id: customerId,
    metric_key: metricKey,
    value: '1',
    timestamp: new Date(Date.now() - 1_000).toISOString(),
    idempotency_key: key,
    properties: { source: 'chaos' },
  };
}

/**
 * One request with no retry, never throwing: a network failure or a timeout is `status: 'error'`.
 * For probes (/readyz, reads) whose every answer a scenario judges.
 */
export async function probe(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { key?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<ClientAnswer> {
  const started = Date.now();
  const endpoint = `${method} ${path.split('?')[0]}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  try {
    const response = await request(`${baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      headersTimeout: options.timeoutMs ?? 30_000,
      bodyTimeout: options.timeoutMs ?? 30_000,
      // No keep-alive: a probe leaves no socket behind (Jest would wait for it at exit).
      reset: true,
    });
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // Not JSON (e.g. /metrics): kept as text.
    }
    return {
      endpoint,
      status: response.statusCode,
      latencyMs: Date.now() - started,
      at: started,
      headers: response.headers,
      body,
    };
  } catch {
    return { endpoint, status: 'error', latencyMs: Date.now() - started, at: started, headers: {} };
  }
}
