import fc from 'fast-check';
import {
  fromMinorUnits,
  type AdjustmentRecorded,
  type CreditNoteIssued,
  type InvoiceClosed,
  type InvoicePaid,
} from '#domain';
import { foldBalances, trialBalance, type AccountBalance } from './balances';
import { ledgerEntryId } from './entry-id';
import {
  adjustmentEntry,
  creditNoteEntry,
  invoiceClosedEntry,
  journalEntryFor,
  paymentEntry,
  reversalEntry,
} from './journal-entries';
import { JournalError } from './journal.errors';
import type { LedgerEntry } from './ledger-entry';
import { validateEntry } from './validate-entry';

const T = 'acme';
const at = '2026-02-02T05:00:00.000Z';

/** Only the members the journal reads: the rest of an InvoiceClosed does not matter to it. */
function closed(overrides: Partial<InvoiceClosed['data']> = {}): InvoiceClosed['data'] {
  return {
    invoice_id: 'inv_1',
    number: 'INV-000001',
    customer_id: 'c1',
    currency: 'USD',
    closed_at: at,
    subtotal: '100.00',
    adjustments_total: '0.00',
    tax_amount: '0.00',
    total: '100.00',
    ...overrides,
  } as InvoiceClosed['data'];
}
const creditNote = (invoice: InvoiceClosed['data'], id = 'cn_1'): CreditNoteIssued['data'] => ({
  credit_note_id: id,
  invoice_id: invoice.invoice_id,
  invoice_number: invoice.number,
  customer_id: invoice.customer_id,
  currency: invoice.currency,
  reason: 'billed twice',
  subtotal: invoice.subtotal,
  adjustments_total: invoice.adjustments_total,
  tax_amount: invoice.tax_amount,
  total: invoice.total,
  issued_at: at,
});
const payment = (amount: string, overrides: Partial<InvoicePaid['data']> = {}): InvoicePaid['data'] => ({
  invoice_id: 'inv_1',
  payment_id: 'pay_1',
  customer_id: 'c1',
  currency: 'USD',
  amount,
  provider: null,
  provider_reference: null,
  paid_at: at,
  ...overrides,
});
const adjustment = (
  amount: string,
  overrides: Partial<AdjustmentRecorded['data']> = {},
): AdjustmentRecorded['data'] => ({
  adjustment_id: 'adj_1',
  customer_id: 'c1',
  amount,
  currency: 'USD',
  reason: 'outage',
  kind: 'manual',
  invoice_id: null,
  line: null,
  recorded_at: at,
  ...overrides,
});

const balanceOf = (balances: AccountBalance[], account: string) =>
  balances.find((b) => b.account === account)?.balance ?? '0.00';

function journalError(run: () => unknown): JournalError {
  try {
    run();
  } catch (error) {
    if (error instanceof JournalError) return error;
    throw error;
  }
  throw new Error('expected a JournalError');
}

describe('journal entries of billing facts', () => {
  it('an invoice close debits receivables and credits revenue and tax payable', () => {
    const entry = invoiceClosedEntry(T, closed({ tax_amount: '20.00', total: '120.00' }))!;
    expect(entry).toEqual({
      entry_id: ledgerEntryId(T, 'invoice', 'inv_1'),
      tenant_id: T,
      customer_id: 'c1',
      currency: 'USD',
      kind: 'invoice',
      reference: 'inv_1',
      reverses: null,
      reason: 'invoice INV-000001 closed',
      lines: [
        { account: 'receivables:c1', debit: '120.00' },
        { account: 'revenue', credit: '100.00' },
        { account: 'tax_payable', credit: '20.00' },
      ],
      posted_at: at,
    });
  });

  it('an invoice carrying a credit consumes the credits account; one carrying a charge clears it', () => {
    expect(invoiceClosedEntry(T, closed({ adjustments_total: '-30.00', total: '70.00' }))!.lines).toEqual([
      { account: 'receivables:c1', debit: '70.00' },
      { account: 'credits:c1', debit: '30.00' },
      { account: 'revenue', credit: '100.00' },
    ]);
    expect(invoiceClosedEntry(T, closed({ adjustments_total: '5.00', total: '105.00' }))!.lines).toEqual([
      { account: 'receivables:c1', debit: '105.00' },
      { account: 'credits:c1', credit: '5.00' },
      { account: 'revenue', credit: '100.00' },
    ]);
  });

  it('an adjustment is revenue when recorded and sits in credits until invoiced', () => {
    expect(adjustmentEntry(T, adjustment('-15.00'))!.lines).toEqual([
      { account: 'credits:c1', credit: '15.00' },
      { account: 'revenue', debit: '15.00' },
    ]);
    expect(adjustmentEntry(T, adjustment('3.00', { kind: 'late_usage' }))!.lines).toEqual([
      { account: 'credits:c1', debit: '3.00' },
      { account: 'revenue', credit: '3.00' },
    ]);
    // Recorded, then carried by an invoice: the credits account is back to zero, revenue is net of it.
    const balances = foldBalances([
      adjustmentEntry(T, adjustment('-15.00'))!,
      invoiceClosedEntry(T, closed({ adjustments_total: '-15.00', total: '85.00' }))!,
    ]);
    expect([
      balanceOf(balances, 'credits:c1'),
      balanceOf(balances, 'revenue'),
      balanceOf(balances, 'receivables:c1'),
    ]).toEqual(['0.00', '-85.00', '85.00']);
  });

  it('a payment debits cash and credits receivables: a paid invoice leaves nothing receivable', () => {
    expect(paymentEntry(T, payment('120.00'))!.lines).toEqual([
      { account: 'cash', debit: '120.00' },
      { account: 'receivables:c1', credit: '120.00' },
    ]);
    const balances = foldBalances([
      invoiceClosedEntry(T, closed({ tax_amount: '20.00', total: '120.00' }))!,
      paymentEntry(T, payment('120.00'))!,
    ]);
    expect(balanceOf(balances, 'receivables:c1')).toBe('0.00');
    expect(balanceOf(balances, 'cash')).toBe('120.00');
  });

  it('a credit note reverses its invoice entry, referencing it: every balance returns to zero', () => {
    const invoice = closed({ adjustments_total: '-10.00', tax_amount: '9.00', total: '99.00' });
    const entry = creditNoteEntry(T, creditNote(invoice))!;
    expect(entry).toMatchObject({
      kind: 'credit_note',
      reference: 'cn_1',
      reverses: ledgerEntryId(T, 'invoice', 'inv_1'),
    });
    const balances = foldBalances([invoiceClosedEntry(T, invoice)!, entry]);
    expect(balances.every((b) => b.balance === '0.00')).toBe(true);
  });

  it('a negative total leaves the customer a balance in their favour on receivables', () => {
    expect(
      invoiceClosedEntry(T, closed({ subtotal: '10.00', adjustments_total: '-25.00', total: '-15.00' }))!.lines,
    ).toEqual([
      { account: 'receivables:c1', credit: '15.00' },
      { account: 'credits:c1', debit: '25.00' },
      { account: 'revenue', credit: '10.00' },
    ]);
  });

  it('posts nothing for a fact with nothing to post (a zero invoice, a zero payment)', () => {
    expect(invoiceClosedEntry(T, closed({ subtotal: '0.00', total: '0.00' }))).toBeNull();
    expect(paymentEntry(T, payment('0.00'))).toBeNull();
    expect(journalEntryFor(T, { type: 'InvoiceVoided', data: {} })).toBeNull();
  });

  it('entry ids are derived from the fact: the same fact, the same id; another tenant or kind, another id', () => {
    expect(journalEntryFor(T, { type: 'InvoicePaid', data: payment('1.00') })!.entry_id).toBe(
      paymentEntry(T, payment('1.00'))!.entry_id,
    );
    expect(ledgerEntryId(T, 'payment', 'x')).not.toBe(ledgerEntryId('globex', 'payment', 'x'));
    expect(ledgerEntryId(T, 'payment', 'x')).not.toBe(ledgerEntryId(T, 'adjustment', 'x'));
    expect(ledgerEntryId(T, 'payment', 'x')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('entry validation', () => {
  const valid = (): LedgerEntry => paymentEntry(T, payment('10.00'))!;
  const withLines = (lines: unknown[]) => ({ ...valid(), lines }) as LedgerEntry;

  it.each<[string, unknown[], string]>([
    [
      'debits above credits',
      [
        { account: 'cash', debit: '10.00' },
        { account: 'receivables:c1', credit: '9.99' },
      ],
      'JOURNAL.UNBALANCED',
    ],
    [
      'a zero amount',
      [
        { account: 'cash', debit: '0.00' },
        { account: 'receivables:c1', credit: '0.00' },
      ],
      'JOURNAL.INVALID_AMOUNT',
    ],
    [
      'a negative amount',
      [
        { account: 'cash', debit: '-5.00' },
        { account: 'receivables:c1', debit: '5.00' },
      ],
      'JOURNAL.INVALID_AMOUNT',
    ],
    [
      'an amount below the minor unit',
      [
        { account: 'cash', debit: '0.001' },
        { account: 'receivables:c1', credit: '0.001' },
      ],
      'JOURNAL.INVALID_AMOUNT',
    ],
    [
      'a JS number amount',
      [
        { account: 'cash', debit: 10 },
        { account: 'receivables:c1', credit: 10 },
      ],
      'JOURNAL.INVALID_AMOUNT',
    ],
    [
      'a line in another currency',
      [
        { account: 'cash', debit: '10.00', currency: 'EUR' },
        { account: 'receivables:c1', credit: '10.00' },
      ],
      'JOURNAL.MIXED_CURRENCY',
    ],
    [
      "another customer's account",
      [
        { account: 'cash', debit: '10.00' },
        { account: 'receivables:c2', credit: '10.00' },
      ],
      'JOURNAL.INVALID_ENTRY',
    ],
    [
      'an unknown account',
      [
        { account: 'suspense', debit: '10.00' },
        { account: 'cash', credit: '10.00' },
      ],
      'JOURNAL.INVALID_ENTRY',
    ],
    [
      'a line with both sides',
      [
        { account: 'cash', debit: '10.00', credit: '10.00' },
        { account: 'receivables:c1', credit: '10.00' },
      ],
      'JOURNAL.INVALID_ENTRY',
    ],
    ['a single line', [{ account: 'cash', debit: '10.00' }], 'JOURNAL.INVALID_ENTRY'],
  ])('refuses %s', (_label, lines, code) => {
    expect(journalError(() => validateEntry(withLines(lines))).code).toBe(code);
  });

  it('accepts a balanced entry and reports which amounts are wrong', () => {
    expect(validateEntry(valid())).toEqual(valid());
    const error = journalError(() =>
      validateEntry(
        withLines([
          { account: 'cash', debit: '10' },
          { account: 'receivables:c1', credit: '10.00' },
        ]),
      ),
    );
    expect(error.errors).toEqual([{ field: 'lines[0].debit', message: 'must be written "10.00"' }]);
  });
});

// ---- Laws (fast-check) -------------------------------------------------------------------------

const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD'];
const moneyArb = (currency: string, min: bigint, max: bigint) =>
  fc.bigInt({ min, max }).map((minor) => fromMinorUnits(minor, currency));

/** One billing fact in some currency for some customer, turned into its entry (or null). */
const factArb: fc.Arbitrary<LedgerEntry | null> = fc
  .record({
    currency: fc.constantFrom(...CURRENCIES),
    customer: fc.constantFrom('c1', 'c2', 'c3'),
    id: fc.integer({ min: 1, max: 1_000_000 }),
    kind: fc.constantFrom('invoice', 'payment', 'adjustment', 'credit_note'),
  })
  .chain(({ currency, customer, id, kind }) =>
    fc
      .record({
        subtotal: moneyArb(currency, 0n, 10n ** 12n),
        adjustments: moneyArb(currency, -(10n ** 9n), 10n ** 9n),
        tax: moneyArb(currency, 0n, 10n ** 10n),
        amount: moneyArb(currency, -(10n ** 12n), 10n ** 12n),
      })
      .map(({ subtotal, adjustments, tax, amount }) => {
        const common = { customer_id: customer, currency };
        const minor = (value: string) => BigInt(value.replace(/[.]/g, ''));
        const total = fromMinorUnits(minor(subtotal) + minor(adjustments) + minor(tax), currency);
        const invoice = closed({
          ...common,
          invoice_id: `inv_${id}`,
          subtotal,
          adjustments_total: adjustments,
          tax_amount: tax,
          total,
        });
        switch (kind) {
          case 'invoice':
            return invoiceClosedEntry(T, invoice);
          case 'credit_note':
            return creditNoteEntry(T, creditNote(invoice, `cn_${id}`));
          case 'payment':
            return paymentEntry(T, payment(amount.replace('-', ''), { ...common, payment_id: `pay_${id}` }));
          default:
            return amount.match(/^-?0(\.0+)?$/)
              ? null
              : adjustmentEntry(T, adjustment(amount, { ...common, adjustment_id: `adj_${id}` }));
        }
      }),
  );

const entriesArb = fc
  .array(factArb, { maxLength: 40 })
  .map((entries) => entries.filter((entry): entry is LedgerEntry => entry !== null));

/** Net balances only (debit and credit totals grow with reversals; the balance must not change). */
const netBalances = (entries: LedgerEntry[]) =>
  foldBalances(entries)
    .filter((b) => !/^-?0(\.0+)?$/.test(b.balance))
    .map((b) => [b.customer_id, b.account, b.currency, b.balance]);

describe('journal laws (property)', () => {
  it('every generated sequence of postings validates and balances: per currency, the balances sum to zero', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        entries.forEach((entry) => validateEntry(entry));
        for (const [currency, sum] of trialBalance(foldBalances(entries))) {
          expect([currency, sum]).toEqual([currency, fromMinorUnits(0n, currency)]);
        }
      }),
    );
  });

  it('a reversal cancels its entry, and the reversal of a reversal restores the balances', () => {
    fc.assert(
      fc.property(
        entriesArb.filter((entries) => entries.length > 0),
        fc.nat(),
        (entries, pick) => {
          const original = entries[pick % entries.length];
          const reversal = reversalEntry(original, { reason: 'posted in error', at: new Date(at) });
          const restored = reversalEntry(reversal, { reason: 'the reversal was wrong', at: new Date(at) });
          expect(reversal).toMatchObject({ reverses: original.entry_id, reference: original.entry_id });
          expect(restored.reverses).toBe(reversal.entry_id);
          expect(restored.entry_id).not.toBe(original.entry_id);
          const without = entries.filter((entry) => entry !== original);
          expect(netBalances([...entries, reversal])).toEqual(netBalances(without));
          expect(netBalances([...entries, reversal, restored])).toEqual(netBalances(entries));
        },
      ),
    );
  });

  it('balances are the fold of the entries: independent of order, and of how the entries are split', () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), (entries, cut) => {
        const shuffled = [...entries].reverse();
        expect(foldBalances(shuffled)).toEqual(foldBalances(entries));
        // Folding a prefix, then the rest, then adding totals up equals folding everything at once.
        const split = cut % (entries.length + 1);
        const parts = [foldBalances(entries.slice(0, split)), foldBalances(entries.slice(split))];
        const merged = new Map<string, { debit: bigint; credit: bigint; currency: string }>();
        for (const b of parts.flat()) {
          const key = JSON.stringify([b.customer_id, b.account, b.currency]);
          const m = merged.get(key) ?? { debit: 0n, credit: 0n, currency: b.currency };
          m.debit += BigInt(b.debit.replace('.', ''));
          m.credit += BigInt(b.credit.replace('.', ''));
          merged.set(key, m);
        }
        const whole = foldBalances(entries);
        expect(whole.map((b) => BigInt(b.debit.replace('.', '')))).toEqual(
          whole.map((b) => merged.get(JSON.stringify([b.customer_id, b.account, b.currency]))!.debit),
        );
        expect(whole.map((b) => BigInt(b.credit.replace('.', '')))).toEqual(
          whole.map((b) => merged.get(JSON.stringify([b.customer_id, b.account, b.currency]))!.credit),
        );
      }),
    );
  });
});
