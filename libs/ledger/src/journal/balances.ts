import { fromMinorUnits, toMinorUnits, type DecimalString } from '#domain';
import type { LedgerEntry } from './ledger-entry';

/** One account's totals in one currency, for one customer's ledger. */
export interface AccountBalance {
  customer_id: string;
  account: string;
  currency: string;
  debit: DecimalString;
  credit: DecimalString;
  /** debit - credit (debit-positive: an asset's natural sign; income and liabilities are negative). */
  balance: DecimalString;
}

const keyOf = (customerId: string, account: string, currency: string) =>
  JSON.stringify([customerId, account, currency]);

/**
 * Balances are the fold of the entries: per (customer, account, currency), the sums of debits and of
 * credits. Exact (bigint minor units); order-independent; sorted by customer, account, currency.
 * This is what the `ledger_balances` read model must equal.
 */
export function foldBalances(entries: Iterable<LedgerEntry>): AccountBalance[] {
  const totals = new Map<
    string,
    { customer_id: string; account: string; currency: string; debit: bigint; credit: bigint }
  >();
  for (const entry of entries) {
    for (const line of entry.lines) {
      const key = keyOf(entry.customer_id, line.account, entry.currency);
      let total = totals.get(key);
      if (!total) {
        total = {
          customer_id: entry.customer_id,
          account: line.account,
          currency: entry.currency,
          debit: 0n,
          credit: 0n,
        };
        totals.set(key, total);
      }
      if (line.debit !== undefined) total.debit += toMinorUnits(line.debit, entry.currency);
      else total.credit += toMinorUnits(line.credit as string, entry.currency);
    }
  }
  return [...totals.values()]
    .sort(
      (a, b) =>
        compare(a.customer_id, b.customer_id) || compare(a.account, b.account) || compare(a.currency, b.currency),
    )
    .map((t) => ({
      customer_id: t.customer_id,
      account: t.account,
      currency: t.currency,
      debit: fromMinorUnits(t.debit, t.currency),
      credit: fromMinorUnits(t.credit, t.currency),
      balance: fromMinorUnits(t.debit - t.credit, t.currency),
    }));
}

/** Per currency, the sum of every balance: always zero in a double-entry journal. */
export function trialBalance(balances: readonly AccountBalance[]): Map<string, DecimalString> {
  const sums = new Map<string, bigint>();
  for (const b of balances) sums.set(b.currency, (sums.get(b.currency) ?? 0n) + toMinorUnits(b.balance, b.currency));
  return new Map([...sums].map(([currency, sum]) => [currency, fromMinorUnits(sum, currency)]));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
