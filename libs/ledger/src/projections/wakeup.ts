/**
 * Lets idle loops wait for "something may have changed" without missing a signal that arrived
 * between their last read and the start of their wait: a loop notes `generation` before reading and
 * passes it to `wait`, which returns at once if a ring happened since.
 */
export class Wakeup {
  private ringCount = 0;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  private readonly sleepers = new Set<() => void>();

  get generation(): number {
    return this.ringCount;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  ring(): void {
    this.ringCount += 1;
    for (const wake of [...this.waiters]) wake();
  }

  /** Ends every wait and sleep now and all future ones at once. */
  close(): void {
    this.closed = true;
    this.ring();
    for (const wake of [...this.sleepers]) wake();
  }

  /** Resolves after `ms`, on a ring after `seen`, or on close. */
  wait(seen: number, ms: number): Promise<void> {
    if (this.closed || this.ringCount !== seen) return Promise.resolve();
    return this.park(this.waiters, ms);
  }

  /** Resolves after `ms` or on close; rings do not cut it short (back-off after a failure). */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.park(this.sleepers, ms);
  }

  private park(set: Set<() => void>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }
}
