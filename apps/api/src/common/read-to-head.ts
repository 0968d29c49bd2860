import { setTimeout as sleep } from 'node:timers/promises';
import type { Checkpoint, EventStore, ReadAllOptions, RecordedEvent } from '#ledger';

/** How long a start-up read waits for committed events held back by an open transaction. */
const PENDING_WAIT_MS = 10_000;
const PENDING_POLL_MS = 10;

/**
 * Reads the log from `from` to the head in pages, handing each to `apply`; returns the last
 * checkpoint. At the head it also waits (up to 10 s) for events already committed but still behind
 * an open transaction anywhere in the cluster (`pending`): an in-memory directory that starts right
 * after a write (a bootstrapped admin key, a subscription created a moment ago) must not answer its
 * first requests without it. After the wait the caller's live subscription delivers the rest.
 */
export async function readToHead(
  store: EventStore,
  from: Checkpoint | null,
  options: Pick<ReadAllOptions, 'types' | 'maxCount'>,
  apply: (events: readonly RecordedEvent[], checkpoint: Checkpoint) => void,
): Promise<Checkpoint | null> {
  const pendingDeadline = Date.now() + PENDING_WAIT_MS;
  let checkpoint = from;
  for (;;) {
    const page = await store.readAll(checkpoint, options);
    apply(page.events, page.checkpoint);
    checkpoint = page.checkpoint;
    if (!page.atHead) continue;
    if (!page.pending || Date.now() >= pendingDeadline) return checkpoint;
    await sleep(PENDING_POLL_MS);
  }
}
