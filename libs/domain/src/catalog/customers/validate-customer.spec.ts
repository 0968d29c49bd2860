import { METADATA_MAX_KEYS, parseCustomerFields, parseNewCustomer } from './validate-customer';

const fieldsOf = (result: ReturnType<typeof parseCustomerFields>) =>
  result.ok ? [] : result.errors.map((e) => e.field);

describe('customer fields', () => {
  it.each([
    ['cust_acme', true],
    ['ACME-eu.2', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['_acme', false],
    ['acme corp', false],
    ['acme/eu', false],
    ['acme:eu', false],
    ['', false],
  ])('id %p valid: %p', (id, valid) => {
    expect(parseNewCustomer(id, { name: 'A', currency: 'USD' }).ok).toBe(valid);
  });

  it('requires name and currency on creation', () => {
    const result = parseNewCustomer('c1', {});
    expect(result.ok ? [] : result.errors.map((e) => e.field)).toEqual(['name', 'currency']);
  });

  it.each([['billing@acme.test'], ['a.b+c@sub.example.co.uk'], [null]])('accepts email %p', (email) => {
    expect(fieldsOf(parseCustomerFields({ email }))).toEqual([]);
  });

  it.each([['acme'], ['a@b'], ['a b@c.de'], ['a@-b.de'], [42]])('rejects email %p', (email) => {
    expect(fieldsOf(parseCustomerFields({ email }))).toEqual(['email']);
  });

  it('takes ISO 4217 codes through the money helpers, upper case only', () => {
    expect(parseCustomerFields({ currency: 'JPY' })).toEqual({ ok: true, value: { currency: 'JPY' } });
    expect(fieldsOf(parseCustomerFields({ currency: 'usd' }))).toEqual(['currency']);
    expect(fieldsOf(parseCustomerFields({ currency: 'XYZ' }))).toEqual(['currency']);
    expect(fieldsOf(parseCustomerFields({ currency: 'constructor' }))).toEqual(['currency']);
  });

  it('takes IANA zones, spelled canonically when only the case differs', () => {
    expect(parseCustomerFields({ timezone: 'europe/paris' })).toEqual({
      ok: true,
      value: { timezone: 'Europe/Paris' },
    });
    expect(parseCustomerFields({ timezone: 'UTC' })).toEqual({ ok: true, value: { timezone: 'UTC' } });
    for (const zone of ['Mars/Olympus', '+05:00', 'Europe/Paris ', '', 3]) {
      expect(fieldsOf(parseCustomerFields({ timezone: zone }))).toEqual(['timezone']);
    }
  });

  it('checks payment details per provider, naming nested fields', () => {
    expect(parseCustomerFields({ payment: { provider: 'manual' } })).toEqual({
      ok: true,
      value: { payment: { provider: 'manual', customer_ref: null, payment_method_ref: null } },
    });
    expect(fieldsOf(parseCustomerFields({ payment: { provider: 'adyen' } }))).toEqual(['payment.customer_ref']);
    expect(
      fieldsOf(parseCustomerFields({ payment: { provider: 'stripe', customer_ref: 'cus_1', iban: 'x' } })),
    ).toEqual(['payment.iban']);
    expect(fieldsOf(parseCustomerFields({ payment: 'stripe' }))).toEqual(['payment']);
  });

  it('keeps metadata flat and bounded', () => {
    expect(fieldsOf(parseCustomerFields({ metadata: { a: 'x', b: 1.5, c: false } }))).toEqual([]);
    expect(fieldsOf(parseCustomerFields({ metadata: { a: null, b: [1], c: { d: 1 } } }))).toEqual([
      'metadata.a',
      'metadata.b',
      'metadata.c',
    ]);
    expect(fieldsOf(parseCustomerFields({ metadata: { ['k'.repeat(41)]: 'x', ok: 'y'.repeat(501) } }))).toEqual([
      `metadata.${'k'.repeat(41)}`,
      'metadata.ok',
    ]);
    const many = Object.fromEntries(Array.from({ length: METADATA_MAX_KEYS + 1 }, (_, i) => [`k${i}`, i]));
    expect(fieldsOf(parseCustomerFields({ metadata: many }))).toEqual(['metadata']);
    expect(fieldsOf(parseCustomerFields({ metadata: ['a'] }))).toEqual(['metadata']);
  });
});
