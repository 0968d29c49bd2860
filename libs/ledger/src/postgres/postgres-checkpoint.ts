import type { Checkpoint } from '../event-store';

/**
 * A Postgres log position: the writing transaction's id (`xid8`), then the event's `position`
 * (identity). The log is ordered by this pair, not by `position` alone: positions are allocated
 * when a row is inserted, but become visible when its transaction commits, which may be later
 * than a transaction holding a greater position.
 */
export interface LogPosition {
  txId: bigint;
  position: bigint;
}

/**
 * Checkpoints are `<tx_id>/<position>` in decimal. `0/0` is "before the first event" (xid 0 is
 * never assigned, positions start at 1): readAll from null returns it when nothing was visible, and
 * it compares equal to null.
 */
export const START_CHECKPOINT: Checkpoint = '0/0';
const START: LogPosition = { txId: 0n, position: 0n };
const CHECKPOINT_FORMAT = /^(0|[1-9]\d{0,19})\/(0|[1-9]\d{0,18})$/;
const MAX_XID8 = (1n << 64n) - 1n;
const MAX_BIGINT = (1n << 63n) - 1n;

export class InvalidCheckpointError extends Error {
  readonly code = 'EVENT_STORE.INVALID_CHECKPOINT';
  constructor(readonly checkpoint: string) {
    super(`"${checkpoint}" is not a Postgres event store checkpoint (expected "<tx_id>/<position>")`);
    this.name = 'InvalidCheckpointError';
  }
}

export function encodeCheckpoint(txId: bigint | string, position: bigint | string): Checkpoint {
  return `${String(txId)}/${String(position)}`;
}

/** Null decodes to the start, so callers never branch on "from the beginning". */
export function decodeCheckpoint(checkpoint: Checkpoint | null): LogPosition {
  if (checkpoint === null) return START;
  const match = typeof checkpoint === 'string' ? CHECKPOINT_FORMAT.exec(checkpoint) : null;
  if (!match) throw new InvalidCheckpointError(String(checkpoint));
  const txId = BigInt(match[1]);
  const position = BigInt(match[2]);
  if (txId > MAX_XID8 || position > MAX_BIGINT) throw new InvalidCheckpointError(checkpoint);
  return { txId, position };
}

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}

export function comparePostgresCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
  return compareLogPositions(decodeCheckpoint(a), decodeCheckpoint(b));
}
