import type { PoolClient } from 'pg';
import {
  PLAN_EVENT_TYPES,
  evolvePlan,
  latestPublishedVersion,
  openDraft,
  type Plan,
  type PlanEvent,
  type PlanVersion,
} from '#domain';
import type { Projection } from '#ledger';
import { foldByStream, type FoldedEntity } from './stream-fold';

/**
 * `price_plans`: one row per plan, `plan` holding it exactly as GET /v1/price-plans/:key shows it
 * (lists page by (tenant_id, key), the primary key). `price_plan_versions`: one row per version with
 * its content in columns, for SQL that prices by plan version (billing, reports). Rows are folded
 * with the domain's evolvePlan and carry their stream revision (see foldByStream), so replays and
 * overlapping batches change nothing. Published versions never change, so neither do their rows.
 */
export const plansProjection: Projection = {
  name: 'price_plans',
  // 2: `name` is the latest published version's (the draft's before any), as the API shows it.
  version: 2,
  eventTypes: PLAN_EVENT_TYPES,
  tables: {
    // COLLATE "C": keys page in byte order, the order the primary key index serves.
    price_plans: (t) => `
      CREATE TABLE ${t} (
        tenant_id         text              NOT NULL,
        key               text COLLATE "C"  NOT NULL,
        name              text              NOT NULL,
        latest_version    integer           NOT NULL,
        published_version integer,
        draft_version     integer,
        plan              jsonb             NOT NULL,
        created_at        timestamptz       NOT NULL,
        archived_at       timestamptz,
        stream_revision   integer           NOT NULL,
        PRIMARY KEY (tenant_id, key)
      );`,
    price_plan_versions: (t) => `
      CREATE TABLE ${t} (
        tenant_id          text              NOT NULL,
        key                text COLLATE "C"  NOT NULL,
        version            integer           NOT NULL,
        status             text              NOT NULL CHECK (status IN ('draft', 'published')),
        name               text              NOT NULL,
        currency           text              NOT NULL,
        billing_interval   text              NOT NULL,
        charges            jsonb             NOT NULL,
        minimum_commitment numeric(20, 10),
        entitlements       jsonb             NOT NULL,
        created_at         timestamptz       NOT NULL,
        updated_at         timestamptz       NOT NULL,
        published_at       timestamptz,
        PRIMARY KEY (tenant_id, key, version)
      );`,
  },
  async apply(events, { client, table }) {
    const changed = await foldByStream<Plan>({
      events,
      idOf: (event) => (event.data as { plan_key?: unknown } | null)?.plan_key,
      load: (tenantIds, keys) => loadPlans(client, table('price_plans'), tenantIds, keys),
      evolve: (plan, event) => evolvePlan(plan, { type: event.type, data: event.data } as PlanEvent),
    });
    if (changed.length === 0) return;
    await writePlans(client, table('price_plans'), changed);
    await writeVersions(client, table('price_plan_versions'), changed);
  },
};

async function loadPlans(
  client: PoolClient,
  plans: string,
  tenantIds: string[],
  keys: string[],
): Promise<Array<FoldedEntity<Plan>>> {
  const { rows } = await client.query<{ tenant_id: string; key: string; plan: Plan; stream_revision: number }>(
    `SELECT p.tenant_id, p.key, p.plan, p.stream_revision FROM ${plans} p
       JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, key) ON p.tenant_id = wanted.tenant_id AND p.key = wanted.key`,
    [tenantIds, keys],
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, id: row.key, value: row.plan, revision: row.stream_revision }));
}

async function writePlans(client: PoolClient, plans: string, changed: Array<FoldedEntity<Plan>>): Promise<void> {
  const latest = (plan: Plan) => plan.versions[plan.versions.length - 1];
  await client.query(
    `INSERT INTO ${plans} (tenant_id, key, name, latest_version, published_version, draft_version, plan, created_at,
                           archived_at, stream_revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::jsonb[],
                          $8::timestamptz[], $9::timestamptz[], $10::int[])
     ON CONFLICT (tenant_id, key) DO UPDATE SET
       name = EXCLUDED.name, latest_version = EXCLUDED.latest_version, published_version = EXCLUDED.published_version,
       draft_version = EXCLUDED.draft_version, plan = EXCLUDED.plan, archived_at = EXCLUDED.archived_at,
       stream_revision = EXCLUDED.stream_revision`,
    [
      changed.map((e) => e.tenantId),
      changed.map((e) => e.value.key),
      changed.map((e) => (latestPublishedVersion(e.value) ?? latest(e.value)).name),
      changed.map((e) => latest(e.value).version),
      changed.map((e) => latestPublishedVersion(e.value)?.version ?? null),
      changed.map((e) => openDraft(e.value)?.version ?? null),
      changed.map((e) => JSON.stringify(e.value)),
      changed.map((e) => e.value.created_at),
      changed.map((e) => e.value.archived_at),
      changed.map((e) => e.revision),
    ],
  );
}

/**
 * Every version of each changed plan. A published row is written once with the content the
 * PlanVersionPublished event locked, and never updated again (WHERE: only drafts change).
 */
async function writeVersions(client: PoolClient, versions: string, changed: Array<FoldedEntity<Plan>>): Promise<void> {
  const rows: Array<{ tenantId: string; key: string; version: PlanVersion }> = changed.flatMap((e) =>
    e.value.versions.map((version) => ({ tenantId: e.tenantId, key: e.value.key, version })),
  );
  await client.query(
    `INSERT INTO ${versions} (tenant_id, key, version, status, name, currency, billing_interval, charges,
                              minimum_commitment, entitlements, created_at, updated_at, published_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
                          $9::numeric[], $10::jsonb[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
     ON CONFLICT (tenant_id, key, version) DO UPDATE SET
       status = EXCLUDED.status, name = EXCLUDED.name, currency = EXCLUDED.currency,
       billing_interval = EXCLUDED.billing_interval, charges = EXCLUDED.charges,
       minimum_commitment = EXCLUDED.minimum_commitment, entitlements = EXCLUDED.entitlements,
       updated_at = EXCLUDED.updated_at, published_at = EXCLUDED.published_at
     WHERE ${versions}.status = 'draft'`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.key),
      rows.map((r) => r.version.version),
      rows.map((r) => r.version.status),
      rows.map((r) => r.version.name),
      rows.map((r) => r.version.currency),
      rows.map((r) => r.version.billing_interval),
      rows.map((r) => JSON.stringify(r.version.charges)),
      rows.map((r) => r.version.minimum_commitment),
      rows.map((r) => JSON.stringify(r.version.entitlements)),
      rows.map((r) => r.version.created_at),
      rows.map((r) => r.version.updated_at),
      rows.map((r) => r.version.published_at),
    ],
  );
}
