import { timingSafeEqual } from 'node:crypto';
import { CheckpointWaiters } from '../checkpoint-waiters';
import { readToHead } from '../read-to-head';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  TENANCY_EVENT_TYPES,
  apiKeyFromIssued,
  type ApiKeyIssued,
  type ApiKeyKind,
  type ApiKeyRecord,
  type ApiKeyRevoked,
  type ApiKeyRole,
  type TenantCreated,
  type TenantRecord,
} from '#domain';
import type { Checkpoint, EventStore, RecordedEvent, Subscription } from '#ledger';
import { EVENT_STORE, ROOT_LOGGER } from '../tokens';
import { API_KEY_FORMAT, sha256Hex } from './api-key-material';

/** Who is calling: attached to the request by the AuthGuard. */
export interface AuthContext {
  keyId: string;
  tenantId: string;
  role: ApiKeyRole;
  kind: ApiKeyKind;
}

export interface KeyDirectoryStatus {
  loaded: boolean;
  live: boolean;
  checkpoint: Checkpoint | null;
  error?: string;
}

const ERROR_MEMORY_MS = 15_000;
const CATCH_UP_BATCH = 1_000;

/**
 * Every tenant and API key, in memory, following the event log: authentication costs no database
 * round trip. Loaded (caught up to the head) before the server accepts requests; then a live
 * subscription applies issues and revocations from every replica (LISTEN/NOTIFY + poll in the
 * Postgres adapter). Writers call `waitFor(position)` before answering, so a key created on this
 * replica works on the very next request (read-your-writes).
 */
@Injectable()
export class KeyDirectory implements OnModuleInit, OnApplicationShutdown {
  private readonly byHash = new Map<string, ApiKeyRecord>();
  /** Tenant -> key id -> key, in issue order (lists paginate over it). */
  private readonly byTenant = new Map<string, Map<string, ApiKeyRecord>>();
  private readonly tenants = new Map<string, TenantRecord>();
  private checkpoint: Checkpoint | null = null;
  private readonly waiters = new CheckpointWaiters((a, b) => this.store.compareCheckpoints(a, b));
  private subscription?: Subscription;
  private loaded = false;
  private stopped = false;
  private lastError?: string;
  private lastErrorAt?: number;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.catchUp();
    this.loaded = true;
    this.follow();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    this.waiters.releaseAll();
  }

  /** Reads to the head before the API listens: no request is ever judged on a partial directory. */
  private async catchUp(): Promise<void> {
    await readToHead(
      this.store,
      this.checkpoint,
      { types: TENANCY_EVENT_TYPES, maxCount: CATCH_UP_BATCH },
      (events, at) => this.apply(events, at),
    );
  }

  /** Both adapters retry a failed subscription themselves (same checkpoint, backoff): we only watch. */
  private follow(): void {
    this.subscription = this.store.subscribeToAll(this.checkpoint, {
      types: TENANCY_EVENT_TYPES,
      onBatch: async (events, checkpoint) => {
        this.apply(events, checkpoint);
        this.lastErrorAt = undefined;
      },
      onError: (error) => {
        // While this lasts, revocations from other replicas do not arrive: /readyz says so.
        this.lastErrorAt = Date.now();
        this.lastError = error.message;
        this.logger.warn({ err: error }, 'key directory subscription error; the store retries');
      },
    });
  }

  private apply(events: readonly RecordedEvent[], checkpoint: Checkpoint): void {
    for (const event of events) this.applyOne(event);
    if (this.store.compareCheckpoints(checkpoint, this.checkpoint) > 0) this.checkpoint = checkpoint;
    this.releaseWaiters();
  }

  private applyOne(event: RecordedEvent): void {
    switch (event.type) {
      case 'TenantCreated': {
        const { tenant_id, name, created_at } = (event as RecordedEvent<TenantCreated['data']>).data;
        this.tenants.set(tenant_id, { id: tenant_id, name, created_at });
        return;
      }
      case 'ApiKeyIssued': {
        const key = apiKeyFromIssued({ type: 'ApiKeyIssued', data: event.data as ApiKeyIssued['data'] });
        if (this.byHash.has(key.key_sha256)) return; // delivered again: never let a replay un-revoke a key
        this.byHash.set(key.key_sha256, key);
        const keys = this.byTenant.get(key.tenant_id) ?? new Map<string, ApiKeyRecord>();
        this.byTenant.set(key.tenant_id, keys.set(key.id, key));
        return;
      }
      case 'ApiKeyRevoked': {
        const { key_id, tenant_id, revoked_at } = (event as RecordedEvent<ApiKeyRevoked['data']>).data;
        const key = this.byTenant.get(tenant_id)?.get(key_id);
        if (key && key.revoked_at === null) {
          const revoked = { ...key, revoked_at };
          this.byTenant.get(tenant_id)!.set(key_id, revoked);
          this.byHash.set(key.key_sha256, revoked);
        }
        return;
      }
    }
  }

  private releaseWaiters(): void {
    this.waiters.release(this.checkpoint);
  }

  /** The key a bearer token belongs to, or null (unknown, malformed or revoked). */
  authenticate(token: string): AuthContext | null {
    if (!API_KEY_FORMAT.test(token)) return null;
    const digest = sha256Hex(token);
    const key = this.byHash.get(digest);
    if (!key || key.revoked_at !== null) return null;
    // The map lookup already matched; compare in constant time anyway so no code path leaks timing.
    if (!timingSafeEqual(Buffer.from(key.key_sha256, 'hex'), Buffer.from(digest, 'hex'))) return null;
    if (!this.tenants.has(key.tenant_id)) return null;
    return { keyId: key.id, tenantId: key.tenant_id, role: key.role, kind: key.kind };
  }

  /** Resolves once the directory has applied `position` (true), or after `timeoutMs` (false). */
  waitFor(position: Checkpoint | null, timeoutMs = 5_000): Promise<boolean> {
    if (this.stopped) return Promise.resolve(true);
    return this.waiters.wait(this.checkpoint, position, timeoutMs);
  }

  tenant(tenantId: string): TenantRecord | undefined {
    return this.tenants.get(tenantId);
  }

  key(tenantId: string, keyId: string): ApiKeyRecord | undefined {
    return this.byTenant.get(tenantId)?.get(keyId);
  }

  /** The tenant's keys in issue order, after `afterKeyId` (exclusive), at most `limit`; null for an unknown cursor. */
  keys(tenantId: string, limit: number, afterKeyId?: string): { data: ApiKeyRecord[]; more: boolean } | null {
    const all = [...(this.byTenant.get(tenantId)?.values() ?? [])];
    const index = afterKeyId === undefined ? -1 : all.findIndex((key) => key.id === afterKeyId);
    if (afterKeyId !== undefined && index < 0) return null;
    const start = index + 1;
    const data = all.slice(start, start + limit);
    return { data, more: start + limit < all.length };
  }

  status(): KeyDirectoryStatus {
    // Subscriptions retry with a backoff of at most 10 s: no error for longer than that means it recovered.
    const failing = this.lastErrorAt !== undefined && Date.now() - this.lastErrorAt < ERROR_MEMORY_MS;
    return {
      loaded: this.loaded,
      live: this.loaded && !failing,
      checkpoint: this.checkpoint,
      error: failing ? this.lastError : undefined,
    };
  }
}
