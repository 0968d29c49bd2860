import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../tokens';

export type Claim =
  | { kind: 'owner' }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export interface ClaimRequest {
  tenantId: string;
  key: string;
  requestHash: string;
  method: string;
  path: string;
}

/** How long a running request owns its key before a duplicate may take over (its process died). */
const LEASE_SECONDS = 60;

/** The `idempotent_requests` table (migration 0003). */
@Injectable()
export class IdempotencyStore {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Exactly one concurrent caller becomes the owner (the primary key decides); the others learn why not. */
  async claim(request: ClaimRequest): Promise<Claim> {
    const inserted = await this.pool.query(
      `INSERT INTO idempotent_requests (tenant_id, key, request_hash, method, path, locked_until)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT (tenant_id, key) DO NOTHING`,
      [request.tenantId, request.key, request.requestHash, request.method, request.path, LEASE_SECONDS],
    );
    if (inserted.rowCount === 1) return { kind: 'owner' };
    const existing = await this.pool.query<{
      request_hash: string;
      status: number | null;
      response: unknown;
      expired: boolean;
    }>(
      `SELECT request_hash, status, response, locked_until < now() AS expired
         FROM idempotent_requests WHERE tenant_id = $1 AND key = $2`,
      [request.tenantId, request.key],
    );
    const row = existing.rows[0];
    if (!row) return this.claim(request); // released between our insert and select: try again
    if (row.request_hash !== request.requestHash) return { kind: 'mismatch' };
    if (row.status !== null) return { kind: 'replay', status: row.status, body: row.response };
    if (row.expired && (await this.takeOver(request))) return { kind: 'owner' };
    return { kind: 'in_progress' };
  }

  private async takeOver(request: ClaimRequest): Promise<boolean> {
    const taken = await this.pool.query(
      `UPDATE idempotent_requests SET locked_until = now() + make_interval(secs => $3)
        WHERE tenant_id = $1 AND key = $2 AND status IS NULL AND locked_until < now()`,
      [request.tenantId, request.key, LEASE_SECONDS],
    );
    return taken.rowCount === 1;
  }

  async complete(tenantId: string, key: string, status: number, body: unknown): Promise<void> {
    await this.pool.query(
      `UPDATE idempotent_requests SET status = $3, response = $4::jsonb, completed_at = now(), locked_until = NULL
        WHERE tenant_id = $1 AND key = $2 AND status IS NULL`,
      [tenantId, key, status, JSON.stringify(body ?? null)],
    );
  }

  /** Forget a request that failed in a way worth retrying (5xx, bad input): the key becomes free again. */
  async release(tenantId: string, key: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotent_requests WHERE tenant_id = $1 AND key = $2 AND status IS NULL', [
      tenantId,
      key,
    ]);
  }

  async read(tenantId: string, key: string): Promise<{ status: number | null; body: unknown } | undefined> {
    const result = await this.pool.query<{ status: number | null; response: unknown }>(
      'SELECT status, response FROM idempotent_requests WHERE tenant_id = $1 AND key = $2',
      [tenantId, key],
    );
    const row = result.rows[0];
    return row && { status: row.status, body: row.response };
  }
}
