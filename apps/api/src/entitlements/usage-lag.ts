/**
 * `meta.lag_seconds` for the hot path: the usage projection's lag, measured at most once per
 * `maxAgeMs` (one catalog read and one log read) however many checks ask, and shared by the checks
 * that ask while a measure is in flight. A value is served only while younger than `maxAgeMs`
 * (counted from when its measure began), so it is never staler than that plus one measure.
 */
export class UsageLag {
  private value = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<number>;

  constructor(
    private readonly measure: () => Promise<number>,
    private readonly maxAgeMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  seconds(): Promise<number> {
    if (this.now() - this.measuredAt < this.maxAgeMs) return Promise.resolve(this.value);
    if (this.inFlight !== undefined) return this.inFlight;
    const startedAt = this.now();
    const measuring = this.measure().then(
      (value) => {
        this.value = value;
        this.measuredAt = startedAt;
        this.inFlight = undefined;
        return value;
      },
      (error: unknown) => {
        this.inFlight = undefined;
        throw error;
      },
    );
    this.inFlight = measuring;
    return measuring;
  }
}

export { measureUsageLag } from '../usage/usage-lag.measure';
