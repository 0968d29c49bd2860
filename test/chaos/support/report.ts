import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The chaos suite's shared contract. Every scenario spec under test/chaos runs for
 * `chaosDurationMs()` (bounded in CI, long with `npm run test:chaos -- --minutes N`) and ends with
 * `reportChaos(...)`: one JSON line per scenario with its figures (events sent / acknowledged /
 * counted, requests tried, 500s seen, restarts survived), printed in the test output and appended
 * to `chaos-report.jsonl`, which the summary reporter repeats before the closing line.
 */
export interface ChaosReport {
  /** Stable scenario name, e.g. `api-kill`. */
  scenario: string;
  /** How long the faults were injected. */
  duration_ms: number;
  /** Counters only: integers, or decimal strings for usage values. */
  figures: Record<string, number | string>;
}

const DEFAULT_SECONDS = 15;

/** Fault-injection time per scenario: `ABAXUS_CHAOS_SECONDS` (set by test/chaos/run.js), else 15 s. */
export function chaosDurationMs(defaultSeconds = DEFAULT_SECONDS): number {
  const raw = process.env.ABAXUS_CHAOS_SECONDS;
  const seconds = raw ? Number(raw) : defaultSeconds;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`ABAXUS_CHAOS_SECONDS must be > 0, got ${raw}`);
  return Math.round(seconds * 1000);
}

/** A Jest timeout that leaves room for setup and reconciliation around the fault window. */
export function chaosTimeoutMs(extraMs = 180_000): number {
  return chaosDurationMs() + extraMs;
}

export function chaosReportFile(): string {
  return process.env.ABAXUS_CHAOS_REPORT ?? join(process.cwd(), 'chaos-report.jsonl');
}

export function reportChaos(report: ChaosReport): void {
  const line = JSON.stringify(report);
  // Straight to stdout: Jest buffers console.log per test file, and CI logs should carry the figures.
  process.stdout.write(`CHAOS ${line}\n`);
  const file = chaosReportFile();
  mkdirSync(join(file, '..'), { recursive: true });
  appendFileSync(file, `${line}\n`);
}
