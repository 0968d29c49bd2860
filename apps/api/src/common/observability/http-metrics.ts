import type { FastifyInstance } from 'fastify';
import { Histogram, collectDefaultMetrics, register } from 'prom-client';

const HISTOGRAM = 'abaxus_http_request_duration_seconds';
let defaultMetricsStarted = false;

/** Process metrics once per process (several apps may live in one process: tests, `abaxus start`). */
function startDefaultMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  collectDefaultMetrics();
}

function durationHistogram(): Histogram<'method' | 'route' | 'status'> {
  const existing = register.getSingleMetric(HISTOGRAM);
  if (existing) return existing as Histogram<'method' | 'route' | 'status'>;
  return new Histogram({
    name: HISTOGRAM,
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
}

/** Observes every response. The label is the route pattern (`/v1/api-keys/:id`), never the raw URL. */
export function registerHttpMetrics(fastify: FastifyInstance): void {
  startDefaultMetrics();
  const histogram = durationHistogram();
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}

export function metricsRegistry() {
  return register;
}
