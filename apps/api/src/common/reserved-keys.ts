import type { FieldError } from './problems/api-problem';

/**
 * Keys that class-transformer would silently drop from free-form objects (metadata, properties),
 * and that no ABAXUS field uses: refused with their path instead of losing accepted data quietly.
 * (`__proto__` never gets here: the JSON parser already refuses it.)
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** No ABAXUS request nests deeper than a handful of levels (charges[].tiers[].up_to is 3). */
export const MAX_INPUT_DEPTH = 32;
/**
 * NUL cannot be stored by PostgreSQL (text or jsonb: the write fails, a 500), and an unpaired UTF-16
 * surrogate cannot be encoded as UTF-8 (it would be stored as U+FFFD, not as sent).
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_MESSAGE = 'must not contain NUL or unpaired surrogate characters';

export function reservedKeyPaths(value: unknown): string[] {
  return unsafeInput(value)
    .filter((error) => error.message === RESERVED_MESSAGE)
    .map((error) => error.field);
}
const RESERVED_MESSAGE = 'reserved key not allowed';

const childPath = (path: string, key: string, inArray: boolean) =>
  inArray ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/**
 * What no request may carry anywhere, with the path of each: reserved keys, strings (values or
 * keys) PostgreSQL cannot store as sent, and nesting deeper than MAX_INPUT_DEPTH (refused whole, so
 * nothing below it goes unchecked). Iterative: a body nested 100,000 levels deep cannot overflow it.
 */
export function unsafeInput(value: unknown, root = ''): FieldError[] {
  const found: FieldError[] = [];
  const stack: Array<{ node: unknown; path: string; depth: number }> = [{ node: value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (typeof node === 'string') {
      if (UNSTORABLE.test(node)) found.push({ field: path, message: UNSTORABLE_MESSAGE });
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_INPUT_DEPTH) {
      found.push({ field: path, message: `nested deeper than ${MAX_INPUT_DEPTH} levels` });
      continue;
    }
    const inArray = Array.isArray(node);
    const children: typeof stack = [];
    for (const key of Object.keys(node)) {
      const child = childPath(path, key, inArray);
      if (!inArray && RESERVED_KEYS.has(key)) found.push({ field: child, message: RESERVED_MESSAGE });
      else if (!inArray && UNSTORABLE.test(key)) found.push({ field: child, message: UNSTORABLE_MESSAGE });
      else children.push({ node: (node as Record<string, unknown>)[key], path: child, depth: depth + 1 });
    }
    // Depth first, in document order: the errors read like the body.
    stack.push(...children.reverse());
  }
  return found;
}
