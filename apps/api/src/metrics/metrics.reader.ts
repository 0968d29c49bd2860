import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Metric, MetricVersion } from '#domain';
import type { EventStore } from '#ledger';
import { decodeCursor, encodeCursor, invalidCursor, listScope, type Page } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { loadMetric } from './metric.operations';
import { toMetricView, type MetricView } from './metric.view';

interface MetricRow {
  key: string;
  name: string;
  unit: string | null;
  versions: MetricVersion[];
  created_at: Date;
  archived_at: Date | null;
}

/** SQLSTATE undefined_table: the projector has not created the read model's view yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Reads of metrics: one metric from its stream (strongly consistent), lists from the `metrics` read
 * model (eventually consistent: it follows the projector).
 */
@Injectable()
export class MetricsReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async get(tenantId: string, key: string): Promise<MetricView> {
    return toMetricView(await loadMetric(this.store, tenantId, key));
  }

  /** By key (byte order), after the cursor's key. */
  async list(
    tenantId: string,
    options: { limit: number; cursor?: string; includeArchived: boolean },
  ): Promise<Page<MetricView>> {
    const scope = listScope('metrics', tenantId, { include_archived: options.includeArchived });
    const after = options.cursor === undefined ? null : decodeCursor(options.cursor, ['after'], scope).after;
    if (after !== null && after.length > 100) throw invalidCursor();
    let rows: MetricRow[];
    try {
      const result = await this.pool.query<MetricRow>(
        `SELECT key, name, unit, versions, created_at, archived_at FROM metrics
          WHERE tenant_id = $1 AND ($2::text IS NULL OR key > $2) AND ($3 OR archived_at IS NULL)
          ORDER BY key LIMIT $4`,
        [tenantId, after, options.includeArchived, options.limit + 1],
      );
      rows = result.rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) {
        throw new ApiProblem('SERVICE.UNAVAILABLE', 'the metrics list is not built yet; is the projector running?');
      }
      throw error;
    }
    const data = rows.slice(0, options.limit).map((row) => toMetricView(fromRow(row)));
    const more = rows.length > options.limit;
    return { data, next_cursor: more ? encodeCursor({ after: data[data.length - 1].key }, scope) : null };
  }
}

function fromRow(row: MetricRow): Metric {
  return {
    key: row.key,
    name: row.name,
    unit: row.unit,
    versions: row.versions,
    created_at: row.created_at.toISOString(),
    archived_at: row.archived_at?.toISOString() ?? null,
  };
}
