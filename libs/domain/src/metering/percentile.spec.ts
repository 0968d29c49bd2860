import fc from 'fast-check';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { aggregate } from './aggregate';
import { nearestRank } from './percentile';

/*
 * The exact usage path will compute percentile and avg in SQL. These specs pin the domain's
 * definitions to the SQL that reproduces them, on a real PostgreSQL, so the two paths can agree.
 */

const events = (values: readonly string[]) =>
  values.map((value, index) => ({ id: `e${index}`, timestamp: '2024-01-01T00:00:00Z', value }));

/** PostgreSQL numeric text without trailing zeros, like the domain's canonical decimals. */
const canonical = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

/** The nearest-rank percentile in SQL, rank computed in numeric (see percentile.ts). */
const NEAREST_RANK_SQL = `
  SELECT v::text AS result FROM (
    SELECT v, row_number() OVER (ORDER BY v) AS rn, count(*) OVER () AS n FROM unnest($1::numeric[]) AS v
  ) ranked WHERE rn = greatest(1, ceil($2::numeric * n / 100))`;

/**
 * avg in SQL. PostgreSQL's numeric division keeps only ~16 significant digits unless an operand
 * carries more scale, so the sum is given scale 20 first; with fewer than 10^10 events the
 * quotient at 20 decimals then rounds to the same 10 decimals as the exact quotient.
 */
const AVG_SQL = 'SELECT round(round(sum(v), 20) / count(*), 10)::text AS result FROM unnest($1::numeric[]) AS v';

describe('percentile (nearest rank)', () => {
  it.each([
    ['90', 9],
    ['95', 10],
    ['50', 5],
    ['10', 1],
    ['0', 1],
    ['100', 10],
    ['99.9', 10],
  ])('p%s of 1..10 is %i', (p, expected) => {
    const values = Array.from({ length: 10 }, (_, index) => String(index + 1));
    expect(aggregate({ key: 'm', aggregation: 'percentile', percentile: p }, events(values))).toBe(String(expected));
  });

  it('computes the rank exactly where float arithmetic would not', () => {
    expect(nearestRank('7', 100n)).toBe(7n); // 0.07 * 100 = 7.000000000000001 in float8
    expect(nearestRank('50', 1n)).toBe(1n);
    expect(nearestRank('50', 3n)).toBe(2n);
  });

  it('accepts a JSON number percentile as well as a string', () => {
    expect(
      aggregate({ key: 'm', aggregation: 'percentile', percentile: 50 as unknown as string }, events(['1', '2', '3'])),
    ).toBe('2');
  });
});

describe('agreement with PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db.close());

  const valuesArb = fc.array(
    fc
      .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: 0, max: 10 }))
      .map(([units, scale]) => {
        const text = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
        const plain = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
        return `${units < 0n ? '-' : ''}${plain}`;
      }),
    { minLength: 1, maxLength: 40 },
  );

  it('the nearest-rank SQL gives the domain percentile (property, real PostgreSQL)', async () => {
    await fc.assert(
      fc.asyncProperty(
        valuesArb,
        fc.constantFrom('0', '1', '7', '25', '50', '90', '95', '99', '99.9', '100'),
        async (values, p) => {
          const { rows } = await db.pool.query<{ result: string }>(NEAREST_RANK_SQL, [values, p]);
          const domain = aggregate({ key: 'm', aggregation: 'percentile', percentile: p }, events(values));
          expect(domain).not.toBeNull();
          expect(rows[0].result).toMatch(/^-?\d/);
          expect(canonical(rows[0].result)).toBe(domain);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('percentile_disc alone is not exact: its rank is computed in float8', async () => {
    const { rows } = await db.pool.query<{ disc: string }>(
      'SELECT percentile_disc(0.07) WITHIN GROUP (ORDER BY v)::text AS disc FROM generate_series(1, 100) AS v',
    );
    const domain = aggregate(
      { key: 'm', aggregation: 'percentile', percentile: '7' },
      events(Array.from({ length: 100 }, (_, i) => String(i + 1))),
    );
    expect(domain).toBe('7');
    expect(rows[0].disc).toBe('8');
  });

  it('plain numeric division is NOT enough for avg', async () => {
    const values = ['671166152', '1', '1']; // sum / 3 = 223722051.333…: 9 integer digits leave 8 decimals of 16
    const { rows } = await db.pool.query<{ result: string }>(
      'SELECT round(sum(v) / count(*), 10)::text AS result FROM unnest($1::numeric[]) AS v',
      [values],
    );
    expect(canonical(rows[0].result)).toBe('223722051.33333333');
    expect(aggregate({ key: 'm', aggregation: 'avg' }, events(values))).toBe('223722051.3333333333');
  });

  it('avg equals round(round(sum, 20) / count, 10) in numeric (property, real PostgreSQL)', async () => {
    await fc.assert(
      fc.asyncProperty(valuesArb, async (values) => {
        const { rows } = await db.pool.query<{ result: string }>(AVG_SQL, [values]);
        const domain = aggregate({ key: 'm', aggregation: 'avg' }, events(values));
        expect(canonical(rows[0].result)).toBe(domain);
      }),
      { numRuns: 60 },
    );
  });
});
