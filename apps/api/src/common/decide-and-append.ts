import { randomUUID } from 'node:crypto';
import {
  EventIdConflictError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  type Checkpoint,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
} from '#ledger';

export interface DomainEvent {
  type: string;
  data: unknown;
}

/** The pure shape every area's domain logic has (libs/domain/src/<area>). */
export interface Decider<Command, Event extends DomainEvent, State> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

export interface DecideAndAppendOptions<Command, Event extends DomainEvent, State> {
  store: EventStore;
  stream: string;
  decider: Decider<Command, Event, State>;
  /**
   * The command, or how to make it from the state just read (each attempt): for a command whose
   * input costs a read that only some states need (an archive's scan of live subscriptions).
   */
  command: Command | CommandOf<Command, State>;
  metadata: EventMetadata;
  /** Stable ids make a retried append a no-op; default: a random uuid per event. */
  eventId?: (event: Event) => string;
  /** Attempts on a version conflict (another writer appended first). */
  maxAttempts?: number;
}

export type CommandOf<Command, State> = (state: State) => Promise<Command>;

export interface Decision<Event, State> {
  /** Appended now; empty when the decision was already in the state (idempotent). */
  events: Event[];
  /** State after the new events. */
  state: State;
  /** Position of the last appended event; null when nothing was appended. */
  position: Checkpoint | null;
}

export async function loadState<Event extends DomainEvent, State>(
  store: EventStore,
  stream: string,
  decider: Decider<unknown, Event, State>,
): Promise<{ state: State; expected: ExpectedRevision }> {
  try {
    const recorded = await store.readStream(stream);
    const state = recorded.reduce(
      (s, e) => decider.evolve(s, { type: e.type, data: e.data } as Event),
      decider.initialState(),
    );
    return { state, expected: recorded.length === 0 ? 'no_stream' : recorded[recorded.length - 1].revision };
  } catch (error) {
    if (error instanceof StreamNotFoundError) return { state: decider.initialState(), expected: 'no_stream' };
    throw error;
  }
}

/**
 * The whole body of a command handler: load the stream, decide, append with the expected revision,
 * and on a conflict with another writer (only) start over from a fresh read.
 */
export async function decideAndAppend<Command, Event extends DomainEvent, State>(
  options: DecideAndAppendOptions<Command, Event, State>,
): Promise<Decision<Event, State>> {
  const { store, stream, decider, metadata } = options;
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const { state, expected } = await loadState(store, stream, decider);
    const command =
      typeof options.command === 'function'
        ? await (options.command as CommandOf<Command, State>)(state)
        : options.command;
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null };
    const eventId = options.eventId ?? (() => randomUUID());
    try {
      const result = await store.append(
        stream,
        events.map((event) => ({ id: eventId(event), type: event.type, data: event.data, metadata })),
        { expectedRevision: expected },
      );
      return { events, state: events.reduce(decider.evolve, state), position: result.position };
    } catch (error) {
      // Another writer got there first: with the same event id (a deterministic id) or just first.
      const conflict = error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError;
      if (!conflict || attempt >= maxAttempts) throw error;
    }
  }
}
