import { createHash } from 'node:crypto';
import { instantKey } from '../metering';
import { Dec, toDecimalString, type DecimalString } from '../decimal';

/**
 * The checksum of a period's usage: what an invoice line cites to trace back to the raw events,
 * and what an auditor recomputes from the log. DEFINITION (version 1), bit for bit:
 *
 *   checksum = "sha256:" + lowercase hex of SHA-256 over the UTF-8 bytes of
 *     "abaxus-usage-checksum/1\n"
 *     "meter_versions:" + the applied meter versions, ascending, joined by "," + "\n"
 *     then, for every counted event (in the period, not voided, each usage id once), in the order
 *     of (timestamp, usage_id) ascending (timestamp as an instant; usage_id as lowercase uuid text):
 *       usage_id + ":" + value + "\n"
 *     where value is the event's `value` as a canonical decimal string (no exponent, no trailing
 *     fractional zeros, no "-0": "12.5", "3", "0.0000000001").
 *
 * Events that the metric's filters reject are included: the checksum covers the raw events the
 * period's usage was computed FROM, and the meter versions say how. The order is the one the
 * `usage_events` index already keeps, (ts, usage_id), so the exact path reads the lines in one pass
 * without a sort.
 */
export const USAGE_CHECKSUM_SCHEME = 'abaxus-usage-checksum/1';

export interface ChecksumEvent {
  usage_id: string;
  /** RFC 3339. */
  timestamp: string;
  value: DecimalString;
}

/** The first two lines, before the events. */
export function usageChecksumHeader(meterVersions: readonly number[]): string {
  const versions = [...meterVersions].sort((a, b) => a - b);
  return `${USAGE_CHECKSUM_SCHEME}\nmeter_versions:${versions.join(',')}\n`;
}

/** One event's line. */
export function usageChecksumLine(usageId: string, value: DecimalString): string {
  return `${usageId.toLowerCase()}:${toDecimalString(new Dec(value))}\n`;
}

/** Hex SHA-256 of the header followed by pre-built event lines, in order (the exact path streams them in). */
export function usageChecksumOf(meterVersions: readonly number[], lines: Iterable<string>): string {
  const hash = createHash('sha256').update(usageChecksumHeader(meterVersions), 'utf8');
  for (const chunk of lines) hash.update(chunk, 'utf8');
  return `sha256:${hash.digest('hex')}`;
}

/** The checksum of a set of events, computed from scratch (reference; auditors' replay). */
export function usageChecksum(meterVersions: readonly number[], events: Iterable<ChecksumEvent>): string {
  const ordered = [...events]
    .map((event) => ({ key: instantKey(event.timestamp), id: event.usage_id.toLowerCase(), value: event.value }))
    .sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return usageChecksumOf(
    meterVersions,
    ordered.map((event) => usageChecksumLine(event.id, event.value)),
  );
}
