import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogReferenceLock } from '../common/catalog-reference-lock';
import { CatalogDirectory } from '../common/catalog-directory';
import { EVENT_STORE } from '../common/tokens';
import { LIVE_SUBSCRIPTION_COUNTER, type LiveSubscriptionCounter } from '../customers/live-subscriptions';
import { archiveMetric } from './metric.operations';
import { toMetricView, type MetricView } from './metric.view';
import { metricProblem } from './metrics.problems';

export class ArchiveMetric extends Command<MetricView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
  ) {
    super();
  }
}

@CommandHandler(ArchiveMetric)
export class ArchiveMetricHandler implements ICommandHandler<ArchiveMetric> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
    private readonly references: CatalogReferenceLock,
    @Inject(LIVE_SUBSCRIPTION_COUNTER) private readonly subscriptions: LiveSubscriptionCounter,
  ) {}

  async execute({ caller, requestId, key }: ArchiveMetric): Promise<MetricView> {
    try {
      // Under the tenant's reference lock: a subscription using it cannot start meanwhile.
      const { metric, position } = await this.references.run(caller.tenantId, () =>
        archiveMetric({
          store: this.store,
          tenantId: caller.tenantId,
          actor: caller.keyId,
          requestId,
          key,
          usedBy: () => this.subscriptions.liveUsingMetric(caller.tenantId, key),
        }),
      );
      // Read-your-writes for usage ingestion on this replica (the CatalogDirectory follows the log).
      await this.catalog.waitFor(position);
      return toMetricView(metric);
    } catch (error) {
      throw metricProblem(error);
    }
  }
}
