import type { Pool } from 'pg';
import {
  SqlParams,
  instantTextSql,
  meterSlots,
  meteredRowsSql,
  type BillingPeriod,
  type Calculation,
  type CalculationInputs,
  type Charge,
  type CalculationLine,
  type MeteredMetricVersions,
  type MetricVersion,
} from '#domain';
import type { EventStore } from '#ledger';
import { decodeCursor, encodeCursor, invalidCursor, listScope } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { findCalculation, loadCalculationInputsFromLog, type ChargesCalculated } from './calculation';
import type { InvoiceOutcome } from './invoice.operations';

/*
 * GET /v1/invoices/:id/explain: everything support needs to answer "why was I charged this?" from the
 * answer alone. Per line: the charge as priced (tiers, prices, overrides applied), the metric versions
 * that metered it with their definitions, the aggregation, the tier arithmetic (breakdown), the usage
 * checksum; with ?line=<charge_key>, the events behind that line, a page at a time, from the
 * `usage_events` read model: the usage window's counted events of the metric that its versions'
 * filters accept, in (timestamp, id) order.
 */

export interface ExplainedLine extends CalculationLine {
  /** The charge as priced: the plan version's, with the subscription's overrides. */
  charge: Charge | null;
  /** `sum`, `max`…: one per segment when the versions in force aggregate differently (their values add up). */
  aggregations: string[];
  /** The metric versions that metered this line, with their definitions. */
  metric_versions: MetricVersion[];
}

export interface ExplainedEvent {
  id: string;
  timestamp: string;
  value: string;
  properties: Record<string, unknown>;
  idempotency_key: string;
  recorded_at: string;
  /** The metric version in force at its timestamp (the one that metered it). */
  meter_version: number;
  /** Recorded at or after the end of the period. */
  late: boolean;
}

export interface InvoiceExplanation {
  invoice_id: string;
  status: string;
  calculation_id: string;
  calculation_checksum: string;
  period_start: string;
  period_end: string;
  usage_window: BillingPeriod;
  proration_factor: string;
  as_of_position: string | null;
  lines: ExplainedLine[];
  adjustments: Calculation['adjustments'];
  subtotal: string;
  total: string;
  events?: { line: string; data: ExplainedEvent[]; next_cursor: string | null };
}

export interface ExplainOptions {
  line?: string;
  cursor?: string;
  limit: number;
}

type Provenance = Partial<Pick<ChargesCalculated['data'], 'usage_events_position' | 'read_at' | 'as_of_position'>>;

/** The calculation's recorded inputs; for a calculation never recorded, the inputs the log gives now. */
async function inputsOf(
  store: EventStore,
  tenantId: string,
  calculation: Calculation,
): Promise<{ inputs: CalculationInputs; provenance: Provenance }> {
  const record = await findCalculation(store, tenantId, calculation.id);
  if (record?.inputs) return { inputs: record.inputs, provenance: record };
  const inputs = await loadCalculationInputsFromLog({
    store,
    tenantId,
    subscriptionId: calculation.subscription_id,
    period: { start: calculation.period_start, end_exclusive: calculation.period_end },
  });
  return { inputs, provenance: {} };
}

export async function explainInvoice(
  deps: { pool: Pool; store: EventStore; tenantId: string },
  outcome: InvoiceOutcome,
  options: ExplainOptions,
): Promise<InvoiceExplanation> {
  const { state } = outcome;
  const calculation = state.status === 'draft' ? state.draft.calculation : state.invoice.calculation;
  const { inputs, provenance } = await inputsOf(deps.store, deps.tenantId, calculation);
  const lines = calculation.line_items.map((line) => explainLine(line, inputs));
  const explanation: InvoiceExplanation = {
    invoice_id: outcome.invoiceId,
    status: state.status,
    calculation_id: calculation.id,
    calculation_checksum: calculation.checksum,
    period_start: calculation.period_start,
    period_end: calculation.period_end,
    usage_window: inputs.usage_window,
    proration_factor: inputs.proration.factor,
    as_of_position: provenance.as_of_position ?? null,
    lines,
    adjustments: calculation.adjustments,
    subtotal: calculation.subtotal,
    total: calculation.total,
  };
  if (options.line === undefined) return explanation;
  const line = lines.find((candidate) => candidate.charge_key === options.line);
  if (!line) {
    throw new ApiProblem('REQUEST.VALIDATION_FAILED', `invoice ${outcome.invoiceId} has no line ${options.line}`, {
      errors: [{ field: 'line', message: `must be one of ${lines.map((l) => l.charge_key).join(', ')}` }],
    });
  }
  const metric = inputs.metrics.find((candidate) => candidate.key === line.metric_key);
  const page =
    metric === undefined
      ? { data: [], next_cursor: null }
      : await lineEvents(deps.pool, {
          tenantId: deps.tenantId,
          customerId: calculation.customer_id,
          metric: { key: metric.key, versions: metric.versions.filter((v) => line.meter_versions.includes(v.version)) },
          window: inputs.usage_window,
          periodEnd: calculation.period_end,
          provenance,
          cursor: options.cursor,
          scope: listScope('invoice_line_events', deps.tenantId, {
            invoice_id: outcome.invoiceId,
            line: line.charge_key,
          }),
          limit: options.limit,
        });
  return { ...explanation, events: { line: line.charge_key, ...page } };
}

function explainLine(line: CalculationLine, inputs: CalculationInputs): ExplainedLine {
  const metric = inputs.metrics.find((candidate) => candidate.key === line.metric_key);
  const versions = (metric?.versions ?? []).filter((version) => line.meter_versions.includes(version.version));
  return {
    ...line,
    charge: inputs.subscription.charges.find((charge) => charge.key === line.charge_key) ?? null,
    aggregations: [...new Set(versions.map((version) => version.aggregation))],
    metric_versions: versions,
  };
}

interface LineEventsQuery {
  tenantId: string;
  customerId: string;
  metric: MeteredMetricVersions;
  window: BillingPeriod;
  periodEnd: string;
  provenance: Provenance;
  cursor?: string;
  /** The cursor's scope (listScope): this invoice's line. */
  scope: string;
  limit: number;
}

interface EventRow {
  usage_id: string;
  ts_text: string;
  value: string;
  properties: Record<string, unknown>;
  idempotency_key: string;
  recorded_at: Date;
  vid: number;
}

/**
 * One page of the events behind a line. The calculation's snapshot bounds it: events projected after
 * it (log_position above the one it read) were not in it, and events voided after it were.
 */
async function lineEvents(
  pool: Pool,
  query: LineEventsQuery,
): Promise<{ data: ExplainedEvent[]; next_cursor: string | null }> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor, ['ts', 'id'], query.scope);
  if (after !== null && (Number.isNaN(Date.parse(after.ts)) || !/^[0-9a-f-]{36}$/.test(after.id))) {
    throw invalidCursor();
  }
  const params = new SqlParams();
  const slots = meterSlots([{ tenantId: query.tenantId, metric: query.metric }]);
  const source = `SELECT tenant_id, usage_id, customer_id, metric_key, ts, value, properties, recorded_at, idempotency_key
      FROM usage_events
     WHERE tenant_id = ${params.add(query.tenantId, 'text')} AND customer_id = ${params.add(query.customerId, 'text')}
       AND metric_key = ${params.add(query.metric.key, 'text')}
       AND ts >= ${params.add(query.window.start, 'timestamptz')} AND ts < ${params.add(query.window.end_exclusive, 'timestamptz')}
       AND (voided_at IS NULL OR voided_at > ${params.add(query.provenance.read_at ?? null, 'timestamptz')})
       AND (${params.add(query.provenance.usage_events_position ?? null, 'bigint')} IS NULL
            OR log_position <= ${params.add(query.provenance.usage_events_position ?? null, 'bigint')})
       AND (${params.add(after?.ts ?? null, 'timestamptz')} IS NULL
            OR (ts, usage_id) > (${params.add(after?.ts ?? null, 'timestamptz')}, ${params.add(after?.id ?? null, 'uuid')}))`;
  const metered = meteredRowsSql(slots, params, source, { byMetric: false, groupBy: null, keepUnmatched: true });
  const { rows } = await pool.query<EventRow>(
    `SELECT x.usage_id::text AS usage_id, ${instantTextSql('x.ts')} AS ts_text, trim_scale(x.value)::text AS value,
            x.properties, x.idempotency_key, x.recorded_at, x.vid
       FROM (${metered}) x WHERE x.ok AND x.vid IS NOT NULL
      ORDER BY x.ts, x.usage_id LIMIT ${params.add(query.limit + 1, 'int')}`,
    params.values,
  );
  const versionOf = new Map(slots.map((slot) => [slot.vid, slot.version.version]));
  const data = rows.slice(0, query.limit).map((row) => ({
    id: row.usage_id,
    timestamp: row.ts_text,
    value: row.value,
    properties: row.properties,
    idempotency_key: row.idempotency_key,
    recorded_at: row.recorded_at.toISOString(),
    meter_version: versionOf.get(row.vid) ?? 0,
    late: row.recorded_at.getTime() >= Date.parse(query.periodEnd),
  }));
  const last = data[data.length - 1];
  return {
    data,
    next_cursor: rows.length > query.limit ? encodeCursor({ ts: last.timestamp, id: last.id }, query.scope) : null,
  };
}
