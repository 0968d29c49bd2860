import type { PoolClient } from 'pg';
import { METRIC_EVENT_TYPES, evolveMetric, type Metric, type MetricEvent, type MetricVersion } from '#domain';
import type { RecordedEvent } from '#ledger';
import { foldByStream, type FoldedEntity } from '../catalog/stream-fold';

/** A metric as the usage projection keeps it: its own copy, folded from the metric's stream. */
export interface MeterRow {
  tenantId: string;
  metric: Pick<Metric, 'key' | 'versions' | 'archived_at'>;
}

/** Buckets of this metric from `from` on (null: all of them) must be derived again from raw rows. */
export interface MeterChange {
  tenantId: string;
  metric: Pick<Metric, 'key' | 'versions'>;
  from: string | null;
}

const METRIC_TYPES: ReadonlySet<string> = new Set(METRIC_EVENT_TYPES);

export const USAGE_METERS_DDL = (t: string) => `
  CREATE TABLE ${t} (
    tenant_id       text        NOT NULL,
    metric_key      text        NOT NULL,
    versions        jsonb       NOT NULL,
    archived_at     timestamptz,
    stream_revision integer     NOT NULL,
    PRIMARY KEY (tenant_id, metric_key)
  );`;

/**
 * Folds the batch's metric events into `usage_meters` (the projection's own copy of every metric's
 * versions: projections never read each other's tables) and returns the metrics whose versions
 * changed, with where their buckets must be re-derived: from the first new version's
 * effective_from, or from the beginning for a new metric. Archiving changes no usage.
 */
export async function applyMeterEvents(
  client: PoolClient,
  table: string,
  events: readonly RecordedEvent[],
): Promise<MeterChange[]> {
  const metricEvents = events.filter((event) => METRIC_TYPES.has(event.type));
  if (metricEvents.length === 0) return [];
  const before = new Map<string, number>();
  const changed = await foldByStream<Metric>({
    events: metricEvents,
    idOf: (event) => (event.data as { metric_key?: unknown } | null)?.metric_key,
    load: async (tenantIds, keys) => {
      const rows = await loadMeterRows(client, table, tenantIds, keys);
      for (const row of rows) before.set(JSON.stringify([row.tenantId, row.id]), row.value.versions.length);
      return rows;
    },
    evolve: (metric, event) => evolveMetric(metric, { type: event.type, data: event.data } as MetricEvent),
  });
  if (changed.length === 0) return [];
  await client.query(
    `INSERT INTO ${table} (tenant_id, metric_key, versions, archived_at, stream_revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::int[])
     ON CONFLICT (tenant_id, metric_key) DO UPDATE SET
       versions = EXCLUDED.versions, archived_at = EXCLUDED.archived_at, stream_revision = EXCLUDED.stream_revision`,
    [
      changed.map((e) => e.tenantId),
      changed.map((e) => e.value.key),
      changed.map((e) => JSON.stringify(e.value.versions)),
      changed.map((e) => e.value.archived_at),
      changed.map((e) => e.revision),
    ],
  );
  return changed.flatMap((entity): MeterChange[] => {
    const known = before.get(JSON.stringify([entity.tenantId, entity.id])) ?? 0;
    const versions = entity.value.versions;
    if (versions.length === known) return [];
    return [{ tenantId: entity.tenantId, metric: entity.value, from: known === 0 ? null : firstFrom(versions, known) }];
  });
}

function firstFrom(versions: readonly MetricVersion[], index: number): string | null {
  return versions[index]?.effective_from ?? null;
}

interface StoredMeter {
  tenant_id: string;
  metric_key: string;
  versions: MetricVersion[];
  archived_at: Date | null;
  stream_revision: number;
}

async function loadMeterRows(
  client: PoolClient,
  table: string,
  tenantIds: string[],
  keys: string[],
): Promise<Array<FoldedEntity<Metric>>> {
  const { rows } = await client.query<StoredMeter>(
    `SELECT m.* FROM ${table} m JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, metric_key)
        ON m.tenant_id = wanted.tenant_id AND m.metric_key = wanted.metric_key`,
    [tenantIds, keys],
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    id: row.metric_key,
    revision: row.stream_revision,
    // Name, unit and created_at are not kept: usage needs the versions only.
    value: {
      key: row.metric_key,
      name: '',
      unit: null,
      versions: row.versions,
      created_at: '',
      archived_at: row.archived_at?.toISOString() ?? null,
    },
  }));
}

/** The meters of these (tenant, metric) pairs; pairs without one are absent from the map. */
export async function loadMeters(
  client: PoolClient,
  table: string,
  pairs: ReadonlyArray<{ tenantId: string; metricKey: string }>,
): Promise<Map<string, MeterRow>> {
  const meters = new Map<string, MeterRow>();
  if (pairs.length === 0) return meters;
  const rows = await loadMeterRows(
    client,
    table,
    pairs.map((pair) => pair.tenantId),
    pairs.map((pair) => pair.metricKey),
  );
  for (const row of rows) meters.set(meterKey(row.tenantId, row.id), { tenantId: row.tenantId, metric: row.value });
  return meters;
}

export function meterKey(tenantId: string, metricKey: string): string {
  return JSON.stringify([tenantId, metricKey]);
}
