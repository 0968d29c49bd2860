/**
 * Cold and warm start of `npm start`: time from spawning it until GET /readyz answers 200.
 * Cold = a fresh ABAXUS_DATA_DIR (initdb, migrations, bootstrap) including the build that
 * `prestart` runs; warm = the same data directory again. Prints one JSON object.
 *   node dist/bench/cold-start.js
 */
import { spawn } from 'node:child_process';
import { freePort } from '#platform';
import { benchTempDir, onInterrupt, root } from './bench-harness';

async function timeToReady(dataDir: string, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    detached: true,
    stdio: 'ignore',
    env: {
      ...process.env,
      ABAXUS_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      LOG_LEVEL: 'warn',
    },
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // npm start and what it starts (build, Postgres, API) share the child's process group.
  const stop = async () => {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };
  const forget = onInterrupt(stop);
  try {
    for (;;) {
      if (performance.now() - started > 120_000) throw new Error('not ready within 120 s');
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    forget();
    await stop();
  }
}

async function main(): Promise<void> {
  const dataDir = benchTempDir('abaxus-bench-start-');
  try {
    const port = await freePort();
    const coldMs = await timeToReady(dataDir.path, port);
    const warmMs = await timeToReady(dataDir.path, port);
    process.stdout.write(
      `${JSON.stringify({ bench: 'cold-start', npm_start_cold_ms: Math.round(coldMs), npm_start_warm_ms: Math.round(warmMs) })}\n`,
    );
  } finally {
    dataDir.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
