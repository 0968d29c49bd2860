import type { Pool } from 'pg';
import type { Command } from 'commander';
import { USAGE_VOIDED, normalizeInstant, usageStreamId, type UsageVoidedData } from '#domain';
import { findUsageKey, streamName, voidUsageInPostgres, voidUsageThroughStore, type VoidUsageInput } from '#ledger';
import { deterministicUuid } from '../../../api/src/common/deterministic-id';
import { print } from '../output';
import { CliRefusal, cliBillingContext, withRuntime } from './audit.command';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface LocatedUsage {
  customerId: string;
  metricKey: string;
  /** RFC 3339 UTC, exactly as in the event (its month names the stream). */
  timestamp: string;
}

/**
 * Usage events from the command line: the same void as POST /v1/events/:id/void (VoidUsageHandler):
 * UsageVoided next to the event, with the id derived from the usage id, so voiding again (from the
 * CLI or the API) writes nothing and answers the first void.
 */
export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('usage events');
  events
    .command('void <usage-id>')
    .description('void a usage event (it stays in the log; a UsageVoided is appended next to it)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--reason <text>', 'why (1-500 characters)')
    .action(async (id: string, options: { tenant: string; reason: string }, command: Command) => {
      if (options.reason.length < 1 || options.reason.length > 500)
        throw new Error('--reason must be 1-500 characters');
      await withRuntime(true, async (runtime) => {
        const { tenantId, actor, requestId } = cliBillingContext(runtime, options.tenant);
        const usageId = id.toLowerCase();
        const located = UUID.test(usageId) ? await locate(runtime.pool, tenantId, usageId) : null;
        if (located === null) throw new CliRefusal('EVENT.NOT_FOUND', `no usage event ${id} in tenant ${tenantId}`);
        const data: UsageVoidedData = {
          usage_id: usageId,
          customer_id: located.customerId,
          metric_key: located.metricKey,
          timestamp: located.timestamp,
          reason: options.reason,
        };
        const input: VoidUsageInput = {
          tenantId,
          usageId,
          stream: streamName(tenantId, 'usage', usageStreamId(located.customerId, located.timestamp)),
          reason: options.reason,
          actor,
          event: {
            id: deterministicUuid(`usage-void/${tenantId}/${usageId}`),
            type: USAGE_VOIDED,
            data,
            metadata: { tenant_id: tenantId, actor, request_id: requestId },
          },
        };
        const result =
          runtime.store.kind === 'postgres'
            ? await voidUsageInPostgres(runtime.pool, input)
            : await voidUsageThroughStore(runtime.store, runtime.pool, input);
        const view = {
          id: usageId,
          status: 'voided' as const,
          reason: result.void.reason,
          voided_at: result.void.voidedAt.toISOString(),
          voided_by: result.void.actor,
        };
        print(command, view, () =>
          result.created
            ? `voided ${usageId}: ${view.reason}`
            : `${usageId} was already voided by ${view.voided_by} at ${view.voided_at}: ${view.reason}`,
        );
      });
    });
}

/**
 * Where the event is: its key row (Postgres mode writes it with the event), else the `usage_events`
 * read model (KurrentDB mode), as the API's void does.
 */
async function locate(pool: Pool, tenantId: string, usageId: string): Promise<LocatedUsage | null> {
  const key = await findUsageKey(pool, tenantId, usageId);
  if (key !== null) return { customerId: key.customerId, metricKey: key.metricKey, timestamp: key.timestamp };
  const { rows } = await pool
    .query<{ customer_id: string; metric_key: string; ts: string }>(
      `SELECT customer_id, metric_key, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
         FROM usage_events WHERE tenant_id = $1 AND usage_id = $2`,
      [tenantId, usageId],
    )
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return { rows: [] }; // not projected yet
      throw error;
    });
  const row = rows[0];
  if (row === undefined) return null;
  const timestamp = normalizeInstant(row.ts, 'timestamp');
  return { customerId: row.customer_id, metricKey: row.metric_key, timestamp: timestamp.ok ? timestamp.value : row.ts };
}
