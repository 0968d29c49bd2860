import { CustomerError } from './customer.errors';
import type { CustomerCreated, CustomerEvent, CustomerUpdated } from './customer.events';
import { customerDecider, type CreateCustomer, type CustomerCommand } from './customer.decider';
import type { CustomerFieldsInput } from './validate-customer';

const at = new Date('2026-01-02T03:04:05.000Z');
const later = new Date('2026-02-01T00:00:00.000Z');

const body: CustomerFieldsInput = {
  name: 'Acme Inc.',
  email: 'billing@acme.test',
  currency: 'USD',
  timezone: 'America/New_York',
  payment: { provider: 'stripe', customer_ref: 'cus_123', payment_method_ref: 'pm_456' },
  metadata: { tier: 'gold', seats: 12, vip: true },
};
const create = (fields: CustomerFieldsInput = body): CreateCustomer => ({
  type: 'CreateCustomer',
  customer_id: 'cust_acme',
  fields,
  at,
});
const created: CustomerCreated = {
  type: 'CustomerCreated',
  data: {
    customer_id: 'cust_acme',
    name: 'Acme Inc.',
    email: 'billing@acme.test',
    currency: 'USD',
    timezone: 'America/New_York',
    payment: { provider: 'stripe', customer_ref: 'cus_123', payment_method_ref: 'pm_456' },
    metadata: { tier: 'gold', seats: 12, vip: true },
    created_at: at.toISOString(),
  },
};
const update = (fields: CustomerFieldsInput): CustomerCommand => ({
  type: 'UpdateCustomer',
  customer_id: 'cust_acme',
  fields,
  at: later,
});
const updated = (changes: CustomerUpdated['data']['changes']): CustomerUpdated => ({
  type: 'CustomerUpdated',
  data: { customer_id: 'cust_acme', changes, updated_at: later.toISOString() },
});
const archive = (live_subscriptions = 0): CustomerCommand => ({
  type: 'ArchiveCustomer',
  customer_id: 'cust_acme',
  live_subscriptions,
  at: later,
});
const archived: CustomerEvent = {
  type: 'CustomerArchived',
  data: { customer_id: 'cust_acme', archived_at: later.toISOString() },
};

function given(...events: CustomerEvent[]) {
  const state = events.reduce(customerDecider.evolve, customerDecider.initialState());
  return { when: (command: CustomerCommand) => () => customerDecider.decide(command, state) };
}

function errorOf(run: () => unknown): CustomerError {
  try {
    run();
  } catch (error) {
    if (error instanceof CustomerError) return error;
    throw error;
  }
  throw new Error('expected a CustomerError');
}

describe('customer decider', () => {
  describe('CreateCustomer', () => {
    it('creates a customer with normalized fields', () => {
      expect(given().when(create())()).toEqual([created]);
    });

    it('applies defaults: no email, no payment, UTC, empty metadata', () => {
      const [event] = given().when(create({ name: 'Min', currency: 'EUR' }))() as CustomerCreated[];
      expect(event.data).toMatchObject({ email: null, payment: null, timezone: 'UTC', metadata: {} });
    });

    it('is a no-op when the same customer is created again, even after later changes', () => {
      expect(given(created).when(create())()).toEqual([]);
      expect(given(created, updated({ name: 'Acme Corp' })).when(create())()).toEqual([]);
      expect(given(created, archived).when(create())()).toEqual([]);
    });

    it('refuses the same id with other details: CUSTOMER.ALREADY_EXISTS', () => {
      expect(errorOf(given(created).when(create({ ...body, currency: 'EUR' }))).code).toBe('CUSTOMER.ALREADY_EXISTS');
      expect(errorOf(given(created).when(create({ ...body, metadata: {} }))).code).toBe('CUSTOMER.ALREADY_EXISTS');
    });

    it('names every invalid field: CUSTOMER.INVALID', () => {
      const error = errorOf(
        given().when({
          ...create({ email: 'nope', currency: 'usd', timezone: 'Mars/Olympus', metadata: { nested: { a: 1 } } }),
          customer_id: 'bad id!',
        }),
      );
      expect(error.code).toBe('CUSTOMER.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual([
        'id',
        'name',
        'email',
        'currency',
        'timezone',
        'metadata.nested',
      ]);
      expect(error.errors.find((e) => e.field === 'currency')!.message).toContain('"USD"');
    });
  });

  describe('UpdateCustomer', () => {
    it('records only the fields that change', () => {
      expect(given(created).when(update({ name: 'Acme Corp', email: 'billing@acme.test' }))()).toEqual([
        updated({ name: 'Acme Corp' }),
      ]);
      expect(given(created).when(update({ payment: null, metadata: { tier: 'platinum' } }))()).toEqual([
        updated({ payment: null, metadata: { tier: 'platinum' } }),
      ]);
    });

    it('records nothing when nothing changes (same values, or unchanged currency/timezone)', () => {
      expect(
        given(created).when(update({ name: 'Acme Inc.', currency: 'USD', timezone: 'america/new_york' }))(),
      ).toEqual([]);
      expect(given(created).when(update({}))()).toEqual([]);
    });

    it.each(['currency', 'timezone'] as const)(
      'refuses to change %s once created: CUSTOMER.IMMUTABLE_FIELD',
      (field) => {
        const error = errorOf(
          given(created).when(update({ name: 'x', [field]: field === 'currency' ? 'EUR' : 'UTC' })),
        );
        expect(error.code).toBe('CUSTOMER.IMMUTABLE_FIELD');
        expect(error.errors.map((e) => e.field)).toEqual([field]);
      },
    );

    it('refuses invalid values: CUSTOMER.INVALID naming each', () => {
      const error = errorOf(given(created).when(update({ name: '', payment: { provider: 'paypal' } })));
      expect(error.code).toBe('CUSTOMER.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual(['name', 'payment.provider', 'payment.customer_ref']);
    });

    it('refuses to change an archived customer: CUSTOMER.ARCHIVED', () => {
      expect(errorOf(given(created, archived).when(update({ name: 'Later' }))).code).toBe('CUSTOMER.ARCHIVED');
    });

    it('refuses an unknown customer: CUSTOMER.NOT_FOUND', () => {
      expect(errorOf(given().when(update({ name: 'x' }))).code).toBe('CUSTOMER.NOT_FOUND');
    });
  });

  describe('ArchiveCustomer', () => {
    it('archives once; archiving twice records nothing', () => {
      expect(given(created).when(archive())()).toEqual([archived]);
      expect(given(created, archived).when(archive())()).toEqual([]);
    });

    it('refuses while the customer has live subscriptions: CUSTOMER.HAS_LIVE_SUBSCRIPTIONS', () => {
      expect(errorOf(given(created).when(archive(2))).code).toBe('CUSTOMER.HAS_LIVE_SUBSCRIPTIONS');
    });

    it('refuses an unknown customer: CUSTOMER.NOT_FOUND', () => {
      expect(errorOf(given().when(archive())).code).toBe('CUSTOMER.NOT_FOUND');
    });
  });

  it('evolves the current customer: updates on top of the creation, archived_at set once', () => {
    const state = [created, updated({ name: 'Acme Corp' }), archived].reduce(
      customerDecider.evolve,
      customerDecider.initialState(),
    );
    expect(state).toMatchObject({
      status: 'archived',
      customer: {
        id: 'cust_acme',
        name: 'Acme Corp',
        currency: 'USD',
        updated_at: later.toISOString(),
        archived_at: later.toISOString(),
      },
    });
  });
});
