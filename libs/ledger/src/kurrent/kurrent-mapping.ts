import {
  ANY,
  ErrorType,
  NO_STREAM,
  STREAM_EXISTS,
  type AppendStreamState,
  type EventData,
  type JSONType,
  type RecordedEvent as KurrentRecordedEvent,
} from '@kurrent/kurrentdb-client';
import {
  WrongExpectedRevisionError,
  type EventMetadata,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from '../event-store';
import { encodeCheckpoint } from './kurrent-checkpoint';

/**
 * KurrentDB reserves `$`-prefixed stream names for itself (ACLs, system projections, and readAll
 * hides them). Our own `$system:tenants` must stay an ordinary stream there, so a leading `$` or
 * `~` is escaped with one `~`. Tenant streams start with `[a-z0-9]` and are never touched.
 */
export function toKurrentStreamName(stream: string): string {
  return stream.startsWith('$') || stream.startsWith('~') ? `~${stream}` : stream;
}

export function fromKurrentStreamName(name: string): string {
  return name.startsWith('~') ? name.slice(1) : name;
}

/** KurrentDB's own streams (after unescaping ours, only theirs still start with `$`). */
export function isSystemStream(kurrentStreamName: string): boolean {
  return kurrentStreamName.startsWith('$');
}

export function isSystemEventType(type: string): boolean {
  return type.startsWith('$');
}

export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'exists':
      return STREAM_EXISTS;
    default:
      // -1 is "no event yet", as the Postgres adapter accepts it.
      if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < -1) {
        throw new TypeError(
          `expectedRevision must be 'any', 'no_stream', 'exists' or an integer >= -1, got ${String(expected)}`,
        );
      }
      return expected === -1 ? NO_STREAM : BigInt(expected);
  }
}

interface WrongExpectedVersionLike {
  type: ErrorType.WRONG_EXPECTED_VERSION;
  actualState: bigint | typeof NO_STREAM;
}

function isWrongExpectedVersion(error: unknown): error is WrongExpectedVersionLike {
  return error instanceof Error && (error as { type?: unknown }).type === ErrorType.WRONG_EXPECTED_VERSION;
}

/** The client's WrongExpectedVersionError becomes ours; anything else passes through unchanged. */
export function mapAppendError(error: unknown, stream: string, expected: ExpectedRevision): unknown {
  if (!isWrongExpectedVersion(error)) return error;
  const actual =
    typeof error.actualState === 'bigint' && error.actualState >= 0n ? Number(error.actualState) : 'no_stream';
  return new WrongExpectedRevisionError(stream, expected, actual);
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof Error && (error as { type?: unknown }).type === ErrorType.STREAM_NOT_FOUND;
}

const NO_POSITION = (1n << 64n) - 1n;

/** Keys the adapter adds to Kurrent metadata and removes again when reading. */
const OCCURRED_AT = 'occurred_at';
const KURRENT_CORRELATION = '$correlationId';
const KURRENT_CAUSATION = '$causationId';

/**
 * Our metadata travels as the event's JSON metadata, plus `occurred_at` when the writer gave one
 * (otherwise the server's `created` time is the business time, as "defaults to the append time"
 * promises). Kurrent's `$correlationId`/`$causationId` are filled so its system projections work.
 */
export function toKurrentEventData(event: NewEvent): EventData {
  const metadata: Record<string, unknown> = { ...event.metadata };
  if (event.occurred_at !== undefined) metadata[OCCURRED_AT] = event.occurred_at.toISOString();
  if (typeof event.metadata.correlation_id === 'string') metadata[KURRENT_CORRELATION] = event.metadata.correlation_id;
  if (typeof event.metadata.causation_id === 'string') metadata[KURRENT_CAUSATION] = event.metadata.causation_id;
  return {
    // Kurrent reads uuids back in lower case: store them that way so retries compare equal.
    id: event.id.toLowerCase(),
    contentType: 'application/json',
    type: event.type,
    // The client JSON.stringifies whatever it is given; the port only promises JSON-serialisable data.
    data: event.data as JSONType,
    metadata,
  };
}

function parseOccurredAt(raw: unknown, fallback: Date): Date {
  if (typeof raw !== 'string') return fallback;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? fallback : date;
}

/** Maps a recorded Kurrent event (it must carry its $all position) back to the port's shape. */
export function fromKurrentRecordedEvent(event: KurrentRecordedEvent): RecordedEvent {
  // Old servers omit the position of stream reads, or send u64::MAX in its place.
  if (event.position === undefined || event.position.commit === NO_POSITION) {
    throw new Error(`event ${event.id} has no log position: KurrentDB/EventStoreDB 22.10 or later is required`);
  }
  const raw = event.metadata;
  const stored: Record<string, unknown> =
    raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array) && !Array.isArray(raw) ? { ...raw } : {};
  const occurredAt = parseOccurredAt(stored[OCCURRED_AT], event.created);
  delete stored[OCCURRED_AT];
  if (stored[KURRENT_CORRELATION] === stored.correlation_id) delete stored[KURRENT_CORRELATION];
  if (stored[KURRENT_CAUSATION] === stored.causation_id) delete stored[KURRENT_CAUSATION];
  return {
    id: event.id,
    type: event.type,
    stream: fromKurrentStreamName(event.streamId),
    revision: Number(event.revision),
    position: encodeCheckpoint(event.position),
    data: event.data,
    // Events written by other tools keep whatever metadata they had.
    metadata: stored as EventMetadata,
    occurred_at: occurredAt,
    recorded_at: event.created,
  };
}

/** .NET regex (the server's engine) escaping for literal event type names. */
function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.|?*+()[\]{}#\s]/g, (char) => `\\${char}`);
}

/** Matches exactly these event types; a `$` system type can never match a literal non-`$` name. */
export function eventTypesRegex(types: readonly string[]): string {
  return `^(?:${types.map(escapeRegex).join('|')})$`;
}

/**
 * Every non-system type but these (a negative lookahead: the server's .NET regex engine has them),
 * so a reader that skips the bulk of the log never receives those records.
 */
export function allTypesExceptRegex(types: readonly string[]): string {
  return `^(?!(?:${types.map(escapeRegex).join('|')})$)[^$].*`;
}
