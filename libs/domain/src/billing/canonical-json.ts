/**
 * The JSON Canonicalization Scheme (RFC 8785, "JCS"): the one way ABAXUS turns a value into bytes
 * before hashing it (invoice and calculation checksums, idempotency request hashes). Equal values
 * give equal text whatever their key order, so an auditor who re-reads an event from the log and
 * canonicalizes it gets the checksum we computed before storing it.
 *
 * - Object members sorted by key, comparing UTF-16 code units (RFC 8785 3.2.3; JS `<` on strings).
 * - No whitespace. Strings as ECMAScript JSON.stringify writes them (RFC 8785 3.2.2.2: `\b \t \n \f
 *   \r \" \\`, other controls as lowercase `\u00xx`, everything else literal, `/` unescaped).
 * - Numbers as ECMAScript's Number#toString (RFC 8785 3.2.2.3), `-0` as `0`. Money, quantities and
 *   prices never reach here as numbers: they are decimal strings (libs/domain README).
 *
 * JS values follow JSON.stringify exactly, so canonicalJson(x) = canonicalJson(JSON.parse(JSON.stringify(x))):
 * `toJSON` is honoured (Date, Decimal), object members that are undefined, functions or symbols are
 * left out, and in arrays they become null. Where JSON.stringify would silently write something else
 * than the value, this refuses with CanonicalJsonError instead: NaN and ±Infinity (written as null),
 * lone surrogates (RFC 8785 requires an error), bigint, cycles, and objects that are neither arrays
 * nor plain objects (a Map would be written as {}).
 */
export class CanonicalJsonError extends Error {
  readonly code = 'CANONICAL_JSON.UNSUPPORTED_VALUE';
  constructor(
    /** JSON-pointer-like path of the value at fault ("/lines/2/amount"; "" for the root). */
    readonly path: string,
    reason: string,
  ) {
    super(`cannot canonicalize ${path === '' ? 'the value' : path}: ${reason}`);
    this.name = 'CanonicalJsonError';
  }
}

// With the `u` flag a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function canonicalJson(value: unknown): string {
  const text = serialize(value, '', new Set());
  if (text === undefined) throw new CanonicalJsonError('', `${typeof value} is not JSON`);
  return text;
}

/** undefined: "leave this member out" (JSON.stringify's rule for undefined, functions and symbols). */
function serialize(input: unknown, path: string, ancestors: Set<object>): string | undefined {
  const value = withToJson(input, path);
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${String(value)} is not a JSON number`);
      // Number#toString is the ECMAScript serialisation RFC 8785 adopts; it already writes -0 as "0".
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new CanonicalJsonError(path, 'bigint has no JSON form (use a decimal string)');
    case 'object':
      if (value === null) return 'null';
      return serializeContainer(value, path, ancestors);
    default:
      throw new CanonicalJsonError(path, `unsupported type ${typeof value}`);
  }
}

function withToJson(value: unknown, path: string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') return value;
  const key = path.slice(path.lastIndexOf('/') + 1);
  return (toJSON as (key: string) => unknown).call(value, unescapePointer(key));
}

function serializeString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value))
    throw new CanonicalJsonError(path, 'string holds a lone surrogate (not Unicode text)');
  return JSON.stringify(value);
}

function serializeContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new CanonicalJsonError(path, 'circular reference');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.map((item, index) => serialize(item, `${path}/${index}`, ancestors) ?? 'null');
      return `[${items.join(',')}]`;
    }
    if (!isRecord(value)) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new CanonicalJsonError(path, `${name} is not a plain object (convert it to one, or give it toJSON)`);
    }
    const members: string[] = [];
    for (const key of Object.keys(value).sort(compareCodeUnits)) {
      const member = serialize((value as Record<string, unknown>)[key], `${path}/${escapePointer(key)}`, ancestors);
      if (member !== undefined) members.push(`${serializeString(key, path)}:${member}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A record of members, not an instance of some class: every prototype up the chain is
 * Object.prototype or has no constructor of its own. (Null-prototype dictionaries qualify, including
 * Fastify's route params, an instance of find-my-way's NullObject; a Map or a class instance does not.)
 */
function isRecord(value: object): boolean {
  for (let prototype = Object.getPrototypeOf(value) as object | null; prototype !== null;) {
    if (prototype === Object.prototype) return true;
    if (Object.prototype.hasOwnProperty.call(prototype, 'constructor')) return false;
    prototype = Object.getPrototypeOf(prototype) as object | null;
  }
  return true;
}

/** RFC 8785 3.2.3: keys compared as arrays of UTF-16 code units, which is what `<` does on JS strings. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
