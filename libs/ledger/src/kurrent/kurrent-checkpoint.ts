import type { Checkpoint } from '../event-store';

/** A position in KurrentDB's transaction log: both halves are unsigned 64-bit integers. */
export interface KurrentPosition {
  commit: bigint;
  prepare: bigint;
}

/**
 * Checkpoints are `<commit>/<prepare>` in decimal. `-1/-1` is "before the first event": readAll
 * must return a checkpoint even when nothing was visible from the start, and it has to compare
 * equal to `null` (the beginning) and below every real position.
 */
export const START_CHECKPOINT: Checkpoint = '-1/-1';
const START: KurrentPosition = { commit: -1n, prepare: -1n };
const CHECKPOINT_FORMAT = /^(-1|0|[1-9]\d{0,19})\/(-1|0|[1-9]\d{0,19})$/;
const MAX_U64 = (1n << 64n) - 1n;

export class InvalidCheckpointError extends Error {
  readonly code = 'EVENT_STORE.INVALID_CHECKPOINT';
  constructor(readonly checkpoint: string) {
    super(`"${checkpoint}" is not a KurrentDB checkpoint (expected "<commit>/<prepare>")`);
    this.name = 'InvalidCheckpointError';
  }
}

export function encodeCheckpoint(position: KurrentPosition): Checkpoint {
  return `${position.commit.toString(10)}/${position.prepare.toString(10)}`;
}

/** Null decodes to the start sentinel, so callers never branch on "from the beginning". */
export function decodeCheckpoint(checkpoint: Checkpoint | null): KurrentPosition {
  if (checkpoint === null) return START;
  const match = CHECKPOINT_FORMAT.exec(checkpoint);
  if (!match) throw new InvalidCheckpointError(checkpoint);
  const commit = BigInt(match[1]);
  const prepare = BigInt(match[2]);
  // The sentinel is all-or-nothing, and real positions fit the server's u64.
  if ((commit === -1n) !== (prepare === -1n) || commit > MAX_U64 || prepare > MAX_U64) {
    throw new InvalidCheckpointError(checkpoint);
  }
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
