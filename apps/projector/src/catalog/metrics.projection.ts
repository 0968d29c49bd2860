import type { PoolClient } from 'pg';
import {
  METRIC_EVENT_TYPES,
  evolveMetric,
  versionEffectiveUntil,
  type Metric,
  type MetricEvent,
  type MetricVersion,
} from '#domain';
import type { Projection } from '#ledger';
import { foldByStream, type FoldedEntity } from './stream-fold';

interface MetricRow {
  tenant_id: string;
  key: string;
  name: string;
  unit: string | null;
  versions: MetricVersion[];
  created_at: Date;
  archived_at: Date | null;
  stream_revision: number;
}

/**
 * `metrics`: one row per metric (lists page by (tenant_id, key), the primary key), with every version
 * in `versions` exactly as GET /v1/metrics/:key shows them.
 * `metric_versions`: one row per version with its applicability [effective_from, effective_until) as
 * timestamptz, for SQL that aggregates usage by the version in force (effective_from null: from the
 * beginning of time; effective_until null: open-ended).
 * Rows are folded with the domain's evolveMetric and carry their stream revision (see foldByStream).
 */
export const metricsProjection: Projection = {
  name: 'metrics',
  version: 1,
  eventTypes: METRIC_EVENT_TYPES,
  tables: {
    // COLLATE "C": keys page in byte order, the order the primary key index serves.
    metrics: (t) => `
      CREATE TABLE ${t} (
        tenant_id       text              NOT NULL,
        key             text COLLATE "C"  NOT NULL,
        name            text              NOT NULL,
        unit            text,
        latest_version  integer           NOT NULL,
        versions        jsonb             NOT NULL,
        created_at      timestamptz       NOT NULL,
        archived_at     timestamptz,
        stream_revision integer           NOT NULL,
        PRIMARY KEY (tenant_id, key)
      );`,
    metric_versions: (t) => `
      CREATE TABLE ${t} (
        tenant_id       text              NOT NULL,
        key             text COLLATE "C"  NOT NULL,
        version         integer           NOT NULL,
        effective_from  timestamptz,
        effective_until timestamptz,
        aggregation     text              NOT NULL,
        field           text              NOT NULL,
        percentile      numeric,
        filters         jsonb             NOT NULL,
        group_by        jsonb             NOT NULL,
        published_at    timestamptz       NOT NULL,
        PRIMARY KEY (tenant_id, key, version)
      );`,
  },
  async apply(events, { client, table }) {
    const changed = await foldByStream<Metric>({
      events,
      idOf: (event) => (event.data as { metric_key?: unknown } | null)?.metric_key,
      load: (tenantIds, keys) => loadMetrics(client, table('metrics'), tenantIds, keys),
      evolve: (metric, event) => evolveMetric(metric, { type: event.type, data: event.data } as MetricEvent),
    });
    if (changed.length === 0) return;
    await writeMetrics(client, table('metrics'), changed);
    await writeVersions(client, table('metric_versions'), changed);
  },
};

async function loadMetrics(
  client: PoolClient,
  metrics: string,
  tenantIds: string[],
  keys: string[],
): Promise<Array<FoldedEntity<Metric>>> {
  const { rows } = await client.query<MetricRow>(
    `SELECT m.* FROM ${metrics} m JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, key)
        ON m.tenant_id = wanted.tenant_id AND m.key = wanted.key`,
    [tenantIds, keys],
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    id: row.key,
    revision: row.stream_revision,
    value: {
      key: row.key,
      name: row.name,
      unit: row.unit,
      versions: row.versions,
      created_at: row.created_at.toISOString(),
      archived_at: row.archived_at?.toISOString() ?? null,
    },
  }));
}

async function writeMetrics(client: PoolClient, metrics: string, changed: Array<FoldedEntity<Metric>>): Promise<void> {
  await client.query(
    `INSERT INTO ${metrics} (tenant_id, key, name, unit, latest_version, versions, created_at, archived_at, stream_revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::timestamptz[],
                          $8::timestamptz[], $9::int[])
     ON CONFLICT (tenant_id, key) DO UPDATE SET
       name = EXCLUDED.name, unit = EXCLUDED.unit, latest_version = EXCLUDED.latest_version,
       versions = EXCLUDED.versions, archived_at = EXCLUDED.archived_at, stream_revision = EXCLUDED.stream_revision`,
    [
      changed.map((e) => e.tenantId),
      changed.map((e) => e.value.key),
      changed.map((e) => e.value.name),
      changed.map((e) => e.value.unit),
      changed.map((e) => e.value.versions.length),
      changed.map((e) => JSON.stringify(e.value.versions)),
      changed.map((e) => e.value.created_at),
      changed.map((e) => e.value.archived_at),
      changed.map((e) => e.revision),
    ],
  );
}

/** Every version of each changed metric: a new version closes the previous one's effective_until. */
async function writeVersions(client: PoolClient, table: string, changed: Array<FoldedEntity<Metric>>): Promise<void> {
  const rows = changed.flatMap(({ tenantId, value: metric }) =>
    metric.versions.map((version) => ({ tenantId, metric, version, until: versionEffectiveUntil(metric, version) })),
  );
  await client.query(
    `INSERT INTO ${table} (tenant_id, key, version, effective_from, effective_until, aggregation, field, percentile,
                           filters, group_by, published_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[],
                          $8::numeric[], $9::jsonb[], $10::jsonb[], $11::timestamptz[])
     ON CONFLICT (tenant_id, key, version) DO UPDATE SET effective_until = EXCLUDED.effective_until`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.metric.key),
      rows.map((r) => r.version.version),
      rows.map((r) => r.version.effective_from),
      rows.map((r) => r.until),
      rows.map((r) => r.version.aggregation),
      rows.map((r) => r.version.field),
      rows.map((r) => r.version.percentile ?? null),
      rows.map((r) => JSON.stringify(r.version.filters)),
      rows.map((r) => JSON.stringify(r.version.group_by)),
      rows.map((r) => r.version.published_at),
    ],
  );
}
