import { EventIdConflictError, type NewEvent, type RecordedEvent } from '../event-store';

/** Deep equality of JSON values; object key order does not matter (Kurrent keeps the bytes we sent, other writers may not). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => sameJson(item, other[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && sameJson(left[key], right[key]));
}

/** What the stored event will look like: data goes through JSON on the wire (Dates become strings, undefined drops). */
function asStored(data: unknown): unknown {
  const text = JSON.stringify(data);
  return text === undefined ? undefined : JSON.parse(text);
}

export interface AppendPlan {
  /** Events not yet in the stream, in the caller's order, each id once. */
  fresh: NewEvent[];
  /**
   * When the whole batch was already appended: its stored event with the highest revision, whose
   * revision and position make the original append's result (as the Postgres adapter answers).
   */
  lastExisting?: RecordedEvent;
}

/**
 * Decides which events of a batch are new, given the stream's recent events. An id already
 * present with the same type and data is a retry (dropped); with anything else it is a conflict.
 * Metadata is not compared: a retry legitimately carries a new request id.
 */
export function planAppend(stream: string, existing: readonly RecordedEvent[], batch: readonly NewEvent[]): AppendPlan {
  const known = new Map<string, { type: string; data: unknown; recorded?: RecordedEvent }>();
  for (const event of existing)
    known.set(event.id.toLowerCase(), { type: event.type, data: event.data, recorded: event });
  const fresh: NewEvent[] = [];
  let last: RecordedEvent | undefined;
  for (const event of batch) {
    const id = event.id.toLowerCase();
    const seen = known.get(id);
    const data = asStored(event.data);
    if (seen === undefined) {
      known.set(id, { type: event.type, data });
      fresh.push(event);
    } else if (seen.type !== event.type || !sameJson(seen.data, data)) {
      throw new EventIdConflictError(stream, id);
    } else if (seen.recorded !== undefined && (last === undefined || seen.recorded.revision > last.revision)) {
      last = seen.recorded;
    }
  }
  return fresh.length === 0 && last !== undefined ? { fresh, lastExisting: last } : { fresh };
}
