import { Injectable } from '@nestjs/common';
import { formatMoney } from '#domain';
import { ledgerBalances, listLedgerEntries } from '../../../projector/src/billing/billing.queries';
import { loadCustomer } from '../customers/customer.operations';
import { decodeCursor, encodeCursor, invalidCursor, listScope } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { BillingService } from './billing.service';
import type { CustomerBalanceView, LedgerPage } from './billing.views';

const UNDEFINED_TABLE = '42P01';

async function readModel<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
    throw new ApiProblem('SERVICE.UNAVAILABLE', `the ${what} read model is not built yet; is the projector running?`);
  }
}

/**
 * A customer's money: balances per account and currency (`ledger_balances`) and the journal entries
 * in posting order (`ledger_entries`). Both follow the projector; the customer itself is read from its
 * stream, so an unknown customer (or another tenant's) is 404 CUSTOMER.NOT_FOUND.
 */
@Injectable()
export class CustomerLedgerReader {
  constructor(private readonly billing: BillingService) {}

  async balance(tenantId: string, customerId: string): Promise<CustomerBalanceView> {
    await loadCustomer(this.billing.store, tenantId, customerId);
    const rows = await readModel('ledger_balances', () => ledgerBalances(this.billing.pool, tenantId, customerId));
    const summary: CustomerBalanceView['summary'] = {};
    for (const row of rows) {
      const zero = formatMoney('0', row.currency);
      const entry = (summary[row.currency] ??= { receivable: zero, credits: zero });
      if (row.account === `receivables:${customerId}`) entry.receivable = row.balance;
      if (row.account === `credits:${customerId}`) entry.credits = row.balance;
    }
    return { customer_id: customerId, data: rows, summary, meta: { consistency: 'eventual' } };
  }

  async ledger(tenantId: string, customerId: string, query: { cursor?: string; limit: number }): Promise<LedgerPage> {
    await loadCustomer(this.billing.store, tenantId, customerId);
    const scope = listScope('customer_ledger', tenantId, { customer_id: customerId });
    const after =
      query.cursor === undefined ? undefined : Number(decodeCursor(query.cursor, ['revision'], scope).revision);
    if (after !== undefined && !Number.isSafeInteger(after)) throw invalidCursor();
    const rows = await readModel('ledger_entries', () =>
      listLedgerEntries(this.billing.pool, { tenantId, customerId, afterRevision: after, limit: query.limit + 1 }),
    );
    const data = rows.slice(0, query.limit).map((row) => ({
      entry_id: row.entry_id,
      sequence: row.revision,
      kind: row.kind,
      reference: row.reference,
      reverses: row.reverses,
      reason: row.reason,
      currency: row.currency,
      lines: row.lines,
      posted_at: row.posted_at.toISOString(),
    }));
    const more = rows.length > query.limit;
    return {
      data,
      next_cursor: more ? encodeCursor({ revision: String(data[data.length - 1].sequence) }, scope) : null,
    };
  }
}
