import { Injectable } from '@nestjs/common';
import type { InvoiceStatus } from '#domain';
import { listInvoices, type InvoiceListRow } from '../../../projector/src/billing/billing.queries';
import type { AuthContext } from '../common/auth/key-directory';
import { decodeCursor, encodeCursor, invalidCursor, listScope, type Page } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { BillingService } from './billing.service';
import { invoiceView, type InvoiceView } from './billing.views';
import { explainInvoice, type ExplainOptions, type InvoiceExplanation } from './invoice-explain';
import { currentInvoice } from './invoice.operations';

/** SQLSTATE undefined_table: the projector has not created the read model's view yet. */
const UNDEFINED_TABLE = '42P01';

export interface InvoiceSummary {
  id: string;
  status: InvoiceStatus;
  number: string | null;
  customer_id: string;
  subscription_id: string;
  currency: string;
  period_start: string;
  period_end: string;
  subtotal: string;
  adjustments_total: string;
  tax_amount: string;
  total: string;
  checksum: string | null;
  drafted_at: string;
  closed_at: string | null;
  paid_at: string | null;
  voided_at: string | null;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

function summaryOf(row: InvoiceListRow): InvoiceSummary {
  const { invoice_id, period_start, period_end, drafted_at, closed_at, paid_at, voided_at, ...rest } = row;
  return {
    id: invoice_id,
    ...rest,
    period_start: period_start.toISOString(),
    period_end: period_end.toISOString(),
    drafted_at: drafted_at.toISOString(),
    closed_at: iso(closed_at),
    paid_at: iso(paid_at),
    voided_at: iso(voided_at),
  };
}

/**
 * Reads of invoices: one from its stream (strongly consistent; a draft is recalculated first, so it
 * always shows its current usage), lists from the `invoices` read model (follows the projector).
 */
@Injectable()
export class InvoicesReader {
  constructor(private readonly billing: BillingService) {}

  async get(caller: AuthContext, requestId: string, invoiceId: string): Promise<InvoiceView> {
    const outcome = await currentInvoice(this.billing.context(caller, requestId), invoiceId);
    return invoiceView(outcome.invoiceId, outcome.state);
  }

  async explain(
    caller: AuthContext,
    requestId: string,
    invoiceId: string,
    options: ExplainOptions,
  ): Promise<InvoiceExplanation> {
    const ctx = this.billing.context(caller, requestId);
    return explainInvoice(ctx, await currentInvoice(ctx, invoiceId), options);
  }

  async list(
    tenantId: string,
    query: { customerId?: string; status?: InvoiceStatus; cursor?: string; limit: number },
  ): Promise<Page<InvoiceSummary>> {
    const scope = listScope('invoices', tenantId, { customer_id: query.customerId, status: query.status });
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['id'], scope).id;
    if (after !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(after)) throw invalidCursor();
    let rows: InvoiceListRow[];
    try {
      rows = await listInvoices(this.billing.pool, { ...query, tenantId, after, limit: query.limit + 1 });
    } catch (error) {
      if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
      throw new ApiProblem('SERVICE.UNAVAILABLE', 'the invoices list is not built yet; is the projector running?');
    }
    const data = rows.slice(0, query.limit).map(summaryOf);
    const more = rows.length > query.limit;
    return { data, next_cursor: more ? encodeCursor({ id: data[data.length - 1].id }, scope) : null };
  }
}
