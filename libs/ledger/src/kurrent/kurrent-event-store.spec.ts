import { describeEventStoreContract } from '../testing/event-store.contract';
import { KurrentEventStore } from './kurrent-event-store';

/**
 * The shared contract against a real KurrentDB server: `EVENT_STORE_URL=kurrentdb://host:2113?tls=false
 * npx jest libs/ledger/src/kurrent`. The contract writes under a fresh tenant per run and reads the
 * log from the head it finds, so a shared server is fine. No server (and no fake one) runs here:
 * without the variable the suite is reported as skipped, never as passed.
 */
const url = process.env.EVENT_STORE_URL?.trim();

if (url) {
  describeEventStoreContract('kurrentdb', async () => {
    const store = KurrentEventStore.fromConnectionString(url);
    await store.ping();
    return { store, cleanup: () => store.close() };
  });
} else {
  describe.skip('KurrentDB event store contract — skipped: EVENT_STORE_URL is not set (no KurrentDB server on this machine)', () => {
    it('passes the shared event store contract against a KurrentDB server', () => {
      throw new Error('needs EVENT_STORE_URL pointing at a KurrentDB server');
    });
  });
}
