import { Counter, Histogram, register, type Registry } from 'prom-client';
import type { TickReport } from './tick-report';

/**
 * The billing cycle's Prometheus series (default registry, get-or-create like the projector's, so
 * several cycles in one process share them): what the ticks did and how long they took.
 */
export interface BillingCycleMetrics {
  record(report: TickReport, seconds: number): void;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function billingCycleMetrics(registry: Registry = register): BillingCycleMetrics {
  const registers = [registry];
  const actions = getOrCreate(
    registry,
    'abaxus_billing_cycle_actions_total',
    () =>
      new Counter({
        name: 'abaxus_billing_cycle_actions_total',
        help: 'What the billing cycle did: drafted, refreshed, closed, swept, checked, adjustments, credit_notes, failed',
        labelNames: ['action'] as const,
        registers,
      }),
  );
  const duration = getOrCreate(
    registry,
    'abaxus_billing_cycle_tick_duration_seconds',
    () =>
      new Histogram({
        name: 'abaxus_billing_cycle_tick_duration_seconds',
        help: 'Duration of billing cycle ticks that held the lease',
        buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
        registers,
      }),
  );
  return {
    record(report, seconds) {
      const counts = {
        drafted: report.drafted,
        refreshed: report.refreshed,
        closed: report.closed,
        swept: report.swept,
        checked: report.checked,
        adjustments: report.adjustments,
        credit_notes: report.credit_notes,
        failed: report.failed.length,
      };
      for (const [action, count] of Object.entries(counts)) if (count > 0) actions.inc({ action }, count);
      duration.observe(seconds);
    },
  };
}
