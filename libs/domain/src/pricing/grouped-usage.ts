import { usageQuantity, type GroupedAggregate } from '../metering';
import type { GroupedUsage } from './charge';

/** Grouped aggregation results (metering aggregateGrouped) as matrix usage; an empty group is zero. */
export function toGroupedUsage(aggregates: readonly GroupedAggregate[]): GroupedUsage {
  return aggregates.map(({ group, value }) => ({ group, quantity: usageQuantity(value) }));
}
