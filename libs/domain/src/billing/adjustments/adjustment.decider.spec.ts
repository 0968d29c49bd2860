import { BillingError } from '../billing.errors';
import { sealCalculation } from '../calculation';
import { fixtureCalculationInput } from '../testing/billing-fixtures';
import { adjustmentDecider, calculationAdjustmentOf, type RecordAdjustment } from './adjustment.decider';
import type { AdjustmentEvent, AdjustmentRecorded } from './adjustment.events';

const at = new Date('2026-03-01T10:00:00.000Z');

const manualCredit = (overrides: Partial<RecordAdjustment> = {}): RecordAdjustment => ({
  type: 'RecordAdjustment',
  adjustment_id: 'adj_1',
  customer_id: 'cust_1',
  amount: '-15.00',
  currency: 'USD',
  reason: 'service outage credit',
  kind: 'manual',
  at,
  ...overrides,
});
const lateUsage = (overrides: Partial<RecordAdjustment> = {}): RecordAdjustment => ({
  type: 'RecordAdjustment',
  adjustment_id: 'adj_late_1',
  customer_id: 'cust_1',
  amount: '3.00',
  currency: 'USD',
  reason: 'late usage for January',
  kind: 'late_usage',
  invoice_id: 'inv_1',
  line: { charge_key: 'api', original_amount: '25.00', recomputed_amount: '28.00' },
  at,
  ...overrides,
});

function given(...events: AdjustmentEvent[]) {
  const state = events.reduce(adjustmentDecider.evolve, adjustmentDecider.initialState());
  return { when: (command: RecordAdjustment) => () => adjustmentDecider.decide(command, state) };
}

function errorOf(run: () => unknown): BillingError {
  try {
    run();
  } catch (error) {
    if (error instanceof BillingError) return error;
    throw error;
  }
  throw new Error('expected a BillingError');
}

const recorded = (command: RecordAdjustment) => given().when(command)()[0] as AdjustmentRecorded;

describe('adjustment decider', () => {
  it('records a manual credit (finance)', () => {
    expect(given().when(manualCredit())()).toEqual([
      {
        type: 'AdjustmentRecorded',
        data: {
          adjustment_id: 'adj_1',
          customer_id: 'cust_1',
          amount: '-15.00',
          currency: 'USD',
          reason: 'service outage credit',
          kind: 'manual',
          invoice_id: null,
          line: null,
          recorded_at: at.toISOString(),
        },
      },
    ]);
  });

  it('records a late-usage adjustment with the invoice and line it corrects', () => {
    expect(recorded(lateUsage()).data).toMatchObject({
      kind: 'late_usage',
      invoice_id: 'inv_1',
      amount: '3.00',
      line: { charge_key: 'api', original_amount: '25.00', recomputed_amount: '28.00' },
    });
  });

  it('the same adjustment again is a no-op (even at another time, even as stored with other key order)', () => {
    const stored = JSON.parse(JSON.stringify(recorded(manualCredit()))) as AdjustmentRecorded;
    stored.data = Object.fromEntries(Object.entries(stored.data).reverse()) as AdjustmentRecorded['data'];
    expect(given(stored).when(manualCredit({ at: new Date('2026-03-02T00:00:00.000Z') }))()).toEqual([]);
  });

  it('another adjustment under a recorded id is ADJUSTMENT.ALREADY_EXISTS', () => {
    expect(errorOf(given(recorded(manualCredit())).when(manualCredit({ amount: '-16.00' }))).code).toBe(
      'ADJUSTMENT.ALREADY_EXISTS',
    );
  });

  it.each<[string, RecordAdjustment, string]>([
    ['a zero amount', manualCredit({ amount: '0.00' }), 'amount'],
    ['an amount finer than the currency', manualCredit({ amount: '-1.005' }), 'amount'],
    ['an amount spelled otherwise', manualCredit({ amount: '-15' }), 'amount'],
    ['an unknown currency', manualCredit({ currency: 'XXQ' }), 'currency'],
    ['a blank reason', manualCredit({ reason: '' }), 'reason'],
    ['an unknown kind', manualCredit({ kind: 'bonus' as never }), 'kind'],
    ['a late-usage adjustment without its invoice', lateUsage({ invoice_id: null }), 'invoice_id'],
    ['a late-usage adjustment without its line', lateUsage({ line: null }), 'line'],
    ['a late-usage amount that is not the line difference', lateUsage({ amount: '2.00' }), 'amount'],
  ])('refuses %s: ADJUSTMENT.INVALID', (_label, command, field) => {
    const error = errorOf(given().when(command));
    expect(error.code).toBe('ADJUSTMENT.INVALID');
    expect(error.errors.map((e) => e.field)).toContain(field);
  });

  it('travels into a calculation, and changes its total by its amount', () => {
    const carried = [
      calculationAdjustmentOf(recorded(manualCredit()).data),
      calculationAdjustmentOf(recorded(lateUsage()).data),
    ];
    expect(carried[1]).toEqual({
      adjustment_id: 'adj_late_1',
      kind: 'late_usage',
      amount: '3.00',
      reason: 'late usage for January',
      invoice_id: 'inv_1',
      charge_key: 'api',
    });
    const calculation = sealCalculation({ ...fixtureCalculationInput(), adjustments: carried });
    expect([calculation.subtotal, calculation.total]).toEqual(['100.00', '88.00']);
  });
});
