import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import {
  INVOICE_NUMBER_ASSIGNED,
  closeRequestOf,
  formatInvoiceNumber,
  invoiceDecider,
  isClosedState,
  type Calculation,
  type CloseInvoice,
  type CustomerSnapshot,
  type InvoiceEvent,
  type InvoiceState,
  type PlanSnapshot,
} from '#domain';
import {
  LEDGER_ENTRY_POSTED,
  PostgresEventStore,
  adjustmentCarriers,
  adjustmentIdsOf,
  assignmentEventId,
  invoiceNumbersStream,
  invoiceStream,
  journalEntryFor,
  ledgerStream,
  validateEntry,
  type EventMetadata,
  type ExpectedRevision,
  type InvoiceNumberAssignment,
  type NewEvent,
} from '#ledger';
import { inTransaction } from '#platform';
import { deterministicUuid } from '../common/deterministic-id';
import { clockOf, metadataOf, type BillingContext } from './billing-context';
import { CHARGES_CALCULATED, calculationStream, type ChargesCalculated } from './calculation';
import { readStreamsAsOf } from './calculation/stream-reads-batch';

/** One invoice of a batch: its latest calculation, and the close snapshots when it is to be closed now. */
export interface BatchInvoiceWork {
  invoiceId: string;
  /** The calculation and its inputs and provenance, stored once as ChargesCalculated. */
  record: ChargesCalculated['data'];
  close?: { customer: CustomerSnapshot; plan: PlanSnapshot; at: Date };
}

export interface BatchInvoiceResult {
  invoiceId: string;
  /** What the batch did to the draft: `drafted` (new), `refreshed`, or `unchanged` (same calculation, or closed already). */
  change: 'drafted' | 'refreshed' | 'unchanged';
  /** The invoice's status after the batch. */
  status: Exclude<InvoiceState['status'], 'absent'>;
  /** Closed by this batch. */
  closedNow: boolean;
  /**
   * The invoice could not be decided here (its close was refused, or it already holds a number from a
   * close that crashed): nothing of it was written; run it through the one-invoice operations.
   */
  deferred?: Error;
}

interface Decided {
  work: BatchInvoiceWork;
  expected: ExpectedRevision;
  events: InvoiceEvent[];
  result: BatchInvoiceResult;
  assignment?: InvoiceNumberAssignment;
}

/** Transactions that write a batch's calculations, and later its journal entries, side by side. */
const PARALLEL_WRITERS = 2;

/**
 * Drafts (or refreshes) and closes MANY invoices with the same events, in each invoice's stream, as
 * draftInvoice then closeInvoiceWithNumber would append one by one: each calculation's
 * ChargesCalculated (once), the draft or its refresh, the numbers of the invoices closed (gapless, in
 * the order of `works`), their InvoiceClosed, then their journal entries. In three steps, as the one
 * by one path orders them, each all-or-nothing (Postgres transactions):
 *
 * 1. the calculations, in PARALLEL_WRITERS transactions, committed before step 2 commits (an invoice
 *    never names a calculation that is not stored; calculations alone are harmless and idempotent);
 * 2. THE CLOSE, ONE transaction: the invoice streams and the numbers stream are locked first
 *    (lockStreams: name order, no deadlock, no append-order conflict), the invoices' states are read
 *    under the locks, and the drafts, the number assignments and the InvoiceClosed events commit
 *    together or not at all. So no number is ever assigned without its InvoiceClosed (nothing for the
 *    sweep to complete), no invoice is closed twice (ids are per subscription period; states are read
 *    under the locks), and a batch that did not commit is redone by the next tick from the read models;
 * 3. the journal entries of the invoices closed, in PARALLEL_WRITERS transactions (idempotent: entry
 *    ids are derived from the invoices; a crash before them is completed by the journal poster, as
 *    after closeInvoiceWithNumber's own close).
 *
 * An invoice that cannot be decided here is `deferred` (the others go on). Any error is thrown: before
 * step 2 committed nothing of the batch is closed; after it, retrying the invoices one by one finds
 * them closed and posts their entries.
 */
export async function writeInvoiceBatch(
  ctx: BillingContext,
  works: readonly BatchInvoiceWork[],
): Promise<BatchInvoiceResult[]> {
  const store = ctx.store;
  if (!(store instanceof PostgresEventStore)) throw new TypeError('writeInvoiceBatch needs the Postgres event store');
  if (works.length === 0) return [];
  const metadata = metadataOf(ctx);
  const calculations = Promise.all(
    split(works, PARALLEL_WRITERS).map((part) =>
      inTransaction(ctx.pool, (client) => appendCalculations(ctx, store, client, part, metadata)),
    ),
  );
  calculations.catch(() => undefined); // awaited inside the close, which then rolls back
  const decided = await inTransaction(ctx.pool, async (client) => {
    const invoices = works.map((work) => invoiceStream(ctx.tenantId, work.invoiceId));
    const numbers = invoiceNumbersStream(ctx.tenantId);
    await store.lockStreams(client, [...invoices, numbers]);
    const items = await decideUnderLocks(ctx, client, works);
    await appendAssignments(store, client, numbers, items, metadata);
    for (const item of items) {
      if (item.events.length === 0) continue;
      await store.appendWithin(client, invoiceStream(ctx.tenantId, item.work.invoiceId), toNew(item.events, metadata), {
        expectedRevision: item.expected,
      });
    }
    await calculations;
    return items;
  });
  const closed = decided.filter((item) => item.result.closedNow);
  await Promise.all(
    split(closed, PARALLEL_WRITERS).map((part) =>
      inTransaction(ctx.pool, (client) => appendJournal(ctx, store, client, part, metadata)),
    ),
  );
  return decided.map((item) => item.result);
}

/** `items` in at most `parts` contiguous, non-empty parts. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const toNew = (events: ReadonlyArray<{ type: string; data: unknown }>, metadata: EventMetadata): NewEvent[] =>
  events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data, metadata }));

/**
 * Each invoice's events, decided from its stream as read under the locks: DraftInvoice or RefreshDraft
 * with its calculation, then (when asked) CloseInvoice with the next number. Numbers are taken in the
 * order of `works`, after the stream's last assignment; an invoice that already has an assignment
 * (a close that crashed after its commit point) is deferred, so its own number stands.
 */
async function decideUnderLocks(
  ctx: BillingContext,
  client: PoolClient,
  works: readonly BatchInvoiceWork[],
): Promise<Decided[]> {
  const streams = await readStreamsAsOf(
    client,
    ctx.store,
    works.map((work) => invoiceStream(ctx.tenantId, work.invoiceId)),
  );
  const numbers = invoiceNumbersStream(ctx.tenantId);
  // The assignments are found by id alone (the hash index on events.id, migration 0011), then their
  // stream checked: never by walking the numbers stream, which holds every invoice number given.
  const { rows } = await client.query<{ revision: string | null; assigned: string[] }>(
    `SELECT (SELECT max(revision)::text FROM events WHERE stream = $1) AS revision,
            ARRAY(SELECT e.data->>'invoice_id'
                    FROM (SELECT stream, data FROM events WHERE id = ANY($2::uuid[]) OFFSET 0) e
                   WHERE e.stream = $1) AS assigned`,
    [numbers, works.map((work) => assignmentEventId(ctx.tenantId, work.invoiceId))],
  );
  const assigned = new Set(rows[0].assigned);
  let sequence = rows[0].revision === null ? 0 : Number(rows[0].revision) + 1;
  const at = clockOf(ctx);
  // Adjustments already carried by another invoice (read under the numbers lock: no assignment can
  // land meanwhile), and those an earlier invoice of this batch takes.
  const carriedElsewhere = await carriedByOthers(ctx, works);
  const takenInBatch = new Set<string>();
  return works.map((work): Decided => {
    const events = streams.get(invoiceStream(ctx.tenantId, work.invoiceId)) ?? [];
    const initial = events.reduce(
      (s, e) => invoiceDecider.evolve(s, { type: e.type, data: e.data } as InvoiceEvent),
      invoiceDecider.initialState(),
    );
    const expected: ExpectedRevision = events.length === 0 ? 'no_stream' : events[events.length - 1].revision;
    const decided: Decided = { work, expected, events: [], result: resultOf(work, initial, 'unchanged') };
    // Closed (or paid, void) already: nothing to draft or close.
    if (isClosedState(initial)) return decided;
    if (assigned.has(work.invoiceId)) return deferred(decided, 'it already has an invoice number');
    try {
      const calculation: Calculation = work.record.calculation;
      const draft = invoiceDecider.decide(
        initial.status === 'absent'
          ? { type: 'DraftInvoice', invoice_id: work.invoiceId, calculation, at }
          : { type: 'RefreshDraft', invoice_id: work.invoiceId, calculation, at },
        initial,
      );
      const drafted = draft.reduce(invoiceDecider.evolve, initial);
      const change = draft.length === 0 ? 'unchanged' : initial.status === 'absent' ? 'drafted' : 'refreshed';
      if (!work.close) return { ...decided, events: draft, result: resultOf(work, drafted, change) };
      const adjustmentIds = adjustmentIdsOf(calculation);
      const carried = adjustmentIds.filter(
        (id) => carriedElsewhere.get(work.invoiceId)?.has(id) || takenInBatch.has(id),
      );
      if (carried.length > 0) {
        return deferred(decided, `another invoice carries its adjustments ${carried.join(', ')} already`);
      }
      for (const id of adjustmentIds) takenInBatch.add(id);
      const command: CloseInvoice = {
        type: 'CloseInvoice',
        invoice_id: work.invoiceId,
        number: formatInvoiceNumber(sequence + 1),
        ...work.close,
        tax_amount: null,
        tax_lines: [],
      };
      const closed = invoiceDecider.decide(command, drafted);
      sequence += 1;
      const assignment = {
        invoice_id: work.invoiceId,
        number: command.number,
        sequence,
        close: closeRequestOf(command),
        ...(adjustmentIds.length > 0 ? { adjustment_ids: adjustmentIds } : {}),
      };
      const result = { ...resultOf(work, closed.reduce(invoiceDecider.evolve, drafted), change), closedNow: true };
      return { ...decided, events: [...draft, ...closed], result, assignment };
    } catch (error) {
      return deferred(decided, error instanceof Error ? error : String(error));
    }
  });
}

/** For each work closing with adjustments: those of them another invoice carries (adjustment-carriers.ts). */
async function carriedByOthers(
  ctx: BillingContext,
  works: readonly BatchInvoiceWork[],
): Promise<Map<string, Set<string>>> {
  const idsOf = (work: BatchInvoiceWork) => (work.close ? adjustmentIdsOf(work.record.calculation) : []);
  const carriers = await adjustmentCarriers(ctx.store, ctx.tenantId, works.flatMap(idsOf));
  const byInvoice = new Map<string, Set<string>>();
  for (const work of works) {
    const carried = idsOf(work).filter((id) => (carriers.get(id) ?? []).some((carrier) => carrier !== work.invoiceId));
    if (carried.length > 0) byInvoice.set(work.invoiceId, new Set(carried));
  }
  return byInvoice;
}

function resultOf(work: BatchInvoiceWork, state: InvoiceState, change: BatchInvoiceResult['change']) {
  const status = state.status === 'absent' ? 'draft' : state.status;
  return { invoiceId: work.invoiceId, change, status, closedNow: false } satisfies BatchInvoiceResult;
}

function deferred(decided: Decided, why: Error | string): Decided {
  const error = why instanceof Error ? why : new Error(`invoice ${decided.work.invoiceId}: ${why}`);
  return { ...decided, events: [], result: { ...decided.result, deferred: error } };
}

/** Each calculation's ChargesCalculated, unless stored already (its id is its content: the first record stands). */
async function appendCalculations(
  ctx: BillingContext,
  store: PostgresEventStore,
  client: PoolClient,
  works: readonly BatchInvoiceWork[],
  metadata: EventMetadata,
): Promise<void> {
  const streams = [...new Set(works.map((work) => calculationStream(ctx.tenantId, work.record.calculation.id)))];
  await store.lockStreams(client, streams);
  const { rows } = await client.query<{ stream: string }>(`SELECT stream FROM streams WHERE stream = ANY($1::text[])`, [
    streams,
  ]);
  const stored = new Set(rows.map((row) => row.stream));
  for (const work of works) {
    const stream = calculationStream(ctx.tenantId, work.record.calculation.id);
    if (stored.has(stream)) continue;
    stored.add(stream);
    const id = deterministicUuid(`${stream}/${CHARGES_CALCULATED}`);
    await store.appendWithin(client, stream, [{ id, type: CHARGES_CALCULATED, data: work.record, metadata }], {
      expectedRevision: 'no_stream',
    });
  }
}

/** The batch's number assignments, in sequence order, in one append expecting the last revision read. */
async function appendAssignments(
  store: PostgresEventStore,
  client: PoolClient,
  stream: string,
  decided: readonly Decided[],
  metadata: EventMetadata,
): Promise<void> {
  const assignments = decided.flatMap((item) => (item.assignment ? [item.assignment] : []));
  if (assignments.length === 0) return;
  const first = assignments[0].sequence;
  await store.appendWithin(
    client,
    stream,
    assignments.map((data) => ({
      id: assignmentEventId(metadata.tenant_id, data.invoice_id),
      type: INVOICE_NUMBER_ASSIGNED,
      data,
      metadata,
    })),
    { expectedRevision: first === 1 ? 'no_stream' : first - 2 },
  );
}

/** The journal entry of each invoice closed here, as postJournalFor posts it (entry id as event id). */
async function appendJournal(
  ctx: BillingContext,
  store: PostgresEventStore,
  client: PoolClient,
  closed: readonly Decided[],
  metadata: EventMetadata,
): Promise<void> {
  const entries = closed.flatMap((item) => {
    const event = item.events.find((e) => e.type === 'InvoiceClosed');
    const entry = event ? journalEntryFor(ctx.tenantId, event) : null;
    return entry === null ? [] : [validateEntry(entry)];
  });
  await store.lockStreams(
    client,
    entries.map((entry) => ledgerStream(ctx.tenantId, entry.customer_id)),
  );
  for (const entry of entries) {
    await store.appendWithin(client, ledgerStream(ctx.tenantId, entry.customer_id), [
      { id: entry.entry_id, type: LEDGER_ENTRY_POSTED, data: entry, metadata, occurred_at: new Date(entry.posted_at) },
    ]);
  }
}
