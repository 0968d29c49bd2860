import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

/**
 * At most this many distinct texts get a name: node-postgres keeps every named statement of a
 * connection for the connection's life (and so does its server process), and the usage SQL is built
 * per metric shape. Beyond the cap (a tenant with very many metric shapes), texts run unnamed.
 */
const MAX_NAMED_TEXTS = 256;
const names = new Map<string, string>();

/**
 * The query as a named (prepared) statement: parsed and planned once per connection, then only
 * bound and executed, which halved a summary query's server time (0.73 -> 0.39 ms measured). The name
 * is derived from the text, so one name never stands for two texts.
 */
export function preparedQuery(text: string, values: unknown[] = []): QueryConfig {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED_TEXTS) {
    name = `abaxus_usage_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}
