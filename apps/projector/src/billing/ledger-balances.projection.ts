import type { PoolClient } from 'pg';
import { fromMinorUnits, toMinorUnits } from '#domain';
import { LEDGER_ENTRY_POSTED, type LedgerEntry, type Projection, type RecordedEvent } from '#ledger';
import { isEntry } from './ledger-entries.projection';

interface Delta {
  tenant_id: string;
  customer_id: string;
  account: string;
  currency: string;
  debit: bigint;
  credit: bigint;
}

/**
 * `ledger_balances`: per (tenant, customer, account, currency) the sums of debits and credits, and
 * `balance = debit - credit` (debit-positive). Incremental sums are not idempotent by themselves, so
 * the projection keeps, in its own table, the last revision applied of each customer ledger stream:
 * an entry at or below it (a replay, an overlapping batch) is skipped. Streams are read in revision
 * order, so that one number per stream is enough. The rows equal foldBalances over the entries.
 */
export const ledgerBalancesProjection: Projection = {
  name: 'ledger_balances',
  version: 1,
  eventTypes: [LEDGER_ENTRY_POSTED],
  tables: {
    ledger_balances: (t) => `
      CREATE TABLE ${t} (
        tenant_id    text              NOT NULL,
        customer_id  text COLLATE "C"  NOT NULL,
        account      text COLLATE "C"  NOT NULL,
        currency     text              NOT NULL,
        debit        numeric           NOT NULL,
        credit       numeric           NOT NULL,
        balance      numeric GENERATED ALWAYS AS (debit - credit) STORED,
        PRIMARY KEY (tenant_id, customer_id, account, currency)
      );`,
    ledger_balance_streams: (t) => `
      CREATE TABLE ${t} (
        stream    text     PRIMARY KEY,
        revision  integer  NOT NULL
      );`,
  },
  async apply(events, { client, table }) {
    const fresh = await unappliedEntries(client, table('ledger_balance_streams'), events);
    if (fresh.length === 0) return;
    const deltas = new Map<string, Delta>();
    for (const { event, entry } of fresh) addEntry(deltas, event.metadata.tenant_id, entry);
    const rows = [...deltas.values()];
    await client.query(
      `INSERT INTO ${table('ledger_balances')} AS b (tenant_id, customer_id, account, currency, debit, credit)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[])
       ON CONFLICT (tenant_id, customer_id, account, currency) DO UPDATE SET
         debit = b.debit + EXCLUDED.debit, credit = b.credit + EXCLUDED.credit`,
      [
        rows.map((r) => r.tenant_id),
        rows.map((r) => r.customer_id),
        rows.map((r) => r.account),
        rows.map((r) => r.currency),
        rows.map((r) => fromMinorUnits(r.debit, r.currency)),
        rows.map((r) => fromMinorUnits(r.credit, r.currency)),
      ],
    );
    const heads = new Map(fresh.map(({ event }) => [event.stream, event.revision]));
    await client.query(
      `INSERT INTO ${table('ledger_balance_streams')} (stream, revision)
       SELECT * FROM unnest($1::text[], $2::int[])
       ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision`,
      [[...heads.keys()], [...heads.values()]],
    );
  },
};

/** The batch's entries above each stream's applied revision, in log order. */
async function unappliedEntries(
  client: PoolClient,
  streams: string,
  events: readonly RecordedEvent[],
): Promise<Array<{ event: RecordedEvent; entry: LedgerEntry }>> {
  const names = [...new Set(events.map((e) => e.stream))];
  const { rows } = await client.query<{ stream: string; revision: number }>(
    `SELECT stream, revision FROM ${streams} WHERE stream = ANY($1::text[])`,
    [names],
  );
  const applied = new Map(rows.map((row) => [row.stream, row.revision]));
  const fresh: Array<{ event: RecordedEvent; entry: LedgerEntry }> = [];
  for (const event of events) {
    if (event.revision <= (applied.get(event.stream) ?? -1) || !isEntry(event.data)) continue;
    applied.set(event.stream, event.revision);
    fresh.push({ event, entry: event.data });
  }
  return fresh;
}

function addEntry(deltas: Map<string, Delta>, tenantId: string, entry: LedgerEntry): void {
  let minor: Array<[string, bigint, bigint]>;
  try {
    minor = entry.lines.map((line) =>
      line.debit !== undefined
        ? [line.account, toMinorUnits(line.debit, entry.currency), 0n]
        : [line.account, 0n, toMinorUnits(line.credit as string, entry.currency)],
    );
  } catch {
    // Not an entry the journal could have written (it validates before appending): never stall on it.
    return;
  }
  for (const [account, debit, credit] of minor) {
    const key = JSON.stringify([tenantId, entry.customer_id, account, entry.currency]);
    const delta = deltas.get(key) ?? {
      tenant_id: tenantId,
      customer_id: entry.customer_id,
      account,
      currency: entry.currency,
      debit: 0n,
      credit: 0n,
    };
    delta.debit += debit;
    delta.credit += credit;
    deltas.set(key, delta);
  }
}
