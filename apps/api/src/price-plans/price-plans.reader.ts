import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PlanError, findPlanVersion, type Plan } from '#domain';
import type { EventStore } from '#ledger';
import { decodeCursor, encodeCursor, invalidCursor, listScope, type Page } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { loadPricePlan } from './price-plan.operations';
import { toPlanVersionView, toPlanView, type PlanVersionView, type PlanView } from './price-plan.view';

/** SQLSTATE undefined_table: the projector has not created the read model's view yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Reads of price plans: one plan (or version) from its stream (strongly consistent), lists from the
 * `price_plans` read model (eventually consistent: it follows the projector).
 */
@Injectable()
export class PricePlansReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async get(tenantId: string, key: string): Promise<PlanView> {
    return toPlanView(await loadPricePlan(this.store, tenantId, key));
  }

  async getVersion(tenantId: string, key: string, version: number): Promise<PlanVersionView> {
    const found = findPlanVersion(await loadPricePlan(this.store, tenantId, key), version);
    if (!found) throw new PlanError('PLAN.VERSION_NOT_FOUND', `plan ${key} has no version ${version}`);
    return toPlanVersionView(found);
  }

  /** By key (byte order), after the cursor's key. */
  async list(
    tenantId: string,
    options: { limit: number; cursor?: string; includeArchived: boolean },
  ): Promise<Page<PlanView>> {
    const scope = listScope('price_plans', tenantId, { include_archived: options.includeArchived });
    const after = options.cursor === undefined ? null : decodeCursor(options.cursor, ['after'], scope).after;
    if (after !== null && after.length > 100) throw invalidCursor();
    let rows: Array<{ plan: Plan }>;
    try {
      const result = await this.pool.query<{ plan: Plan }>(
        `SELECT plan FROM price_plans
          WHERE tenant_id = $1 AND ($2::text IS NULL OR key > $2) AND ($3 OR archived_at IS NULL)
          ORDER BY key LIMIT $4`,
        [tenantId, after, options.includeArchived, options.limit + 1],
      );
      rows = result.rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) {
        throw new ApiProblem('SERVICE.UNAVAILABLE', 'the price plans list is not built yet; is the projector running?');
      }
      throw error;
    }
    const data = rows.slice(0, options.limit).map((row) => toPlanView(row.plan));
    const more = rows.length > options.limit;
    return { data, next_cursor: more ? encodeCursor({ after: data[data.length - 1].key }, scope) : null };
  }
}
