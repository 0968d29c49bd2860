/**
 * Reads of the usage read model, kept while it stays the same: each entry carries the stamp (live
 * build and checkpoint, see measureUsageState) it was loaded at, and a lookup with another stamp
 * loads again. A load starts after its stamp was measured, so an entry is never older than its
 * stamp. A dashboard polling a summary while no usage arrives costs one catalog read per poll.
 */
export class StampedCache<T> {
  private readonly entries = new Map<string, { stamp: string; value: Promise<T> }>();

  /** `capacity`: entries kept; the oldest written goes first. */
  constructor(private readonly capacity = 10_000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  /** The entry of `key` if it was loaded at `stamp`, else `load()` (kept unless it fails). Null stamp: never kept. */
  get(key: string, stamp: string | null, load: () => Promise<T>): Promise<T> {
    if (stamp === null) return load();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.stamp === stamp) return hit.value;
    const value = load();
    this.entries.delete(key); // re-inserted last: the eviction order is the write order
    this.entries.set(key, { stamp, value });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
