import { Dec, type DecimalString, type FieldError } from '../../decimal';
import { assertNoFieldErrors, BillingError } from '../billing.errors';
import { canonicalJson } from '../canonical-json';
import { currencyProblems, idProblems, moneyProblems, textProblems } from '../billing-fields';
import { ADJUSTMENT_KINDS, type AdjustmentKind, type CalculationAdjustment } from '../calculation';
import type { AdjustmentEvent, AdjustmentLine, AdjustmentRecorded } from './adjustment.events';

export interface RecordAdjustment {
  type: 'RecordAdjustment';
  adjustment_id: string;
  customer_id: string;
  /** Signed money: positive charges the customer, negative credits them. */
  amount: DecimalString;
  currency: string;
  reason: string;
  kind: AdjustmentKind;
  invoice_id?: string | null;
  /** Required for late usage: the corrected line (see lateUsageAdjustment). */
  line?: AdjustmentLine | null;
  at: Date;
}

export type AdjustmentCommand = RecordAdjustment;

export type AdjustmentState = { status: 'absent' } | { status: 'recorded'; adjustment: AdjustmentRecorded['data'] };

export const adjustmentDecider = {
  initialState(): AdjustmentState {
    return { status: 'absent' };
  },

  evolve(state: AdjustmentState, event: AdjustmentEvent): AdjustmentState {
    switch (event.type) {
      case 'AdjustmentRecorded':
        return state.status === 'absent' ? { status: 'recorded', adjustment: event.data } : state;
      default:
        return unreachable(event.type);
    }
  },

  /** Recorded once: the same command again is a no-op, another one under the same id a conflict. */
  decide(command: AdjustmentCommand, state: AdjustmentState): AdjustmentEvent[] {
    switch (command.type) {
      case 'RecordAdjustment':
        return decideRecord(command, state);
      default:
        return unreachable(command.type);
    }
  },
};

function decideRecord(command: RecordAdjustment, state: AdjustmentState): AdjustmentRecorded[] {
  assertNoFieldErrors('ADJUSTMENT.INVALID', adjustmentProblems(command));
  const data: AdjustmentRecorded['data'] = {
    adjustment_id: command.adjustment_id,
    customer_id: command.customer_id,
    amount: command.amount,
    currency: command.currency,
    reason: command.reason,
    kind: command.kind,
    invoice_id: command.invoice_id ?? null,
    line: command.line ?? null,
    recorded_at: command.at.toISOString(),
  };
  if (state.status === 'recorded') {
    const { recorded_at: _a, ...existing } = state.adjustment;
    const { recorded_at: _b, ...requested } = data;
    // Canonical text: the stored copy comes back from jsonb with its keys in another order.
    if (canonicalJson(existing) === canonicalJson(requested)) return [];
    throw new BillingError(
      'ADJUSTMENT.ALREADY_EXISTS',
      `adjustment ${command.adjustment_id} was already recorded with other content`,
    );
  }
  return [{ type: 'AdjustmentRecorded', data }];
}

function adjustmentProblems(command: RecordAdjustment): FieldError[] {
  const problems = [
    ...idProblems(command.adjustment_id, 'adjustment_id'),
    ...idProblems(command.customer_id, 'customer_id'),
    ...currencyProblems(command.currency, 'currency'),
    ...textProblems(command.reason, 'reason', 500),
  ];
  if (!(ADJUSTMENT_KINDS as readonly string[]).includes(command.kind)) {
    problems.push({ field: 'kind', message: `must be one of ${ADJUSTMENT_KINDS.join(', ')}` });
  }
  if (command.invoice_id !== undefined && command.invoice_id !== null)
    problems.push(...idProblems(command.invoice_id, 'invoice_id'));
  if (problems.some((p) => p.field === 'currency')) return problems;
  problems.push(...moneyProblems(command.amount, command.currency, 'amount', 'non_zero'));
  if (command.kind === 'late_usage') problems.push(...lateUsageProblems(command));
  return problems;
}

/** A late-usage adjustment names the invoice and line it corrects, and its amount is their difference. */
function lateUsageProblems(command: RecordAdjustment): FieldError[] {
  const problems: FieldError[] = [];
  if (command.invoice_id === undefined || command.invoice_id === null)
    problems.push({ field: 'invoice_id', message: 'is required for late usage' });
  const line = command.line;
  if (line === undefined || line === null)
    return [...problems, { field: 'line', message: 'is required for late usage' }];
  problems.push(
    ...textProblems(line.charge_key, 'line.charge_key', 200),
    ...moneyProblems(line.original_amount, command.currency, 'line.original_amount', 'non_negative'),
    ...moneyProblems(line.recomputed_amount, command.currency, 'line.recomputed_amount', 'non_negative'),
  );
  if (problems.length > 0 || moneyProblems(command.amount, command.currency, 'amount').length > 0) return problems;
  const difference = new Dec(line.recomputed_amount).minus(line.original_amount);
  if (!difference.equals(command.amount)) {
    problems.push({ field: 'amount', message: 'must be line.recomputed_amount - line.original_amount' });
  }
  return problems;
}

/** How a recorded adjustment travels in the calculation of the invoice that carries it. */
export function calculationAdjustmentOf(adjustment: AdjustmentRecorded['data']): CalculationAdjustment {
  return {
    adjustment_id: adjustment.adjustment_id,
    kind: adjustment.kind,
    amount: adjustment.amount,
    reason: adjustment.reason,
    invoice_id: adjustment.invoice_id,
    charge_key: adjustment.line?.charge_key ?? null,
  };
}

function unreachable(value: never): never {
  throw new Error(`unhandled adjustment message ${JSON.stringify(value)}`);
}
