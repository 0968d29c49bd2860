import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Subscription } from '#domain';
import type { EventStore } from '#ledger';
import { decodeCursor, encodeCursor, invalidCursor, listScope, type Page } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { isValidSubscriptionId, loadSubscription } from './subscription.operations';
import { toSubscriptionView, type SubscriptionView } from './subscription.view';

/** SQLSTATE undefined_table: the projector has not created the read model's view yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Reads of subscriptions: one from its stream (strongly consistent), lists from the `subscriptions`
 * read model (eventually consistent: it follows the projector). `now` is the request time.
 */
@Injectable()
export class SubscriptionsReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async get(tenantId: string, id: string, now: Date): Promise<SubscriptionView> {
    return toSubscriptionView(await loadSubscription(this.store, tenantId, id), now);
  }

  /** Oldest first: by (created_at, id), after the cursor's pair. */
  async list(
    tenantId: string,
    options: { limit: number; cursor?: string; customerId?: string },
    now: Date,
  ): Promise<Page<SubscriptionView>> {
    const scope = listScope('subscriptions', tenantId, { customer_id: options.customerId });
    const after = options.cursor === undefined ? null : decodeCursor(options.cursor, ['created_at', 'id'], scope);
    if (after !== null && (Number.isNaN(Date.parse(after.created_at)) || !isValidSubscriptionId(after.id))) {
      throw invalidCursor();
    }
    let rows: Array<{ subscription: Subscription }>;
    try {
      const result = await this.pool.query<{ subscription: Subscription }>(
        `SELECT subscription FROM subscriptions
          WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2)
            AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::text))
          ORDER BY created_at, id LIMIT $5`,
        [tenantId, options.customerId ?? null, after?.created_at ?? null, after?.id ?? null, options.limit + 1],
      );
      rows = result.rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) {
        throw new ApiProblem(
          'SERVICE.UNAVAILABLE',
          'the subscriptions list is not built yet; is the projector running?',
        );
      }
      throw error;
    }
    const data = rows.slice(0, options.limit).map((row) => toSubscriptionView(row.subscription, now));
    const last = data[data.length - 1];
    const more = rows.length > options.limit;
    return { data, next_cursor: more ? encodeCursor({ created_at: last.created_at, id: last.id }, scope) : null };
  }
}
