import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogDirectory } from '../common/catalog-directory';
import { EVENT_STORE } from '../common/tokens';
import type { CreateMetricRequest } from './dto/create-metric.request';
import { createMetric } from './metric.operations';
import { toMetricView, type MetricView } from './metric.view';
import { metricProblem } from './metrics.problems';

export class CreateMetric extends Command<MetricView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CreateMetricRequest,
  ) {
    super();
  }
}

@CommandHandler(CreateMetric)
export class CreateMetricHandler implements ICommandHandler<CreateMetric> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
  ) {}

  async execute({ caller, requestId, body }: CreateMetric): Promise<MetricView> {
    const { key, name, unit, ...definition } = body;
    try {
      const { metric, position } = await createMetric({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        name,
        unit,
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
