import { IANAZone } from 'luxon';
import type { FieldError } from '../../decimal';
import { currencyFor, MoneyError } from '../../money';
import { PAYMENT_PROVIDERS, type CustomerFields, type CustomerMetadata, type PaymentDetails } from './customer.events';

/** User-chosen ids: safe in stream names and URL paths, readable ("cust_acme", "acme-eu.2"). */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const CUSTOMER_NAME_MAX_LENGTH = 200;
export const EMAIL_MAX_LENGTH = 254;
export const PAYMENT_REF_MAX_LENGTH = 255;
export const METADATA_MAX_KEYS = 50;
export const METADATA_KEY_MAX_LENGTH = 40;
export const METADATA_VALUE_MAX_LENGTH = 500;
export const DEFAULT_TIMEZONE = 'UTC';

// Pragmatic, not RFC 5322: one @, no spaces, a dotted domain. Deliverability is the mailer's business.
const EMAIL =
  /^[^\s@"(),:;<>[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const METADATA_KEY = /^[A-Za-z0-9_.:-]+$/;
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };
const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (field: string, message: string): Checked<never> => ({ ok: false, errors: [{ field, message }] });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const isValidCustomerId = (id: unknown): id is string => typeof id === 'string' && CUSTOMER_ID_PATTERN.test(id);

function checkName(raw: unknown): Checked<string> {
  if (typeof raw !== 'string' || raw.trim().length === 0) return bad('name', 'must be a non-blank string');
  const name = raw.trim();
  if (name.length > CUSTOMER_NAME_MAX_LENGTH)
    return bad('name', `must have at most ${CUSTOMER_NAME_MAX_LENGTH} characters`);
  return ok(name);
}

function checkEmail(raw: unknown): Checked<string | null> {
  if (raw === null) return ok(null);
  if (typeof raw !== 'string' || raw.length > EMAIL_MAX_LENGTH || !EMAIL.test(raw.trim())) {
    return bad('email', 'must be an e-mail address such as "billing@example.com"');
  }
  return ok(raw.trim());
}

function checkCurrency(raw: unknown): Checked<string> {
  try {
    return ok(currencyFor(raw as string, 'currency').code);
  } catch (error) {
    if (error instanceof MoneyError) return bad('currency', `must be an ISO 4217 code: ${error.message}`);
    throw error;
  }
}

/** A valid IANA zone, spelled canonically when only the case differs ("america/new_york"). */
function checkTimezone(raw: unknown): Checked<string> {
  if (typeof raw !== 'string' || !ZONE_NAME.test(raw) || !IANAZone.isValidZone(raw)) {
    return bad('timezone', 'must be an IANA time zone such as "America/New_York" or "UTC"');
  }
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
  return ok(resolved.toLowerCase() === raw.toLowerCase() ? resolved : raw);
}

function checkRef(raw: unknown, field: string, required: boolean): Checked<string | null> {
  if (raw === undefined || raw === null) return required ? bad(field, 'is required for this provider') : ok(null);
  if (typeof raw !== 'string' || raw.trim().length === 0 || raw.length > PAYMENT_REF_MAX_LENGTH) {
    return bad(field, `must be a non-blank string of at most ${PAYMENT_REF_MAX_LENGTH} characters`);
  }
  return ok(raw.trim());
}

function checkPayment(raw: unknown): Checked<PaymentDetails | null> {
  if (raw === null) return ok(null);
  if (!isRecord(raw)) return bad('payment', 'must be an object with provider, customer_ref and payment_method_ref');
  const errors: FieldError[] = Object.keys(raw)
    .filter((key) => !['provider', 'customer_ref', 'payment_method_ref'].includes(key))
    .map((key) => ({ field: `payment.${key}`, message: 'unknown field' }));
  const provider = raw.provider;
  if (!PAYMENT_PROVIDERS.includes(provider as never)) {
    errors.push({ field: 'payment.provider', message: `must be one of ${PAYMENT_PROVIDERS.join(', ')}` });
  }
  const customerRef = checkRef(raw.customer_ref, 'payment.customer_ref', provider !== 'manual');
  const methodRef = checkRef(raw.payment_method_ref, 'payment.payment_method_ref', false);
  for (const checked of [customerRef, methodRef]) if (!checked.ok) errors.push(...checked.errors);
  if (errors.length > 0 || !customerRef.ok || !methodRef.ok) return { ok: false, errors };
  return ok({
    provider: provider as PaymentDetails['provider'],
    customer_ref: customerRef.value,
    payment_method_ref: methodRef.value,
  });
}

function checkMetadataValue(value: unknown, field: string): FieldError[] {
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return [];
  if (typeof value === 'string') {
    return value.length <= METADATA_VALUE_MAX_LENGTH
      ? []
      : [{ field, message: `must have at most ${METADATA_VALUE_MAX_LENGTH} characters` }];
  }
  return [{ field, message: 'must be a string, number or boolean (metadata is flat)' }];
}

function checkMetadata(raw: unknown): Checked<CustomerMetadata> {
  if (!isRecord(raw)) return bad('metadata', 'must be an object of string, number or boolean values');
  const entries = Object.entries(raw);
  if (entries.length > METADATA_MAX_KEYS) return bad('metadata', `must have at most ${METADATA_MAX_KEYS} keys`);
  const errors = entries.flatMap(([key, value]) => {
    const field = `metadata.${key}`;
    if (key.length > METADATA_KEY_MAX_LENGTH || !METADATA_KEY.test(key)) {
      return [
        { field, message: `keys are 1-${METADATA_KEY_MAX_LENGTH} characters of letters, digits, "_", ".", ":" or "-"` },
      ];
    }
    return checkMetadataValue(value, field);
  });
  return errors.length > 0 ? { ok: false, errors } : ok({ ...(raw as CustomerMetadata) });
}

const CHECKS: { [K in keyof CustomerFields]: (raw: unknown) => Checked<CustomerFields[K]> } = {
  name: checkName,
  email: checkEmail,
  currency: checkCurrency,
  timezone: checkTimezone,
  payment: checkPayment,
  metadata: checkMetadata,
};

/** Raw customer fields from a request: anything JSON can carry. */
export type CustomerFieldsInput = { [K in keyof CustomerFields]?: unknown };

/**
 * Validates and normalizes the given fields (absent ones are skipped): trimmed strings, canonical
 * currency and zone spellings. Returns every problem, named by its request path.
 */
export function parseCustomerFields(
  input: CustomerFieldsInput,
): { ok: true; value: Partial<CustomerFields> } | { ok: false; errors: FieldError[] } {
  const value: Partial<Record<keyof CustomerFields, unknown>> = {};
  const errors: FieldError[] = [];
  for (const key of Object.keys(CHECKS) as (keyof CustomerFields)[]) {
    if (input[key] === undefined) continue;
    const checked = CHECKS[key](input[key]);
    if (checked.ok) value[key] = checked.value;
    else errors.push(...checked.errors);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: value as Partial<CustomerFields> };
}

/** A new customer's fields with defaults applied (email and payment null, timezone UTC, metadata {}). */
export function parseNewCustomer(
  id: unknown,
  input: CustomerFieldsInput,
): { ok: true; value: CustomerFields } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!isValidCustomerId(id)) {
    errors.push({
      field: 'id',
      message: 'must be 1-64 characters of letters, digits, "_", "." or "-", starting with a letter or digit',
    });
  }
  if (input.name === undefined) errors.push({ field: 'name', message: 'is required' });
  if (input.currency === undefined) errors.push({ field: 'currency', message: 'is required' });
  const parsed = parseCustomerFields(input);
  if (!parsed.ok) errors.push(...parsed.errors);
  if (errors.length > 0 || !parsed.ok) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: parsed.value.name!,
      email: parsed.value.email ?? null,
      currency: parsed.value.currency!,
      timezone: parsed.value.timezone ?? DEFAULT_TIMEZONE,
      payment: parsed.value.payment ?? null,
      metadata: parsed.value.metadata ?? {},
    },
  };
}
