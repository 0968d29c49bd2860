import { Client, escapeIdentifier, type ClientConfig } from 'pg';

export interface NotificationSubscriber {
  /**
   * Something was committed on the channel, or notifications may have been missed: read again.
   * `types`: the event types the commit holds, when its notification said (see commitNotice);
   * undefined: anything may have been committed.
   */
  wake(types?: ReadonlySet<string>): void;
  error(error: Error): void;
}

/** Postgres refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_NOTICE_LENGTH = 7_000;

/**
 * The payload a transaction's NOTIFY carries: the event types it commits, as a JSON array, so a
 * subscription that follows other types need not read the log on it (the API's directories follow
 * catalog and key events, and every usage flush notifies). '' (the types are not known, or too many
 * to list) wakes every subscription, as does a payload this version cannot parse.
 */
export function commitNotice(types: Iterable<string>): string {
  const notice = JSON.stringify([...new Set(types)].sort());
  return notice.length <= MAX_NOTICE_LENGTH ? notice : '';
}

/** The types a payload of commitNotice lists; undefined for any other payload. */
export function noticeTypes(payload: string | undefined): ReadonlySet<string> | undefined {
  if (payload === undefined || !payload.startsWith('[')) return undefined;
  try {
    const types: unknown = JSON.parse(payload);
    if (Array.isArray(types) && types.every((type) => typeof type === 'string')) return new Set(types);
  } catch {
    // Not ours: wake everyone.
  }
  return undefined;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * One dedicated connection per store, outside the caller's pool (a pooled client held forever would
 * shrink the pool), LISTENing on the store's channel and waking every live subscription. Connected
 * while at least one subscription exists; a lost connection is re-established with backoff, and
 * every subscription is woken once LISTEN is back, since notifications sent meanwhile are lost.
 */
export class NotificationListener {
  private readonly subscribers = new Set<NotificationSubscriber>();
  private client: Client | null = null;
  private connecting = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly config: ClientConfig,
    private readonly channel: string,
  ) {}

  /** Returns the function that removes the subscriber. */
  add(subscriber: NotificationSubscriber): () => Promise<void> {
    this.subscribers.add(subscriber);
    this.ensureConnected();
    return async () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) await this.disconnect();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    await this.disconnect();
  }

  private ensureConnected(): void {
    if (this.closed || this.client !== null || this.connecting || this.retryTimer !== null) return;
    this.connecting = true;
    void this.connect().finally(() => {
      this.connecting = false;
    });
  }

  private async connect(): Promise<void> {
    // Its own application_name, so operators (and tests) can tell it from pooled connections.
    const applicationName = `${this.config.application_name ?? 'abaxus'}:listen`;
    const client = new Client({ ...this.config, application_name: applicationName, keepAlive: true });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.wakeAll(noticeTypes(message.payload));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${escapeIdentifier(this.channel)}`);
    } catch (error) {
      void client.end().catch(() => undefined);
      this.failures += 1;
      this.report(asError(error));
      this.scheduleRetry();
      return;
    }
    if (this.closed || this.subscribers.size === 0) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    this.wakeAll();
  }

  private lost(client: Client, error?: Error): void {
    // Only the live client matters: one still connecting fails through connect(), old ones were dropped.
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.report(error ?? new Error(`notification connection on ${this.channel} ended`));
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.subscribers.size === 0 || this.retryTimer !== null) return;
    const delay = Math.min(RETRY_BASE_MS * 2 ** this.failures, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensureConnected();
    }, delay);
  }

  private async disconnect(): Promise<void> {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.failures = 0;
    const client = this.client;
    this.client = null;
    if (client !== null) await client.end().catch(() => undefined);
  }

  private wakeAll(types?: ReadonlySet<string>): void {
    for (const subscriber of this.subscribers) subscriber.wake(types);
  }

  private report(error: Error): void {
    for (const subscriber of this.subscribers) subscriber.error(error);
  }
}
