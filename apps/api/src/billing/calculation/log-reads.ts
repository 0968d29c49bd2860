import { StreamNotFoundError, type Checkpoint, type EventStore, type RecordedEvent } from '#ledger';

/** Events per readStream call: long usage streams are read in pages, never in one result. */
const PAGE = 5_000;

/**
 * A stream's events as the log stood at `asOf` (inclusive; undefined: now), in stream order. A stream
 * with no events reads as empty. Positions are compared by the store, so this works for any adapter.
 */
export async function readStreamAsOf(
  store: EventStore,
  stream: string,
  asOf?: Checkpoint | null,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (let from = 0; ; from += PAGE) {
    let page: RecordedEvent[];
    try {
      page = await store.readStream(stream, { fromRevision: from, maxCount: PAGE });
    } catch (error) {
      if (error instanceof StreamNotFoundError) return events;
      throw error;
    }
    const after = (event: RecordedEvent) => asOf !== undefined && store.compareCheckpoints(event.position, asOf) > 0;
    events.push(...page.filter((event) => !after(event)));
    // Stream order is log order: a page ending past asOf ends the part of the stream that counts.
    if (page.length < PAGE || after(page[page.length - 1])) return events;
  }
}

/** Several streams' events merged into log order (each stream's own order is kept). */
export function mergeInLogOrder(store: EventStore, streams: ReadonlyArray<readonly RecordedEvent[]>): RecordedEvent[] {
  return streams.flat().sort((a, b) => store.compareCheckpoints(a.position, b.position));
}
