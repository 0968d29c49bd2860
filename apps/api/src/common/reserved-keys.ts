/**
 * Keys that class-transformer would silently drop from free-form objects (metadata, properties),
 * and that no ABAXUS field uses: refused with their path instead of losing accepted data quietly.
 * (`__proto__` never gets here: the JSON parser already refuses it.)
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_SCAN_DEPTH = 32;

export function reservedKeyPaths(value: unknown, path = '', depth = 0): string[] {
  if (typeof value !== 'object' || value === null || depth > MAX_SCAN_DEPTH) return [];
  const found: string[] = [];
  for (const key of Object.keys(value)) {
    const child = Array.isArray(value) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
    if (!Array.isArray(value) && RESERVED_KEYS.has(key)) found.push(child);
    else found.push(...reservedKeyPaths((value as Record<string, unknown>)[key], child, depth + 1));
  }
  return found;
}
