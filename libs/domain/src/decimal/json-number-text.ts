/**
 * A number of a JSON request body that a double cannot hold as written: more than 15 to 17
 * significant digits (`1234567890.123456789`, `12345678901234567890`), beyond ±1.8e308, or so small
 * it would read as 0. JSON.parse would round it without a word. The API's JSON parser keeps its exact
 * text in one of these instead, on the routes that take it (usage events); parseDecimal reads the
 * text exactly, and anything that expects a JSON number refuses it.
 */
export class JsonNumberText {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/**
 * A JSON object as JSON.parse builds it (plain prototype): not an array, not null, and not a
 * JsonNumberText standing in for a number.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
