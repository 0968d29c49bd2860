import type { RecordedEvent } from '#ledger';

/** One entity (one stream) of a catalog read model, folded through a batch. */
export interface FoldedEntity<T> {
  tenantId: string;
  /** The entity's id in its stream name (metric key, customer id). */
  id: string;
  value: T;
  /** Revision of the last event folded in. */
  revision: number;
}

export interface StreamFoldOptions<T> {
  events: readonly RecordedEvent[];
  /** The entity id an event is about; not a string: the event is skipped (never throw on one). */
  idOf(event: RecordedEvent): unknown;
  /** Current rows of these entities (pairs by index), with the stream revision each was written at. */
  load(tenantIds: string[], ids: string[]): Promise<Array<FoldedEntity<T>>>;
  /** The domain's pure evolve (evolveMetric, evolveCustomer…). */
  evolve(value: T | undefined, event: RecordedEvent): T | undefined;
}

/**
 * The catalog read models hold each entity exactly as the domain folds its stream, so a list shows
 * what a read of the stream shows. Each row remembers the stream revision it was written at: an
 * event at or below it was applied already (a replay, an overlapping batch) and is skipped, which
 * makes apply idempotent. Returns the entities the batch changed, to be written back in one statement.
 */
export async function foldByStream<T>(options: StreamFoldOptions<T>): Promise<Array<FoldedEntity<T>>> {
  const entries = new Map<
    string,
    { tenantId: string; id: string; value: T | undefined; revision: number; changed: boolean }
  >();
  const keyOf = (tenantId: string, id: string) => JSON.stringify([tenantId, id]);
  for (const event of options.events) {
    const id = options.idOf(event);
    if (typeof id !== 'string') continue;
    const key = keyOf(event.metadata.tenant_id, id);
    if (!entries.has(key))
      entries.set(key, { tenantId: event.metadata.tenant_id, id, value: undefined, revision: -1, changed: false });
  }
  if (entries.size === 0) return [];
  const wanted = [...entries.values()];
  const rows = await options.load(
    wanted.map((entry) => entry.tenantId),
    wanted.map((entry) => entry.id),
  );
  for (const row of rows)
    Object.assign(entries.get(keyOf(row.tenantId, row.id))!, { value: row.value, revision: row.revision });
  for (const event of options.events) {
    const id = options.idOf(event);
    const entry = typeof id === 'string' ? entries.get(keyOf(event.metadata.tenant_id, id)) : undefined;
    if (entry === undefined || event.revision <= entry.revision) continue;
    entry.value = options.evolve(entry.value, event);
    entry.revision = event.revision;
    entry.changed = true;
  }
  return wanted
    .filter((entry) => entry.changed && entry.value !== undefined)
    .map(({ tenantId, id, value, revision }) => ({ tenantId, id, value: value as T, revision }));
}
