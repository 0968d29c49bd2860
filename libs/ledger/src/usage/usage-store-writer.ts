import { EventIdConflictError, type Checkpoint, type EventStore, type NewEvent } from '../event-store';
import { distinctKeys, usageKeyOf } from './usage-append';
import {
  UsageWriterClosedError,
  type UsageAppendItem,
  type UsageAppendOutcome,
  type UsageWriter,
} from './usage-writer';

/**
 * Usage ingestion through the EventStore port alone (KurrentDB mode). The write side cannot check a
 * key synchronously there (the keys live in Postgres, the events in KurrentDB, and no transaction
 * spans both), so every new item is appended and answered `accepted`; the `usage` projection's
 * unique (tenant, idempotency_key) decides later, the first event with a key in log order counting.
 * What it still catches: a key repeated inside one call (the first counts, the others compare their
 * hash with it), and a retry into the same stream with the same event id (the caller derives the id
 * from the key): KurrentDB's idempotent append makes it a no-op, or EventIdConflictError (-> conflict)
 * when the payload differs.
 */
export class StoreUsageWriter implements UsageWriter {
  readonly mode = 'event_store' as const;
  private closed = false;

  constructor(private readonly store: EventStore) {}

  async append(items: readonly UsageAppendItem[]): Promise<UsageAppendOutcome[]> {
    if (this.closed) throw new UsageWriterClosedError();
    const leaders = distinctKeys(items);
    const byStream = new Map<string, UsageAppendItem[]>();
    for (const item of leaders) {
      const same = byStream.get(item.stream);
      if (same) same.push(item);
      else byStream.set(item.stream, [item]);
    }
    const results = new Map<string, UsageAppendOutcome>();
    await Promise.all([...byStream].map(([stream, streamItems]) => this.appendStream(stream, streamItems, results)));
    const winners = new Map<string, UsageAppendItem>();
    return items.map((item) => {
      const key = usageKeyOf(item.tenantId, item.idempotencyKey);
      const winner = winners.get(key);
      if (winner === undefined) {
        winners.set(key, item);
        return results.get(item.event.id)!;
      }
      return winner.payloadHash === item.payloadHash
        ? { status: 'duplicate', usageId: winner.event.id }
        : { status: 'conflict', usageId: winner.event.id };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async appendStream(
    stream: string,
    items: UsageAppendItem[],
    results: Map<string, UsageAppendOutcome>,
  ): Promise<void> {
    try {
      const { position } = await this.store.append(stream, items.map(toNewEvent));
      for (const item of items) results.set(item.event.id, accepted(item, position));
    } catch (error) {
      if (!(error instanceof EventIdConflictError)) throw error;
      // One of them reuses a key with another payload: find which, one event at a time.
      for (const item of items) {
        try {
          const { position } = await this.store.append(stream, [toNewEvent(item)]);
          results.set(item.event.id, accepted(item, position));
        } catch (single) {
          if (!(single instanceof EventIdConflictError)) throw single;
          results.set(item.event.id, { status: 'conflict', usageId: item.event.id });
        }
      }
    }
  }
}

function accepted(item: UsageAppendItem, position: Checkpoint): UsageAppendOutcome {
  return { status: 'accepted', usageId: item.event.id, position };
}

function toNewEvent(item: UsageAppendItem): NewEvent {
  return { ...item.event, occurred_at: new Date(item.timestamp) };
}
