import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError as KurrentStreamNotFoundError,
  WrongExpectedVersionError,
  type RecordedEvent as KurrentRecordedEvent,
} from '@kurrent/kurrentdb-client';
import { WrongExpectedRevisionError, type NewEvent } from '../event-store';
import {
  allTypesExceptRegex,
  eventTypesRegex,
  fromKurrentRecordedEvent,
  fromKurrentStreamName,
  isStreamNotFound,
  isSystemStream,
  mapAppendError,
  toKurrentEventData,
  toKurrentStreamName,
  toStreamState,
} from './kurrent-mapping';

/** What the server hands back for an event we appended: the JSON bytes we sent, plus its own fields. */
function asRecordedByServer(event: NewEvent, stream: string, revision: bigint, created: Date): KurrentRecordedEvent {
  const sent = toKurrentEventData(event);
  return {
    streamId: toKurrentStreamName(stream),
    id: sent.id,
    revision,
    type: sent.type,
    isJson: true,
    created,
    data: JSON.parse(JSON.stringify(sent.data)),
    metadata: JSON.parse(JSON.stringify(sent.metadata)),
    position: { commit: 4096n, prepare: 4000n },
  } as KurrentRecordedEvent;
}

describe('KurrentDB mapping', () => {
  describe('expected revision', () => {
    it('maps any, no_stream, exists and numbers to the client stream states', () => {
      expect(toStreamState('any')).toBe(ANY);
      expect(toStreamState('no_stream')).toBe(NO_STREAM);
      expect(toStreamState('exists')).toBe(STREAM_EXISTS);
      expect(toStreamState(0)).toBe(0n);
      expect(toStreamState(41)).toBe(41n);
      expect(toStreamState(Number.MAX_SAFE_INTEGER)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
      // -1 ("no event yet") means no stream, as in the Postgres adapter.
      expect(toStreamState(-1)).toBe(NO_STREAM);
    });

    it.each([-2, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, '3', null])('rejects the revision %p', (bad) => {
      expect(() => toStreamState(bad as number)).toThrow(TypeError);
    });

    it("turns the client's WrongExpectedVersionError into ours, with the actual revision", () => {
      const atRevision = new WrongExpectedVersionError(undefined, { streamName: 't:s', expected: 3n, current: 7n });
      const mapped = mapAppendError(atRevision, 't:s', 3);
      expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
      expect(mapped).toMatchObject({
        stream: 't:s',
        expected: 3,
        actual: 7,
        code: 'EVENT_STORE.WRONG_EXPECTED_REVISION',
      });

      const missing = new WrongExpectedVersionError(undefined, {
        streamName: 't:s',
        expected: STREAM_EXISTS,
        current: NO_STREAM,
      });
      expect(mapAppendError(missing, 't:s', 'exists')).toMatchObject({ expected: 'exists', actual: 'no_stream' });
    });

    it('lets every other error through untouched', () => {
      const other = new Error('boom');
      expect(mapAppendError(other, 't:s', 'any')).toBe(other);
      expect(isStreamNotFound(new KurrentStreamNotFoundError(undefined, 't:s'))).toBe(true);
      expect(isStreamNotFound(other)).toBe(false);
    });
  });

  describe('events', () => {
    it('round-trips data, metadata and occurred_at; recorded_at is the server time', () => {
      const occurredAt = new Date('2025-02-28T23:59:59.123Z');
      const created = new Date('2025-03-01T00:00:02.500Z');
      const event: NewEvent = {
        id: randomUUID(),
        type: 'UsageRecorded',
        data: { customer_id: 'c1', value: '12.5000000001', properties: { region: 'eu' } },
        metadata: {
          tenant_id: 'acme',
          actor: 'key_1',
          request_id: 'req-1',
          correlation_id: 'corr-1',
          causation_id: 'cause-1',
        },
        occurred_at: occurredAt,
      };
      const recorded = fromKurrentRecordedEvent(asRecordedByServer(event, 'acme:usage-c1-2025-02', 6n, created));
      expect(recorded).toEqual({
        id: event.id,
        type: 'UsageRecorded',
        stream: 'acme:usage-c1-2025-02',
        revision: 6,
        position: 'kdb:4096/4000',
        data: event.data,
        metadata: event.metadata,
        occurred_at: occurredAt,
        recorded_at: created,
      });
    });

    it('writes occurred_at and the Kurrent correlation keys into the event metadata', () => {
      const data = toKurrentEventData({
        id: randomUUID(),
        type: 'PlanPublished',
        data: {},
        metadata: { tenant_id: 't', actor: 'cli:ann', correlation_id: 'c', causation_id: 'k' },
        occurred_at: new Date('2025-01-01T00:00:00Z'),
      });
      expect(data.contentType).toBe('application/json');
      expect(data.metadata).toEqual({
        tenant_id: 't',
        actor: 'cli:ann',
        correlation_id: 'c',
        causation_id: 'k',
        occurred_at: '2025-01-01T00:00:00.000Z',
        $correlationId: 'c',
        $causationId: 'k',
      });
    });

    it('uses the server time as occurred_at when the writer gave none', () => {
      const created = new Date('2025-05-05T05:05:05.005Z');
      const event: NewEvent = {
        id: randomUUID(),
        type: 'CustomerCreated',
        data: { id: 'c' },
        metadata: { tenant_id: 't', actor: 'key_2' },
      };
      const recorded = fromKurrentRecordedEvent(asRecordedByServer(event, 't:customer-c', 0n, created));
      expect(recorded.occurred_at).toEqual(created);
      expect(recorded.metadata).toEqual({ tenant_id: 't', actor: 'key_2' });
    });

    it('refuses an event without a log position (servers before 22.10)', () => {
      const event: NewEvent = { id: randomUUID(), type: 'X', data: {}, metadata: { tenant_id: 't', actor: 'a' } };
      const recorded = {
        ...asRecordedByServer(event, 't:x', 0n, new Date()),
        position: undefined,
      } as KurrentRecordedEvent;
      expect(() => fromKurrentRecordedEvent(recorded)).toThrow(/22\.10/);
      const sentinel = {
        ...recorded,
        position: { commit: (1n << 64n) - 1n, prepare: (1n << 64n) - 1n },
      } as KurrentRecordedEvent;
      expect(() => fromKurrentRecordedEvent(sentinel)).toThrow(/22\.10/);
    });
  });

  describe('stream names', () => {
    it('round-trip any name, and never hand Kurrent a $-prefixed (system) name', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.string().map((s) => `$${s}`),
            fc.string().map((s) => `~${s}`),
          ),
          (name) => {
            const stored = toKurrentStreamName(name);
            expect(fromKurrentStreamName(stored)).toBe(name);
            expect(isSystemStream(stored)).toBe(false);
          },
        ),
      );
      expect(toKurrentStreamName('$system:tenants')).toBe('~$system:tenants');
      expect(toKurrentStreamName('acme:invoice-1')).toBe('acme:invoice-1');
      expect(isSystemStream('$stats-127.0.0.1:2113')).toBe(true);
    });
  });

  describe('event type filter', () => {
    it('matches exactly the listed types, nothing longer, shorter or system', () => {
      const regex = new RegExp(eventTypesRegex(['UsageRecorded', 'Plan.Published', 'A+B']));
      for (const type of ['UsageRecorded', 'Plan.Published', 'A+B']) expect(regex.test(type)).toBe(true);
      for (const type of [
        'UsageRecordedV2',
        'XUsageRecorded',
        'Usage',
        'PlanXPublished',
        'AAB',
        '$UsageRecorded',
        '$>',
      ]) {
        expect(regex.test(type)).toBe(false);
      }
    });

    it('all types except: every non-system type but exactly the listed ones', () => {
      const regex = new RegExp(allTypesExceptRegex(['UsageRecorded', 'A+B']));
      for (const type of ['UsageRecordedV2', 'XUsageRecorded', 'Usage', 'AAB', 'CustomerCreated', 'A+BC']) {
        expect(regex.test(type)).toBe(true);
      }
      for (const type of ['UsageRecorded', 'A+B', '$UsageRecorded', '$>', '$metadata'])
        expect(regex.test(type)).toBe(false);
    });
  });
});
