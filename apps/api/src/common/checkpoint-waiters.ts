import type { Checkpoint } from '#ledger';

/**
 * Callers waiting for an in-memory follower of the log (key, catalog, subscription directories) to
 * apply a position: read-your-writes for a command that just appended, without a database read.
 */
export class CheckpointWaiters {
  private waiters: Array<{ position: Checkpoint; resolve: () => void }> = [];

  constructor(private readonly compare: (a: Checkpoint | null, b: Checkpoint | null) => number) {}

  /** True once `release` sees `position` applied (at once if `current` already passed it), false after the timeout. */
  wait(current: Checkpoint | null, position: Checkpoint | null, timeoutMs: number): Promise<boolean> {
    if (position === null || this.compare(current, position) >= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves every waiter whose position `current` has reached. */
  release(current: Checkpoint | null): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.compare(current, waiter.position) < 0) return true;
      waiter.resolve();
      return false;
    });
  }

  /** On shutdown: nobody waits for a follower that stopped. */
  releaseAll(): void {
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }
}
