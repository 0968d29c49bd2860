import fc from 'fast-check';
import { BillingError } from '../billing.errors';
import { checksumOf } from '../checksum';
import { fixtureCalculation, fixtureCloseRequest, fixtureCustomer, fixturePlan } from '../testing/billing-fixtures';
import { isClosedState, type InvoiceState } from './invoice';
import type { InvoiceClosed, InvoiceEvent } from './invoice.events';
import {
  closedInvoiceOf,
  invoiceDecider,
  type CloseInvoice,
  type InvoiceCommand,
  type RecordPayment,
  type VoidInvoice,
} from './invoice.decider';

const drafted_at = new Date('2026-02-01T06:00:00.000Z');
const later = new Date('2026-02-03T00:00:00.000Z');
const calc = fixtureCalculation();
const refreshedCalc = fixtureCalculation({ usage: '15000' });

const draft = (calculation = calc): InvoiceCommand => ({
  type: 'DraftInvoice',
  invoice_id: 'inv_1',
  calculation,
  at: drafted_at,
});
const refresh = (calculation = refreshedCalc): InvoiceCommand => ({
  type: 'RefreshDraft',
  invoice_id: 'inv_1',
  calculation,
  at: later,
});
const close = (overrides: Partial<CloseInvoice> = {}): CloseInvoice => ({
  type: 'CloseInvoice',
  invoice_id: 'inv_1',
  number: 'INV-000007',
  customer: fixtureCustomer(),
  plan: fixturePlan,
  at: new Date('2026-02-02T05:00:00.000Z'),
  ...overrides,
});
const voidIt = (overrides: Partial<VoidInvoice> = {}): VoidInvoice => ({
  type: 'VoidInvoice',
  invoice_id: 'inv_1',
  reason: 'wrong customer',
  credit_note_id: 'cn_1',
  at: later,
  ...overrides,
});
const pay = (overrides: Partial<RecordPayment> = {}): RecordPayment => ({
  type: 'RecordPayment',
  invoice_id: 'inv_1',
  payment_id: 'pay_1',
  amount: '100.00',
  provider: 'stripe',
  provider_reference: 'pi_123',
  at: later,
  ...overrides,
});
const decline = (attempt_id = 'att_1'): InvoiceCommand => ({
  type: 'RecordPaymentFailure',
  invoice_id: 'inv_1',
  attempt_id,
  reason: 'card declined',
  decline_code: 'card_declined',
  provider: 'stripe',
  at: later,
});

/** Given the events a list of commands produces, when a command: then its events. */
function given(...commands: InvoiceCommand[]) {
  let state = invoiceDecider.initialState();
  const history: InvoiceEvent[] = [];
  for (const command of commands) {
    const events = invoiceDecider.decide(command, state);
    history.push(...events);
    state = events.reduce(invoiceDecider.evolve, state);
  }
  return {
    state,
    history,
    when: (command: InvoiceCommand) => () => invoiceDecider.decide(command, state),
  };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof BillingError) return error.code;
    throw error;
  }
  throw new Error('expected a BillingError');
}

const closedEvent = (): InvoiceClosed => given(draft(), close()).history[1] as InvoiceClosed;

describe('invoice decider: drafts', () => {
  it('drafts an invoice from a sealed calculation', () => {
    expect(given().when(draft())()).toEqual([
      {
        type: 'InvoiceDrafted',
        data: {
          invoice_id: 'inv_1',
          customer_id: 'cust_1',
          subscription_id: 'sub_1',
          currency: 'USD',
          period_start: calc.period_start,
          period_end: calc.period_end,
          calculation: calc,
          drafted_at: drafted_at.toISOString(),
        },
      },
    ]);
  });

  it('a retried draft is a no-op, even after a refresh or the close', () => {
    expect(given(draft()).when(draft())()).toEqual([]);
    expect(given(draft(), refresh()).when(draft())()).toEqual([]);
    expect(given(draft(), close()).when(draft())()).toEqual([]);
  });

  it('another calculation under the same id is INVOICE.ALREADY_EXISTS while a draft, INVOICE.CLOSED after', () => {
    expect(codeOf(given(draft()).when(draft(refreshedCalc)))).toBe('INVOICE.ALREADY_EXISTS');
    expect(codeOf(given(draft(), close()).when(draft(refreshedCalc)))).toBe('INVOICE.CLOSED');
  });

  it('refuses a calculation that was edited after it was sealed', () => {
    const tampered = { ...calc, total: '1.00' };
    expect(codeOf(given().when(draft(tampered)))).toBe('CALCULATION.CHECKSUM_MISMATCH');
  });

  it('refreshes a draft with a new calculation; the same calculation again is a no-op', () => {
    expect(given(draft()).when(refresh())()).toEqual([
      {
        type: 'InvoiceDraftRefreshed',
        data: { invoice_id: 'inv_1', calculation: refreshedCalc, refreshed_at: later.toISOString() },
      },
    ]);
    expect(given(draft(), refresh()).when(refresh())()).toEqual([]);
    const { state } = given(draft(), refresh());
    expect(state.status === 'draft' && state.draft.calculation.total).toBe('100.00');
    expect(state.status === 'draft' && state.draft.calculation.checksum).toBe(refreshedCalc.checksum);
  });

  it('a refresh may not change what is billed (customer, period, plan version)', () => {
    const otherPeriod = fixtureCalculation({ period_start: '2026-01-02T05:00:00.000Z' });
    const error = (() => {
      try {
        given(draft()).when(refresh(otherPeriod))();
      } catch (e) {
        return e as BillingError;
      }
      throw new Error('expected an error');
    })();
    expect(error.code).toBe('INVOICE.INVALID');
    expect(error.errors.map((e) => e.field)).toEqual(['calculation.period_start']);
    expect(codeOf(given(draft()).when(refresh(fixtureCalculation({ customer_id: 'cust_2' }))))).toBe('INVOICE.INVALID');
  });

  it('refreshing an unknown invoice is INVOICE.NOT_FOUND, a closed one INVOICE.CLOSED', () => {
    expect(codeOf(given().when(refresh()))).toBe('INVOICE.NOT_FOUND');
    expect(codeOf(given(draft(), close()).when(refresh()))).toBe('INVOICE.CLOSED');
  });
});

describe('invoice decider: closing', () => {
  it('closes the draft with its number: snapshots, the calculation, tax, totals and a checksum', () => {
    const [event] = given(draft()).when(
      close({ tax_amount: '20.00', tax_lines: [{ name: 'VAT 20%', rate: '0.2', amount: '20.00' }] }),
    )() as InvoiceClosed[];
    expect(event.type).toBe('InvoiceClosed');
    const { checksum, ...content } = event.data;
    expect(content).toEqual({
      invoice_id: 'inv_1',
      number: 'INV-000007',
      customer_id: 'cust_1',
      subscription_id: 'sub_1',
      currency: 'USD',
      period_start: calc.period_start,
      period_end: calc.period_end,
      closed_at: '2026-02-02T05:00:00.000Z',
      customer: fixtureCustomer(),
      plan: fixturePlan,
      calculation: calc,
      subtotal: '100.00',
      adjustments_total: '0.00',
      tax_amount: '20.00',
      tax_lines: [{ name: 'VAT 20%', rate: '0.2', amount: '20.00' }],
      total: '120.00',
    });
    expect(checksum).toBe(checksumOf(content));
  });

  it('carries the adjustments of its calculation into the totals', () => {
    const withCredit = fixtureCalculation({
      adjustments: [
        {
          adjustment_id: 'adj_1',
          kind: 'manual',
          amount: '-30.00',
          reason: 'goodwill',
          invoice_id: null,
          charge_key: null,
        },
        {
          adjustment_id: 'adj_2',
          kind: 'late_usage',
          amount: '2.50',
          reason: 'late',
          invoice_id: 'inv_0',
          charge_key: 'api',
        },
      ],
    });
    const [event] = given(draft(withCredit)).when(close())() as InvoiceClosed[];
    expect(event.data).toMatchObject({
      subtotal: '100.00',
      adjustments_total: '-27.50',
      tax_amount: '0.00',
      total: '72.50',
    });
  });

  it('tax given only as lines is their sum', () => {
    const [event] = given(draft()).when(
      close({
        tax_lines: [
          { name: 'state', rate: null, amount: '4.00' },
          { name: 'city', rate: null, amount: '1.25' },
        ],
      }),
    )() as InvoiceClosed[];
    expect(event.data).toMatchObject({ tax_amount: '5.25', total: '105.25' });
  });

  it('closing twice with its number is idempotent: no events', () => {
    expect(given(draft(), close()).when(close())()).toEqual([]);
    expect(given(draft(), close(), pay()).when(close())()).toEqual([]);
  });

  it('any change to a closed invoice is INVOICE.CLOSED: another number, another draft, a refresh', () => {
    expect(codeOf(given(draft(), close()).when(close({ number: 'INV-000008' })))).toBe('INVOICE.CLOSED');
    expect(codeOf(given(draft(), close(), voidIt()).when(close({ number: 'INV-000008' })))).toBe('INVOICE.CLOSED');
    expect(codeOf(given(draft(), close(), pay()).when(refresh()))).toBe('INVOICE.CLOSED');
  });

  it.each<[string, Partial<CloseInvoice>, string]>([
    ['a malformed number', { number: 'INV-7' }, 'number'],
    ['another customer', { customer: fixtureCustomer('cust_2') }, 'customer.id'],
    ['a customer in another currency', { customer: { ...fixtureCustomer(), currency: 'EUR' } }, 'customer.currency'],
    ['another plan version', { plan: { ...fixturePlan, version: 2 } }, 'plan.version'],
    ['a negative tax', { tax_amount: '-1.00' }, 'tax_amount'],
    ['tax not in minor units', { tax_amount: '1.001' }, 'tax_amount'],
    [
      'tax that disagrees with its lines',
      { tax_amount: '3.00', tax_lines: [{ name: 'VAT', rate: null, amount: '2.00' }] },
      'tax_amount',
    ],
  ])('refuses to close with %s: INVOICE.INVALID', (_label, overrides, field) => {
    try {
      given(draft()).when(close(overrides))();
      throw new Error('expected an error');
    } catch (error) {
      expect(error).toBeInstanceOf(BillingError);
      expect((error as BillingError).code).toBe('INVOICE.INVALID');
      expect((error as BillingError).errors.map((e) => e.field)).toContain(field);
    }
  });

  it('closing an unknown invoice is INVOICE.NOT_FOUND', () => {
    expect(codeOf(given().when(close()))).toBe('INVOICE.NOT_FOUND');
  });

  it('closedInvoiceOf is what the decider records (the numbering sweeper re-drives closes with it)', () => {
    const { state } = given(draft());
    if (state.status !== 'draft') throw new Error('fixture');
    expect(closedInvoiceOf(state.draft, 'INV-000007', fixtureCloseRequest())).toEqual(closedEvent().data);
  });
});

describe('invoice decider: void and credit note', () => {
  it('voids a closed invoice: it stays, and a credit note reverses it in full', () => {
    expect(given(draft(), close()).when(voidIt())()).toEqual([
      {
        type: 'InvoiceVoided',
        data: {
          invoice_id: 'inv_1',
          number: 'INV-000007',
          reason: 'wrong customer',
          credit_note_id: 'cn_1',
          voided_at: later.toISOString(),
        },
      },
      {
        type: 'CreditNoteIssued',
        data: {
          credit_note_id: 'cn_1',
          invoice_id: 'inv_1',
          invoice_number: 'INV-000007',
          customer_id: 'cust_1',
          currency: 'USD',
          reason: 'wrong customer',
          subtotal: '100.00',
          adjustments_total: '0.00',
          tax_amount: '0.00',
          total: '100.00',
          issued_at: later.toISOString(),
        },
      },
    ]);
    const { state } = given(draft(), close(), voidIt());
    expect(state.status).toBe('void');
    expect(isClosedState(state) && state.invoice).toEqual(closedEvent().data);
  });

  it('voids an invoice whose payment failed', () => {
    expect(
      given(draft(), close(), decline())
        .when(voidIt())()
        .map((e) => e.type),
    ).toEqual(['InvoiceVoided', 'CreditNoteIssued']);
  });

  it('voiding twice is a no-op', () => {
    expect(given(draft(), close(), voidIt()).when(voidIt({ credit_note_id: 'cn_2' }))()).toEqual([]);
  });

  it.each<[string, InvoiceCommand[], string]>([
    ['a draft', [draft()], 'INVOICE.NOT_CLOSED'],
    ['a paid invoice', [draft(), close(), pay()], 'INVOICE.ALREADY_PAID'],
    ['an unknown invoice', [], 'INVOICE.NOT_FOUND'],
  ])('refuses to void %s', (_label, history, code) => {
    expect(codeOf(given(...history).when(voidIt()))).toBe(code);
  });

  it('a void needs a reason', () => {
    expect(codeOf(given(draft(), close()).when(voidIt({ reason: ' ' })))).toBe('INVOICE.INVALID');
  });
});

describe('invoice decider: payments', () => {
  it('records the payment of the amount due', () => {
    expect(given(draft(), close()).when(pay())()).toEqual([
      {
        type: 'InvoicePaid',
        data: {
          invoice_id: 'inv_1',
          payment_id: 'pay_1',
          customer_id: 'cust_1',
          currency: 'USD',
          amount: '100.00',
          provider: 'stripe',
          provider_reference: 'pi_123',
          paid_at: later.toISOString(),
        },
      },
    ]);
  });

  it('a declined attempt is a fact: the invoice becomes payment_failed and can still be paid', () => {
    const failed = given(draft(), close()).when(decline())();
    expect(failed).toEqual([
      {
        type: 'InvoicePaymentFailed',
        data: {
          invoice_id: 'inv_1',
          attempt_id: 'att_1',
          customer_id: 'cust_1',
          currency: 'USD',
          amount: '100.00',
          reason: 'card declined',
          decline_code: 'card_declined',
          provider: 'stripe',
          failed_at: later.toISOString(),
        },
      },
    ]);
    expect(given(draft(), close(), decline()).state.status).toBe('payment_failed');
    expect(
      given(draft(), close(), decline())
        .when(pay())()
        .map((e) => e.type),
    ).toEqual(['InvoicePaid']);
    expect(given(draft(), close(), decline(), pay()).state.status).toBe('paid');
  });

  it('the same attempt twice is recorded once; a second attempt is another fact', () => {
    expect(given(draft(), close(), decline()).when(decline())()).toEqual([]);
    expect(given(draft(), close(), decline()).when(decline('att_2'))()).toHaveLength(1);
    const { state } = given(draft(), close(), decline(), decline('att_2'));
    expect(isClosedState(state) && state.failures.map((f) => f.attempt_id)).toEqual(['att_1', 'att_2']);
  });

  it('the same payment twice is recorded once; another payment of a paid invoice is INVOICE.ALREADY_PAID', () => {
    expect(given(draft(), close(), pay()).when(pay())()).toEqual([]);
    expect(codeOf(given(draft(), close(), pay()).when(pay({ payment_id: 'pay_2' })))).toBe('INVOICE.ALREADY_PAID');
    expect(codeOf(given(draft(), close(), pay()).when(decline('att_9')))).toBe('INVOICE.ALREADY_PAID');
  });

  it.each<[string, InvoiceCommand[], InvoiceCommand, string]>([
    ['pays a draft', [draft()], pay(), 'INVOICE.NOT_CLOSED'],
    ['declines a draft', [draft()], decline(), 'INVOICE.NOT_CLOSED'],
    ['pays a void invoice', [draft(), close(), voidIt()], pay(), 'INVOICE.VOID'],
    ['declines a void invoice', [draft(), close(), voidIt()], decline(), 'INVOICE.VOID'],
    ['pays less than due', [draft(), close()], pay({ amount: '99.99' }), 'INVOICE.PAYMENT_MISMATCH'],
    ['pays an amount spelled otherwise', [draft(), close()], pay({ amount: '100' }), 'INVOICE.INVALID'],
  ])('refuses a command that %s', (_label, history, command, code) => {
    expect(codeOf(given(...history).when(command))).toBe(code);
  });
});

describe('invoice state', () => {
  it('walks draft -> closed -> payment_failed -> paid', () => {
    const statuses: string[] = [];
    let state: InvoiceState = invoiceDecider.initialState();
    for (const command of [draft(), refresh(), close(), decline(), pay()]) {
      state = invoiceDecider.decide(command, state).reduce(invoiceDecider.evolve, state);
      statuses.push(state.status);
    }
    expect(statuses).toEqual(['draft', 'draft', 'closed', 'payment_failed', 'paid']);
  });

  it('ignores an event that cannot follow the state (never throws while folding)', () => {
    const paid = given(draft(), close(), pay()).state;
    const stray = given(draft(), close(), voidIt()).history.slice(-2);
    expect(stray.reduce(invoiceDecider.evolve, paid)).toBe(paid);
    expect(invoiceDecider.evolve(invoiceDecider.initialState(), closedEvent())).toEqual({ status: 'absent' });
  });

  it('the closed document never changes, whatever commands follow (property)', () => {
    const commandArb = fc.constantFrom<InvoiceCommand>(
      draft(),
      draft(refreshedCalc),
      refresh(),
      close(),
      close({ number: 'INV-000009', tax_amount: '1.00' }),
      voidIt(),
      pay(),
      pay({ payment_id: 'pay_2' }),
      decline(),
      decline('att_2'),
    );
    const document = closedEvent().data;
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 12 }), (commands) => {
        let state = given(draft(), close()).state;
        for (const command of commands) {
          try {
            state = invoiceDecider.decide(command, state).reduce(invoiceDecider.evolve, state);
          } catch (error) {
            if (!(error instanceof BillingError)) throw error;
          }
          expect(isClosedState(state) && state.invoice).toEqual(document);
        }
      }),
    );
  });
});
