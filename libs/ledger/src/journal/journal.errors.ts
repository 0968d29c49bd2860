import type { FieldError } from '#domain';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type JournalErrorCode =
  /** Debits and credits differ: the entry is never written. */
  | 'JOURNAL.UNBALANCED'
  /** A line amount that is not positive money in the entry's currency. */
  | 'JOURNAL.INVALID_AMOUNT'
  /** A line in another currency than its entry. */
  | 'JOURNAL.MIXED_CURRENCY'
  | 'JOURNAL.INVALID_ENTRY'
  /** Another entry was already posted under this entry id (same fact, different content). */
  | 'JOURNAL.ENTRY_CONFLICT';

export class JournalError extends Error {
  constructor(
    readonly code: JournalErrorCode,
    message: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'JournalError';
  }
}
