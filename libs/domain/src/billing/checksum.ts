import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** `sha256:` followed by 64 lowercase hex digits. */
export type Checksum = string;

export const CHECKSUM_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * SHA-256 of the RFC 8785 canonical JSON of `value`, as `sha256:<hex>`. node:crypto is computation,
 * not I/O, so the domain may use it. Whoever holds the same inputs and outputs (an auditor replaying
 * the log) gets the same checksum, whatever the key order of their copy.
 */
export function checksumOf(value: unknown): Checksum {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}

export function isChecksum(value: unknown): value is Checksum {
  return typeof value === 'string' && CHECKSUM_PATTERN.test(value);
}
