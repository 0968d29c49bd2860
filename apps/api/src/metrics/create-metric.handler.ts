import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
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
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, body }: CreateMetric): Promise<MetricView> {
    const { key, name, unit, ...definition } = body;
    try {
      const { metric } = await createMetric({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        name,
        unit,
        definition,
      });
      return toMetricView(metric);
    } catch (error) {
      throw metricProblem(error);
    }
  }
}
