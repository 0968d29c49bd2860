import type { Checkpoint, EventStore } from '../event-store';

/**
 * The head once nothing committed is still held back. On Postgres the read horizon is
 * cluster-wide: another test file's open transaction can keep events committed here invisible for a
 * moment, so a spec that reads right after appending (or takes a "from" before its own writes)
 * waits for this first instead of depending on luck.
 */
export async function settledHead(store: EventStore, timeoutMs = 30_000): Promise<Checkpoint | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await store.headCheckpoint();
    if (!(await store.readAll(head, { maxCount: 1 })).pending) return head;
    if (Date.now() > deadline) throw new Error(`committed events stayed invisible for ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
