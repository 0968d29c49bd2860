import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import type * as ApiModule from '../../apps/api/src';
import type * as LedgerModule from '../../libs/ledger/src';
import type * as PlatformModule from '../../libs/platform/src';
import type { EventStore } from '../../libs/ledger/src';
import type { AbaxusConfig } from '../../libs/platform/src';
import { createTestDatabase, type TestDatabase } from './database';

/**
 * HTTP tests run the real API over real HTTP, from the BUILD (dist/), loaded with Node's own
 * require: NestJS 12 is ESM-only, which Jest's module system cannot load on Node 20, while Node's
 * require(esm) can. Everything the API touches (Nest, pg, the event store) lives in that native
 * module graph; the test talks to it over HTTP and through the returned `store` and `modules`.
 *
 * So that a spec never tests yesterday's build, each Jest worker runs the (incremental, ~1 s) build
 * once before loading it, serialised with other workers by a lock directory. Set
 * ABAXUS_TEST_SKIP_BUILD=1 to use dist/ as it is.
 */
export const repoRoot = join(__dirname, '..', '..');
// The outer (non-Jest) realm: its require is Node's, its globals outlive one test file.
const outerRealm = runInThisContext('globalThis') as { __abaxusTestBuildDone?: boolean };
const nativeRequire = (
  runInThisContext('process.getBuiltinModule("node:module").createRequire') as (path: string) => NodeRequire
)(__filename);

const LOCK_DIR = join(repoRoot, 'dist', '.test-build.lock');
const LOCK_STALE_MS = 120_000;

function withBuildLock<T>(work: () => T): T {
  mkdirSync(join(repoRoot, 'dist'), { recursive: true });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A worker killed mid-build leaves its lock behind.
      const lock = statSync(LOCK_DIR, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > LOCK_STALE_MS) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
      }
      Atomics.wait(pause, 0, 0, 50);
    }
  }
  try {
    return work();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

function buildOnce(): void {
  if (outerRealm.__abaxusTestBuildDone || process.env.ABAXUS_TEST_SKIP_BUILD === '1') return;
  withBuildLock(() => {
    const tsc = join(repoRoot, 'node_modules', 'typescript7', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
    // Type errors elsewhere in the tree still emit JavaScript; only a missing entry point is fatal.
    if (!existsSync(join(repoRoot, 'dist', 'apps', 'api', 'src', 'index.js'))) {
      throw new Error(`npm run build produced no API:\n${result.stdout}${result.stderr}`);
    }
  });
  outerRealm.__abaxusTestBuildDone = true;
}

export interface NativeModules {
  api: typeof ApiModule;
  ledger: typeof LedgerModule;
  platform: typeof PlatformModule;
}

let modules: NativeModules | undefined;

/** The built API, ledger and platform libs, loaded natively (one instance per Jest worker). */
export function loadBuiltModules(): NativeModules {
  if (modules) return modules;
  buildOnce();
  const load = <T>(path: string) => nativeRequire(join(repoRoot, 'dist', path)) as T;
  modules = {
    api: load<typeof ApiModule>('apps/api/src/index.js'),
    ledger: load<typeof LedgerModule>('libs/ledger/src/index.js'),
    platform: load<typeof PlatformModule>('libs/platform/src/index.js'),
  };
  return modules;
}

/** A package as the built API sees it (`@nestjs/core`), loaded natively. */
export function requireNative<T>(id: string): T {
  return nativeRequire(id) as T;
}

/** Any built module by its source path (`apps/api/src/common/auth/auth.guard`), loaded natively. */
export function loadBuiltFile<T>(sourcePath: string): T {
  loadBuiltModules();
  return nativeRequire(join(repoRoot, 'dist', `${sourcePath.replace(/\.ts$/, '')}.js`)) as T;
}

/** The built Postgres event store on `url` (for calling built functions such as the bootstrap directly). */
export function openBuiltStore(url: string): { store: EventStore; close(): Promise<void> } {
  const { platform, ledger } = loadBuiltModules();
  const pool = platform.createPool(url, { max: 5, applicationName: 'abaxus-test-store' });
  const store = new ledger.PostgresEventStore(pool);
  return {
    store,
    close: async () => {
      await store.close();
      await pool.end();
    },
  };
}

/** A fixed admin key, so tests can also start a second replica with the same operator. */
export const TEST_ADMIN_KEY = 'sk_testadmin0000000000000000000000000000';

export interface TestApiOptions {
  /** Share a database (a second replica); it is not dropped by close(). */
  db?: TestDatabase;
  adminKey?: string;
  config?: Partial<AbaxusConfig>;
  logger?: Logger;
  /** The app's pool connects here instead (a fault-injecting proxy in front of the test database). */
  databaseUrl?: string;
  /** Wraps the store the app sees (fault injection); the test's `store` stays the real one. */
  wrapStore?: (store: EventStore) => EventStore;
}

export interface TestResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (malformed JSON tests); implies no JSON encoding. */
  rawBody?: string;
  /** Default: the admin key; null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface TestApi {
  baseUrl: string;
  adminKey: string;
  db: TestDatabase;
  store: EventStore;
  app: NestFastifyApplication;
  config: AbaxusConfig;
  modules: NativeModules;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into bodies freely
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  /** Stops the API only (startApi's close: drains requests in flight); the database stays. */
  stopApi(): Promise<void>;
  /** Stops everything this call started; the database too unless it was given. */
  close(): Promise<void>;
}

export async function sendRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (body === undefined && options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: /json/.test(type) && text !== '' ? JSON.parse(text) : text,
  };
}

/** A migrated database, the Postgres event store, the bootstrapped `default` tenant, the API on 127.0.0.1:0. */
export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const native = loadBuiltModules();
  const db = options.db ?? (await createTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'abaxus-api-'));
  const adminKey = options.adminKey ?? TEST_ADMIN_KEY;
  const config: AbaxusConfig = {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: db.url,
    dataDir,
    adminKey,
    logLevel: 'silent',
    bodyLimitBytes: 1_048_576,
    ...options.config,
  };
  const pool = native.platform.createPool(options.databaseUrl ?? db.url, {
    max: 10,
    applicationName: 'abaxus-test-api',
  });
  const store = new native.ledger.PostgresEventStore(pool);
  const cleanups: Array<() => Promise<unknown>> = [
    async () => rmSync(dataDir, { recursive: true, force: true }),
    ...(options.db ? [] : [() => db.close()]),
    () => pool.end(),
    () => store.close(),
  ];
  try {
    await native.api.bootstrapDefaultTenant({ store, config });
    const running = await native.api.startApi({
      config,
      pool,
      store: options.wrapStore ? options.wrapStore(store) : store,
      logger: options.logger,
    });
    cleanups.push(() => running.close());
    return {
      baseUrl: running.url,
      adminKey,
      db,
      store,
      app: running.app,
      config,
      modules: native,
      stopApi: () => running.close(),
      request: (method, path, requestOptions = {}) =>
        sendRequest(running.url, method, path, {
          ...requestOptions,
          key: requestOptions.key === undefined ? adminKey : requestOptions.key,
        }),
      close: async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      },
    } as TestApi;
  } catch (error) {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    throw error;
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then fails with `what`). Not a timing assertion. */
export async function eventually<T>(
  condition: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await condition();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface DatabaseProxy {
  /** The database URL, through the proxy. */
  url: string;
  /** Refuse new connections and cut the open ones: the database is "unreachable". */
  cut(): Promise<void>;
}

/** A TCP proxy in front of the test database, to make it unreachable on demand (outage tests). */
export async function startDatabaseProxy(databaseUrl: string): Promise<DatabaseProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: proxied.toString(),
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
