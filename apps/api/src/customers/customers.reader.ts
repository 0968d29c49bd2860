import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Customer, CustomerMetadata, PaymentDetails } from '#domain';
import type { EventStore } from '#ledger';
import { decodeCursor, encodeCursor, invalidCursor, listScope, type Page } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { loadCustomer } from './customer.operations';
import { toCustomerView, type CustomerView } from './customer.view';

interface CustomerRow {
  id: string;
  name: string;
  email: string | null;
  currency: string;
  timezone: string;
  payment: PaymentDetails | null;
  metadata: CustomerMetadata;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

/** SQLSTATE undefined_table: the projector has not created the read model's view yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Reads of customers: one customer from its stream (strongly consistent), lists from the `customers`
 * read model (eventually consistent: it follows the projector).
 */
@Injectable()
export class CustomersReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async get(tenantId: string, id: string): Promise<CustomerView> {
    return toCustomerView(await loadCustomer(this.store, tenantId, id));
  }

  /** By id (byte order), after the cursor's id. */
  async list(
    tenantId: string,
    options: { limit: number; cursor?: string; includeArchived: boolean },
  ): Promise<Page<CustomerView>> {
    const scope = listScope('customers', tenantId, { include_archived: options.includeArchived });
    const after = options.cursor === undefined ? null : decodeCursor(options.cursor, ['after'], scope).after;
    if (after !== null && after.length > 64) throw invalidCursor();
    let rows: CustomerRow[];
    try {
      const result = await this.pool.query<CustomerRow>(
        `SELECT id, name, email, currency, timezone, payment, metadata, created_at, updated_at, archived_at
           FROM customers
          WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) AND ($3 OR archived_at IS NULL)
          ORDER BY id LIMIT $4`,
        [tenantId, after, options.includeArchived, options.limit + 1],
      );
      rows = result.rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) {
        throw new ApiProblem('SERVICE.UNAVAILABLE', 'the customers list is not built yet; is the projector running?');
      }
      throw error;
    }
    const data = rows.slice(0, options.limit).map((row) => toCustomerView(fromRow(row)));
    const more = rows.length > options.limit;
    return { data, next_cursor: more ? encodeCursor({ after: data[data.length - 1].id }, scope) : null };
  }
}

function fromRow(row: CustomerRow): Customer {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    archived_at: row.archived_at?.toISOString() ?? null,
  };
}
