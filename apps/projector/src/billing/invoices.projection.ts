import type { PoolClient } from 'pg';
import { INVOICE_EVENT_TYPES, sumMoney, type Calculation, type InvoiceEvent, type InvoiceStatus } from '#domain';
import type { Projection, RecordedEvent } from '#ledger';
import { foldByStream, type FoldedEntity } from '../catalog/stream-fold';

/** One invoice as lists show it: status, number, totals, customer, period. Money as numeric (exact text). */
export interface InvoiceRow {
  invoice_id: string;
  customer_id: string;
  subscription_id: string;
  status: InvoiceStatus;
  /** Null while a draft. */
  number: string | null;
  currency: string;
  period_start: string;
  period_end: string;
  subtotal: string;
  adjustments_total: string;
  tax_amount: string;
  total: string;
  calculation_id: string;
  calculation_checksum: string;
  /** The closed document's checksum; null while a draft. */
  checksum: string | null;
  credit_note_id: string | null;
  payment_failures: number;
  drafted_at: string;
  closed_at: string | null;
  paid_at: string | null;
  voided_at: string | null;
}

function fromCalculation(
  calculation: Calculation,
): Pick<
  InvoiceRow,
  'subtotal' | 'adjustments_total' | 'tax_amount' | 'total' | 'calculation_id' | 'calculation_checksum'
> {
  const { currency } = calculation;
  return {
    subtotal: calculation.subtotal,
    adjustments_total: sumMoney(
      calculation.adjustments.map((a) => a.amount),
      currency,
    ),
    tax_amount: sumMoney([], currency),
    total: calculation.total,
    calculation_id: calculation.id,
    calculation_checksum: calculation.checksum,
  };
}

/**
 * The row after one event; the same transitions as the domain's evolveInvoice, and like it total: an
 * event that cannot follow the row leaves it as it is (never throw on a valid event).
 */
export function evolveInvoiceRow(row: InvoiceRow | undefined, event: InvoiceEvent): InvoiceRow | undefined {
  const due = row?.status === 'closed' || row?.status === 'payment_failed';
  switch (event.type) {
    case 'InvoiceDrafted': {
      if (row) return row;
      const { invoice_id, customer_id, subscription_id, currency, period_start, period_end, drafted_at } = event.data;
      return {
        ...{ invoice_id, customer_id, subscription_id, currency, period_start, period_end, drafted_at },
        ...fromCalculation(event.data.calculation),
        status: 'draft',
        number: null,
        checksum: null,
        credit_note_id: null,
        payment_failures: 0,
        closed_at: null,
        paid_at: null,
        voided_at: null,
      };
    }
    case 'InvoiceDraftRefreshed':
      return row?.status === 'draft' ? { ...row, ...fromCalculation(event.data.calculation) } : row;
    case 'InvoiceClosed': {
      if (row?.status !== 'draft') return row;
      const { number, subtotal, adjustments_total, tax_amount, total, checksum, closed_at } = event.data;
      return { ...row, status: 'closed', number, subtotal, adjustments_total, tax_amount, total, checksum, closed_at };
    }
    case 'InvoicePaymentFailed':
      return due ? { ...row!, status: 'payment_failed', payment_failures: row!.payment_failures + 1 } : row;
    case 'InvoicePaid':
      return due ? { ...row!, status: 'paid', paid_at: event.data.paid_at } : row;
    case 'InvoiceVoided':
      return due
        ? { ...row!, status: 'void', voided_at: event.data.voided_at, credit_note_id: event.data.credit_note_id }
        : row;
    case 'CreditNoteIssued':
      return row;
    default:
      return row;
  }
}

const COLUMNS = [
  'invoice_id',
  'customer_id',
  'subscription_id',
  'status',
  'number',
  'currency',
  'period_start',
  'period_end',
  'subtotal',
  'adjustments_total',
  'tax_amount',
  'total',
  'calculation_id',
  'calculation_checksum',
  'checksum',
  'credit_note_id',
  'payment_failures',
  'drafted_at',
  'closed_at',
  'paid_at',
  'voided_at',
] as const;
const TYPES: Record<(typeof COLUMNS)[number], string> = {
  invoice_id: 'text',
  customer_id: 'text',
  subscription_id: 'text',
  status: 'text',
  number: 'text',
  currency: 'text',
  period_start: 'timestamptz',
  period_end: 'timestamptz',
  subtotal: 'numeric',
  adjustments_total: 'numeric',
  tax_amount: 'numeric',
  total: 'numeric',
  calculation_id: 'text',
  calculation_checksum: 'text',
  checksum: 'text',
  credit_note_id: 'text',
  payment_failures: 'int',
  drafted_at: 'timestamptz',
  closed_at: 'timestamptz',
  paid_at: 'timestamptz',
  voided_at: 'timestamptz',
};

/**
 * `invoices`: one row per invoice, folded from its stream (each row remembers the stream revision it
 * was written at, so replays and overlapping batches apply nothing twice). Lists page by
 * (tenant, customer, status, invoice_id) and (tenant, status, invoice_id), keyset on invoice_id.
 */
export const invoicesProjection: Projection = {
  name: 'invoices',
  version: 1,
  eventTypes: INVOICE_EVENT_TYPES,
  tables: {
    // COLLATE "C": ids page in byte order, the order the indexes serve. Money is numeric without a
    // scale: it keeps the currency's decimals exactly as the events write them ("100.00", "5").
    invoices: (t) => `
      CREATE TABLE ${t} (
        tenant_id             text              NOT NULL,
        invoice_id            text COLLATE "C"  NOT NULL,
        customer_id           text COLLATE "C"  NOT NULL,
        subscription_id       text              NOT NULL,
        status                text              NOT NULL,
        number                text,
        currency              text              NOT NULL,
        period_start          timestamptz       NOT NULL,
        period_end            timestamptz       NOT NULL,
        subtotal              numeric           NOT NULL,
        adjustments_total     numeric           NOT NULL,
        tax_amount            numeric           NOT NULL,
        total                 numeric           NOT NULL,
        calculation_id        text              NOT NULL,
        calculation_checksum  text              NOT NULL,
        checksum              text,
        credit_note_id        text,
        payment_failures      integer           NOT NULL,
        drafted_at            timestamptz       NOT NULL,
        closed_at             timestamptz,
        paid_at               timestamptz,
        voided_at             timestamptz,
        stream_revision       integer           NOT NULL,
        PRIMARY KEY (tenant_id, invoice_id)
      );
      CREATE INDEX ${t}_by_customer ON ${t} (tenant_id, customer_id, status, invoice_id);
      CREATE INDEX ${t}_by_status ON ${t} (tenant_id, status, invoice_id);
      CREATE INDEX ${t}_by_number ON ${t} (tenant_id, number) WHERE number IS NOT NULL;`,
  },
  async apply(events, { client, table }) {
    const changed = await foldByStream<InvoiceRow>({
      events,
      idOf: (event) => (event.data as { invoice_id?: unknown } | null)?.invoice_id,
      load: (tenantIds, ids) => loadInvoices(client, table('invoices'), tenantIds, ids),
      evolve: (row, event: RecordedEvent) =>
        evolveInvoiceRow(row, { type: event.type, data: event.data } as InvoiceEvent),
    });
    if (changed.length > 0) await writeInvoices(client, table('invoices'), changed);
  },
};

async function loadInvoices(
  client: PoolClient,
  invoices: string,
  tenantIds: string[],
  ids: string[],
): Promise<Array<FoldedEntity<InvoiceRow>>> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT i.* FROM ${invoices} i JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, id)
        ON i.tenant_id = wanted.tenant_id AND i.invoice_id = wanted.id`,
    [tenantIds, ids],
  );
  return rows.map((row) => {
    const value = Object.fromEntries(
      COLUMNS.map((column) => [
        column,
        row[column] instanceof Date ? (row[column] as Date).toISOString() : row[column],
      ]),
    ) as unknown as InvoiceRow;
    return { tenantId: row.tenant_id as string, id: value.invoice_id, revision: row.stream_revision as number, value };
  });
}

async function writeInvoices(client: PoolClient, invoices: string, changed: Array<FoldedEntity<InvoiceRow>>) {
  const columns = ['tenant_id', ...COLUMNS, 'stream_revision'];
  const arrays = [
    changed.map((e) => e.tenantId),
    ...COLUMNS.map((column) => changed.map((e) => e.value[column])),
    changed.map((e) => e.revision),
  ];
  const types = ['text', ...COLUMNS.map((column) => TYPES[column]), 'int'];
  await client.query(
    `INSERT INTO ${invoices} (${columns.join(', ')})
     SELECT * FROM unnest(${types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})
     ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET
       ${columns
         .slice(2)
         .map((column) => `${column} = EXCLUDED.${column}`)
         .join(', ')}`,
    arrays,
  );
}
