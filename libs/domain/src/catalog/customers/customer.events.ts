/**
 * Customer events, in the stream `<tenant>:customer-<id>` (`streamName(tenant, 'customer', id)`).
 * The id is chosen by the user. Currency and timezone are fixed at creation (billing periods and
 * invoices depend on them); contact and payment details change through CustomerUpdated.
 */
/** `streamName(tenant, CUSTOMER_STREAM_CATEGORY, id)` from '#ledger'. */
export const CUSTOMER_STREAM_CATEGORY = 'customer';

export const CUSTOMER_EVENT_TYPES = ['CustomerCreated', 'CustomerUpdated', 'CustomerArchived'] as const;

export const PAYMENT_PROVIDERS = ['stripe', 'adyen', 'manual'] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];

export interface PaymentDetails {
  provider: PaymentProvider;
  /** The customer's id at the provider (`cus_…`); null for `manual`. */
  customer_ref: string | null;
  /** The default payment method at the provider (`pm_…`), if any. */
  payment_method_ref: string | null;
}

/** Flat: scalar values only. */
export type CustomerMetadata = Record<string, string | number | boolean>;

/** The fields a customer is created with (and compared on, for an idempotent create). */
export interface CustomerFields {
  name: string;
  email: string | null;
  /** ISO 4217, upper case. */
  currency: string;
  /** IANA zone ("America/New_York"); billing periods are computed in it. */
  timezone: string;
  payment: PaymentDetails | null;
  metadata: CustomerMetadata;
}

/** The fields PATCH may change. */
export type CustomerChanges = Partial<Pick<CustomerFields, 'name' | 'email' | 'payment' | 'metadata'>>;

export interface CustomerCreated {
  type: 'CustomerCreated';
  data: CustomerFields & { customer_id: string; created_at: string };
}

export interface CustomerUpdated {
  type: 'CustomerUpdated';
  /** `changes` holds only the fields that changed, with their new values (a whole new `payment`/`metadata`). */
  data: { customer_id: string; changes: CustomerChanges; updated_at: string };
}

export interface CustomerArchived {
  type: 'CustomerArchived';
  data: { customer_id: string; archived_at: string };
}

export type CustomerEvent = CustomerCreated | CustomerUpdated | CustomerArchived;
