import { LEDGER_ENTRY_POSTED, type LedgerEntry, type Projection } from '#ledger';

/**
 * `ledger_entries`: every journal entry, keyed by its customer ledger stream and revision. The
 * revision is the entry's sequence in its customer's ledger, which makes it the page cursor
 * (`WHERE tenant_id = $1 AND customer_id = $2 AND revision > $cursor ORDER BY revision`). Rows never
 * change once written: ON CONFLICT DO NOTHING makes replays and rebuilds idempotent.
 */
export const ledgerEntriesProjection: Projection = {
  name: 'ledger_entries',
  version: 1,
  eventTypes: [LEDGER_ENTRY_POSTED],
  tables: {
    ledger_entries: (t) => `
      CREATE TABLE ${t} (
        tenant_id    text              NOT NULL,
        customer_id  text COLLATE "C"  NOT NULL,
        revision     integer           NOT NULL,
        entry_id     uuid              NOT NULL,
        kind         text              NOT NULL,
        reference    text              NOT NULL,
        reverses     uuid,
        reason       text              NOT NULL,
        currency     text              NOT NULL,
        lines        jsonb             NOT NULL,
        posted_at    timestamptz       NOT NULL,
        recorded_at  timestamptz       NOT NULL,
        PRIMARY KEY (tenant_id, customer_id, revision)
      );
      CREATE INDEX ${t}_by_entry ON ${t} (tenant_id, entry_id);
      CREATE INDEX ${t}_by_reference ON ${t} (tenant_id, reference);`,
  },
  async apply(events, { client, table }) {
    // Only well-formed entries (the journal validated them before appending); anything else is skipped.
    const posted = events.filter((e) => isEntry(e.data));
    if (posted.length === 0) return;
    const entries = posted.map((e) => e.data as LedgerEntry);
    await client.query(
      `INSERT INTO ${table('ledger_entries')} (tenant_id, customer_id, revision, entry_id, kind, reference, reverses,
                                               reason, currency, lines, posted_at, recorded_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::text[], $7::uuid[],
                            $8::text[], $9::text[], $10::jsonb[], $11::timestamptz[], $12::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        posted.map((e) => e.metadata.tenant_id),
        entries.map((e) => e.customer_id),
        posted.map((e) => e.revision),
        entries.map((e) => e.entry_id),
        entries.map((e) => e.kind),
        entries.map((e) => e.reference),
        entries.map((e) => e.reverses),
        entries.map((e) => e.reason),
        entries.map((e) => e.currency),
        entries.map((e) => JSON.stringify(e.lines)),
        entries.map((e) => e.posted_at),
        posted.map((e) => e.recorded_at),
      ],
    );
  },
};

export function isEntry(data: unknown): data is LedgerEntry {
  const entry = data as Partial<LedgerEntry> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.customer_id === 'string' &&
    typeof entry.entry_id === 'string' &&
    typeof entry.currency === 'string' &&
    Array.isArray(entry.lines)
  );
}
