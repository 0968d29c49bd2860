import type { Projection } from './projection';

/**
 * Naming of a projection's builds. A build is one filling of a projection version's tables from
 * position 0: build 0 of version v owns `<logical>__v<v>`, a forced rebuild n of the same version owns
 * `<logical>__v<v>_r<n>`. The view `<logical>` points at the live build.
 */
export interface BuildKey {
  readonly name: string;
  readonly version: number;
  readonly build: number;
}

/** PostgreSQL truncates longer identifiers silently, which would make two builds collide. */
const MAX_IDENTIFIER_LENGTH = 63;
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;
/** Tables owned by migrations: a projection's view must never replace them. */
const RESERVED_TABLES = new Set(['events', 'streams', 'projections', 'schema_migrations']);
/** Room left for `_r<build>` so forced rebuilds cannot push a name over the limit. */
const BUILD_SUFFIX_RESERVE = 6;

export function physicalTableName(logical: string, version: number, build: number): string {
  const name = build === 0 ? `${logical}__v${version}` : `${logical}__v${version}_r${build}`;
  if (name.length > MAX_IDENTIFIER_LENGTH) {
    throw new Error(`table name ${name} is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  }
  return name;
}

export function buildLabel(key: BuildKey): string {
  return key.build === 0 ? `${key.name}@v${key.version}` : `${key.name}@v${key.version}_r${key.build}`;
}

/** Double-quoted identifier; names are validated already, quoting keeps the SQL unambiguous. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function validateProjection(projection: Projection): void {
  const { name, version, tables } = projection;
  if (!IDENTIFIER.test(name)) throw new Error(`projection name "${name}" must match ${IDENTIFIER}`);
  if (!Number.isInteger(version) || version < 1) {
    throw new Error(`projection ${name}: version must be an integer >= 1, got ${String(version)}`);
  }
  const logicals = Object.keys(tables);
  if (logicals.length === 0) throw new Error(`projection ${name}: declares no tables`);
  for (const logical of logicals) {
    if (!IDENTIFIER.test(logical) || logical.includes('__')) {
      throw new Error(`projection ${name}: table "${logical}" must match ${IDENTIFIER} without "__"`);
    }
    if (RESERVED_TABLES.has(logical)) throw new Error(`projection ${name}: table name "${logical}" is reserved`);
    const longest = physicalTableName(logical, version, 0).length + BUILD_SUFFIX_RESERVE;
    if (longest > MAX_IDENTIFIER_LENGTH) {
      throw new Error(`projection ${name}: table name "${logical}" leaves no room for version suffixes`);
    }
  }
}

/** Names and logical tables must be unique across the projections one runner serves. */
export function validateProjectionSet(projections: readonly Projection[]): void {
  const names = new Set<string>();
  const owners = new Map<string, string>();
  for (const projection of projections) {
    validateProjection(projection);
    if (names.has(projection.name)) throw new Error(`projection ${projection.name} is registered twice`);
    names.add(projection.name);
    for (const logical of Object.keys(projection.tables)) {
      const owner = owners.get(logical);
      if (owner !== undefined) {
        throw new Error(`table "${logical}" is declared by both ${owner} and ${projection.name}`);
      }
      owners.set(logical, projection.name);
    }
  }
}
