import { Client, escapeIdentifier, type ClientConfig } from 'pg';

export interface NotificationSubscriber {
  /** Something was committed on the channel, or notifications may have been missed: read again. */
  wake(): void;
  error(error: Error): void;
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
      if (message.channel === this.channel) this.wakeAll();
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

  private wakeAll(): void {
    for (const subscriber of this.subscribers) subscriber.wake();
  }

  private report(error: Error): void {
    for (const subscriber of this.subscribers) subscriber.error(error);
  }
}
