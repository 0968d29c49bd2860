/**
 * Stream naming. Every stream is tenant-prefixed: `<tenant>:<category>-<id>` (or `<tenant>:<category>`
 * for singletons such as `apikeys`). Tenant ids are `[a-z0-9_]` so the separator is unambiguous.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_]{0,62}$/;

export function streamName(tenantId: string, category: string, id?: string): string {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new Error(`invalid tenant id "${tenantId}"`);
  if (!/^[a-z][a-z0-9_]*$/.test(category)) throw new Error(`invalid stream category "${category}"`);
  return id === undefined ? `${tenantId}:${category}` : `${tenantId}:${category}-${id}`;
}

export function parseStreamName(stream: string): { tenantId: string; category: string; id?: string } {
  const colon = stream.indexOf(':');
  if (colon < 1) throw new Error(`stream "${stream}" has no tenant prefix`);
  const tenantId = stream.slice(0, colon);
  const rest = stream.slice(colon + 1);
  const dash = rest.indexOf('-');
  return dash < 0
    ? { tenantId, category: rest }
    : { tenantId, category: rest.slice(0, dash), id: rest.slice(dash + 1) };
}

/** The registry of all tenants lives outside any tenant. */
export const TENANTS_STREAM = '$system:tenants';
