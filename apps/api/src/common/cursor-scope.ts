import { hash } from 'node:crypto';
import { canonicalJson } from '#domain';

/**
 * What a cursor continues: the list, the tenant and the filters that chose its rows (not `limit`,
 * which may change from page to page). Every cursor carries its scope (64 bits of a SHA-256), so a
 * cursor of one list or one set of filters is refused on another instead of paging it from a
 * position that means nothing there. Cursors issued before scopes existed carry none and are taken.
 * No Nest here: the CLI's audit log pages with it too.
 */
export function listScope(list: string, tenantId: string | undefined, filters: Record<string, unknown> = {}): string {
  return hash('sha256', canonicalJson([list, tenantId ?? null, filters])).slice(0, 16);
}

export const NOT_A_CURSOR = 'not a cursor returned by this list';
const OTHER_QUERY_CURSOR =
  'returned by another list or with other filters: a cursor continues only the query that returned it';

/** A cursor's scope against the query's: null when it may continue this query, else the error message. */
export function cursorScopeError(cursorScope: unknown, scope: string): string | null {
  return cursorScope === undefined || cursorScope === scope ? null : OTHER_QUERY_CURSOR;
}
