/**
 * Moved: the one canonical JSON (RFC 8785) lives in libs/domain/src/billing/canonical-json.ts and is
 * imported from '#domain'. This re-export only keeps existing imports of this path working.
 */
export { canonicalJson, CanonicalJsonError } from '#domain';
