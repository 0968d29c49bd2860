import type { ClientAnswer } from './event-client';

interface Window {
  from: number;
  to: number | null;
}

/**
 * When a backing service was down, and what the API answered meanwhile. Only requests sent after
 * the outage began and answered before it ended are judged (one that straddles a boundary may
 * rightly succeed); each must be a 503 problem+json with Retry-After, answered within `boundMs`.
 */
export class OutageLog {
  private readonly windows: Window[] = [];
  /** `endpoint status` -> count, for requests wholly inside an outage. */
  readonly statuses: Record<string, number> = {};
  /** Requests inside an outage that broke the contract (first few, for the failure message). */
  readonly violations: string[] = [];
  violationCount = 0;
  judged = 0;
  maxLatencyMs = 0;

  constructor(private readonly boundMs: number) {}

  get outages(): number {
    return this.windows.length;
  }

  begin(at = Date.now()): void {
    this.windows.push({ from: at, to: null });
  }

  end(at = Date.now()): void {
    const open = this.windows.at(-1);
    if (open && open.to === null) open.to = at;
  }

  /** Whether [startMs, endMs] lies inside one outage (an open one counts up to now). */
  inside(startMs: number, endMs: number): boolean {
    return this.windows.some((w) => startMs >= w.from && endMs <= (w.to ?? Date.now()));
  }

  /** Judges one answer (a client's or a probe's); ignores it unless it lies wholly inside an outage. */
  judge(answer: ClientAnswer, extra?: (answer: ClientAnswer) => string | null): void {
    if (!this.inside(answer.at, answer.at + answer.latencyMs)) return;
    this.judged += 1;
    const name = `${answer.endpoint} ${answer.status}`;
    this.statuses[name] = (this.statuses[name] ?? 0) + 1;
    this.maxLatencyMs = Math.max(this.maxLatencyMs, answer.latencyMs);
    const problem =
      answer.status !== 503
        ? `status ${answer.status}`
        : !String(answer.headers['content-type']).startsWith('application/problem+json')
          ? `content-type ${String(answer.headers['content-type'])}`
          : answer.headers['retry-after'] === undefined
            ? 'no Retry-After'
            : answer.latencyMs > this.boundMs
              ? `answered in ${answer.latencyMs} ms (bound ${this.boundMs} ms)`
              : (extra?.(answer) ?? null);
    if (problem === null) return;
    this.violationCount += 1;
    if (this.violations.length < 10) this.violations.push(`${answer.endpoint}: ${problem}`);
  }
}
