import type { Pool } from 'pg';
import type { EventStore } from './event-store';
import { InvalidEventStoreUrlError, isKurrentConnectionString } from './kurrent/kurrent-connection';
import { PostgresEventStore } from './postgres/postgres-event-store';

type KurrentModule = typeof import('./kurrent/kurrent-event-store');

export interface CreateEventStoreOptions {
  /** `EVENT_STORE_URL`. Unset or empty: the Postgres event store in `pool`'s database. */
  eventStoreUrl?: string;
  /** The application's pool; the Postgres store uses it (and never closes it). */
  pool: Pool;
}

/**
 * The one place that turns configuration into an event store (DESIGN.md section 4): Postgres by
 * default, KurrentDB for `kurrentdb://` / `esdb://` (and their `+discover` cluster forms).
 * Nothing connects here; `ping()` is the reachability check.
 */
export function createEventStore(options: CreateEventStoreOptions): EventStore {
  const url = options.eventStoreUrl?.trim();
  if (url === undefined || url === '') return new PostgresEventStore(options.pool);
  if (isKurrentConnectionString(url)) {
    // Loaded here, not at the top: the KurrentDB client (gRPC) costs ~200 ms of start-up, which every
    // process (API, projector, each CLI command) would pay in the default Postgres mode.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy by design (see above)
    const { KurrentEventStore } = require('./kurrent/kurrent-event-store') as KurrentModule;
    return KurrentEventStore.fromConnectionString(url);
  }
  throw new InvalidEventStoreUrlError(
    url,
    'EVENT_STORE_URL must be unset (the Postgres event store in DATABASE_URL) or a kurrentdb:// or esdb:// connection string',
  );
}
