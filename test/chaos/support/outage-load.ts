import type { Pool } from 'pg';
import type { EngineProcess } from './engine-process';
import { probe, usageEvent, type ClientAnswer, type RetryingEventClient } from './event-client';
import {
  CHAOS_ADMIN_KEY,
  exactCount,
  periodAroundNow,
  storedCounts,
  summaryCount,
  type ChaosCatalog,
  type StoredCounts,
} from './reconcile';
import { delay, waitUntil } from './wait';

/** Every BATCH_EVERY-th step of a client is a batch of BATCH_SIZE events, the others single events. */
export const BATCH_EVERY = 10;
export const BATCH_SIZE = 10;

/**
 * One client's load while `faulting()`: fresh keys (`<prefix>-c<index>-s<step>-<n>`) for one customer
 * of the catalog, single events and every tenth step a batch, each retried by the client until 202.
 */
export async function streamEvents(
  client: RetryingEventClient,
  catalog: ChaosCatalog,
  options: { index: number; prefix: string; faulting: () => boolean },
): Promise<void> {
  const customer = catalog.customers[options.index % catalog.customers.length];
  for (let step = 0; options.faulting(); step += 1) {
    const key = (n: number) => `${options.prefix}-c${options.index}-s${step}-${n}`;
    if (step % BATCH_EVERY === BATCH_EVERY - 1) {
      await client.sendBatch(
        Array.from({ length: BATCH_SIZE }, (_, n) => usageEvent(customer, catalog.metricKey, key(n))),
      );
    } else {
      await client.send(usageEvent(customer, catalog.metricKey, key(0)));
    }
  }
}

/**
 * /readyz and reads (summary, a customer, an exact compute) one after another while `faulting()`;
 * each answer goes to `onAnswer` and is counted by `endpoint status` in the returned record.
 */
export async function probeReads(
  apiUrl: string,
  catalog: ChaosCatalog,
  faulting: () => boolean,
  onAnswer: (answer: ClientAnswer) => void,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const [first, second, third] = catalog.customers;
  const period = periodAroundNow();
  const query = new URLSearchParams({ customer_id: first, metric_key: catalog.metricKey, ...period }).toString();
  const probes: Array<() => Promise<ClientAnswer>> = [
    () => probe(apiUrl, 'GET', '/readyz'),
    () => probe(apiUrl, 'GET', `/v1/usage/summary?${query}`, { key: CHAOS_ADMIN_KEY }),
    () => probe(apiUrl, 'GET', `/v1/customers/${second}`, { key: CHAOS_ADMIN_KEY }),
    () =>
      probe(apiUrl, 'POST', '/v1/usage/compute', {
        key: CHAOS_ADMIN_KEY,
        body: { customer_id: third, metric_key: catalog.metricKey, ...period },
      }),
  ];
  for (let i = 0; faulting(); i += 1) {
    const answer = await probes[i % probes.length]();
    const name = `${answer.endpoint} ${answer.status}`;
    seen[name] = (seen[name] ?? 0) + 1;
    onAnswer(answer);
    await delay(100);
  }
  return seen;
}

/** 500s and transport errors among probe answers (`endpoint status` -> count). */
export function failedProbes(seen: Record<string, number>): string[] {
  return Object.keys(seen).filter((name) => / (500|error)$/.test(name));
}

export interface Settled {
  exact: number;
  summary: { count: number; lagSeconds: number };
  stored: StoredCounts;
}

/**
 * After the faults, with no intervention: waits for /readyz 200 and for the summary to equal the
 * exact count (the projector resumed and caught up), then reads what the log and read model hold.
 */
export async function settle(
  api: EngineProcess,
  projector: EngineProcess,
  admin: RetryingEventClient,
  catalog: ChaosCatalog,
  pool: Pool,
): Promise<Settled> {
  await waitUntil(
    'GET /readyz 200 after the faults',
    async () => (await probe(api.url!, 'GET', '/readyz')).status === 200,
    {
      describe: () => api.tail(),
    },
  );
  const period = periodAroundNow();
  let exact = -1;
  let summary = { count: -1, lagSeconds: -1 };
  let lastError = '';
  await waitUntil(
    'the usage summary to equal the exact count',
    async () => {
      try {
        exact = await exactCount(admin, catalog, period);
        summary = await summaryCount(admin, catalog, period);
      } catch (error) {
        // The projector may still be in its retry backoff: compute's bounded wait can run out.
        lastError = (error as Error).message;
        return false;
      }
      return summary.count === exact;
    },
    { describe: () => `summary ${JSON.stringify(summary)}, exact ${exact}, ${lastError}\n${projector.tail()}` },
  );
  return { exact, summary, stored: await storedCounts(pool, catalog.metricKey) };
}
