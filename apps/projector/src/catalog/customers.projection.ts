import type { PoolClient } from 'pg';
import {
  CUSTOMER_EVENT_TYPES,
  evolveCustomer,
  type Customer,
  type CustomerEvent,
  type CustomerMetadata,
  type PaymentDetails,
} from '#domain';
import type { Projection } from '#ledger';
import { foldByStream, type FoldedEntity } from './stream-fold';

interface CustomerRow {
  tenant_id: string;
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
  stream_revision: number;
}

/**
 * `customers`: one row per customer, exactly as GET /v1/customers/:id shows it; lists page by
 * (tenant_id, id), the primary key. Rows are folded with the domain's evolveCustomer and carry their
 * stream revision (see foldByStream).
 */
export const customersProjection: Projection = {
  name: 'customers',
  version: 1,
  eventTypes: CUSTOMER_EVENT_TYPES,
  tables: {
    // COLLATE "C": ids page in byte order, the order the primary key index serves.
    customers: (t) => `
      CREATE TABLE ${t} (
        tenant_id       text              NOT NULL,
        id              text COLLATE "C"  NOT NULL,
        name            text              NOT NULL,
        email           text,
        currency        text              NOT NULL,
        timezone        text              NOT NULL,
        payment         jsonb,
        metadata        jsonb             NOT NULL,
        created_at      timestamptz       NOT NULL,
        updated_at      timestamptz       NOT NULL,
        archived_at     timestamptz,
        stream_revision integer           NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );`,
  },
  async apply(events, { client, table }) {
    const changed = await foldByStream<Customer>({
      events,
      idOf: (event) => (event.data as { customer_id?: unknown } | null)?.customer_id,
      load: (tenantIds, ids) => loadCustomers(client, table('customers'), tenantIds, ids),
      evolve: (customer, event) => evolveCustomer(customer, { type: event.type, data: event.data } as CustomerEvent),
    });
    if (changed.length > 0) await writeCustomers(client, table('customers'), changed);
  },
};

async function loadCustomers(
  client: PoolClient,
  customers: string,
  tenantIds: string[],
  ids: string[],
): Promise<Array<FoldedEntity<Customer>>> {
  const { rows } = await client.query<CustomerRow>(
    `SELECT c.* FROM ${customers} c JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, id)
        ON c.tenant_id = wanted.tenant_id AND c.id = wanted.id`,
    [tenantIds, ids],
  );
  return rows.map(({ tenant_id, stream_revision, created_at, updated_at, archived_at, ...fields }) => ({
    tenantId: tenant_id,
    id: fields.id,
    revision: stream_revision,
    value: {
      ...fields,
      created_at: created_at.toISOString(),
      updated_at: updated_at.toISOString(),
      archived_at: archived_at?.toISOString() ?? null,
    },
  }));
}

async function writeCustomers(
  client: PoolClient,
  customers: string,
  changed: Array<FoldedEntity<Customer>>,
): Promise<void> {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  await client.query(
    `INSERT INTO ${customers} (tenant_id, id, name, email, currency, timezone, payment, metadata, created_at, updated_at,
                               archived_at, stream_revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[],
                          $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::int[])
     ON CONFLICT (tenant_id, id) DO UPDATE SET
       name = EXCLUDED.name, email = EXCLUDED.email, payment = EXCLUDED.payment, metadata = EXCLUDED.metadata,
       updated_at = EXCLUDED.updated_at, archived_at = EXCLUDED.archived_at, stream_revision = EXCLUDED.stream_revision`,
    [
      changed.map((e) => e.tenantId),
      changed.map((e) => e.value.id),
      changed.map((e) => e.value.name),
      changed.map((e) => e.value.email),
      changed.map((e) => e.value.currency),
      changed.map((e) => e.value.timezone),
      changed.map((e) => json(e.value.payment)),
      changed.map((e) => JSON.stringify(e.value.metadata)),
      changed.map((e) => e.value.created_at),
      changed.map((e) => e.value.updated_at),
      changed.map((e) => e.value.archived_at),
      changed.map((e) => e.revision),
    ],
  );
}
