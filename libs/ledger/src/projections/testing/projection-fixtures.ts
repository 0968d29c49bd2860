import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Checkpoint, EventStore, NewEvent, RecordedEvent } from '../../event-store';
import { streamName } from '../../streams';
import type { Projection } from '../projection';
import { ProjectionRunner } from '../projection-runner';
import { settledHead } from '../../testing/settled-head';

/**
 * Appends `count` events spread over `streams` streams, `chunk` events per append. Returns the
 * position of the last one: wait for that, not for `headCheckpoint()`, which stays behind events
 * committed after an older transaction still open (a projector batch, for one).
 */
export async function appendEvents(
  store: EventStore,
  count: number,
  options: { tenant?: string; streams?: number; type?: string; chunk?: number; actor?: string } = {},
): Promise<Checkpoint> {
  const tenant = options.tenant ?? 't1';
  const streams = options.streams ?? 10;
  const chunk = options.chunk ?? 500;
  let written = 0;
  let round = 0;
  let last: Checkpoint | null = null;
  while (written < count) {
    const stream = streamName(tenant, 'test', `s${round % streams}`);
    const size = Math.min(chunk, count - written);
    const events: NewEvent[] = Array.from({ length: size }, (_, i) => ({
      id: randomUUID(),
      type: options.type ?? 'Tested',
      data: { n: String(written + i) },
      metadata: { tenant_id: tenant, actor: options.actor ?? 'system:test', request_id: `req_${round}` },
    }));
    last = (await store.append(stream, events)).position;
    written += size;
    round += 1;
  }
  if (last === null) throw new Error('appendEvents: count must be >= 1');
  await settledHead(store);
  return last;
}

/** Polls `probe` until it returns something truthy; the condition, not the wait, is what tests assert. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export interface RecordingOptions {
  name: string;
  version?: number;
  eventTypes?: readonly string[];
  /** Called inside the transaction before the rows are written (throw to fail the batch). */
  beforeApply?: (events: readonly RecordedEvent[]) => Promise<void> | void;
  /** Tag written to every row (tells builds apart in rebuild tests). */
  tag?: string;
  /** Idempotent (ON CONFLICT DO NOTHING) unless false: a double apply then fails loudly. */
  idempotent?: boolean;
}

/**
 * `<name>_rows`: one row per event with a `seq` in apply order; `<name>_batches`: one row per
 * committed batch (size, first and last position, who applied it).
 */
export function recordingProjection(options: RecordingOptions & { runnerTag?: string }): Projection {
  const rows = `${options.name}_rows`;
  const batches = `${options.name}_batches`;
  const tag = options.tag ?? `v${options.version ?? 1}`;
  return {
    name: options.name,
    version: options.version ?? 1,
    eventTypes: options.eventTypes,
    tables: {
      [rows]: (t) => `CREATE TABLE ${t} (seq bigserial, event_id uuid NOT NULL, stream text NOT NULL,
        position text NOT NULL, type text NOT NULL, tag text NOT NULL, PRIMARY KEY (event_id, stream))`,
      [batches]: (t) => `CREATE TABLE ${t} (seq bigserial PRIMARY KEY, size int NOT NULL, first_position text NOT NULL,
        last_position text NOT NULL, runner text NOT NULL)`,
    },
    async apply(events, context) {
      await options.beforeApply?.(events);
      await context.client.query(
        `INSERT INTO ${context.table(rows)} (event_id, stream, position, type, tag)
         SELECT id, stream, position, type, $5
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e(id, stream, position, type, n)
          ORDER BY n` + (options.idempotent === false ? '' : ' ON CONFLICT DO NOTHING'),
        [
          events.map((e) => e.id),
          events.map((e) => e.stream),
          events.map((e) => e.position),
          events.map((e) => e.type),
          tag,
        ],
      );
      await context.client.query(
        `INSERT INTO ${context.table(batches)} (size, first_position, last_position, runner) VALUES ($1, $2, $3, $4)`,
        [events.length, events[0].position, events[events.length - 1].position, options.runnerTag ?? 'default'],
      );
    },
  };
}

/** Positions of the log in order, as the store returns them (optionally one type only). */
export async function logPositions(store: EventStore, types?: readonly string[]): Promise<string[]> {
  const positions: string[] = [];
  let from: string | null = null;
  for (;;) {
    const page = await store.readAll(from, { maxCount: 5000, types });
    positions.push(...page.events.map((e) => e.position));
    from = page.checkpoint;
    if (page.atHead) return positions;
  }
}

export async function catalogRow(pool: Pool, name: string, status = 'live') {
  const result = await pool.query(
    `SELECT version, build, status, checkpoint, events_applied::int AS events_applied, last_error, tables_dropped_at
       FROM projections WHERE name = $1 AND status = $2`,
    [name, status],
  );
  return result.rows[0] as
    | {
        version: number;
        build: number;
        status: string;
        checkpoint: string | null;
        events_applied: number;
        last_error: string | null;
        tables_dropped_at: Date | null;
      }
    | undefined;
}

/**
 * Runs these projections (a runner of their own) until each one's live build has applied `target`,
 * then stops them: what a projection spec does between appending events and reading its tables.
 */
export async function projectTo(
  deps: { pool: Pool; store: EventStore },
  projections: readonly Projection[],
  target: Checkpoint | null,
  options: { batchSize?: number; timeoutMs?: number } = {},
): Promise<void> {
  const runner = new ProjectionRunner({ ...deps, projections, idlePollMs: 50, batchSize: options.batchSize });
  await runner.start();
  try {
    for (const { name } of projections) await runner.waitForPosition(name, target, options.timeoutMs ?? 10_000);
  } finally {
    await runner.stop();
  }
}
