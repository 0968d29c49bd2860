import type { EventMetadata, RecordedEvent } from '../event-store';
import { encodeCheckpoint } from './postgres-checkpoint';

/** The columns every read selects, aliased `e`. Ids and positions stay text: they are 64-bit. */
export const EVENT_COLUMNS = `e.id::text AS id, e.stream, e.revision::text AS revision, e.type, e.data, e.metadata,
  e.occurred_at, e.recorded_at, e.tx_id::text AS tx_id, e.position::text AS position`;

export interface EventRow {
  id: string;
  stream: string;
  revision: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  occurred_at: Date;
  recorded_at: Date;
  tx_id: string;
  position: string;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    stream: row.stream,
    // Revisions are per stream: they stay far below 2^53.
    revision: Number(row.revision),
    position: encodeCheckpoint(row.tx_id, row.position),
    data: row.data,
    metadata: row.metadata,
    occurred_at: row.occurred_at,
    recorded_at: row.recorded_at,
  };
}
