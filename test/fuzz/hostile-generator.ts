import fc from 'fast-check';
import {
  JsonEntries,
  type JsonNode,
  type JsonPath,
  RawJson,
  fieldName,
  nested,
  positions,
  replaceAt,
  toJsonText,
  toNode,
} from './json-text';

/*
 * The hostile inputs of issue #6, as fast-check arbitraries: values (wrong types, huge numbers,
 * 1e400, NaN strings, negative zero, 30 fractional digits, 1 MB strings, lone surrogates and NUL,
 * SQL fragments, timestamps without a zone or far in the future), mutations of a valid body (drop a
 * field, add an unknown one, reserved keys at any depth, duplicated keys, 1,000 levels of nesting),
 * raw-byte bodies (invalid UTF-8, truncated JSON, wrong content types) and hostile path/query values.
 */

export const ONE_MB = 1_048_576;

const SQL = [
  "'; DROP TABLE events; --",
  "1' OR '1'='1",
  '$$; SELECT pg_sleep(10); $$',
  '\\',
  '%_%',
  "E'\\x00'",
  '1; DELETE FROM usage_idempotency',
];
const TIMESTAMPS = [
  '2026-01-01T00:00:00', // no zone
  '2026-01-01',
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:00.1234567890Z',
  '2026-01-01T00:00:00+25:00',
  '1970-01-01T00:00:00Z',
  'now',
];
const NUMBER_STRINGS = ['NaN', 'Infinity', '-Infinity', '1e400', '-0', '-0.0', '0x10', '1_000', ' 1 ', '1e-400'];
const DECIMALS = ['0.123456789012345678901234567890', '123456789012345678901234567890', '-1', '9'.repeat(400)];
const RAW_NUMBERS = ['1e400', '-1e400', '-0', '0.123456789012345678901234567890', '123456789012345678901234567890'];
const STRINGS = ['', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u202e', '😀'.repeat(100), '\n', '<script>'];

/** One hostile JSON value (a leaf or a shallow structure). */
export const hostileValue: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom<JsonNode>(null, true, false, 0, -1, 1.5, [], new JsonEntries([]), [1, 'a'], Number.MAX_VALUE),
  fc.constantFrom(...SQL, ...TIMESTAMPS, ...NUMBER_STRINGS, ...DECIMALS, ...STRINGS),
  fc.constantFrom(...RAW_NUMBERS).map((text) => new RawJson(text)),
  fc.constantFrom(10_000, ONE_MB - 4096, ONE_MB + 10).map((length) => 'a'.repeat(length)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double().map((value) => (Number.isFinite(value) ? value : new RawJson('1e400'))),
);

const RESERVED = ['__proto__', 'constructor', 'prototype'] as const;
const unknownName = fc.oneof(fc.constantFrom('unknown_field', 'id2', 'tenant_id', 'Value', '$where'), fc.string());

export interface Mutation {
  /** What was done, for the counterexample. */
  label: string;
  /** The API must refuse it whatever the endpoint's rules (a 2xx is a defect). */
  mustReject: boolean;
  apply(body: JsonNode, required: readonly string[]): JsonNode;
}

function objectPositions(body: JsonNode): Array<{ path: JsonPath; node: JsonEntries }> {
  return positions(body).filter((p): p is { path: JsonPath; node: JsonEntries } => p.node instanceof JsonEntries);
}

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), value: hostileValue }).map(({ at, value }): Mutation => ({
    label: `replace #${at} by ${describe(value)}`,
    mustReject: false,
    apply: (body) => {
      const target = pick(positions(body).slice(1), at);
      return target ? replaceAt(body, target.path, () => value) : body;
    },
  })),
  fc.nat().map((at): Mutation => ({
    label: `drop field #${at}`,
    // Dropping a required top-level field always fails; any other drop may leave a valid body.
    mustReject: false,
    apply: (body) => {
      const target = pick(
        positions(body).filter((p) => p.path.length > 0),
        at,
      );
      return target ? replaceAt(body, target.path, () => undefined) : body;
    },
  })),
  fc.constantFrom(0, 1, 2, 3, 4, 5).map((at): Mutation => ({
    label: `drop required field #${at}`,
    mustReject: true,
    apply: (body, required) => {
      const name = pick(required, at);
      if (!(body instanceof JsonEntries) || name === undefined) return new RawJson('');
      return new JsonEntries(body.entries.filter(([key]) => key !== name));
    },
  })),
  fc.record({ name: unknownName, value: hostileValue }).map(({ name, value }): Mutation => ({
    label: `unknown top-level field ${JSON.stringify(name)}`,
    mustReject: true,
    apply: (body, required) => {
      if (!(body instanceof JsonEntries) || required.includes(name)) return new RawJson('{');
      const known = new Set(body.entries.map(([key]) => key));
      return new JsonEntries([...body.entries, [known.has(name) ? `${name}_x` : name, value]]);
    },
  })),
  fc
    .record({ at: fc.nat(), key: fc.constantFrom(...RESERVED), value: hostileValue })
    .map(({ at, key, value }): Mutation => ({
      label: `reserved key ${key} in object #${at}`,
      mustReject: true,
      apply: (body) => {
        const target = pick(objectPositions(body), at);
        if (!target) return body;
        return replaceAt(
          body,
          target.path,
          (node) => new JsonEntries([...(node as JsonEntries).entries, [key, value]]),
        );
      },
    })),
  fc.record({ at: fc.nat(), value: hostileValue }).map(({ at, value }): Mutation => ({
    label: `duplicated key (second value ${describe(value)}) in object #${at}`,
    mustReject: false,
    apply: (body) => {
      const target = pick(
        objectPositions(body).filter((p) => p.node.entries.length > 0),
        at,
      );
      if (!target) return body;
      return replaceAt(body, target.path, (node) => {
        const entries = (node as JsonEntries).entries;
        return new JsonEntries([...entries, [entries[at % entries.length][0], value]]);
      });
    },
  })),
  fc
    .record({ at: fc.nat(), as: fc.constantFrom<'array' | 'object'>('array', 'object') })
    .map(({ at, as }): Mutation => ({
      label: `1,000 levels of ${as}s at #${at}`,
      mustReject: false,
      apply: (body) => {
        const target = pick(positions(body).slice(1), at);
        return target ? replaceAt(body, target.path, () => nested(1000, 1, as)) : nested(1000, 1, as);
      },
    })),
  hostileValue
    .filter((value) => !(value instanceof JsonEntries))
    .map((value): Mutation => ({ label: `body replaced by ${describe(value)}`, mustReject: true, apply: () => value })),
);

function describe(value: JsonNode): string {
  const text = toJsonText(value);
  return text.length > 60 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
}

export interface HostileBody {
  label: string;
  mustReject: boolean;
  contentType: string;
  bytes: Buffer;
  /** The field a validation error should name, when there is one obvious culprit. */
  field?: string;
}

/** 1 to 3 mutations of the endpoint's valid body. */
export function mutatedBody(valid: unknown, required: readonly string[]): fc.Arbitrary<HostileBody> {
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    let node = toNode(valid);
    // The must-reject steps last, so a later drop or replace cannot undo them (an unknown field dropped again).
    const ordered = [...mutations].sort((a, b) => Number(a.mustReject) - Number(b.mustReject));
    for (const step of ordered) node = step.apply(node, required);
    return {
      label: ordered.map((step) => step.label).join(' + '),
      mustReject: mutations.some((step) => step.mustReject),
      contentType: 'application/json',
      bytes: Buffer.from(toJsonText(node), 'utf8'),
    };
  });
}

/** Bodies no parser should take: bad bytes, bad JSON, wrong or lying content types. */
export function rawBody(valid: unknown): fc.Arbitrary<HostileBody> {
  const text = JSON.stringify(valid ?? {});
  const json = (label: string, bytes: Buffer, contentType = 'application/json'): HostileBody => ({
    label,
    mustReject: true,
    contentType,
    bytes,
  });
  const firstString = text.indexOf(':"');
  const withBytes = (bytes: readonly number[]) =>
    firstString < 0
      ? Buffer.concat([Buffer.from('{"x":"'), Buffer.from([...bytes]), Buffer.from('"}')])
      : Buffer.concat([
          Buffer.from(text.slice(0, firstString + 2)),
          Buffer.from([...bytes]),
          Buffer.from(text.slice(firstString + 2)),
        ]);
  return fc.oneof(
    fc
      .constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82])
      .map((bytes) => json(`invalid UTF-8 ${Buffer.from([...bytes]).toString('hex')}`, withBytes(bytes))),
    fc
      .nat({ max: Math.max(text.length - 1, 0) })
      .map((cut) => json(`truncated at ${cut}`, Buffer.from(text.slice(0, cut)))),
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json-patch+json',
        'application/jsonx',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        '*/*',
        '',
        'application/json, text/plain',
      )
      .map((contentType) => json(`content type ${JSON.stringify(contentType)}`, Buffer.from(text), contentType)),
    fc
      .constantFrom('', ' ', 'null', '[]', '"x"', '1', 'true', 'NaN', '{"a":1}{}', `${text}garbage`)
      .map((body) => json(`body ${JSON.stringify(body.slice(0, 30))}`, Buffer.from(body))),
    // RFC 8259 lets a parser ignore a byte order mark: accepting one is not a defect.
    fc.constant({
      ...json('UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
      mustReject: false,
    }),
    fc.constant(json('UTF-16LE body', Buffer.from(text, 'utf16le'))),
    fc.constant(json('2 MB body', Buffer.from(`{"x":"${'a'.repeat(2 * ONE_MB)}"}`))),
  );
}

/** A hostile path parameter (already encoded for the URL). */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '..%2F..%2Fadmin',
    '%2e%2e%2f',
    '%00',
    'a%00b',
    '%ff',
    '%',
    '%E2%82',
    encodeURIComponent("' OR 1=1 --"),
    encodeURIComponent('1; DROP TABLE events'),
    '__proto__',
    'constructor',
    '%20',
    encodeURIComponent('😀'),
    encodeURIComponent('\ud800'.replace(/./, 'x')),
    '-1',
    '0',
    '1e400',
    'NaN',
    '9'.repeat(40),
  ),
  fc.constantFrom(200, 5_000, 20_000, ONE_MB).map((length) => 'a'.repeat(length)),
  fc
    .string({ unit: 'binary', maxLength: 30 })
    .map((value) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, 'x'))),
);

/** A hostile query-string value (raw, the caller encodes it or not). */
export const hostileQueryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...SQL,
    ...TIMESTAMPS,
    ...NUMBER_STRINGS,
    ...DECIMALS,
    '',
    '-1',
    '0',
    '1.5',
    '10000',
    'true',
    '[]',
    '{}',
  ),
  fc.constantFrom('__proto__', 'constructor', 'undefined', 'null', '%00', '%ff', '\u0000'),
  fc.constantFrom(200, 10_000).map((length) => 'a'.repeat(length)),
  fc.string({ maxLength: 20 }),
);

export { fieldName };
