import { formatInvoiceNumber, invoiceSequenceOf } from './invoice-number';

describe('invoice numbers', () => {
  it('are INV- and the sequence, zero-padded to six digits, growing beyond', () => {
    expect(formatInvoiceNumber(1)).toBe('INV-000001');
    expect(formatInvoiceNumber(42)).toBe('INV-000042');
    expect(formatInvoiceNumber(999999)).toBe('INV-999999');
    expect(formatInvoiceNumber(1000000)).toBe('INV-1000000');
  });

  it('parse back to their sequence; anything else is not a number', () => {
    expect(invoiceSequenceOf('INV-000042')).toBe(42);
    expect(invoiceSequenceOf('INV-1000000')).toBe(1000000);
    for (const text of ['INV-42', 'INV-0000042', 'INV-000000', 'inv-000001', 'INV-00001x', '']) {
      expect(invoiceSequenceOf(text)).toBeNull();
    }
  });

  it('refuses a sequence that is not a positive integer', () => {
    for (const sequence of [0, -1, 1.5, Number.NaN]) expect(() => formatInvoiceNumber(sequence)).toThrow(RangeError);
  });
});
