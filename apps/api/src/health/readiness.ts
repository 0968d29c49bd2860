import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { EventStore } from '#ledger';
import { pendingMigrations } from '#platform';
import { KeyDirectory } from '../common/auth/key-directory';
import { EVENT_STORE, PG_POOL, ROOT_LOGGER } from '../common/tokens';

export interface CheckResult {
  name: string;
  status: 'ok' | 'failed';
  /** Safe for a public endpoint: no hosts, no SQL, no stack. */
  detail?: string;
}

const CHECK_TIMEOUT_MS = 2_000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What /readyz checks: can this replica serve requests correctly right now? */
@Injectable()
export class Readiness {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly directory: KeyDirectory,
  ) {}

  async check(): Promise<CheckResult[]> {
    return Promise.all([
      this.run('database', async () => {
        await this.pool.query('SELECT 1');
      }),
      this.run('event_store', () => this.store.ping()),
      this.run('migrations', async () => {
        const pending = await pendingMigrations(this.pool);
        if (pending.length > 0) return `pending: ${pending.join(', ')}`;
      }),
      this.run('key_directory', async () => {
        const status = this.directory.status();
        if (!status.loaded || !status.live) return 'not following the event log';
      }),
    ]);
  }

  /** `probe` resolves to nothing when healthy, to a reason when not; a throw is "unreachable". */
  private async run(name: string, probe: () => Promise<string | void>): Promise<CheckResult> {
    try {
      const problem = await withTimeout(probe(), CHECK_TIMEOUT_MS);
      return problem ? { name, status: 'failed', detail: problem } : { name, status: 'ok' };
    } catch (error) {
      this.logger.warn({ err: error, check: name }, 'readiness check failed');
      return { name, status: 'failed', detail: 'unreachable' };
    }
  }
}
