import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { USAGE_VOIDED, usageStreamId, type UsageVoidedData } from '#domain';
import {
  findUsageKey,
  streamName,
  voidUsageInPostgres,
  voidUsageThroughStore,
  type EventStore,
  type VoidUsageInput,
} from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { deterministicUuid } from '../common/deterministic-id';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { UsageEventsReader, type LocatedUsage } from './usage-events.reader';

export interface VoidedUsageView {
  id: string;
  status: 'voided';
  reason: string;
  voided_at: string;
  /** The API key that voided it. */
  voided_by: string;
}

export class VoidUsage extends Command<VoidedUsageView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly id: string,
    readonly reason: string,
  ) {
    super();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Appends UsageVoided next to the usage event (its customer-month stream); the original stays in the
 * log. Idempotent: a second void (any reason, even concurrent) writes nothing and answers the first.
 * The event is found through its key row (Postgres mode: written with the event, so a void works the
 * moment ingestion answered), else through the `usage_events` read model.
 */
@CommandHandler(VoidUsage)
export class VoidUsageHandler implements ICommandHandler<VoidUsage> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly reader: UsageEventsReader,
  ) {}

  async execute({ caller, requestId, id, reason }: VoidUsage): Promise<VoidedUsageView> {
    const usageId = id.toLowerCase();
    const located = UUID.test(usageId) ? await this.locate(caller.tenantId, usageId) : null;
    if (located === null) throw new ApiProblem('EVENT.NOT_FOUND', `no usage event ${id}`);
    const stream = streamName(caller.tenantId, 'usage', usageStreamId(located.customerId, located.timestamp));
    const data: UsageVoidedData = {
      usage_id: usageId,
      customer_id: located.customerId,
      metric_key: located.metricKey,
      timestamp: located.timestamp,
      reason,
    };
    const input: VoidUsageInput = {
      tenantId: caller.tenantId,
      usageId,
      stream,
      reason,
      actor: caller.keyId,
      event: {
        id: deterministicUuid(`usage-void/${caller.tenantId}/${usageId}`),
        type: USAGE_VOIDED,
        data,
        metadata: { tenant_id: caller.tenantId, actor: caller.keyId, request_id: requestId },
      },
    };
    const result =
      this.store.kind === 'postgres'
        ? await voidUsageInPostgres(this.pool, input)
        : await voidUsageThroughStore(this.store, this.pool, input);
    return {
      id: usageId,
      status: 'voided',
      reason: result.void.reason,
      voided_at: result.void.voidedAt.toISOString(),
      voided_by: result.void.actor,
    };
  }

  private async locate(tenantId: string, usageId: string): Promise<LocatedUsage | null> {
    const key = await findUsageKey(this.pool, tenantId, usageId);
    if (key !== null) {
      return {
        customerId: key.customerId,
        metricKey: key.metricKey,
        idempotencyKey: key.idempotencyKey,
        timestamp: key.timestamp,
      };
    }
    return this.reader.locate(tenantId, usageId);
  }
}
