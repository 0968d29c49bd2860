import { randomUUID } from 'node:crypto';
import { EventIdConflictError, type NewEvent, type RecordedEvent } from '../event-store';
import { planAppend, sameJson } from './kurrent-idempotency';

const metadata = { tenant_id: 't', actor: 'key_1' };

function newEvent(type: string, data: unknown, id = randomUUID()): NewEvent {
  return { id, type, data, metadata };
}

function stored(event: NewEvent, revision: number): RecordedEvent {
  const at = new Date('2025-01-01T00:00:00Z');
  return {
    id: event.id,
    type: event.type,
    stream: 't:s',
    revision,
    position: `kdb:${100 + revision}/${100 + revision}`,
    data: JSON.parse(JSON.stringify(event.data)),
    metadata: event.metadata,
    occurred_at: at,
    recorded_at: at,
  };
}

describe('KurrentDB idempotent appends (planning)', () => {
  const a = newEvent('UsageRecorded', { value: '1.5', at: new Date('2025-01-02T00:00:00Z') });
  const b = newEvent('UsageRecorded', { value: '2' });
  const existing = [stored(a, 0), stored(b, 1)];

  it('appends everything to an empty stream', () => {
    const c = newEvent('UsageRecorded', { value: '3' });
    expect(planAppend('t:s', [], [a, c])).toEqual({ fresh: [a, c] });
  });

  it('turns a full retry into a no-op pointing at its stored event with the highest revision', () => {
    const plan = planAppend('t:s', existing, [a, b]);
    expect(plan.fresh).toEqual([]);
    expect(plan.lastExisting).toBe(existing[1]);
    // Order inside the retried batch does not matter, nor do later events of the stream.
    const later = stored(newEvent('UsageRecorded', { value: '9' }), 2);
    expect(planAppend('t:s', [...existing, later], [b, a]).lastExisting).toBe(existing[1]);
    expect(planAppend('t:s', [...existing, later], [a]).lastExisting).toBe(existing[0]);
  });

  it('matches ids case-insensitively (Kurrent hands uuids back in lower case)', () => {
    expect(planAppend('t:s', existing, [{ ...a, id: a.id.toUpperCase() }]).fresh).toEqual([]);
  });

  it('compares data as stored (after JSON), ignoring key order and metadata', () => {
    const retry: NewEvent = {
      ...a,
      data: { at: new Date('2025-01-02T00:00:00Z'), value: '1.5' },
      metadata: { ...metadata, request_id: 'retry-2' },
    };
    expect(planAppend('t:s', existing, [retry]).fresh).toEqual([]);
  });

  it('appends only the new part of a partly retried batch', () => {
    const c = newEvent('UsageRecorded', { value: '3' });
    expect(planAppend('t:s', existing, [b, c])).toEqual({ fresh: [c] });
  });

  it('rejects a known id with different data or type, before anything is appended', () => {
    const c = newEvent('UsageRecorded', { value: '3' });
    expect(() => planAppend('t:s', existing, [c, { ...a, data: { value: '1.6' } }])).toThrow(EventIdConflictError);
    expect(() => planAppend('t:s', existing, [{ ...b, type: 'UsageCorrected' }])).toThrow(
      expect.objectContaining({ stream: 't:s', eventId: b.id, code: 'EVENT_STORE.EVENT_ID_CONFLICT' }),
    );
  });

  it('applies the same rules inside one batch', () => {
    const c = newEvent('UsageRecorded', { value: '3' });
    expect(planAppend('t:s', [], [c, { ...c }])).toEqual({ fresh: [c] });
    expect(() => planAppend('t:s', [], [c, { ...c, data: { value: '4' } }])).toThrow(EventIdConflictError);
  });

  it('compares JSON values deeply', () => {
    expect(sameJson({ a: [1, { b: null }], c: 'x' }, { c: 'x', a: [1, { b: null }] })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameJson([], {})).toBe(false);
    expect(sameJson('1', 1)).toBe(false);
    expect(sameJson(null, {})).toBe(false);
  });
});
