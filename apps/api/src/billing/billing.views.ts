import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  sumMoney,
  type Calculation,
  type CalculationAdjustment,
  type CalculationLine,
  type CustomerSnapshot,
  type InvoiceState,
  type InvoiceStatus,
  type PlanSnapshot,
  type TaxLine,
} from '#domain';
import type { Checkpoint } from '#ledger';
import type { RecordedAdjustment } from './adjustment.operations';

/*
 * Response shapes of the billing routes (snake_case, decimals as strings). The classes document the
 * OpenAPI schema; the functions build the plain objects the routes answer.
 */

export class BreakdownRowView {
  @ApiProperty({ example: 'tier' }) kind!: string;
  @ApiProperty({ type: Number, nullable: true, example: 2 }) tier!: number | null;
  @ApiProperty({ type: String, nullable: true, example: '1000' }) from!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '10000' }) up_to!: string | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) group!: Record<string, unknown> | null;
  @ApiProperty({ example: '9000' }) quantity!: string;
  @ApiProperty({ type: String, nullable: true, example: '0.002' }) unit_price!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '5' }) flat_fee!: string | null;
  @ApiProperty({ example: '23.00' }) amount!: string;
}

export class LineItemView {
  @ApiProperty({ example: 'api' }) charge_key!: string;
  @ApiProperty({ type: String, nullable: true, example: 'api_calls' }) metric_key!: string | null;
  @ApiProperty({ example: 'tiered' }) model!: string;
  @ApiProperty({ example: '12000', description: 'usage priced (flat fees: the proration factor)' }) quantity!: string;
  @ApiProperty({ example: '28.00' }) amount!: string;
  @ApiProperty({ type: [Number], example: [1, 2] }) meter_versions!: number[];
  @ApiProperty({ type: [BreakdownRowView] }) breakdown!: BreakdownRowView[];
  @ApiProperty({ type: String, nullable: true, example: 'sha256:…' }) usage_checksum!: string | null;
}

export class AdjustmentLineView {
  @ApiProperty({ example: 'adj_1f…' }) adjustment_id!: string;
  @ApiProperty({ enum: ['late_usage', 'manual'] }) kind!: string;
  @ApiProperty({ example: '-10.00', description: 'signed: negative credits the customer' }) amount!: string;
  @ApiProperty({ example: 'goodwill credit' }) reason!: string;
  @ApiProperty({ type: String, nullable: true }) invoice_id!: string | null;
  @ApiProperty({ type: String, nullable: true }) charge_key!: string | null;
}

export class CalculationView {
  @ApiProperty({ example: 'calc_3b…', description: 'derived from the checksum: same inputs, same id' }) id!: string;
  @ApiProperty({ example: 'cust_acme' }) customer_id!: string;
  @ApiProperty({ example: 'sub_3f…' }) subscription_id!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ format: 'date-time' }) period_start!: string;
  @ApiProperty({ format: 'date-time', description: 'exclusive' }) period_end!: string;
  @ApiProperty({ example: 'pro' }) plan_key!: string;
  @ApiProperty({ example: 3 }) plan_version!: number;
  @ApiProperty({ type: [LineItemView] }) line_items!: LineItemView[];
  @ApiProperty({ type: [AdjustmentLineView], description: "the customer's pending adjustments, each its own line" })
  adjustments!: AdjustmentLineView[];
  @ApiProperty({ example: '141.94' }) subtotal!: string;
  @ApiProperty({ example: '131.94', description: 'subtotal + adjustments (tax is added at close)' }) total!: string;
  @ApiProperty({ example: 'sha256:…' }) checksum!: string;
}

export class CalculationResponse extends CalculationView {
  @ApiProperty({ type: 'object', additionalProperties: true, example: { consistency: 'exact', as_of_position: '…' } })
  meta!: { consistency: 'exact'; as_of_position: Checkpoint | null };
}

export function calculationView(calculation: Calculation): CalculationView {
  return { ...calculation, line_items: calculation.line_items.map(lineView), adjustments: calculation.adjustments };
}

const lineView = (line: CalculationLine): LineItemView => ({ ...line });

export class InvoiceView {
  @ApiProperty({ example: 'inv_9a…', description: 'derived from the subscription and the period' }) id!: string;
  @ApiProperty({ enum: ['draft', 'closed', 'payment_failed', 'paid', 'void'] }) status!: InvoiceStatus;
  @ApiProperty({ type: String, nullable: true, example: 'INV-000042' }) number!: string | null;
  @ApiProperty() customer_id!: string;
  @ApiProperty() subscription_id!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ format: 'date-time' }) period_start!: string;
  @ApiProperty({ format: 'date-time', description: 'exclusive' }) period_end!: string;
  @ApiProperty({ type: CalculationView }) calculation!: CalculationView;
  @ApiProperty({ example: '141.94' }) subtotal!: string;
  @ApiProperty({ example: '-10.00' }) adjustments_total!: string;
  @ApiProperty({ example: '0.00' }) tax_amount!: string;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) tax_lines!: TaxLine[];
  @ApiProperty({ example: '131.94', description: 'the amount due once closed' }) total!: string;
  @ApiProperty({ type: String, nullable: true, description: 'checksum of the closed document' }) checksum!:
    string | null;
  @ApiPropertyOptional({ type: 'object', nullable: true, additionalProperties: true })
  customer!: CustomerSnapshot | null;
  @ApiPropertyOptional({ type: 'object', nullable: true, additionalProperties: true }) plan!: PlanSnapshot | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'drafts only' })
  drafted_at!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'drafts only' })
  refreshed_at!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) closed_at!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) paid_at!: string | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) void!: {
    reason: string;
    voided_at: string;
    credit_note_id: string;
  } | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) credit_note!: Record<
    string,
    unknown
  > | null;
  @ApiProperty({ example: 0 }) payment_failures!: number;
}

const adjustmentsTotal = (adjustments: CalculationAdjustment[], currency: string) =>
  sumMoney(
    adjustments.map((a) => a.amount),
    currency,
  );

/** The invoice as its stream folds it; a draft shows its current calculation and no tax yet. */
export function invoiceView(invoiceId: string, state: Exclude<InvoiceState, { status: 'absent' }>): InvoiceView {
  if (state.status === 'draft') {
    const { draft } = state;
    const calculation = draft.calculation;
    return {
      id: invoiceId,
      status: 'draft',
      number: null,
      ...pick(draft),
      calculation: calculationView(calculation),
      subtotal: calculation.subtotal,
      adjustments_total: adjustmentsTotal(calculation.adjustments, draft.currency),
      tax_amount: sumMoney([], draft.currency),
      tax_lines: [],
      total: calculation.total,
      checksum: null,
      customer: null,
      plan: null,
      drafted_at: draft.drafted_at,
      refreshed_at: draft.refreshed_at,
      closed_at: null,
      paid_at: null,
      void: null,
      credit_note: null,
      payment_failures: 0,
    };
  }
  const { invoice } = state;
  return {
    id: invoiceId,
    status: state.status,
    number: invoice.number,
    ...pick(invoice),
    calculation: calculationView(invoice.calculation),
    subtotal: invoice.subtotal,
    adjustments_total: invoice.adjustments_total,
    tax_amount: invoice.tax_amount,
    tax_lines: invoice.tax_lines,
    total: invoice.total,
    checksum: invoice.checksum,
    customer: invoice.customer,
    plan: invoice.plan,
    drafted_at: null,
    refreshed_at: null,
    closed_at: invoice.closed_at,
    paid_at: state.status === 'paid' ? state.payment.paid_at : null,
    void:
      state.status === 'void'
        ? { reason: state.void.reason, voided_at: state.void.voided_at, credit_note_id: state.void.credit_note_id }
        : null,
    credit_note: state.status === 'void' ? state.credit_note : null,
    payment_failures: state.failures.length,
  };
}

function pick(source: {
  customer_id: string;
  subscription_id: string;
  currency: string;
  period_start: string;
  period_end: string;
}) {
  const { customer_id, subscription_id, currency, period_start, period_end } = source;
  return { customer_id, subscription_id, currency, period_start, period_end };
}

export class AdjustmentView {
  @ApiProperty({ example: 'adj_5d…' }) id!: string;
  @ApiProperty({ example: 'cust_acme' }) customer_id!: string;
  @ApiProperty({ example: '-25.00', description: 'signed: negative credits the customer' }) amount!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ example: 'goodwill credit' }) reason!: string;
  @ApiProperty({ enum: ['manual', 'late_usage'] }) kind!: string;
  @ApiProperty({ type: String, nullable: true }) invoice_id!: string | null;
  @ApiProperty({ format: 'date-time' }) recorded_at!: string;
  @ApiProperty({ example: 'key_…', description: 'the API key that recorded it' }) recorded_by!: string;
  @ApiProperty({ type: String, nullable: true, description: 'its balanced journal entry' }) journal_entry_id!:
    string | null;
  @ApiProperty({ enum: ['pending'], description: 'pending until an invoice carries it' }) status!: 'pending';
}

export function adjustmentView(recorded: RecordedAdjustment): AdjustmentView {
  const { adjustment } = recorded;
  return {
    id: adjustment.adjustment_id,
    customer_id: adjustment.customer_id,
    amount: adjustment.amount,
    currency: adjustment.currency,
    reason: adjustment.reason,
    kind: adjustment.kind,
    invoice_id: adjustment.invoice_id,
    recorded_at: adjustment.recorded_at,
    recorded_by: recorded.actor,
    journal_entry_id: recorded.journal_entry_id,
    status: 'pending',
  };
}

export class BalanceView {
  @ApiProperty({ example: 'receivables:cust_acme' }) account!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ example: '131.94' }) debit!: string;
  @ApiProperty({ example: '0.00' }) credit!: string;
  @ApiProperty({ example: '131.94', description: 'debit - credit (debit-positive)' }) balance!: string;
}

export class CustomerBalanceView {
  @ApiProperty() customer_id!: string;
  @ApiProperty({ type: [BalanceView] }) data!: BalanceView[];
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'per currency: `receivable` (closed invoices - credit notes - payments: the receivables account) and ' +
      '`credits` (adjustments not yet invoiced; negative: owed to the customer)',
  })
  summary!: Record<string, { receivable: string; credits: string }>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { consistency: 'eventual' } })
  meta!: { consistency: 'eventual' };
}

export class LedgerEntryView {
  @ApiProperty({ format: 'uuid' }) entry_id!: string;
  @ApiProperty({ example: 3, description: 'its sequence in the customer ledger' }) sequence!: number;
  @ApiProperty({ enum: ['invoice', 'credit_note', 'payment', 'adjustment', 'reversal'] }) kind!: string;
  @ApiProperty({ example: 'inv_9a…' }) reference!: string;
  @ApiProperty({ type: String, nullable: true }) reverses!: string | null;
  @ApiProperty() reason!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ type: 'array', items: { type: 'object' }, example: [{ account: 'receivables:c', debit: '10.00' }] })
  lines!: Array<{ account: string; debit?: string; credit?: string }>;
  @ApiProperty({ format: 'date-time' }) posted_at!: string;
}

export class LedgerPage {
  @ApiProperty({ type: [LedgerEntryView] }) data!: LedgerEntryView[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
}
