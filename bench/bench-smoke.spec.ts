import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../test/support/api';
import { createTestDatabase, type TestDatabase } from '../test/support/database';

/**
 * Every benchmark runs in CI in a seconds-long form so it cannot rot: it must finish, exit 0 and
 * print its JSON figures. No figure is asserted against a threshold (timings belong in the closing
 * notes, not in tests); only that the figures exist and are positive.
 */
const run = promisify(execFile);
const root = join(__dirname, '..');
const built = (name: string) => join(root, 'dist', 'bench', `${name}.js`);

async function runBench(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [built(name), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 240_000,
  });
  const lastLine = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(lastLine) as Record<string, unknown>;
}

function positiveNumbers(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(positiveNumbers);
  return [];
}

/**
 * The ingestion bench's CPU split (where the cores went, per event or request): the API, the projector
 * and the load generator are counted (Postgres too, unless DATABASE_URL names a server elsewhere) and
 * the total is their sum; the raw-insert ceiling counts Postgres and the load generator alone.
 */
function expectCpuSplit(figures: Record<string, unknown>): void {
  type Split = Record<'api' | 'projector' | 'postgres' | 'load_generator' | 'total', number | null>;
  const splits = [
    (figures.batch as { cpu_us_per_event: Split }).cpu_us_per_event,
    (figures.single as { cpu_us_per_request: Split }).cpu_us_per_request,
  ];
  for (const split of splits) {
    for (const part of ['api', 'projector', 'load_generator'] as const) expect(split[part]).toEqual(expect.any(Number));
    const counted = [split.api, split.projector, split.postgres, split.load_generator].filter((v) => v !== null);
    expect(split.total).toBeGreaterThan(0);
    // Each part and the total are rounded on their own.
    expect(Math.abs(split.total! - counted.reduce((sum, v) => sum + v, 0))).toBeLessThanOrEqual(2);
  }
  const raw = (figures.ceilings as { raw_insert: Array<{ cpu_us_per_event: Split }> }).raw_insert;
  for (const { cpu_us_per_event: split } of raw) {
    expect(split).toMatchObject({ api: null, projector: null, load_generator: expect.any(Number) });
    expect(split.total).toBeGreaterThan(0);
  }
}

describe('benchmarks (smoke)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.close());

  it('event-store-append prints append throughput for batches of 1 and 500', async () => {
    const figures = await runBench('event-store-append', ['--seconds', '0.5'], { DATABASE_URL: db.url });
    const text = JSON.stringify(figures);
    expect(text).toMatch(/events_per_second/);
    expect(positiveNumbers(figures).some((n) => n > 0)).toBe(true);
  }, 240_000);

  it('cold-start prints the time npm start needs to be ready, cold and warm', async () => {
    const figures = await runBench('cold-start', []);
    expect(figures.npm_start_cold_ms).toEqual(expect.any(Number));
    expect(figures.npm_start_warm_ms).toEqual(expect.any(Number));
  }, 240_000);

  it("npm run bench (run-all) runs the chosen benches and prints each one's figures as a line", async () => {
    const { stdout } = await run(process.execPath, [built('run-all'), '--smoke', '--only', 'event-store-append'], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: db.url },
      timeout: 240_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ bench: 'event-store-append' });
    await expect(run(process.execPath, [built('run-all'), '--only', 'nope'], { cwd: root })).rejects.toThrow(
      /unknown bench nope/,
    );
  }, 240_000);

  // Benchmarks of later areas join here as they land; each must offer a seconds-long mode.
  const optional: Array<[string, string[]]> = [
    ['ingestion', ['--smoke']],
    ['usage-flush', ['--smoke']],
    ['metering', ['--smoke']],
    ['entitlements', ['--smoke']],
    ['reproduce', ['--smoke']],
    ['billing-run', ['--smoke']],
  ];
  for (const [name, args] of optional) {
    const present = existsSync(join(root, 'bench', `${name}.ts`));
    (present ? it : it.skip)(
      `${name} runs in its smoke mode${present ? '' : ' (skipped: bench not written yet)'}`,
      async () => {
        const figures = await runBench(name, args);
        expect(positiveNumbers(figures).length).toBeGreaterThan(0);
        if (name === 'ingestion' && existsSync('/proc/self/stat')) expectCpuSplit(figures);
      },
      240_000,
    );
  }

  it('an interrupted bench stops the API, projector and Postgres it started, and removes its cluster', async () => {
    const bench = spawn(process.execPath, [built('ingestion'), '--smoke'], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    bench.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    // Interrupted once its API, projector and cluster are all up (the load has not started yet or runs).
    let started: Array<{ pid: number; args: string }> = [];
    await eventually(
      async () => {
        started = descendants(bench.pid!);
        const has = (pattern: RegExp) => started.some((process) => pattern.test(process.args));
        return has(/main\.js api\b/) && has(/main\.js projector\b/) && has(/\/postgres -D /);
      },
      'the bench to start its API, projector and cluster',
      120_000,
    );
    const clusterDir = /-D (\S+)/.exec(started.find((process) => /\/postgres -D /.test(process.args))!.args)![1];
    expect(existsSync(clusterDir)).toBe(true);
    bench.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toMatch(/SIGTERM; stopping what it started/);
    await eventually(async () => started.every((process) => !alive(process.pid)), 'its processes to end', 30_000);
    expect(existsSync(clusterDir)).toBe(false);
  }, 240_000);
});

/** Every living process below `pid` (from /proc), with its command line. */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const parents = new Map<number, number>();
  const args = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      args.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // exited meanwhile
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parents) {
      if (below.has(parent) && !below.has(child)) {
        below.add(child);
        grew = true;
      }
    }
  }
  below.delete(pid);
  return [...below].map((child) => ({ pid: child, args: args.get(child) ?? '' }));
}

/** Still running (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
