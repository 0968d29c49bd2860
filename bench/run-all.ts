/**
 * `npm run bench`: every benchmark, one after another, each in its own process (each starts its own
 * embedded cluster unless DATABASE_URL is set), on a machine left otherwise quiet. Prints each
 * bench's JSON figures as one line, in order. The 10M-event billing run (~30 min) only with
 * --with-billing-run.
 *   node dist/bench/run-all.js [--smoke] [--only ingestion,metering] [--with-billing-run]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { onInterrupt } from './bench-harness';

/** In run order; `smoke`: the seconds-long form CI runs (bench-smoke.spec.ts). */
const BENCHES: ReadonlyArray<{ name: string; full: string[]; smoke: string[]; long?: boolean }> = [
  { name: 'event-store-append', full: [], smoke: ['--seconds', '0.5'] },
  { name: 'cold-start', full: [], smoke: [] },
  { name: 'entitlements', full: [], smoke: ['--smoke'] },
  { name: 'ingestion', full: [], smoke: ['--smoke'] },
  { name: 'usage-flush', full: [], smoke: ['--smoke'] },
  { name: 'metering', full: [], smoke: ['--smoke'] },
  { name: 'reproduce', full: ['--vacuum'], smoke: ['--smoke'] },
  { name: 'billing-run', full: ['--subscriptions', '10000', '--events', '10000000'], smoke: ['--smoke'], long: true },
];

interface Options {
  smoke: boolean;
  only?: string[];
  withBillingRun: boolean;
}

function parse(argv: string[]): Options {
  const known = BENCHES.map((bench) => bench.name);
  const program = new Command('run-all')
    .option('--smoke', 'the seconds-long form of each bench', false)
    .option('--only <names>', `comma-separated, of: ${known.join(', ')}`, (value: string) => {
      const names = value.split(',').filter(Boolean);
      const unknown = names.filter((name) => !known.includes(name));
      if (unknown.length > 0) throw new Error(`--only: unknown bench ${unknown.join(', ')}`);
      return names;
    })
    .option('--with-billing-run', 'also the 10,000-subscription / 10M-event billing run (~30 min)', false)
    .parse(argv, { from: 'user' });
  return program.opts<Options>();
}

/** Runs one bench; resolves with the JSON of its last stdout line. Its stderr passes through. */
function runBench(name: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, `${name}.js`), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    // Interrupted: the bench gets SIGTERM and stops what it started before run-all exits.
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const forget = onInterrupt(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      forget();
      if (code !== 0) return reject(new Error(`${name} exited with ${signal ?? code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
      } catch {
        reject(new Error(`${name} printed no JSON figures`));
      }
    });
  });
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const chosen = BENCHES.filter((bench) =>
    options.only ? options.only.includes(bench.name) : !bench.long || options.withBillingRun || options.smoke,
  );
  for (const bench of chosen) {
    const figures = await runBench(bench.name, options.smoke ? bench.smoke : bench.full);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
