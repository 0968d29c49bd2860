import type { FieldError } from '../../decimal';
import { sumMoney } from '../../money';
import { BILLING_INTERVALS } from '../../periods';
import { instantProblems, moneyProblems, nullableText, textProblems } from '../billing-fields';
import type { InvoiceDraft } from './invoice';
import type { CustomerSnapshot, PlanSnapshot, TaxLine } from './invoice.events';
import type { InvoiceCloseRequest } from './invoice-number';

/**
 * Problems with closing `draft` by `request` (empty: it can be closed). The snapshots must be of the
 * invoice's customer and of the plan version its calculation priced with; tax, which we do not
 * compute, must at least be money of the invoice's currency and agree with its lines.
 */
export function closeRequestProblems(draft: InvoiceDraft, request: InvoiceCloseRequest): FieldError[] {
  if (typeof request !== 'object' || request === null) return [{ field: 'close', message: 'is required' }];
  return [
    ...instantProblems(request.closed_at, 'closed_at'),
    ...customerProblems(draft, request.customer),
    ...planProblems(draft, request.plan),
    ...taxProblems(draft.currency, request.tax_amount, request.tax_lines),
  ];
}

function customerProblems(draft: InvoiceDraft, customer: CustomerSnapshot): FieldError[] {
  if (typeof customer !== 'object' || customer === null) return [{ field: 'customer', message: 'is required' }];
  const problems = [
    ...textProblems(customer.name, 'customer.name', 200),
    ...nullableText(customer.email, 'customer.email', 320),
    ...textProblems(customer.timezone, 'customer.timezone', 100),
  ];
  if (customer.id !== draft.customer_id) {
    problems.push({ field: 'customer.id', message: `must be the invoice's customer ${draft.customer_id}` });
  }
  if (customer.currency !== draft.currency) {
    problems.push({ field: 'customer.currency', message: `must be the invoice's currency ${draft.currency}` });
  }
  return problems;
}

function planProblems(draft: InvoiceDraft, plan: PlanSnapshot): FieldError[] {
  if (typeof plan !== 'object' || plan === null) return [{ field: 'plan', message: 'is required' }];
  const { calculation } = draft;
  const problems = textProblems(plan.name, 'plan.name', 200);
  if (plan.key !== calculation.plan_key) {
    problems.push({ field: 'plan.key', message: `must be the calculation's plan ${calculation.plan_key}` });
  }
  if (plan.version !== calculation.plan_version) {
    problems.push({ field: 'plan.version', message: `must be the calculation's version ${calculation.plan_version}` });
  }
  if (plan.currency !== draft.currency) {
    problems.push({ field: 'plan.currency', message: `must be the invoice's currency ${draft.currency}` });
  }
  if (!(BILLING_INTERVALS as readonly string[]).includes(plan.billing_interval)) {
    problems.push({ field: 'plan.billing_interval', message: `must be one of ${BILLING_INTERVALS.join(', ')}` });
  }
  if (!Array.isArray(plan.charges)) problems.push({ field: 'plan.charges', message: 'must be an array' });
  if (plan.minimum_commitment !== null && typeof plan.minimum_commitment !== 'string') {
    problems.push({ field: 'plan.minimum_commitment', message: 'must be a decimal string or null' });
  }
  return problems;
}

function taxProblems(currency: string, taxAmount: string | null, lines: TaxLine[]): FieldError[] {
  if (!Array.isArray(lines)) return [{ field: 'tax_lines', message: 'must be an array' }];
  const problems = lines.flatMap((line, index) => [
    ...textProblems(line?.name, `tax_lines[${index}].name`, 200),
    ...(line?.rate === null || /^\d+(\.\d+)?$/.test(String(line?.rate))
      ? []
      : [{ field: `tax_lines[${index}].rate`, message: 'must be a non-negative decimal string or null' }]),
    ...moneyProblems(line?.amount, currency, `tax_lines[${index}].amount`, 'non_negative'),
  ]);
  if (taxAmount !== null) problems.push(...moneyProblems(taxAmount, currency, 'tax_amount', 'non_negative'));
  if (problems.length === 0 && taxAmount !== null && lines.length > 0) {
    const sum = sumMoney(
      lines.map((line) => line.amount),
      currency,
    );
    if (sum !== taxAmount) problems.push({ field: 'tax_amount', message: `must equal the sum of tax_lines (${sum})` });
  }
  return problems;
}
