import type { Checkpoint, EventStore, ReadAllOptions, ReadAllResult } from '../event-store';

/** Pages kept for the projections that have not read them yet. */
export const SHARED_PAGES_CAPACITY = 6;
/**
 * Longest pause, per page, of a projection that runs ahead of a lined-up, slower one (see
 * SharedPages). Long enough for the slower one's batch to finish on a loaded machine (with 1 s,
 * `usage` batches outlasted it during a 60 s load and `late_usage` ran off, reading every page
 * again); a follower busy with a long batch slows the leader to a page per 3 s at worst, and only
 * while it has pages to catch up on (the billing cycle waits for both anyway).
 */
export const SHARED_PAGES_MAX_WAIT_MS = 3_000;

interface Entry {
  readonly page: Promise<ReadAllResult>;
  readonly group: string;
  readonly readers: Set<string>;
}

const pageKey = (group: string, from: Checkpoint | null): string => JSON.stringify([group, from]);

/** Checkpoints remembered per set: a few times the pages kept, so a reader's last page is in it. */
const REMEMBERED = SHARED_PAGES_CAPACITY * 8;

function remember(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > REMEMBERED) set.delete(set.values().next().value!);
}

const groupOf = (options: ReadAllOptions): string =>
  JSON.stringify([options.maxCount ?? null, options.types ?? null, options.excludeTypes ?? null]);

/**
 * One read of a page for every projection of the runner that reads the log with the same options
 * (`usage` and `late_usage` both read every usage event): a page read from a checkpoint is kept
 * until each of them has read it from that same checkpoint, or until SHARED_PAGES_CAPACITY newer
 * pages push it out (it is then read again, as without sharing).
 *
 * Any page is valid for any later reader from the same checkpoint: the log is append-only and a
 * page ends at or before the visibility horizon, so nothing can later appear inside it. Readers
 * whose checkpoints line up get the same page boundaries, and stay lined up.
 *
 * So that the faster one does not run off and read everything twice, a reader that holds
 * capacity - 1 pages the others have not read yet pauses (at most SHARED_PAGES_MAX_WAIT_MS per
 * page) while another reader is lined up with it (its last read was served from here) and has not
 * stalled. A reader whose checkpoints do not line up, or that fails, is never waited for.
 * Pages are shared objects: projections must not mutate the events they are given.
 */
export class SharedPages {
  private readonly groups = new Map<string, Set<string>>();
  private readonly entries = new Map<string, Entry>();
  /** Readers whose last read was served from a page another one read: they follow in lockstep. */
  private readonly aligned = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private closed = false;
  /** Recent checkpoints a page was read from, and where recent pages ended (bounded, oldest out). */
  private readonly started = new Set<string>();
  private readonly ended = new Set<string>();

  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    readers: ReadonlyArray<{ name: string; options: ReadAllOptions }>,
  ) {
    for (const reader of readers) {
      const group = groupOf(reader.options);
      this.groups.set(group, (this.groups.get(group) ?? new Set()).add(reader.name));
    }
  }

  /** The store as one reader sees it. */
  readerFor(name: string): Pick<EventStore, 'readAll'> {
    return { readAll: (from, options = {}) => this.read(name, from, options) };
  }

  /** Stops every pause now and for good (the runner is stopping). */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** The reader failed or stopped: nobody waits for it until it is served a shared page again. */
  stalled(name: string): void {
    this.aligned.delete(name);
    this.notify();
  }

  async read(name: string, from: Checkpoint | null, options: ReadAllOptions): Promise<ReadAllResult> {
    const group = groupOf(options);
    const sharers = this.groups.get(group);
    if (sharers === undefined || sharers.size < 2 || !sharers.has(name)) return this.store.readAll(from, options);
    const key = pageKey(group, from);
    if (!this.entries.has(key)) {
      // A read past the front of the chain (from where a kept page ended, never read from) is still
      // lined up: the others will read from here too. Any other miss means this reader fell behind.
      if (this.ended.has(key) && !this.started.has(key)) this.aligned.add(name);
      else this.aligned.delete(name);
      await this.waitForFollowers(name, group);
    } else {
      this.aligned.add(name);
    }
    const kept = this.entries.get(key);
    if (kept === undefined) {
      const entry = this.fetch(key, group, from, options);
      this.markRead(name, key, entry, sharers);
      return entry.page;
    }
    return this.serve(name, from, key, kept, sharers, options);
  }

  /**
   * A kept page, and the kept pages that follow it as long as the events fit in maxCount: several
   * consecutive pages are one valid page from the same checkpoint (the log is append-only, each
   * ended at or before its horizon). So a reader slower than the one that read them (usage, behind
   * late_usage's small pages at the head of a busy log) takes them in one batch. `atHead` is false:
   * the head may have moved since the page was read, and the reader reads again from its end.
   */
  private async serve(
    name: string,
    from: Checkpoint | null,
    key: string,
    entry: Entry,
    sharers: ReadonlySet<string>,
    options: ReadAllOptions,
  ): Promise<ReadAllResult> {
    const { maxCount } = options;
    this.markRead(name, key, entry, sharers);
    const first = await entry.page;
    // Another reader's page may have been read before this reader last looked at its doorbell, so
    // an empty one says nothing about what is there now (taken as the head, the reader would wait
    // for a ring it already saw): read it afresh, unshared.
    if (first.events.length === 0) return this.store.readAll(from, options);
    let events = first.events;
    let last = first;
    while (maxCount !== undefined && events.length < maxCount) {
      const nextKey = pageKey(entry.group, last.checkpoint);
      const next = this.entries.get(nextKey);
      if (next === undefined) break;
      const page = await next.page.catch(() => null);
      // Gone meanwhile: failed, or empty at the head (forgotten), so not a page to hand on.
      if (page === null || this.entries.get(nextKey) !== next) break;
      if (events.length + page.events.length > maxCount) break;
      this.markRead(name, nextKey, next, sharers);
      events = events.concat(page.events);
      last = page;
    }
    return { events, checkpoint: last.checkpoint, atHead: false, pending: last.pending };
  }

  private markRead(name: string, key: string, entry: Entry, sharers: ReadonlySet<string>): void {
    entry.readers.add(name);
    if ([...sharers].every((sharer) => entry.readers.has(sharer))) this.drop(key);
  }

  private fetch(key: string, group: string, from: Checkpoint | null, options: ReadAllOptions): Entry {
    const entry: Entry = { page: this.store.readAll(from, options), group, readers: new Set() };
    remember(this.started, key);
    // A failed read is forgotten at once, so the next reader tries again. So is an empty page that
    // reached the head: a later read from there may see more, and must not be told it is at the head.
    // A page with events that reached the head is kept: it is handed on as not at the head (serve).
    const forget = () => {
      if (this.entries.get(key) === entry) this.drop(key);
    };
    entry.page.then((page) => {
      remember(this.ended, pageKey(group, page.checkpoint));
      if (page.atHead && page.events.length === 0) forget();
    }, forget);
    this.entries.set(key, entry);
    while (this.entries.size > SHARED_PAGES_CAPACITY) this.drop(this.entries.keys().next().value!);
    return entry;
  }

  private drop(key: string): void {
    this.entries.delete(key);
    this.notify();
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** True while `name` holds capacity - 1 pages that a lined-up, slower reader still has to read. */
  private isAhead(name: string, group: string): boolean {
    const unread = [...this.entries.values()].filter((entry) => entry.group === group && entry.readers.has(name));
    if (unread.length < SHARED_PAGES_CAPACITY - 1) return false;
    return [...this.aligned].some(
      (other) => other !== name && this.groups.get(group)!.has(other) && unread.some((e) => !e.readers.has(other)),
    );
  }

  private async waitForFollowers(name: string, group: string): Promise<void> {
    const deadline = Date.now() + SHARED_PAGES_MAX_WAIT_MS;
    while (!this.closed && this.isAhead(name, group)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.waiters.add(wake);
      });
    }
  }
}
