import type { EventRow } from './postgres-event-row';
import { inLogOrder } from './postgres-read-all';

/* The unfiltered page has no outer ORDER BY (a sort of wide rows that spilled to disk): inLogOrder is its guarantee. */
describe('inLogOrder', () => {
  const row = (tx_id: string, position: string) => ({ tx_id, position }) as EventRow;

  it('returns rows already in (tx_id, position) order as they are', () => {
    const rows = [row('9', '5'), row('9', '12'), row('10', '3'), row('10', '4')];
    expect(inLogOrder(rows)).toBe(rows);
  });

  it('sorts rows out of order numerically, transaction first, without changing its input', () => {
    const rows = [row('10', '3'), row('9', '12'), row('9', '5'), row('18446744073709551615', '1'), row('10', '20')];
    const before = [...rows];
    expect(inLogOrder(rows).map((r) => `${r.tx_id}/${r.position}`)).toEqual([
      '9/5',
      '9/12',
      '10/3',
      '10/20',
      '18446744073709551615/1',
    ]);
    expect(rows).toEqual(before);
  });
});
