import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { EventStore } from '#ledger';
import type { AbaxusConfig } from '#platform';

/** What the process hands the API: it owns none of them and closes none of them. */
export interface ApiDeps {
  config: AbaxusConfig;
  pool: Pool;
  store: EventStore;
  logger?: Logger;
}

// Injection tokens for the dependencies above (interfaces have no runtime identity).
export const ABAXUS_CONFIG = Symbol('ABAXUS_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
