import { PassThrough } from 'node:stream';
import type { Checkpoint, RecordedEvent } from '../event-store';
import { comparePositions, encodeCheckpoint, type KurrentPosition } from './kurrent-checkpoint';
import { BatchingSubscription, type SubscriptionItem } from './kurrent-subscription';

/**
 * The batcher is exercised against in-memory streams shaped like the client's AllStreamSubscription
 * (a Readable with unsubscribe()); the KurrentDB wiring itself runs in the contract suite.
 */
class StubStream extends PassThrough {
  constructor(readonly from: KurrentPosition | null) {
    super({ objectMode: true, highWaterMark: 4 });
  }
  async unsubscribe(): Promise<void> {
    this.destroy();
  }
}

/** A log that replays from a position (inclusive, as a careless server might) and then follows live. */
class StubLog {
  readonly items: SubscriptionItem[] = [];
  readonly streams: StubStream[] = [];

  append(count: number, options: { filtered?: boolean } = {}): void {
    for (let i = 0; i < count; i += 1) {
      const n = BigInt(this.items.length + 1) * 10n;
      const position = { commit: n, prepare: n };
      const event = options.filtered ? null : recorded(position);
      this.items.push({ position, event });
      for (const stream of this.streams) if (!stream.destroyed) stream.write({ position, event });
    }
  }

  open = (from: KurrentPosition | null): StubStream => {
    const stream = new StubStream(from);
    this.streams.push(stream);
    for (const item of this.items) if (from === null || comparePositions(item.position, from) >= 0) stream.write(item);
    return stream;
  };

  get current(): StubStream {
    return this.streams[this.streams.length - 1];
  }
}

function recorded(position: KurrentPosition): RecordedEvent {
  const at = new Date('2025-01-01T00:00:00Z');
  return {
    id: `e${position.commit}`,
    type: 'Tested',
    stream: 't:s',
    revision: Number(position.commit / 10n) - 1,
    position: encodeCheckpoint(position),
    data: {},
    metadata: { tenant_id: 't', actor: 'test' },
    occurred_at: at,
    recorded_at: at,
  };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Recorder {
  batches: { ids: string[]; checkpoint: Checkpoint }[];
  ids: string[];
  errors: Error[];
  maxInFlight: number;
}

function subscribe(
  log: StubLog,
  onBatch?: (events: RecordedEvent[]) => Promise<void>,
  from: KurrentPosition | null = null,
  onError?: (error: Error) => void,
) {
  const recorder: Recorder = { batches: [], ids: [], errors: [], maxInFlight: 0 };
  let inFlight = 0;
  const subscription = new BatchingSubscription<SubscriptionItem>({
    from,
    open: log.open,
    classify: (item) => item,
    maxCount: 5,
    idleMs: 1,
    maxWaitMs: 20,
    retryInitialMs: 1,
    retryMaxMs: 4,
    onBatch: async (events, checkpoint) => {
      inFlight += 1;
      recorder.maxInFlight = Math.max(recorder.maxInFlight, inFlight);
      try {
        await onBatch?.(events);
        recorder.batches.push({ ids: events.map((e) => e.id), checkpoint });
        recorder.ids.push(...events.map((e) => e.id));
      } finally {
        inFlight -= 1;
      }
    },
    onError: (error) => {
      recorder.errors.push(error);
      onError?.(error);
    },
  });
  return { subscription, recorder };
}

const idsUpTo = (n: number, start = 1) => Array.from({ length: n - start + 1 }, (_, i) => `e${(start + i) * 10}`);

describe('BatchingSubscription', () => {
  it('catches up in batches of at most maxCount, in log order, then follows live appends', async () => {
    const log = new StubLog();
    log.append(12);
    const { subscription, recorder } = subscribe(log);
    try {
      await waitFor(() => recorder.ids.length === 12, 'catch-up');
      log.append(3);
      await waitFor(() => recorder.ids.length === 15, 'live events');
      expect(recorder.ids).toEqual(idsUpTo(15));
      expect(recorder.batches.every((batch) => batch.ids.length <= 5)).toBe(true);
      // Each checkpoint is the position of its batch's last event.
      for (const batch of recorder.batches) {
        const last = batch.ids[batch.ids.length - 1].slice(1);
        expect(batch.checkpoint).toBe(`kdb:${last}/${last}`);
      }
      expect(recorder.maxInFlight).toBe(1);
    } finally {
      await subscription.stop();
    }
  });

  it('resumes strictly after the given checkpoint', async () => {
    const log = new StubLog();
    log.append(8);
    const { subscription, recorder } = subscribe(log, undefined, { commit: 50n, prepare: 50n });
    try {
      await waitFor(() => recorder.ids.length === 3, 'events after 50');
      expect(recorder.ids).toEqual(['e60', 'e70', 'e80']);
    } finally {
      await subscription.stop();
    }
  });

  it('advances the checkpoint past filtered-out records with an empty batch', async () => {
    const log = new StubLog();
    log.append(2);
    log.append(1, { filtered: true });
    const { subscription, recorder } = subscribe(log);
    try {
      // Filtered records travelling with events: the batch's checkpoint already covers them.
      await waitFor(() => recorder.batches.length === 1, 'the first batch');
      expect(recorder.batches[0]).toEqual({ ids: ['e10', 'e20'], checkpoint: 'kdb:30/30' });
      // Only filtered records: an empty batch carries the checkpoint forward.
      log.append(2, { filtered: true });
      await waitFor(() => recorder.batches.length === 2, 'the empty batch');
      expect(recorder.batches[1]).toEqual({ ids: [], checkpoint: 'kdb:50/50' });
    } finally {
      await subscription.stop();
    }
  });

  it('holds the stream while a batch is being handled, and never runs two batches at once', async () => {
    const log = new StubLog();
    log.append(3);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { subscription, recorder } = subscribe(log, async () => {
      calls += 1;
      if (calls === 1) await gate;
    });
    try {
      await waitFor(() => calls === 1, 'the first batch');
      log.append(20);
      expect(log.current.isPaused()).toBe(true);
      expect(calls).toBe(1);
      release();
      await waitFor(() => recorder.ids.length === 23, 'everything');
      expect(recorder.ids).toEqual(idsUpTo(23));
      expect(recorder.maxInFlight).toBe(1);
    } finally {
      await subscription.stop();
    }
  });

  it('resubscribes from the last delivered checkpoint after a stream error: no gap, no duplicate', async () => {
    const log = new StubLog();
    log.append(5);
    const { subscription, recorder } = subscribe(log);
    try {
      await waitFor(() => recorder.ids.length === 5, 'the first batch');
      log.current.destroy(new Error('connection reset'));
      log.append(4);
      await waitFor(() => recorder.ids.length === 9, 'events after the reconnect');
      expect(recorder.ids).toEqual(idsUpTo(9));
      expect(recorder.errors.map((e) => e.message)).toEqual(['connection reset']);
      expect(log.streams.length).toBe(2);
      expect(log.streams[1].from).toEqual({ commit: 50n, prepare: 50n });
    } finally {
      await subscription.stop();
    }
  });

  it('redelivers a batch whose handler failed, from the last delivered checkpoint', async () => {
    const log = new StubLog();
    log.append(5);
    let failures = 0;
    const { subscription, recorder } = subscribe(log, async (events) => {
      if (events.some((e) => e.id === 'e70') && failures === 0) {
        failures += 1;
        throw new Error('projection transaction failed');
      }
    });
    try {
      await waitFor(() => recorder.ids.length === 5, 'the first batch');
      log.append(4);
      await waitFor(() => recorder.ids.length === 9, 'the redelivered batch');
      expect(recorder.ids).toEqual(idsUpTo(9));
      expect(recorder.errors.map((e) => e.message)).toEqual(['projection transaction failed']);
      expect(log.current.from).toEqual({ commit: 50n, prepare: 50n });
    } finally {
      await subscription.stop();
    }
  });

  it('reconnects when the stream ends unexpectedly', async () => {
    const log = new StubLog();
    log.append(2);
    const { subscription, recorder } = subscribe(log);
    try {
      await waitFor(() => recorder.ids.length === 2, 'the first events');
      log.current.end();
      await waitFor(() => log.streams.length === 2, 'a new subscription');
      log.append(1);
      await waitFor(() => recorder.ids.length === 3, 'the next event');
      expect(recorder.ids).toEqual(idsUpTo(3));
      expect(recorder.errors[0].message).toMatch(/ended unexpectedly/);
    } finally {
      await subscription.stop();
    }
  });

  it('stops after the batch in flight and delivers nothing afterwards', async () => {
    const log = new StubLog();
    log.append(3);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { subscription, recorder } = subscribe(log, async () => {
      calls += 1;
      await gate;
    });
    await waitFor(() => calls === 1, 'the first batch');
    let stopped = false;
    const stopping = subscription.stop().then(() => (stopped = true));
    log.append(5);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(log.current.destroyed).toBe(true);
    const delivered = recorder.ids.length;
    log.append(5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(recorder.ids.length).toBe(delivered);
    expect(calls).toBe(1);
  });

  it('can be stopped from inside its own onBatch without waiting for itself', async () => {
    const log = new StubLog();
    log.append(3);
    let stopped: Promise<void> | undefined;
    let calls = 0;
    const holder: { subscription?: BatchingSubscription<SubscriptionItem> } = {};
    const { subscription, recorder } = subscribe(log, async () => {
      calls += 1;
      stopped = holder.subscription!.stop();
      await stopped;
    });
    holder.subscription = subscription;
    await waitFor(() => recorder.batches.length === 1, 'the batch that stops');
    await stopped;
    log.append(5);
    await subscription.stop();
    expect(calls).toBe(1);
  });

  it('survives an onError handler that throws', async () => {
    const log = new StubLog();
    log.append(2);
    const { subscription, recorder } = subscribe(log, undefined, null, () => {
      throw new Error('bad handler');
    });
    try {
      await waitFor(() => recorder.ids.length === 2, 'the first events');
      log.current.destroy(new Error('connection reset'));
      log.append(2);
      await waitFor(() => recorder.ids.length === 4, 'events after the reconnect');
      expect(recorder.ids).toEqual(idsUpTo(4));
    } finally {
      await subscription.stop();
    }
  });
});
