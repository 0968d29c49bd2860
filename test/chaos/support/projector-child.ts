import type { Pool } from 'pg';
import { runCli, type RunningProcess } from '../../support/process';

/**
 * A real `abaxus projector` process (the built CLI) for the chaos scenarios: started on a test
 * database, its `/metrics` scraped (port 0, the URL read from its "projector started" log line), and
 * SIGKILLed (no drain, no release: Postgres sees the connections drop).
 */
export interface ProjectorChild {
  readonly label: string;
  readonly proc: RunningProcess;
  /** Set once the child logged "projector started". */
  metricsUrl: string | null;
  /** Resolves when the projector is running (projections set up, loops started). */
  started(timeoutMs?: number): Promise<void>;
  /** `/metrics` as name -> value, summed over series matching `labels`; null when the child is gone. */
  scrape(): Promise<ProjectorMetricsSample | null>;
  kill(): Promise<number | string>;
  /** SIGTERM, then the exit code (0: drained cleanly). */
  terminate(): Promise<number | string>;
  readonly alive: boolean;
}

export interface ProjectorMetricsSample {
  /** Sum over every series of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
}

export interface ProjectorChildOptions {
  databaseUrl: string;
  label: string;
  /** ABAXUS_BILLING_CYCLE_SECONDS: 0 turns the cycle off. */
  billingCycleSeconds: number;
  env?: NodeJS.ProcessEnv;
}

export function startProjectorChild(options: ProjectorChildOptions): ProjectorChild {
  const proc = runCli(['projector'], {
    DATABASE_URL: options.databaseUrl,
    EVENT_STORE_URL: '',
    PROJECTOR_METRICS_PORT: '0',
    ABAXUS_BILLING_CYCLE_SECONDS: String(options.billingCycleSeconds),
    LOG_LEVEL: 'info',
    ...options.env,
  });
  let exitedWith: number | string | null = null;
  void proc.exited.then((code) => (exitedWith = code));
  const child: ProjectorChild = {
    label: options.label,
    proc,
    metricsUrl: null,
    get alive() {
      return exitedWith === null;
    },
    started: async (timeoutMs = 90_000) => {
      const [line] = await proc.waitFor(/^\{.*"projector started".*\}$/m, timeoutMs);
      const parsed = JSON.parse(line) as { metrics?: string | null };
      child.metricsUrl = parsed.metrics ?? null;
    },
    scrape: async () => {
      if (!child.metricsUrl || exitedWith !== null) return null;
      try {
        const response = await fetch(child.metricsUrl);
        return parseMetrics(await response.text());
      } catch {
        return null; // killed between the check and the request
      }
    },
    kill: async () => {
      proc.child.kill('SIGKILL');
      return proc.exited;
    },
    terminate: async () => {
      proc.child.kill('SIGTERM');
      return proc.exited;
    },
  };
  return child;
}

/** Prometheus text format, enough of it for counters, gauges and histogram `_count` series. */
export function parseMetrics(text: string): ProjectorMetricsSample {
  const series: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    series.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return {
    value: (name, wanted = {}) =>
      series
        .filter((s) => s.name === name && Object.entries(wanted).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
  };
}

/**
 * Whether a projector process has a transaction open on `database` right now (a batch being applied,
 * a close being written): used to aim a SIGKILL at the middle of the work rather than between it.
 */
export async function projectorTransactionOpen(pool: Pool, database: string): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = $1 AND application_name = 'abaxus-projector'
        AND xact_start IS NOT NULL AND state <> 'idle'`,
    [database],
  );
  return rows[0].n > 0;
}

/** Polls `projectorTransactionOpen` for up to `withinMs`; true as soon as one is seen. */
export async function awaitProjectorTransaction(pool: Pool, database: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await projectorTransactionOpen(pool, database)) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

export const randomBetween = (minMs: number, maxMs: number): number => minMs + Math.random() * (maxMs - minMs);
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
