import { createHash } from 'node:crypto';
import type { LedgerEntryKind } from './ledger-entry';

/**
 * A UUID (version 8, RFC 9562) derived from a name: the same name always gives the same id. Used as
 * the event id of facts that must be recorded once, so a second append of the same fact (a retry, a
 * catching-up poster, a concurrent replica) is a no-op in the event store.
 */
export function nameBasedUuid(name: string): string {
  const bytes = createHash('sha256').update(`abaxus:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The entry id of a fact: derived from (tenant, kind, reference), so posting the fact twice posts once. */
export function ledgerEntryId(tenantId: string, kind: LedgerEntryKind, reference: string): string {
  return nameBasedUuid(`ledger:${tenantId}:${kind}:${reference}`);
}
