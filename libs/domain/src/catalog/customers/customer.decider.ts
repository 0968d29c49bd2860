import type { FieldError } from '../../decimal';
import { jsonEqual } from '../metrics/json-equal';
import { CustomerError, invalidCustomer } from './customer.errors';
import type {
  CustomerArchived,
  CustomerChanges,
  CustomerCreated,
  CustomerEvent,
  CustomerFields,
  CustomerUpdated,
} from './customer.events';
import { parseCustomerFields, parseNewCustomer, type CustomerFieldsInput } from './validate-customer';

export interface Customer extends CustomerFields {
  id: string;
  created_at: string;
  /** Last CustomerUpdated; equals created_at until then. */
  updated_at: string;
  archived_at: string | null;
}

export interface CreateCustomer {
  type: 'CreateCustomer';
  customer_id: string;
  fields: CustomerFieldsInput;
  at: Date;
}

export interface UpdateCustomer {
  type: 'UpdateCustomer';
  customer_id: string;
  /** Absent fields stay as they are. `currency` and `timezone` may only repeat the current value. */
  fields: CustomerFieldsInput;
  at: Date;
}

export interface ArchiveCustomer {
  type: 'ArchiveCustomer';
  customer_id: string;
  /** Subscriptions of this customer not yet ended, counted by the caller: archiving needs none. */
  live_subscriptions: number;
  at: Date;
}

export type CustomerCommand = CreateCustomer | UpdateCustomer | ArchiveCustomer;

/** `created`: the fields as created, which a retried create is compared with. */
export type CustomerState =
  | { status: 'absent' }
  | { status: 'active'; customer: Customer; created: CustomerFields }
  | { status: 'archived'; customer: Customer; created: CustomerFields };

const IMMUTABLE = ['currency', 'timezone'] as const;
const MUTABLE = ['name', 'email', 'payment', 'metadata'] as const;

export const customerDecider = {
  initialState(): CustomerState {
    return { status: 'absent' };
  },

  evolve(state: CustomerState, event: CustomerEvent): CustomerState {
    const customer = evolveCustomer(state.status === 'absent' ? undefined : state.customer, event);
    if (customer === undefined || (state.status !== 'absent' && customer === state.customer)) return state;
    const created = state.status === 'absent' ? fieldsOf(customer) : state.created;
    return { status: customer.archived_at === null ? 'active' : 'archived', customer, created };
  },

  decide(command: CustomerCommand, state: CustomerState): CustomerEvent[] {
    switch (command.type) {
      case 'CreateCustomer':
        return decideCreate(command, state);
      case 'UpdateCustomer':
        return decideUpdate(command, state);
      case 'ArchiveCustomer':
        return decideArchive(command, state);
      default:
        return unreachable(command);
    }
  },
};

export function customerFromCreated(event: CustomerCreated): Customer {
  const { customer_id, created_at, ...fields } = event.data;
  return { id: customer_id, ...fields, created_at, updated_at: created_at, archived_at: null };
}

export function applyCustomerUpdate(customer: Customer, event: CustomerUpdated): Customer {
  return { ...customer, ...event.data.changes, updated_at: event.data.updated_at };
}

/**
 * The customer after one event (undefined: no customer yet). The decider and the `customers` read
 * model both fold events with it, so a list shows exactly what a read of the stream shows. Never throws.
 */
export function evolveCustomer(customer: Customer | undefined, event: CustomerEvent): Customer | undefined {
  switch (event.type) {
    case 'CustomerCreated':
      return customer ?? customerFromCreated(event);
    case 'CustomerUpdated':
      return customer && applyCustomerUpdate(customer, event);
    case 'CustomerArchived':
      if (customer === undefined || customer.archived_at !== null) return customer;
      return { ...customer, archived_at: event.data.archived_at };
    default:
      return unreachable(event);
  }
}

function fieldsOf(customer: Customer): CustomerFields {
  const { name, email, currency, timezone, payment, metadata } = customer;
  return { name, email, currency, timezone, payment, metadata };
}

/** Creating a customer that exists with the same fields is a retry: nothing to do. */
function decideCreate(command: CreateCustomer, state: CustomerState): CustomerCreated[] {
  const parsed = parseNewCustomer(command.customer_id, command.fields);
  if (!parsed.ok) throw invalidCustomer('CUSTOMER.INVALID', parsed.errors);
  if (state.status !== 'absent') {
    if (jsonEqual(state.created, parsed.value)) return [];
    throw new CustomerError(
      'CUSTOMER.ALREADY_EXISTS',
      `customer ${command.customer_id} already exists with other details`,
    );
  }
  const data = { customer_id: command.customer_id, ...parsed.value, created_at: command.at.toISOString() };
  return [{ type: 'CustomerCreated', data }];
}

function decideUpdate(command: UpdateCustomer, state: CustomerState): CustomerUpdated[] {
  if (state.status === 'absent') throw notFound(command.customer_id);
  if (state.status === 'archived') {
    throw new CustomerError('CUSTOMER.ARCHIVED', `customer ${command.customer_id} is archived and cannot change`);
  }
  const parsed = parseCustomerFields(command.fields);
  const immutable: FieldError[] = IMMUTABLE.filter(
    (field) => command.fields[field] !== undefined && (!parsed.ok || parsed.value[field] !== state.customer[field]),
  ).map((field) => ({ field, message: `cannot change once the customer exists (it is ${state.customer[field]})` }));
  if (immutable.length > 0) throw invalidCustomer('CUSTOMER.IMMUTABLE_FIELD', immutable);
  if (!parsed.ok) throw invalidCustomer('CUSTOMER.INVALID', parsed.errors);
  const changes: CustomerChanges = {};
  for (const field of MUTABLE) {
    const next = parsed.value[field];
    if (next !== undefined && !jsonEqual(next, state.customer[field])) Object.assign(changes, { [field]: next });
  }
  if (Object.keys(changes).length === 0) return [];
  return [
    {
      type: 'CustomerUpdated',
      data: { customer_id: command.customer_id, changes, updated_at: command.at.toISOString() },
    },
  ];
}

/** Archiving an archived customer changes nothing (idempotent); one with live subscriptions is refused. */
function decideArchive(command: ArchiveCustomer, state: CustomerState): CustomerArchived[] {
  if (state.status === 'absent') throw notFound(command.customer_id);
  if (state.status === 'archived') return [];
  if (command.live_subscriptions > 0) {
    throw new CustomerError(
      'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS',
      `customer ${command.customer_id} has ${command.live_subscriptions} live subscription(s); cancel them first`,
    );
  }
  return [
    { type: 'CustomerArchived', data: { customer_id: command.customer_id, archived_at: command.at.toISOString() } },
  ];
}

function notFound(id: string): CustomerError {
  return new CustomerError('CUSTOMER.NOT_FOUND', `no customer ${id}`);
}

function unreachable(value: never): never {
  throw new Error(`unhandled customer message ${JSON.stringify(value)}`);
}
