import fc from 'fast-check';
import {
  InvalidCheckpointError,
  START_CHECKPOINT,
  compareKurrentCheckpoints,
  decodeCheckpoint,
  encodeCheckpoint,
  type KurrentPosition,
} from './kurrent-checkpoint';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const position = fc.record({ commit: u64, prepare: u64 });

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

describe('KurrentDB checkpoints', () => {
  it('round-trip every u64 commit/prepare pair', () => {
    fc.assert(fc.property(position, (p) => expect(decodeCheckpoint(encodeCheckpoint(p))).toEqual(p)));
  });

  it('order by commit position, then prepare position, as bigints (not as strings)', () => {
    fc.assert(
      fc.property(position, position, (a: KurrentPosition, b: KurrentPosition) => {
        const expected =
          a.commit !== b.commit
            ? a.commit < b.commit
              ? -1
              : 1
            : a.prepare === b.prepare
              ? 0
              : a.prepare < b.prepare
                ? -1
                : 1;
        expect(sign(compareKurrentCheckpoints(encodeCheckpoint(a), encodeCheckpoint(b)))).toBe(expected);
      }),
    );
    // Lexicographic order would get these wrong.
    expect(compareKurrentCheckpoints('kdb:9/9', 'kdb:10/0')).toBeLessThan(0);
    expect(compareKurrentCheckpoints('kdb:100/100', 'kdb:100/99')).toBeGreaterThan(0);
    expect(compareKurrentCheckpoints('kdb:18446744073709551615/1', 'kdb:18446744073709551614/2')).toBeGreaterThan(0);
  });

  it('put null and the start sentinel together, before every real position', () => {
    expect(compareKurrentCheckpoints(null, null)).toBe(0);
    expect(compareKurrentCheckpoints(null, START_CHECKPOINT)).toBe(0);
    expect(compareKurrentCheckpoints(null, 'kdb:0/0')).toBeLessThan(0);
    expect(compareKurrentCheckpoints(START_CHECKPOINT, 'kdb:0/0')).toBeLessThan(0);
    expect(compareKurrentCheckpoints('kdb:0/0', null)).toBeGreaterThan(0);
    expect(encodeCheckpoint(decodeCheckpoint(null))).toBe(START_CHECKPOINT);
  });

  it.each([
    '',
    'kdb:',
    'kdb:12',
    'kdb:12/',
    'kdb:/12',
    'kdb:1/2/3',
    'kdb:01/2',
    'kdb:1/-2',
    'kdb:-1/-1',
    'kdb:a/b',
    ' kdb:1/2',
    'KDB:1/2',
    'kdb:18446744073709551616/0',
    'kdb:1.5/2',
    'kdb:START',
    // A Postgres adapter checkpoint (`<tx_id>/<position>`) must never be taken for a Kurrent position.
    '123/45',
    '0/0',
  ])('reject the malformed checkpoint %j', (bad) => {
    expect(() => decodeCheckpoint(bad)).toThrow(InvalidCheckpointError);
    expect(() => compareKurrentCheckpoints(bad, null)).toThrow(InvalidCheckpointError);
  });
});
