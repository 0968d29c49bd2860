import { randomUUID } from 'node:crypto';
import {
  CUSTOMER_STREAM_CATEGORY,
  CustomerError,
  customerDecider,
  invalidCustomer,
  isValidCustomerId,
  parseNewCustomer,
  type Customer,
  type CustomerCommand,
  type CustomerEvent,
  type CustomerFieldsInput,
  type CustomerState,
} from '#domain';
import { streamName, type Checkpoint, type EventMetadata, type EventStore } from '#ledger';
import { decideAndAppend, loadState, type CommandOf } from '../common/decide-and-append';
import { deterministicUuid } from '../common/deterministic-id';

/**
 * Customer commands as plain functions over the event store (the HTTP handlers call them; so can the
 * CLI or a seed script). Each returns the customer after the command and the log position of what it
 * appended (null when the command was already done).
 */
export interface CustomerCommandContext {
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`: recorded on every event. */
  actor: string;
  requestId?: string;
  /** Clock, injectable for tests; the decider never reads one. */
  now?: () => Date;
}

export interface CustomerResult {
  customer: Customer;
  position: Checkpoint | null;
}

export const customerStream = (tenantId: string, id: string) => streamName(tenantId, CUSTOMER_STREAM_CATEGORY, id);

/** Created and archived happen once per customer: ids derived from that make retries no-ops. */
const customerEventId = (stream: string) => (event: CustomerEvent) =>
  event.type === 'CustomerUpdated' ? undefined : deterministicUuid(`${stream}/${event.type}`);

async function run(
  ctx: CustomerCommandContext,
  id: string,
  command: CustomerCommand | CommandOf<CustomerCommand, CustomerState>,
): Promise<CustomerResult> {
  const stream = customerStream(ctx.tenantId, id);
  const metadata: EventMetadata = { tenant_id: ctx.tenantId, actor: ctx.actor };
  if (ctx.requestId !== undefined) metadata.request_id = ctx.requestId;
  const derived = customerEventId(stream);
  const decision = await decideAndAppend({
    store: ctx.store,
    stream,
    decider: customerDecider,
    command,
    metadata,
    eventId: (event) => derived(event) ?? randomUUID(),
  });
  return { customer: present(decision.state, id), position: decision.position };
}

function present(state: CustomerState, id: string): Customer {
  if (state.status === 'absent') throw new CustomerError('CUSTOMER.NOT_FOUND', `no customer ${id}`);
  return state.customer;
}

const clock = (ctx: CustomerCommandContext) => (ctx.now ?? (() => new Date()))();

export async function createCustomer(
  input: CustomerCommandContext & { id: unknown; fields: CustomerFieldsInput },
): Promise<CustomerResult> {
  // Checked before the id names a stream; the decider checks the same again.
  const parsed = parseNewCustomer(input.id, input.fields);
  if (!parsed.ok) throw invalidCustomer('CUSTOMER.INVALID', parsed.errors);
  const id = input.id as string;
  return run(input, id, { type: 'CreateCustomer', customer_id: id, fields: input.fields, at: clock(input) });
}

export async function updateCustomer(
  input: CustomerCommandContext & { id: string; fields: CustomerFieldsInput },
): Promise<CustomerResult> {
  assertKnownId(input.id);
  return run(input, input.id, {
    type: 'UpdateCustomer',
    customer_id: input.id,
    fields: input.fields,
    at: clock(input),
  });
}

/** `liveSubscriptions`: asked only when the customer is there and not archived yet (a 404 or a repeated archive needs no count). */
export async function archiveCustomer(
  input: CustomerCommandContext & { id: string; liveSubscriptions: () => Promise<number> },
): Promise<CustomerResult> {
  assertKnownId(input.id);
  const at = clock(input);
  return run(input, input.id, async (state) => ({
    type: 'ArchiveCustomer',
    customer_id: input.id,
    live_subscriptions: state.status === 'active' ? await input.liveSubscriptions() : 0,
    at,
  }));
}

/** Strongly consistent: folds the customer's own stream (read-your-writes). Throws CUSTOMER.NOT_FOUND. */
export async function loadCustomer(store: EventStore, tenantId: string, id: string): Promise<Customer> {
  assertKnownId(id);
  const { state } = await loadState(store, customerStream(tenantId, id), customerDecider);
  return present(state, id);
}

/** An id no customer can have names no stream: answer 404 without reading one. */
function assertKnownId(id: string): void {
  if (!isValidCustomerId(id)) throw new CustomerError('CUSTOMER.NOT_FOUND', `no customer ${id}`);
}
