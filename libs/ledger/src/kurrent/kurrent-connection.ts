/**
 * Connection strings the KurrentDB client understands: `kurrentdb://`, `kurrent://`, `kdb://` and
 * the legacy `esdb://`, each optionally `+discover` (DNS / gossip cluster discovery).
 */
const KURRENT_SCHEME = /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\//i;

export class InvalidEventStoreUrlError extends Error {
  readonly code = 'EVENT_STORE.INVALID_URL';
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`invalid event store URL "${redactConnectionString(url)}": ${reason}`);
    this.name = 'InvalidEventStoreUrlError';
  }
}

export function isKurrentConnectionString(url: string): boolean {
  return KURRENT_SCHEME.test(url.trim());
}

/** Connection strings may carry `user:password@`: never let the password reach a log or an error. */
export function redactConnectionString(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/**
 * Checks the shape the client cannot explain well (scheme, at least one host, numeric ports) and
 * rewrites the deprecated `esdb` scheme to `kurrentdb`: same meaning, and the client would
 * otherwise print a deprecation warning on every start.
 */
export function normalizeKurrentConnectionString(url: string): string {
  const trimmed = url.trim();
  const scheme = KURRENT_SCHEME.exec(trimmed);
  if (!scheme) {
    throw new InvalidEventStoreUrlError(
      url,
      'expected kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://',
    );
  }
  const rest = trimmed.slice(scheme[0].length);
  const authority = rest.split(/[/?#]/, 1)[0];
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts === '') throw new InvalidEventStoreUrlError(url, 'no host');
  for (const host of hosts.split(',')) {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(host);
    if (!match || (match[2] !== undefined && Number(match[2]) > 65535)) {
      throw new InvalidEventStoreUrlError(url, `bad host "${host}" (expected host or host:port)`);
    }
  }
  const protocol = scheme[1].toLowerCase() === 'esdb' ? 'kurrentdb' : scheme[1].toLowerCase();
  return `${protocol}${scheme[2] ?? ''}://${rest}`;
}
