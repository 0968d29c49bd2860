import type { EventStore } from '#ledger';
import { startTestApi } from '../../../test/support/api';

describe('startApi().close()', () => {
  it('drains a request in flight: it completes, its event is stored, then the server is gone', async () => {
    let slow = false;
    let reachedStore!: () => void;
    const reached = new Promise<void>((resolve) => (reachedStore = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = (store: EventStore): EventStore =>
      Object.assign(Object.create(store) as EventStore, {
        readStream: async (...args: Parameters<EventStore['readStream']>) => {
          if (slow) {
            reachedStore();
            await gate;
          }
          return store.readStream(...args);
        },
      });
    const api = await startTestApi({ wrapStore: gated });
    try {
      slow = true;
      const inFlight = api.request('POST', '/v1/api-keys', {
        body: { name: 'in flight', role: 'finance', kind: 'secret' },
      });
      await reached;
      const stopping = api.stopApi();
      release();
      const response = await inFlight;
      expect(response.status).toBe(201);
      await stopping;
      const names = (await api.store.readStream('default:apikeys')).map(
        (e) => (e.data as { name: string | null }).name,
      );
      expect(names).toContain('in flight');
      await expect(fetch(`${api.baseUrl}/healthz`)).rejects.toThrow();
    } finally {
      release();
      await api.close();
    }
  });
});
