import type { Pool, PoolClient } from 'pg';

/** Arbitrary constant (next to the migrator's 4_242_001): one billing cycle per database at a time. */
export const BILLING_CYCLE_LOCK = 4_242_300;

/**
 * The billing cycle's lease: a session-level Postgres advisory lock held on one dedicated pool
 * connection. Several projector replicas all run a cycle; only the holder of the lock works, the others
 * try again on each tick. Postgres releases a session lock when its session ends, so when the holder
 * dies (process killed, connection cut) the lock is free at once and the next replica to try takes over;
 * `release()` gives it back on a clean stop.
 *
 * Holding the lock is not proof against every overlap: a holder whose connection was cut mid-tick
 * finishes the work in hand while another replica starts. Everything the cycle writes is idempotent
 * (deterministic ids, gapless numbering), so an overlap costs work, never a double bill.
 */
export class BillingLease {
  private client: PoolClient | null = null;
  private lost = false;

  constructor(
    private readonly pool: Pool,
    private readonly key = BILLING_CYCLE_LOCK,
  ) {}

  get held(): boolean {
    return this.client !== null && !this.lost;
  }

  /** True when this process holds the lease (checked on its connection), taking it if it is free. */
  async acquire(): Promise<boolean> {
    if (this.client !== null) {
      if (!this.lost && (await this.alive())) return true;
      this.drop();
    }
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch {
      return false;
    }
    this.lost = false;
    // A checked-out client whose connection fails emits 'error': without a listener the process dies.
    client.on('error', () => {
      this.lost = true;
    });
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
      if (rows[0].ok) {
        this.client = client;
        return true;
      }
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
    return false;
  }

  /** Unlocks and hands the connection back (a clean stop: another replica may take over at once). */
  async release(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    this.client = null;
    try {
      await client.query('SELECT pg_advisory_unlock($1)', [this.key]);
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
  }

  private async alive(): Promise<boolean> {
    try {
      await this.client!.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** The connection is gone (so is the lock, with its session): destroy it rather than reuse it. */
  private drop(): void {
    const client = this.client;
    this.client = null;
    client?.release(new Error('billing cycle lease connection lost'));
  }
}
