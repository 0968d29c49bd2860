import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cliMain, repoRoot } from '../../support/process';
import { waitUntil } from './wait';

export type EngineRole = 'api' | 'projector' | 'start';

export interface EngineProcessOptions {
  role: EngineRole;
  /** DATABASE_URL, ABAXUS_DATA_DIR, ABAXUS_ADMIN_KEY, ...: merged over the test's environment. */
  env: Record<string, string>;
  /** How long start()/restart() wait for readiness. Default 90 s (a loaded 2-core machine). */
  readyTimeoutMs?: number;
}

const TAIL_CHARS = 16_000;
/** The projector logs this (pino, level info) once every projection subscribed. */
const PROJECTOR_STARTED = /"msg":"projector started"/;

/**
 * One `abaxus api|projector|start` child process of the BUILT CLI (dist/), which a chaos scenario
 * kills and restarts with the same environment and the same port. It keeps only the tail of the
 * output (a long run logs a lot), for failure messages.
 */
export class EngineProcess {
  /** Where the API listens (api/start roles); null for the projector. */
  readonly url: string | null;
  /** How many times the process was started (1 after start()). */
  starts = 0;
  private child: ChildProcess | null = null;
  private exit: Promise<number | string> = Promise.resolve(0);
  private tailText = '';

  private constructor(
    private readonly options: EngineProcessOptions,
    private readonly port: number | null,
  ) {
    this.url = port === null ? null : `http://127.0.0.1:${port}`;
  }

  /** Spawns the process and waits until it is ready (API: GET /readyz 200; projector: "projector started"). */
  static async start(options: EngineProcessOptions & { port?: number }): Promise<EngineProcess> {
    const engine = EngineProcess.spawn(options);
    await engine.waitReady();
    return engine;
  }

  /** Spawns the process without waiting for readiness (waitReady() does). */
  static spawn(options: EngineProcessOptions & { port?: number }): EngineProcess {
    if (!existsSync(cliMain)) throw new Error(`no build at ${cliMain}: run \`npm run build\` first`);
    const port = options.role === 'projector' ? null : (options.port ?? null);
    if (options.role !== 'projector' && port === null) throw new Error(`${options.role} needs a port`);
    const engine = new EngineProcess(options, port);
    engine.spawnChild();
    return engine;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last ~16 KB of stdout+stderr of every start, for failure messages. */
  tail(): string {
    return this.tailText;
  }

  /** Starts again (same environment, same port) and waits for readiness. The previous child must be gone. */
  async restart(): Promise<void> {
    if (this.running) throw new Error(`${this.options.role} is still running (pid ${this.child?.pid})`);
    this.spawnChild();
    await this.waitReady();
  }

  /** Spawns without waiting for readiness (a scenario may want to hit a process that is starting). */
  spawnChild(): void {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...this.options.env };
    if (this.port !== null) Object.assign(env, { PORT: String(this.port), HOST: '127.0.0.1' });
    const child = spawn(process.execPath, [cliMain, this.options.role], { cwd: repoRoot, env, stdio: 'pipe' });
    this.starts += 1;
    this.append(`\n--- start #${this.starts} (pid ${child.pid}) ---\n`);
    const onData = (chunk: Buffer) => this.append(chunk.toString('utf8'));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    this.child = child;
  }

  async waitReady(timeoutMs = this.options.readyTimeoutMs ?? 90_000): Promise<void> {
    const startedAt = this.starts;
    await waitUntil(
      `${this.options.role} start #${startedAt} ready`,
      async () => {
        if (!this.running) throw new Error(`${this.options.role} exited during start-up:\n${this.tailText}`);
        if (this.url === null) return PROJECTOR_STARTED.test(this.sinceLastStart());
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
        await response?.body?.cancel();
        return response?.status === 200;
      },
      { timeoutMs, intervalMs: 100, describe: () => this.tailText },
    );
  }

  /** Sends `signal` (default SIGKILL) and resolves with the exit code or signal name. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | string> {
    if (this.running) this.child!.kill(signal);
    return this.exit;
  }

  /** SIGTERM (graceful drain), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | string> {
    if (!this.running) return this.exit;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  private sinceLastStart(): string {
    const marker = this.tailText.lastIndexOf(`--- start #${this.starts} `);
    return marker < 0 ? this.tailText : this.tailText.slice(marker);
  }

  private append(text: string): void {
    this.tailText = (this.tailText + text).slice(-TAIL_CHARS);
  }
}
