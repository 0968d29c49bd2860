import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, normalizeInstant, parseDecimal } from '#domain';
import { deterministicUuid } from '../common/deterministic-id';
import {
  fastCanonicalInstant,
  fastCanonicalValue,
  usageIdFor,
  usagePayloadHash,
  usagePayloadText,
  validateUsageEvent,
  type NormalizedUsageEvent,
} from './usage-event.validation';

/**
 * The hot-path shortcuts must be invisible: for every input they accept, they give exactly what the
 * general functions give (the payload hash and the usage id are stored forever).
 */
describe('usage event normalisation shortcuts', () => {
  const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));

  it('fastCanonicalValue equals parseDecimal wherever it answers, and answers for the plain forms', () => {
    const spelled = fc.oneof(
      fc.tuple(digits(1, 12), fc.option(digits(1, 12))).map(([i, f]) => (f === null ? i : `${i}.${f}`)),
      fc.integer({ min: -5, max: 2 ** 40 }),
      fc.double({ noNaN: true }),
      fc.constantFrom('-0', '0.0', '00', '1e3', ' 1', '1.', '.5', '+1', '0x10'),
    );
    fc.assert(
      fc.property(spelled, (raw) => {
        const fast = fastCanonicalValue(raw);
        let slow: string | undefined;
        try {
          slow = parseDecimal(raw, { field: 'value' });
        } catch {
          slow = undefined;
        }
        if (fast !== undefined) expect(fast).toBe(slow);
      }),
      { numRuns: 5000 },
    );
    expect(fastCanonicalValue('0012.5000')).toBe('12.5');
    expect(fastCanonicalValue(-0)).toBe('0');
    expect(fastCanonicalValue('-0')).toBeUndefined();
  });

  it('fastCanonicalInstant equals normalizeInstant wherever it answers, and never accepts an impossible date', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const spelled = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.option(digits(1, 4)),
      )
      .map(
        ([y, mo, d, h, mi, s, f]) =>
          `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${f === null ? '' : `.${f}`}Z`,
      );
    fc.assert(
      fc.property(spelled, (raw) => {
        const fast = fastCanonicalInstant(raw);
        const slow = normalizeInstant(raw, 'timestamp');
        if (fast !== undefined) expect(slow).toEqual({ ok: true, value: fast });
      }),
      { numRuns: 5000 },
    );
    expect(fastCanonicalInstant('2026-02-30T00:00:00Z')).toBeUndefined();
    expect(fastCanonicalInstant('2026-03-17T14:00:00Z')).toBe('2026-03-17T14:00:00.000Z');
  });

  it('the payload text is the RFC 8785 canonical JSON of the payload, whatever the properties', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), scalar, { maxKeys: 8 }),
        fc.string(),
        (properties, customer) => {
          const event: NormalizedUsageEvent = {
            customer_id: customer,
            metric_key: 'api_calls',
            value: '1.5',
            timestamp: '2026-03-17T14:00:00.000Z',
            idempotency_key: 'k',
            properties,
          };
          const { customer_id, metric_key, value, timestamp } = event;
          expect(usagePayloadText(event)).toBe(
            canonicalJson({ customer_id, metric_key, value, timestamp, properties }),
          );
          expect(usagePayloadHash(event)).toBe(createHash('sha256').update(usagePayloadText(event)).digest('hex'));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the usage id is deterministicUuid("usage/<tenant>/<key>")', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9_]{1,20}$/),
        fc.string({ minLength: 1, maxLength: 255 }),
        (tenant, key) => {
          expect(usageIdFor(tenant, key)).toBe(deterministicUuid(`usage/${tenant}/${key}`));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('one payload spelled differently normalises to one hash', () => {
    const now = new Date('2026-03-17T15:00:00Z');
    const a = validateUsageEvent(
      {
        customer_id: 'c',
        metric_key: 'm',
        value: '1.50',
        timestamp: '2026-03-17T16:00:00+02:00',
        idempotency_key: 'k',
        properties: { b: 1, a: 'x' },
      },
      { now, maxAgeMs: null },
    );
    const b = validateUsageEvent(
      {
        customer_id: 'c',
        metric_key: 'm',
        value: 1.5,
        timestamp: '2026-03-17T14:00:00Z',
        idempotency_key: 'k',
        properties: { a: 'x', b: 1.0 },
      },
      { now, maxAgeMs: null },
    );
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(usagePayloadHash(a.event)).toBe(usagePayloadHash(b.event));
  });
});
