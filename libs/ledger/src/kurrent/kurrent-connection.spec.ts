import {
  InvalidEventStoreUrlError,
  isKurrentConnectionString,
  normalizeKurrentConnectionString,
  redactConnectionString,
} from './kurrent-connection';
import { KurrentEventStore } from './kurrent-event-store';

describe('KurrentDB connection strings', () => {
  it.each([
    ['kurrentdb://localhost:2113?tls=false', 'kurrentdb://localhost:2113?tls=false'],
    ['kurrentdb+discover://cluster.example.com:2113', 'kurrentdb+discover://cluster.example.com:2113'],
    ['esdb://admin:changeit@localhost:2113?tls=false', 'kurrentdb://admin:changeit@localhost:2113?tls=false'],
    ['esdb+discover://node1:2113,node2:2113,node3:2113', 'kurrentdb+discover://node1:2113,node2:2113,node3:2113'],
    ['kurrent://[::1]:2113?tls=false', 'kurrent://[::1]:2113?tls=false'],
    ['kdb://kurrentdb', 'kdb://kurrentdb'],
    ['  kurrentdb://kurrentdb:2113?tls=false  ', 'kurrentdb://kurrentdb:2113?tls=false'],
  ])('accepts %s', (url, normalized) => {
    expect(isKurrentConnectionString(url)).toBe(true);
    expect(normalizeKurrentConnectionString(url)).toBe(normalized);
  });

  it.each([
    ['postgres://localhost/abaxus', /expected kurrentdb/],
    ['http://localhost:2113', /expected kurrentdb/],
    ['localhost:2113', /expected kurrentdb/],
    ['kurrentdb://', /no host/],
    ['kurrentdb://?tls=false', /no host/],
    ['kurrentdb://user:pw@', /no host/],
    ['kurrentdb://host:99999', /bad host/],
    ['kurrentdb://host:port', /bad host/],
    ['kurrentdb://a:1,,b:2', /bad host/],
  ])('rejects %s', (url, reason) => {
    expect(isKurrentConnectionString(url)).toBe(url.startsWith('kurrentdb://'));
    expect(() => normalizeKurrentConnectionString(url)).toThrow(InvalidEventStoreUrlError);
    expect(() => normalizeKurrentConnectionString(url)).toThrow(reason);
  });

  it('never repeats a password in an error or a log line', () => {
    expect(redactConnectionString('kurrentdb://admin:s3cret@db:2113?tls=true')).toBe(
      'kurrentdb://admin:***@db:2113?tls=true',
    );
    expect(redactConnectionString('esdb://admin@db:2113')).toBe('esdb://admin@db:2113');
    expect(redactConnectionString('kurrentdb://db:2113')).toBe('kurrentdb://db:2113');
    const error = (() => {
      try {
        normalizeKurrentConnectionString('kurrentdb://admin:s3cret@db:port');
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected a rejection');
    })();
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toContain('admin:***@');
  });

  describe('KurrentEventStore.fromConnectionString', () => {
    it('builds a store without connecting (no server needed) and closes it', async () => {
      const store = KurrentEventStore.fromConnectionString('kurrentdb://127.0.0.1:1?tls=false');
      expect(store.kind).toBe('kurrentdb');
      await store.close();
      await store.close();
    });

    it("reports the client's own parse errors as invalid URLs, password redacted", () => {
      const attempt = () =>
        KurrentEventStore.fromConnectionString('kurrentdb://admin:s3cret@db:2113?nodePreference=sideways');
      expect(attempt).toThrow(InvalidEventStoreUrlError);
      expect(attempt).toThrow(/nodePreference|sideways/i);
      expect(attempt).not.toThrow(/s3cret/);
    });

    it('rejects a negative idempotency window', () => {
      expect(() => KurrentEventStore.fromConnectionString('kurrentdb://db:2113', { idempotencyWindow: -1 })).toThrow(
        RangeError,
      );
    });

    it('fails ping, reads and appends with an error when nothing listens', async () => {
      const store = KurrentEventStore.fromConnectionString('kurrentdb://127.0.0.1:1?tls=false', {
        pingTimeoutMs: 20_000,
      });
      try {
        await expect(store.ping()).rejects.toThrow();
        await expect(store.headCheckpoint()).rejects.toThrow();
        await expect(
          store.append('t:s', [
            {
              id: '8f0a3c55-2b5e-4c1e-9a43-7d1f4f0d9b10',
              type: 'Tested',
              data: {},
              metadata: { tenant_id: 't', actor: 'a' },
            },
          ]),
        ).rejects.toThrow();
      } finally {
        await store.close();
      }
    });
  });
});
