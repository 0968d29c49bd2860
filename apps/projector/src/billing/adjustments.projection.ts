import type { PoolClient } from 'pg';
import type { AdjustmentKind, AdjustmentRecorded, InvoiceClosed, InvoiceVoided } from '#domain';
import type { Projection, RecordedEvent } from '#ledger';

/** One adjustment; pending while `applied_to_invoice_id` is null. */
export interface AdjustmentRow {
  tenant_id: string;
  adjustment_id: string;
  customer_id: string;
  kind: AdjustmentKind;
  amount: string;
  currency: string;
  /** Null only while the adjustment is known from an invoice that carried it, not yet from its own event. */
  reason: string | null;
  /** The closed invoice it corrects (late usage). */
  invoice_id: string | null;
  charge_key: string | null;
  recorded_at: string | null;
  applied_to_invoice_id: string | null;
  applied_at: string | null;
}

const key = (tenantId: string, adjustmentId: string) => JSON.stringify([tenantId, adjustmentId]);

/**
 * `adjustments`: every adjustment, and which invoice carried it. An adjustment is pending
 * (`applied_to_invoice_id IS NULL`) until an invoice closes with it in its calculation; voiding that
 * invoice makes it pending again (the credit note reverses the invoice, adjustments included, and the
 * journal's credits account holds it again). The first closed invoice that carried it keeps it.
 *
 * The events involved live in different streams, so a batch is folded in log order over the rows it
 * touches (loaded first, written back in one statement). Each event overwrites what it decides, and
 * only under its guard (apply when pending, release when applied to that invoice), so replaying the
 * log over the rows converges to the same rows.
 */
export const adjustmentsProjection: Projection = {
  name: 'adjustments',
  version: 1,
  eventTypes: ['AdjustmentRecorded', 'InvoiceClosed', 'InvoiceVoided'],
  tables: {
    adjustments: (t) => `
      CREATE TABLE ${t} (
        tenant_id              text              NOT NULL,
        adjustment_id          text COLLATE "C"  NOT NULL,
        customer_id            text COLLATE "C"  NOT NULL,
        kind                   text              NOT NULL,
        amount                 numeric           NOT NULL,
        currency               text              NOT NULL,
        reason                 text,
        invoice_id             text,
        charge_key             text,
        recorded_at            timestamptz,
        applied_to_invoice_id  text,
        applied_at             timestamptz,
        PRIMARY KEY (tenant_id, adjustment_id)
      );
      CREATE INDEX ${t}_pending ON ${t} (tenant_id, customer_id, adjustment_id) WHERE applied_to_invoice_id IS NULL;
      CREATE INDEX ${t}_by_invoice ON ${t} (tenant_id, applied_to_invoice_id) WHERE applied_to_invoice_id IS NOT NULL;`,
  },
  async apply(events, { client, table }) {
    const rows = await loadTouched(client, table('adjustments'), events);
    const changed = new Set<string>();
    for (const event of events) {
      for (const k of foldEvent(rows, event)) changed.add(k);
    }
    if (changed.size > 0)
      await writeRows(
        client,
        table('adjustments'),
        [...changed].map((k) => rows.get(k)!),
      );
  },
};

/** Applies one event to the rows; returns the keys it changed. */
function foldEvent(rows: Map<string, AdjustmentRow>, event: RecordedEvent): string[] {
  const tenantId = event.metadata.tenant_id;
  switch (event.type) {
    case 'AdjustmentRecorded': {
      const data = event.data as AdjustmentRecorded['data'];
      const k = key(tenantId, data.adjustment_id);
      const current = rows.get(k);
      rows.set(k, {
        tenant_id: tenantId,
        adjustment_id: data.adjustment_id,
        customer_id: data.customer_id,
        kind: data.kind,
        amount: data.amount,
        currency: data.currency,
        reason: data.reason,
        invoice_id: data.invoice_id,
        charge_key: data.line?.charge_key ?? null,
        recorded_at: data.recorded_at,
        applied_to_invoice_id: current?.applied_to_invoice_id ?? null,
        applied_at: current?.applied_at ?? null,
      });
      return [k];
    }
    case 'InvoiceClosed':
      return applyCarried(rows, tenantId, event.data as InvoiceClosed['data']);
    case 'InvoiceVoided': {
      const { invoice_id } = event.data as InvoiceVoided['data'];
      const released = [...rows.entries()].filter(
        ([, row]) => row.tenant_id === tenantId && row.applied_to_invoice_id === invoice_id,
      );
      for (const [k, row] of released) rows.set(k, { ...row, applied_to_invoice_id: null, applied_at: null });
      return released.map(([k]) => k);
    }
    default:
      return [];
  }
}

function applyCarried(rows: Map<string, AdjustmentRow>, tenantId: string, invoice: InvoiceClosed['data']): string[] {
  const changed: string[] = [];
  for (const carried of invoice.calculation?.adjustments ?? []) {
    const k = key(tenantId, carried.adjustment_id);
    const current = rows.get(k) ?? {
      // Known so far only from the invoice: its own AdjustmentRecorded fills in the rest.
      tenant_id: tenantId,
      adjustment_id: carried.adjustment_id,
      customer_id: invoice.customer_id,
      kind: carried.kind,
      amount: carried.amount,
      currency: invoice.currency,
      reason: carried.reason,
      invoice_id: carried.invoice_id,
      charge_key: carried.charge_key,
      recorded_at: null,
      applied_to_invoice_id: null,
      applied_at: null,
    };
    if (current.applied_to_invoice_id !== null) continue;
    rows.set(k, { ...current, applied_to_invoice_id: invoice.invoice_id, applied_at: invoice.closed_at });
    changed.push(k);
  }
  return changed;
}

/** The rows the batch can touch: its adjustments, and those applied to the invoices it voids. */
async function loadTouched(
  client: PoolClient,
  adjustments: string,
  events: readonly RecordedEvent[],
): Promise<Map<string, AdjustmentRow>> {
  const byId: Array<[string, string]> = [];
  const byInvoice: Array<[string, string]> = [];
  for (const event of events) {
    const tenantId = event.metadata.tenant_id;
    if (event.type === 'AdjustmentRecorded')
      byId.push([tenantId, (event.data as AdjustmentRecorded['data']).adjustment_id]);
    if (event.type === 'InvoiceClosed') {
      for (const a of (event.data as InvoiceClosed['data']).calculation?.adjustments ?? [])
        byId.push([tenantId, a.adjustment_id]);
    }
    if (event.type === 'InvoiceVoided') byInvoice.push([tenantId, (event.data as InvoiceVoided['data']).invoice_id]);
  }
  if (byId.length === 0 && byInvoice.length === 0) return new Map();
  const { rows } = await client.query<AdjustmentRow & { recorded_at: Date | null; applied_at: Date | null }>(
    `SELECT a.* FROM ${adjustments} a
      WHERE (a.tenant_id, a.adjustment_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         OR (a.tenant_id, a.applied_to_invoice_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [byId.map(([t]) => t), byId.map(([, id]) => id), byInvoice.map(([t]) => t), byInvoice.map(([, id]) => id)],
  );
  return new Map(
    rows.map((row) => [
      key(row.tenant_id, row.adjustment_id),
      {
        ...row,
        recorded_at: row.recorded_at?.toISOString() ?? null,
        applied_at: row.applied_at?.toISOString() ?? null,
      },
    ]),
  );
}

async function writeRows(client: PoolClient, adjustments: string, rows: AdjustmentRow[]): Promise<void> {
  await client.query(
    `INSERT INTO ${adjustments} (tenant_id, adjustment_id, customer_id, kind, amount, currency, reason, invoice_id,
                                 charge_key, recorded_at, applied_to_invoice_id, applied_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::text[],
                          $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::timestamptz[])
     ON CONFLICT (tenant_id, adjustment_id) DO UPDATE SET
       customer_id = EXCLUDED.customer_id, kind = EXCLUDED.kind, amount = EXCLUDED.amount,
       currency = EXCLUDED.currency, reason = EXCLUDED.reason, invoice_id = EXCLUDED.invoice_id,
       charge_key = EXCLUDED.charge_key, recorded_at = EXCLUDED.recorded_at,
       applied_to_invoice_id = EXCLUDED.applied_to_invoice_id, applied_at = EXCLUDED.applied_at`,
    [
      rows.map((r) => r.tenant_id),
      rows.map((r) => r.adjustment_id),
      rows.map((r) => r.customer_id),
      rows.map((r) => r.kind),
      rows.map((r) => r.amount),
      rows.map((r) => r.currency),
      rows.map((r) => r.reason),
      rows.map((r) => r.invoice_id),
      rows.map((r) => r.charge_key),
      rows.map((r) => r.recorded_at),
      rows.map((r) => r.applied_to_invoice_id),
      rows.map((r) => r.applied_at),
    ],
  );
}
