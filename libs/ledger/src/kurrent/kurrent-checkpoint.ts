import type { Checkpoint } from '../event-store';

/** A position in KurrentDB's transaction log: both halves are unsigned 64-bit integers. */
export interface KurrentPosition {
  commit: bigint;
  prepare: bigint;
}

/**
 * Checkpoints are `kdb:<commit>/<prepare>` in decimal. The prefix makes a checkpoint stored by the
 * other adapter (Postgres writes `<tx_id>/<position>`) fail loudly instead of being read as a
 * position, should EVENT_STORE_URL change under existing read models. `kdb:start` is "before the
 * first event": readAll must return a checkpoint even when nothing was visible from the start, and
 * it compares equal to `null` (the beginning) and below every real position.
 */
export const START_CHECKPOINT: Checkpoint = 'kdb:start';
const START: KurrentPosition = { commit: -1n, prepare: -1n };
const CHECKPOINT_FORMAT = /^kdb:(?:start|(0|[1-9]\d{0,19})\/(0|[1-9]\d{0,19}))$/;
const MAX_U64 = (1n << 64n) - 1n;

export class InvalidCheckpointError extends Error {
  readonly code = 'EVENT_STORE.INVALID_CHECKPOINT';
  constructor(readonly checkpoint: string) {
    super(`"${checkpoint}" is not a KurrentDB event store checkpoint (expected "kdb:<commit>/<prepare>")`);
    this.name = 'InvalidCheckpointError';
  }
}

export function encodeCheckpoint(position: KurrentPosition): Checkpoint {
  if (isStartPosition(position)) return START_CHECKPOINT;
  return `kdb:${position.commit.toString(10)}/${position.prepare.toString(10)}`;
}

/** Null decodes to the start sentinel, so callers never branch on "from the beginning". */
export function decodeCheckpoint(checkpoint: Checkpoint | null): KurrentPosition {
  if (checkpoint === null) return START;
  const match = typeof checkpoint === 'string' ? CHECKPOINT_FORMAT.exec(checkpoint) : null;
  if (!match) throw new InvalidCheckpointError(String(checkpoint));
  if (match[1] === undefined) return START;
  const commit = BigInt(match[1]);
  const prepare = BigInt(match[2]);
  // Real positions fit the server's u64.
  if (commit > MAX_U64 || prepare > MAX_U64) throw new InvalidCheckpointError(checkpoint);
  return { commit, prepare };
}

export function isStartPosition(position: KurrentPosition): boolean {
  return position.commit < 0n;
}

/** KurrentDB orders $all by commit position, then prepare position (several prepares per commit). */
export function comparePositions(a: KurrentPosition, b: KurrentPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export function compareKurrentCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
  return comparePositions(decodeCheckpoint(a), decodeCheckpoint(b));
}

export function maxPosition(a: KurrentPosition, b: KurrentPosition): KurrentPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}
