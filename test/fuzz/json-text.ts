/**
 * A JSON tree that can say what `JSON.stringify` cannot: numbers as written (`1e400`, `-0`, 30
 * fractional digits), duplicated keys and `__proto__` as an own key. Mutations work on this tree;
 * `toJsonText` writes it byte for byte as a hostile client would.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object as an ordered list of entries: keys may repeat and may be `__proto__`. */
export class JsonEntries {
  constructor(readonly entries: Array<[string, JsonNode]>) {}
}

export type JsonNode = null | boolean | number | string | RawJson | JsonEntries | JsonNode[];

/** Plain JSON (what a valid request body is) as a tree. */
export function toNode(value: unknown): JsonNode {
  if (Array.isArray(value)) return value.map(toNode);
  if (value instanceof RawJson || value instanceof JsonEntries) return value;
  if (typeof value === 'object' && value !== null) {
    return new JsonEntries(Object.entries(value).map(([key, child]) => [key, toNode(child)]));
  }
  return value as JsonNode;
}

/** Iterative, so 1,000 levels of nesting never overflow the test's own stack. */
export function toJsonText(root: JsonNode): string {
  const out: string[] = [];
  const stack: Array<JsonNode | { literal: string }> = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node !== null && typeof node === 'object' && 'literal' in node) out.push(node.literal);
    else if (node instanceof RawJson) out.push(node.text);
    else if (Array.isArray(node)) {
      const parts: Array<JsonNode | { literal: string }> = [{ literal: '[' }];
      node.forEach((child, index) => parts.push(...(index > 0 ? [{ literal: ',' }] : []), child));
      parts.push({ literal: ']' });
      stack.push(...parts.reverse());
    } else if (node instanceof JsonEntries) {
      const parts: Array<JsonNode | { literal: string }> = [{ literal: '{' }];
      node.entries.forEach(([key, child], index) =>
        parts.push({ literal: `${index > 0 ? ',' : ''}${JSON.stringify(key)}:` }, child),
      );
      parts.push({ literal: '}' });
      stack.push(...parts.reverse());
    } else out.push(JSON.stringify(node));
  }
  return out.join('');
}

/** A value nested `depth` levels deep in arrays or objects. */
export function nested(depth: number, leaf: JsonNode, as: 'array' | 'object'): JsonNode {
  let node = leaf;
  for (let level = 0; level < depth; level++) node = as === 'array' ? [node] : new JsonEntries([['a', node]]);
  return node;
}

export type JsonPath = Array<string | number>;

/** Every position in the tree (the root is `[]`), with the node there. */
export function positions(root: JsonNode, path: JsonPath = [], limit = 200): Array<{ path: JsonPath; node: JsonNode }> {
  const found: Array<{ path: JsonPath; node: JsonNode }> = [{ path, node: root }];
  if (Array.isArray(root)) {
    root.forEach((child, index) => found.push(...positions(child, [...path, index], limit)));
  } else if (root instanceof JsonEntries) {
    root.entries.forEach(([, child], index) => found.push(...positions(child, [...path, index], limit)));
  }
  return found.slice(0, limit);
}

/** A copy of `root` with the node at `path` replaced (entries are addressed by their index). */
export function replaceAt(root: JsonNode, path: JsonPath, replace: (node: JsonNode) => JsonNode | undefined): JsonNode {
  if (path.length === 0) return replace(root) ?? null;
  const [head, ...rest] = path as [number, ...JsonPath];
  if (Array.isArray(root)) {
    const copy = [...root];
    const next = rest.length === 0 ? replace(copy[head]) : replaceAt(copy[head], rest, replace);
    if (next === undefined) copy.splice(head, 1);
    else copy[head] = next;
    return copy;
  }
  if (root instanceof JsonEntries) {
    const copy = [...root.entries];
    const [key, child] = copy[head];
    const next = rest.length === 0 ? replace(child) : replaceAt(child, rest, replace);
    if (next === undefined) copy.splice(head, 1);
    else copy[head] = [key, next];
    return new JsonEntries(copy);
  }
  return root;
}

/** The field name of a path in the API's terms (`charges.0.amount`), for messages. */
export function fieldName(root: JsonNode, path: JsonPath): string {
  const names: string[] = [];
  let node = root;
  for (const step of path) {
    if (node instanceof JsonEntries) {
      const [key, child] = node.entries[step as number];
      names.push(key);
      node = child;
    } else if (Array.isArray(node)) {
      names.push(String(step));
      node = node[step as number];
    }
  }
  return names.join('.');
}
