import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogDirectory } from '../common/catalog-directory';
import { EVENT_STORE } from '../common/tokens';
import type { PublishMetricVersionRequest } from './dto/publish-metric-version.request';
import { publishMetricVersion } from './metric.operations';
import { toMetricView, type MetricView } from './metric.view';
import { metricProblem } from './metrics.problems';

export class PublishMetricVersion extends Command<MetricView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
    readonly body: PublishMetricVersionRequest,
  ) {
    super();
  }
}

@CommandHandler(PublishMetricVersion)
export class PublishMetricVersionHandler implements ICommandHandler<PublishMetricVersion> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
  ) {}

  async execute({ caller, requestId, key, body }: PublishMetricVersion): Promise<MetricView> {
    const { effective_from, ...definition } = body;
    try {
      const { metric, position } = await publishMetricVersion({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        effectiveFrom: effective_from,
        definition,
      });
      // Read-your-writes for usage ingestion on this replica (the CatalogDirectory follows the log).
      await this.catalog.waitFor(position);
      return toMetricView(metric);
    } catch (error) {
      throw metricProblem(error);
    }
  }
}
