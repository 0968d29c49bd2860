/**
 * Concurrent calls with the same key share one run of the work; the next call after it settles
 * (fulfilled or rejected) runs it again. Nothing is remembered beyond the run in flight.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Keys with a run in flight. */
  get size(): number {
    return this.inFlight.size;
  }
}
