import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { transformFile } from '@swc/core';
import { PostgresEventStore, streamName, waitForPosition, type Checkpoint, type NewEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

/**
 * THE crash test: a real projector process is SIGKILLed in the middle of batches (rows written,
 * transaction open), and at other moments, then restarted; at the end every event must have been
 * applied exactly once and the checkpoint must be at the head.
 */
const ROOT = resolve(__dirname, '../../..');
const EVENTS = 20_000;
const MID_BATCH_KILLS = 4;

/**
 * The child runs the built projector (`npm test` builds first). Only a missing build is detected:
 * file times cannot tell a stale build, because the compiler leaves unchanged output untouched.
 */
function missingBuild(): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'testing') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) {
        const built = join(ROOT, 'dist', relative(ROOT, path).replace(/\.ts$/, '.js'));
        if (!existsSync(built)) stale.push(relative(ROOT, path));
      }
    }
  };
  for (const dir of ['libs/ledger/src', 'libs/platform/src', 'apps/projector/src']) walk(join(ROOT, dir));
  return stale;
}

/** tsconfig.build.json leaves testing/ out of dist: compile the child next to the built projector. */
async function compileChild(): Promise<string> {
  const out = join(ROOT, 'dist/apps/projector/src/testing/crash-child.js');
  const { code } = await transformFile(join(__dirname, 'testing/crash-child.ts'), {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  return out;
}

class Child {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private readonly waiters = new Set<() => void>();
  private readonly process: ChildProcess;

  constructor(script: string, env: Record<string, string>) {
    this.process = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of [...this.waiters]) wake();
    });
    this.process.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.exited = new Promise((resolveExit) =>
      this.process.once('close', (code, signal) => resolveExit({ code, signal })),
    );
    // 'close', not 'exit': by then every line the child wrote has been read.
    void this.exited.then(() => {
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** The `n`th line (1-based) matching `prefix`. */
  async line(prefix: string, n = 1, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter((line) => line.startsWith(prefix))[n - 1];
      if (found !== undefined) return found;
      if (this.process.exitCode !== null || this.process.signalCode !== null || Date.now() > deadline) {
        throw new Error(
          `no line #${n} "${prefix}" from the child; stdout: ${this.lines.slice(-5).join(' | ')}; stderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        const waiters = this.waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          wake();
        }
        waiters.add(done);
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }
}

describe('projector crash test (SIGKILL mid-batch, restart)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let script: string;
  let head: Checkpoint;
  const children: Child[] = [];

  const start = (delayMs: number) => {
    const child = new Child(script, {
      DATABASE_URL: db.url,
      CRASH_BATCH_SIZE: '500',
      CRASH_BATCH_DELAY_MS: String(delayMs),
    });
    children.push(child);
    return child;
  };
  /** The read model, its counter and its checkpoint, as committed. */
  const committed = async () => {
    const result = await db.pool.query(
      `SELECT p.checkpoint, p.events_applied::int AS events_applied,
              (SELECT coalesce(sum(events), 0)::int FROM crash_counter) AS counter,
              (SELECT count(*)::int FROM crash_applied) AS rows
         FROM projections p WHERE p.name = 'crash_counter' AND p.status = 'live'`,
    );
    return result.rows[0] as { checkpoint: Checkpoint | null; events_applied: number; counter: number; rows: number };
  };
  const appliedSoFar = async () =>
    ((await db.pool.query(`SELECT events_applied::int AS n FROM projections WHERE name = 'crash_counter'`)).rows[0]
      ?.n as number | undefined) ?? 0;
  const killAndCheck = async (child: Child) => {
    child.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const state = await committed();
    // At every crash point the rows, the counter and the checkpoint agree.
    expect(state.counter).toBe(state.events_applied);
    expect(state.rows).toBe(state.events_applied);
    expect(store.compareCheckpoints(state.checkpoint, head)).toBeLessThan(0);
    return state;
  };

  beforeAll(async () => {
    const missing = missingBuild();
    if (missing.length > 0)
      throw new Error(`dist has no build of ${missing.join(', ')}: run \`npm run build\` first (npm test does)`);
    script = await compileChild();
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    for (let s = 0; s < 40; s += 1) {
      const events: NewEvent[] = Array.from({ length: EVENTS / 40 }, (_, i) => ({
        id: randomUUID(),
        type: 'Tested',
        data: { i },
        metadata: { tenant_id: 'crash', actor: 'system:test' },
      }));
      head = (await store.append(streamName('crash', 'test', `s${s}`), events)).position;
    }
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await store?.close();
    await db?.close();
  });

  it('applies every event exactly once across SIGKILLs mid-batch, and ends with the checkpoint at the head', async () => {
    let midBatchKills = 0;
    for (let attempt = 1; midBatchKills < MID_BATCH_KILLS; attempt += 1) {
      if (attempt > MID_BATCH_KILLS * 3)
        throw new Error(`only ${midBatchKills} kills landed mid-batch in ${attempt - 1} attempts`);
      const before = await appliedSoFar();
      const child = start(300);
      // Batches of one projection run one after another: the second batch's rows are written only
      // after the first batch committed, so this line means "checkpoint moved, next batch in flight".
      const inFlight = await child.line('uncommitted', 2);
      const state = await killAndCheck(child);
      expect(state.events_applied).toBeGreaterThan(before);
      const [, eventId, stream] = inFlight.split(' ');
      const applied = await db.pool.query('SELECT 1 FROM crash_applied WHERE event_id = $1 AND stream = $2', [
        eventId,
        stream,
      ]);
      // The batch in flight was rolled back with the process (had the kill come late, it would be here).
      if (applied.rowCount === 0) midBatchKills += 1;
    }

    // Kills at other moments: during start-up, reads, or between batches.
    for (const afterMs of [0, 120, 450]) {
      const child = start(100);
      await child.line('started');
      await new Promise((resolveWait) => setTimeout(resolveWait, afterMs));
      await killAndCheck(child);
    }

    const last = start(0);
    await waitForPosition({ pool: db.pool, store }, 'crash_counter', head, 120_000);
    last.kill('SIGTERM');
    expect(await last.exited).toEqual({ code: 0, signal: null });
    expect(last.lines).toContain('stopped');

    const state = await committed();
    expect(state).toEqual({ checkpoint: head, events_applied: EVENTS, counter: EVENTS, rows: EVENTS });
    const missing = await db.pool.query(
      `SELECT count(*)::int AS n FROM events e
        WHERE NOT EXISTS (SELECT 1 FROM crash_applied a WHERE a.event_id = e.id AND a.stream = e.stream)`,
    );
    expect(missing.rows[0].n).toBe(0);
    const catalog = await db.pool.query(`SELECT last_error FROM projections WHERE name = 'crash_counter'`);
    expect(catalog.rows).toEqual([{ last_error: null }]);
  }, 180_000);
});
