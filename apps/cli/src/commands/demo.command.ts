import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

/**
 * `npm run demo` (or `abaxus demo`): a newcomer's walk through the engine's eight steps against a
 * running ABAXUS (`npm start`), printing every request and answer, and the invoice at the end:
 *
 *   1 metric  2 plan  3 customer  4 subscription  5 usage events (with a retried duplicate)
 *   6 eventual summary vs exact compute  7 calculate  8 invoice: draft, then close
 *
 * ABAXUS_URL (default http://localhost:8080); ABAXUS_KEY (default: the admin key `npm start` saved in
 * ABAXUS_DATA_DIR/admin-key, `./.abaxus/admin-key`). Every run uses fresh ids, so it can run again.
 * The subscription starts a minute ago: its first period is running, and the demo closes its invoice
 * early (the billing cycle would close it at the period end plus the grace; it finds it closed then).
 */
export interface DemoOptions {
  url: string;
  key: string;
  /** Where lines go (stdout by default). */
  out?: (line: string) => void;
}

export interface DemoResult {
  invoice_id: string;
  number: string;
  total: string;
  customer_id: string;
  subscription_id: string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API bodies are read freely here

export class DemoError extends Error {}

export function demoOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DemoOptions {
  const url = (env.ABAXUS_URL || 'http://localhost:8080').replace(/\/+$/, '');
  let key = env.ABAXUS_KEY;
  if (!key) {
    const file = join(resolve(env.ABAXUS_DATA_DIR || './.abaxus'), 'admin-key');
    if (!existsSync(file)) {
      throw new DemoError(
        `no API key: set ABAXUS_KEY, or start the engine once with \`npm start\` (it saves the admin key to ${file})`,
      );
    }
    key = readFileSync(file, 'utf8').trim();
  }
  return { url, key };
}

const compact = (value: unknown, max = 240) => {
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

class Client {
  constructor(
    private readonly options: DemoOptions,
    private readonly out: (line: string) => void,
  ) {}

  async call(method: string, path: string, body?: unknown, expected = [200, 201, 202, 207]): Promise<Json> {
    this.out(`  → ${method} ${path}${body === undefined ? '' : ` ${compact(body)}`}`);
    let response: Response;
    try {
      response = await fetch(`${this.options.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new DemoError(
        `cannot reach ${this.options.url} (${(error as Error).message}): is the engine running (npm start)?`,
      );
    }
    const text = await response.text();
    const parsed = text === '' ? {} : (JSON.parse(text) as Json);
    this.out(`  ← ${response.status} ${compact(parsed)}`);
    if (!expected.includes(response.status)) {
      throw new DemoError(`${method} ${path} answered ${response.status}: ${parsed.detail ?? text}`);
    }
    return parsed;
  }
}

/** Runs the eight steps; throws DemoError (with what to do) when the engine refuses or is unreachable. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const api = new Client(options, out);
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const step = (n: number, title: string, why: string) => out(`\nStep ${n}/8  ${title}\n  ${why}`);
  const metric = `demo_calls_${id}`;
  out(`ABAXUS demo against ${options.url} (ids end in ${id})`);

  step(1, 'A metric: what you meter', 'Usage events name it; it says how they add up (here: the sum of `value`).');
  await api.call('POST', '/v1/metrics', { key: metric, name: 'API calls (demo)', aggregation: 'sum' });

  step(2, 'A price plan: what usage costs', 'Published versions never change; 1,000 calls a month are free.');
  await api.call('POST', '/v1/price-plans', {
    key: `demo_${id}`,
    name: 'Demo Starter',
    currency: 'USD',
    billing_interval: 'month',
    charges: [
      { key: 'platform', model: 'flat_fee', amount: '29.00' },
      {
        key: 'calls',
        model: 'tiered',
        metric_key: metric,
        tiers: [
          { up_to: '1000', unit_price: '0' },
          { up_to: null, unit_price: '0.002' },
        ],
      },
    ],
    publish: true,
  });

  step(3, 'A customer', 'Its id is yours; billing periods are computed in its time zone.');
  const customerId = `demo_${id}`;
  await api.call('POST', '/v1/customers', { id: customerId, name: 'Demo Customer', currency: 'USD', timezone: 'UTC' });

  step(4, 'A subscription', 'It locks the plan version. It started a minute ago: its first month is running.');
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const subscription = await api.call('POST', '/v1/subscriptions', {
    customer_id: customerId,
    plan_key: `demo_${id}`,
    start_date: start.toISOString(),
  });
  const period = subscription.current_period as { start: string; end_exclusive: string };
  out(`  Billing period: ${period.start} to ${period.end_exclusive}`);

  await sendUsage(api, out, step, customerId, metric, start);
  await compareSummaryAndCompute(api, out, step, customerId, metric, period);

  step(7, 'Calculate', 'The exact price of the period, stored once (same inputs, same calc_ id).');
  const calculation = await api.call('POST', '/v1/pricing/calculate', {
    subscription_id: subscription.id,
    period_start: period.start,
    period_end: period.end_exclusive,
  });
  out(`  Subtotal ${calculation.subtotal}, total ${calculation.total} USD (${calculation.id})`);

  step(
    8,
    'Invoice: draft, then close',
    'Closing numbers it without gaps and freezes it; corrections come later as adjustments.',
  );
  const draft = await api.call('POST', '/v1/invoices', {
    subscription_id: subscription.id,
    period_start: period.start,
    period_end: period.end_exclusive,
  });
  const closed = await api.call('POST', `/v1/invoices/${draft.id}/close`, {});
  out('');
  for (const line of renderInvoice(closed)) out(line);
  out(`\nNext: GET /v1/invoices/${closed.id}/explain shows the events behind each line;`);
  out(`      POST /v1/invoices/${closed.id}/reproduce rebuilds it from the event log alone.`);
  return {
    invoice_id: closed.id,
    number: closed.number,
    total: closed.total,
    customer_id: customerId,
    subscription_id: subscription.id,
  };
}

async function sendUsage(
  api: Client,
  out: (line: string) => void,
  step: (n: number, title: string, why: string) => void,
  customerId: string,
  metric: string,
  start: Date,
): Promise<void> {
  step(5, 'Usage events', 'Each has an idempotency key: a retry with the same key and payload counts once.');
  const at = (second: number) => new Date(start.getTime() + second * 1000).toISOString();
  const events = Array.from({ length: 20 }, (_, i) => ({
    customer_id: customerId,
    metric_key: metric,
    value: '100',
    timestamp: at(i + 1),
    idempotency_key: `demo-${customerId}-${i}`,
    properties: { endpoint: i % 2 === 0 ? '/search' : '/export' },
  }));
  await api.call('POST', '/v1/events/batch', { events });
  const single = {
    customer_id: customerId,
    metric_key: metric,
    value: '250',
    timestamp: at(30),
    idempotency_key: `demo-${customerId}-single`,
  };
  await api.call('POST', '/v1/events', single);
  out('  The client timed out and sends the same event again:');
  const retried = await api.call('POST', '/v1/events', single);
  out(`  → "${retried.status}": the same event (${retried.id}), not counted twice. 20 x 100 + 250 = 2250 calls.`);
}

async function compareSummaryAndCompute(
  api: Client,
  out: (line: string) => void,
  step: (n: number, title: string, why: string) => void,
  customerId: string,
  metric: string,
  period: { start: string; end_exclusive: string },
): Promise<void> {
  step(
    6,
    'Summary (eventual) vs compute (exact)',
    'Dashboards read pre-aggregated buckets; billing reads every event.',
  );
  const query = new URLSearchParams({
    customer_id: customerId,
    metric_key: metric,
    period_start: period.start,
    period_end: period.end_exclusive,
  });
  const exact = await api.call('POST', '/v1/usage/compute', {
    customer_id: customerId,
    metric_key: metric,
    period_start: period.start,
    period_end: period.end_exclusive,
  });
  // The summary converges once the projector has applied the events (it reports its lag meanwhile).
  let summary = await api.call('GET', `/v1/usage/summary?${query}`);
  for (let attempt = 0; summary.value !== exact.value && attempt < 20; attempt++) {
    out(`  (summary lags ${summary.meta?.lag_seconds ?? '?'} s behind the log; asking again)`);
    await new Promise((r) => setTimeout(r, 250));
    summary = await api.call('GET', `/v1/usage/summary?${query}`);
  }
  out(
    `  Summary ${summary.value} (eventual), compute ${exact.value} over ${exact.event_count} events (exact, checksummed).`,
  );
}

const pad = (left: string, right: string, width = 64) =>
  `${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}`;

/** The closed invoice as a person reads it. */
export function renderInvoice(invoice: Json): string[] {
  const rule = '-'.repeat(64);
  const lines = [
    '='.repeat(64),
    pad(`INVOICE ${invoice.number}`, `closed ${invoice.closed_at}`),
    `Bill to   ${invoice.customer?.name ?? invoice.customer_id} (${invoice.customer_id})`,
    `Plan      ${invoice.plan?.name ?? ''} (${invoice.plan?.key} v${invoice.plan?.version})`,
    `Period    ${invoice.period_start} to ${invoice.period_end}`,
    rule,
  ];
  for (const item of invoice.calculation.line_items as Json[]) {
    lines.push(pad(`${item.charge_key} (${item.model})`, item.amount));
    for (const row of item.breakdown as Json[]) {
      if (row.unit_price === null || row.unit_price === undefined) continue;
      if (item.model === 'flat_fee' && row.quantity === '1') continue; // a whole period: nothing to explain
      const range = row.up_to === null ? `${row.from ?? '0'}+` : `${row.from ?? '0'}-${row.up_to}`;
      lines.push(
        pad(`    ${row.quantity} x ${row.unit_price}${row.tier ? `  (tier ${row.tier}: ${range})` : ''}`, row.amount),
      );
    }
  }
  for (const adjustment of invoice.calculation.adjustments as Json[]) {
    lines.push(pad(`adjustment ${adjustment.kind}: ${adjustment.reason}`.slice(0, 52), adjustment.amount));
  }
  lines.push(
    rule,
    pad('Subtotal', invoice.subtotal),
    pad('Adjustments', invoice.adjustments_total),
    pad('Tax', invoice.tax_amount),
    pad(`Total due (${invoice.currency})`, invoice.total),
    '='.repeat(64),
    `Checksum  ${invoice.checksum}`,
  );
  return lines;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'walk through metric, plan, customer, subscription, usage, summary, calculate and invoice on a running engine',
    )
    .action(async () => {
      await runDemo(demoOptionsFromEnv());
    });
}

async function main(): Promise<void> {
  try {
    await runDemo(demoOptionsFromEnv());
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof DemoError ? error.message : (error as Error).stack}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
