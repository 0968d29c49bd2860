import type { Pool } from 'pg';
import { createPool, isQueryTimeout } from '#platform';
import { loadBuiltFile } from '../../../../test/support/api';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type * as Module from './catalog-reference-lock';

type CatalogReferenceLock = Module.CatalogReferenceLock;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` under the lock and writes down when it started and ended (ms since the test began). */
async function timed(lock: CatalogReferenceLock, tenant: string, ms: number, log: Array<[string, string]>) {
  await lock.run(tenant, async () => {
    log.push([tenant, 'start']);
    await sleep(ms);
    log.push([tenant, 'end']);
  });
}

/** The built class (Nest's decorators are ESM-only: the API's classes are tested as built). */
describe('CatalogReferenceLock (real Postgres)', () => {
  const { CATALOG_REFERENCE_LOCK_NAMESPACE, CatalogReferenceLock } = loadBuiltFile<typeof Module>(
    'apps/api/src/common/catalog-reference-lock',
  );
  let db: TestDatabase;
  let otherReplica: Pool;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    otherReplica = createPool(db.url, { max: 4, applicationName: 'abaxus-test-replica-2' });
  });
  afterAll(async () => {
    await otherReplica?.end();
    await db?.close();
  });

  const heldLocks = async () =>
    Number(
      (
        await db.pool.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted`,
          [CATALOG_REFERENCE_LOCK_NAMESPACE],
        )
      ).rows[0].n,
    );

  /** A 150 ms command of `firstTenant` on one replica; once it runs, a 10 ms one of `secondTenant` on another. */
  async function twoReplicas(firstTenant: string, secondTenant: string): Promise<Array<[string, string]>> {
    const log: Array<[string, string]> = [];
    const first = timed(new CatalogReferenceLock(db.pool), firstTenant, 150, log);
    while (log.length === 0) await sleep(5); // the first one holds the lock
    await Promise.all([first, timed(new CatalogReferenceLock(otherReplica), secondTenant, 10, log)]);
    return log;
  }

  it('one tenant, two replicas: the second command starts only after the first ended', async () => {
    expect(await twoReplicas('acme', 'acme')).toEqual([
      ['acme', 'start'],
      ['acme', 'end'],
      ['acme', 'start'],
      ['acme', 'end'],
    ]);
    expect(await heldLocks()).toBe(0);
  });

  it('another tenant is not held up', async () => {
    expect(await twoReplicas('acme', 'globex')).toEqual([
      ['acme', 'start'],
      ['globex', 'start'],
      ['globex', 'end'],
      ['acme', 'end'],
    ]);
  });

  it('a failing command releases the lock and its connection, and its error reaches the caller', async () => {
    const lock = new CatalogReferenceLock(db.pool);
    const refused = new Error('METRIC.IN_USE');
    await expect(lock.run('acme', () => Promise.reject(refused))).rejects.toBe(refused);
    expect(await heldLocks()).toBe(0);
    await expect(lock.run('acme', () => Promise.resolve('next'))).resolves.toBe('next');
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
  });

  it('holds at most two pool connections, however many commands wait', async () => {
    const lock = new CatalogReferenceLock(db.pool);
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        lock.run(`tenant-${i}`, async () => {
          holding += 1;
          most = Math.max(most, holding);
          await sleep(20);
          holding -= 1;
        }),
      ),
    );
    expect(most).toBeLessThanOrEqual(2); // 8 without the limit
  });

  it('a wait past the query timeout fails as a query timeout (503), runs nothing, and leaves no lock behind', async () => {
    const holder = await otherReplica.connect(); // another replica's command, holding acme's lock
    const impatient = createPool(db.url, { max: 2, queryTimeoutMs: 300, applicationName: 'abaxus-test-impatient' });
    try {
      await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [CATALOG_REFERENCE_LOCK_NAMESPACE, 'acme']);
      let ran = false;
      const failure = await new CatalogReferenceLock(impatient)
        .run('acme', async () => {
          ran = true;
        })
        .catch((error: unknown) => error);
      // The error the API's problem mapping answers 503 SERVICE.UNAVAILABLE (service-unavailable.ts).
      expect(isQueryTimeout(failure)).toBe(true);
      expect(ran).toBe(false);
      // The waiting connection is dropped, not reused: its session ends with it, so a lock granted to
      // it after we stopped listening cannot outlive the holder's.
      expect(impatient.totalCount).toBe(0);
      await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CATALOG_REFERENCE_LOCK_NAMESPACE, 'acme']);
      for (let tries = 0; (await heldLocks()) > 0 && tries < 100; tries++) await sleep(20);
      expect(await heldLocks()).toBe(0);
      await expect(new CatalogReferenceLock(impatient).run('acme', () => Promise.resolve('after'))).resolves.toBe(
        'after',
      );
    } finally {
      holder.release();
      await impatient.end();
    }
  });
});
