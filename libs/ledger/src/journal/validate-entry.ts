import {
  BILLING_ID_PATTERN,
  formatMoney,
  fromMinorUnits,
  isCurrencyCode,
  toMinorUnits,
  type FieldError,
} from '#domain';
import { TENANT_ID_PATTERN } from '../streams';
import { JournalError } from './journal.errors';
import {
  CUSTOMER_ACCOUNT_KINDS,
  LEDGER_ENTRY_KINDS,
  TENANT_ACCOUNTS,
  type LedgerEntry,
  type LedgerLine,
} from './ledger-entry';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/**
 * Refuses an entry that must never be written, with the most specific code: a line in another
 * currency (JOURNAL.MIXED_CURRENCY), an amount that is not positive minor-unit money
 * (JOURNAL.INVALID_AMOUNT), debits that differ from credits (JOURNAL.UNBALANCED), anything else
 * malformed (JOURNAL.INVALID_ENTRY). Sums are exact: bigint minor units.
 */
export function validateEntry(entry: LedgerEntry): LedgerEntry {
  const shape = entryProblems(entry);
  if (shape.length > 0) throw invalid('JOURNAL.INVALID_ENTRY', shape);
  const mixed = entry.lines.flatMap((line, index) => currencyProblems(line, entry.currency, index));
  if (mixed.length > 0) throw invalid('JOURNAL.MIXED_CURRENCY', mixed);
  const amounts = entry.lines.flatMap((line, index) => amountProblems(line, entry.currency, index));
  if (amounts.length > 0) throw invalid('JOURNAL.INVALID_AMOUNT', amounts);
  let debits = 0n;
  let credits = 0n;
  for (const line of entry.lines) {
    if (line.debit !== undefined) debits += toMinorUnits(line.debit, entry.currency);
    else credits += toMinorUnits(line.credit as string, entry.currency);
  }
  if (debits !== credits) {
    throw new JournalError(
      'JOURNAL.UNBALANCED',
      `entry ${entry.entry_id} does not balance: debits ${fromMinorUnits(debits, entry.currency)} != credits ${fromMinorUnits(credits, entry.currency)} ${entry.currency}`,
    );
  }
  return entry;
}

function invalid(
  code: 'JOURNAL.INVALID_ENTRY' | 'JOURNAL.MIXED_CURRENCY' | 'JOURNAL.INVALID_AMOUNT',
  errors: FieldError[],
) {
  return new JournalError(code, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

function entryProblems(entry: LedgerEntry): FieldError[] {
  if (typeof entry !== 'object' || entry === null) return [{ field: 'entry', message: 'is required' }];
  const problems: FieldError[] = [];
  const check = (ok: boolean, field: string, message: string) => (ok ? undefined : problems.push({ field, message }));
  check(typeof entry.entry_id === 'string' && UUID.test(entry.entry_id), 'entry_id', 'must be a lowercase uuid');
  check(
    typeof entry.tenant_id === 'string' && TENANT_ID_PATTERN.test(entry.tenant_id),
    'tenant_id',
    'must be a tenant id',
  );
  check(
    typeof entry.customer_id === 'string' && BILLING_ID_PATTERN.test(entry.customer_id),
    'customer_id',
    'must be a customer id',
  );
  check(isCurrencyCode(entry.currency), 'currency', 'must be an ISO 4217 code');
  check(
    (LEDGER_ENTRY_KINDS as readonly string[]).includes(entry.kind),
    'kind',
    `must be one of ${LEDGER_ENTRY_KINDS.join(', ')}`,
  );
  check(
    typeof entry.reference === 'string' && entry.reference.length > 0 && entry.reference.length <= 200,
    'reference',
    'must be 1-200 characters',
  );
  check(
    entry.reverses === null || (typeof entry.reverses === 'string' && UUID.test(entry.reverses)),
    'reverses',
    'must be an entry id or null',
  );
  check(
    typeof entry.reason === 'string' && entry.reason.trim().length > 0 && entry.reason.length <= 1000,
    'reason',
    'must be 1-1000 characters',
  );
  check(
    typeof entry.posted_at === 'string' && RFC3339_UTC.test(entry.posted_at),
    'posted_at',
    'must be an RFC 3339 UTC instant',
  );
  if (!Array.isArray(entry.lines) || entry.lines.length < 2) {
    problems.push({ field: 'lines', message: 'must hold at least two lines' });
    return problems;
  }
  entry.lines.forEach((line, index) => problems.push(...lineShapeProblems(line, entry.customer_id, index)));
  return problems;
}

function lineShapeProblems(line: LedgerLine, customerId: string, index: number): FieldError[] {
  const at = `lines[${index}]`;
  if (typeof line !== 'object' || line === null) return [{ field: at, message: 'must be an object' }];
  const problems: FieldError[] = [];
  if (!isAccount(line.account, customerId)) {
    problems.push({
      field: `${at}.account`,
      message: `must be ${TENANT_ACCOUNTS.join(', ')} or receivables|credits:${customerId}`,
    });
  }
  if ((line.debit === undefined) === (line.credit === undefined)) {
    problems.push({ field: at, message: 'must have exactly one of debit and credit' });
  }
  return problems;
}

function isAccount(account: unknown, customerId: string): boolean {
  if (typeof account !== 'string') return false;
  if ((TENANT_ACCOUNTS as readonly string[]).includes(account)) return true;
  const colon = account.indexOf(':');
  return (
    colon > 0 &&
    (CUSTOMER_ACCOUNT_KINDS as readonly string[]).includes(account.slice(0, colon)) &&
    account.slice(colon + 1) === customerId
  );
}

/** Lines carry no currency; one that names another currency than its entry's is a mixed entry. */
function currencyProblems(line: LedgerLine, currency: string, index: number): FieldError[] {
  const named = (line as { currency?: unknown }).currency;
  return named === undefined || named === currency
    ? []
    : [{ field: `lines[${index}].currency`, message: `${String(named)} in an entry in ${currency}` }];
}

function amountProblems(line: LedgerLine, currency: string, index: number): FieldError[] {
  const [side, amount] = line.debit !== undefined ? ['debit', line.debit] : ['credit', line.credit];
  const field = `lines[${index}].${side}`;
  if (typeof amount !== 'string' || !PLAIN_DECIMAL.test(amount)) {
    return [{ field, message: 'must be a positive decimal string' }];
  }
  let canonical: string;
  try {
    canonical = formatMoney(amount, currency);
  } catch {
    return [{ field, message: `has more decimals than ${currency} allows` }];
  }
  if (canonical !== amount) return [{ field, message: `must be written "${canonical}"` }];
  return toMinorUnits(amount, currency) > 0n ? [] : [{ field, message: 'must be greater than zero' }];
}
