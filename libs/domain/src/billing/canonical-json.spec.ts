import fc from 'fast-check';
import { Dec } from '../decimal';
import { canonicalJson, CanonicalJsonError } from './canonical-json';
import { checksumOf, isChecksum } from './checksum';

function refusal(value: unknown): CanonicalJsonError {
  try {
    canonicalJson(value);
  } catch (error) {
    if (error instanceof CanonicalJsonError) return error;
    throw error;
  }
  throw new Error('expected a CanonicalJsonError');
}

/** An IEEE 754 double from its 16 hex digits, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('canonicalizes the example of section 3.2.2 byte for byte', () => {
    // The RFC's input text, parsed as any JSON reader would.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (section 3.2.3), not by code points or locale', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    // (Checked on the text: parsing it back would put the integer-like key "1" first, as JS objects do.)
    // The emoji (a surrogate pair, 0xD83D…) sorts before U+FB33 although its code point is larger.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serializes the double %s as %s (Appendix B)', (hex, expected) => {
    expect(canonicalJson(double(hex))).toBe(expected);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
    ['fff0000000000000', '-Infinity'],
  ])('refuses the double %s (%s): JSON has no such number', (hex) => {
    expect(refusal({ a: [double(hex)] })).toMatchObject({ code: 'CANONICAL_JSON.UNSUPPORTED_VALUE', path: '/a/0' });
  });

  it('escapes exactly the characters JSON requires, in lowercase hex', () => {
    expect(canonicalJson('\u0000\u0008\u0009\u000a\u000c\u000d\u001f"\\/\u007f\u2028')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u2028"',
    );
  });

  it('refuses lone surrogates (RFC 8785 3.2.2.2) but keeps surrogate pairs', () => {
    expect(refusal({ name: 'a\ud800b' }).path).toBe('/name');
    expect(refusal({ ['\udead']: 1 })).toBeInstanceOf(CanonicalJsonError);
    expect(canonicalJson('\ud83d\ude00')).toBe('"😀"');
  });

  it('follows JSON.stringify for JS values: toJSON, undefined members, undefined array items', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(canonicalJson({ b: undefined, a: at, c: [undefined, () => 1], d: new Dec('1.50') })).toBe(
      '{"a":"2026-01-02T03:04:05.000Z","c":[null,null],"d":"1.5"}',
    );
    expect(canonicalJson(Object.assign(Object.create(null) as object, { z: 1, y: 2 }))).toBe('{"y":2,"z":1}');
    // Fastify's route params are instances of a constructor whose prototype has no prototype (find-my-way).
    function NullObject() {}
    NullObject.prototype = Object.create(null) as object;
    const params = Object.assign(new (NullObject as unknown as new () => object)(), { id: 'inv_1' });
    expect(canonicalJson({ params })).toBe('{"params":{"id":"inv_1"}}');
  });

  it.each<[string, unknown]>([
    ['a bigint', { amount: 10n }],
    ['a Map', { m: new Map([['a', 1]]) }],
    ['a class instance without toJSON', { x: new (class Point {})() }],
    ['undefined at the root', undefined],
  ])('refuses %s instead of writing something else', (_label, value) => {
    expect(refusal(value)).toBeInstanceOf(CanonicalJsonError);
  });

  it('refuses cycles, while shared (acyclic) references are fine', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refusal(cyclic).path).toBe('/self');
  });

  // Any JSON document: what an auditor parses back out of the event store.
  const jsonArb = fc.jsonValue({ depthSize: 'small' });

  it('is a fixed point: parsing canonical text and canonicalizing again gives the same text (property)', () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('ignores member order at every level, and tells different values apart (property)', () => {
    const reorder = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reorder);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reorder(v)]),
      );
    };
    fc.assert(
      fc.property(jsonArb, jsonArb, (a, b) => {
        expect(canonicalJson(reorder(a))).toBe(canonicalJson(a));
        const same = JSON.stringify(JSON.parse(canonicalJson(a))) === JSON.stringify(JSON.parse(canonicalJson(b)));
        expect(canonicalJson(a) === canonicalJson(b)).toBe(same);
      }),
    );
  });
});

describe('checksumOf', () => {
  it('is sha256 over the canonical UTF-8 text', () => {
    // sha256("{}") and sha256('{"a":"€"}'), computed independently (sha256sum).
    expect(checksumOf({})).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(checksumOf({ a: '€' })).toBe('sha256:db8566e7dc218a6795f689fe26667214b263a2443d9966d00742cbd38019c33e');
    expect(checksumOf({ a: '€' })).toBe(checksumOf(JSON.parse('{ "a" : "\\u20ac" }')));
    expect(isChecksum(checksumOf([1, 'x']))).toBe(true);
  });

  it('does not depend on key order, and changes with any value', () => {
    expect(checksumOf({ b: '1', a: ['x', { d: 2, c: 1 }] })).toBe(checksumOf({ a: ['x', { c: 1, d: 2 }], b: '1' }));
    expect(checksumOf({ amount: '1.00' })).not.toBe(checksumOf({ amount: '1.0' }));
  });
});
