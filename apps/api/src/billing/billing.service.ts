import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  BillingError,
  DecimalError,
  MoneyError,
  currentPeriod,
  formatMoney,
  normalizeInstant,
  parseDecimal,
  type BillingPeriod,
  type FieldError,
  type TaxLine,
} from '#domain';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { loadSubscription } from '../subscriptions/subscription.operations';
import type { BillingContext } from './billing-context';
import type { CloseInvoiceRequest } from './dto/close-invoice.request';
import type { CloseRequest } from './invoice.operations';

const invalidPeriod = (errors: FieldError[]) =>
  new BillingError('CALCULATION.INVALID_PERIOD', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

/** What the billing routes share: the context of a caller, and the parsing of periods and tax. */
@Injectable()
export class BillingService {
  constructor(
    @Inject(PG_POOL) readonly pool: Pool,
    @Inject(EVENT_STORE) readonly store: EventStore,
  ) {}

  context(caller: AuthContext, requestId?: string, now = new Date()): BillingContext {
    return {
      pool: this.pool,
      store: this.store,
      tenantId: caller.tenantId,
      actor: caller.keyId,
      requestId,
      now: () => now,
    };
  }

  /**
   * The period a request names (two RFC 3339 instants), or, when it names none, the subscription's
   * current period at `now`. SUBSCRIPTION.NOT_FOUND first. One without the other, or an instant that does not parse, is 422.
   */
  async period(ctx: BillingContext, subscriptionId: string, start: unknown, end: unknown): Promise<BillingPeriod> {
    // First: an unknown subscription (or another tenant's) is 404 before anything waits for the projector.
    const subscription = await loadSubscription(ctx.store, ctx.tenantId, subscriptionId);
    if (start === undefined && end === undefined) {
      const current = currentPeriod(subscription, (ctx.now ?? (() => new Date()))());
      if (current === null) {
        throw invalidPeriod([
          { field: 'period_start', message: 'the subscription has ended: name the period to price' },
        ]);
      }
      return current;
    }
    const parsed = [normalizeInstant(start, 'period_start'), normalizeInstant(end, 'period_end')];
    const errors = parsed.flatMap((result) => (result.ok ? [] : [result.error]));
    if (errors.length > 0 || !parsed[0].ok || !parsed[1].ok) throw invalidPeriod(errors);
    return { start: parsed[0].value, end_exclusive: parsed[1].value };
  }
}

/** Money of `currency` from a request value (string or JSON number); INVOICE.INVALID naming `field` otherwise. */
function money(raw: unknown, currency: string, field: string, errors: FieldError[]): string {
  try {
    return formatMoney(parseDecimal(raw, { field }), currency);
  } catch (error) {
    if (error instanceof DecimalError) errors.push({ field, message: error.message });
    else if (error instanceof MoneyError) errors.push({ field, message: `must be money in ${currency} (minor units)` });
    else throw error;
    return '';
  }
}

/** The close request's tax as money of the invoice's currency (the domain checks that it adds up). */
export function closeRequestOf(body: CloseInvoiceRequest, currency: string): CloseRequest {
  const errors: FieldError[] = [];
  const taxAmount =
    body.tax_amount === undefined || body.tax_amount === null
      ? null
      : money(body.tax_amount, currency, 'tax_amount', errors);
  const lines: TaxLine[] = (body.tax_lines ?? []).map((line, index) => {
    let rate: string | null = null;
    if (line.rate !== undefined && line.rate !== null) {
      try {
        rate = parseDecimal(line.rate, { field: `tax_lines[${index}].rate` });
      } catch (error) {
        if (!(error instanceof DecimalError)) throw error;
        errors.push({ field: `tax_lines[${index}].rate`, message: error.message });
      }
    }
    return { name: line.name, rate, amount: money(line.amount, currency, `tax_lines[${index}].amount`, errors) };
  });
  if (errors.length > 0) {
    throw new BillingError('INVOICE.INVALID', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  }
  return { tax_amount: taxAmount, tax_lines: lines };
}
