import fc from 'fast-check';
import {
  Dec,
  aggregate,
  chargeUsageOf,
  countedUsageEvents,
  instantKey,
  metricDefinitionOf,
  toDecimalString,
  usageInWindow,
  usageQuantity,
  type ChargeUsage,
  type Metric,
} from '#domain';
import { StreamingUsage } from './streaming-usage';
import { canonicalDecimal } from './usage-counting';
import { usageLogEventOf, type UsagePage } from './usage-log-reader';
import {
  AGGREGATIONS,
  MEASURES,
  WINDOW,
  catalog,
  plainSumMetric,
  usageLog,
  type LoggedEvent,
} from './testing/usage-log.fixtures';

/*
 * The streaming replay against the domain's batch functions on generated logs: whatever the events
 * (duplicates, malformed ones, voids before and after their event, several meter versions, filters,
 * property fields, matrix groups) and however the log is cut into pages, StreamingUsage gives exactly
 * what countedUsageEvents + chargeUsageOf give over the whole log at once.
 */

/** The domain's batch answer: every event in memory, then counted and metered. */
function batch(log: readonly LoggedEvent[], metrics: Map<string, Metric>): ChargeUsage[] {
  const counted = countedUsageEvents(log);
  return MEASURES.map((measure) => chargeUsageOf(measure, metrics.get(measure.metric_key)!, WINDOW, counted));
}

/** The replay's answer, the log cut into pages of `pageSize`; pages with voided events are given again. */
function streamed(log: readonly LoggedEvent[], metrics: Map<string, Metric>, pageSize: number): ChargeUsage[] {
  const usage = new StreamingUsage(MEASURES, metrics, WINDOW);
  const pages: UsagePage[] = [];
  for (let from = 0; from < log.length; from += pageSize) {
    const events = log
      .slice(from, from + pageSize)
      .map((event, i) => usageLogEventOf({ ...event, position: `${from + i}` }));
    pages.push({ index: pages.length, stream: 'usage', fromRevision: from, events });
  }
  for (const page of pages) {
    page.events.forEach((event, offset) => usage.add(event, page, offset));
    usage.endPage(page);
  }
  for (const index of usage.pagesToReread) usage.recompute(pages[index]);
  return usage.finish();
}

describe('StreamingUsage: the usage of a replay, computed while the log is read', () => {
  it('equals the domain batch (countedUsageEvents + chargeUsageOf) for every log and every page size', () => {
    fc.assert(
      fc.property(usageLog, catalog, fc.integer({ min: 1, max: 8 }), (log, metrics, pageSize) => {
        expect(streamed(log, metrics, pageSize)).toEqual(batch(log, metrics));
      }),
      { numRuns: 400 },
    );
  });

  it.each(AGGREGATIONS)("equals the domain's aggregate() for %s, with duplicates and voids", (aggregation) => {
    fc.assert(
      fc.property(usageLog, catalog, fc.integer({ min: 1, max: 5 }), (log, generated, pageSize) => {
        // m2 has one version: its usage is aggregate() over the counted events of the window.
        const [version] = generated.get('m2')!.versions;
        const m2: Metric = {
          ...generated.get('m2')!,
          versions: [{ ...version, aggregation, ...(aggregation === 'percentile' ? { percentile: '90' } : {}) }],
        };
        const metrics = new Map([...generated, ['m2', m2]]);
        const own = usageInWindow(countedUsageEvents(log), 'm2', WINDOW).map((event) => ({
          id: event.usage_id,
          timestamp: event.timestamp,
          value: event.value,
          properties: event.properties,
        }));
        const expected = usageQuantity(aggregate(metricDefinitionOf(m2, m2.versions[0]), own));
        const usage = streamed(log, metrics, pageSize).find((line) => line.charge_key === 'other_metric')!;
        expect(usage.quantity).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('orders checksum lines by instant then usage id, whatever the log order, and sorts only when needed', () => {
    const metrics = new Map<string, Metric>([
      ['m1', plainSumMetric('m1')],
      ['m2', plainSumMetric('m2')],
    ]);
    const event = (id: string, timestamp: string, value: string): LoggedEvent => ({
      id,
      type: 'UsageRecorded',
      data: {
        usage_id: id,
        customer_id: 'c1',
        metric_key: 'm1',
        value,
        timestamp,
        idempotency_key: id,
        properties: {},
      },
    });
    const a = event('00000000-0000-4000-8000-00000000000a', '2026-03-12T00:00:00+02:00', '1.50');
    const b = event('00000000-0000-4000-8000-00000000000b', '2026-03-11T22:00:00Z', '2');
    const c = event('00000000-0000-4000-8000-00000000000c', '2026-03-11T21:00:00.5Z', '3');
    for (const log of [
      [a, b, c],
      [c, a, b],
      [b, c, a],
    ]) {
      const [plain] = streamed(log, metrics, 2);
      expect(plain).toEqual(batch(log, metrics)[0]);
      expect(plain.quantity).toBe('6.5');
    }
  });

  it('a repeated usage id does not claim its new idempotency key: a later event with that key counts', () => {
    const metrics = fc.sample(catalog, { numRuns: 1, seed: 1 })[0];
    const sum: Metric = { ...metrics.get('m1')!, versions: plainSumMetric('m1').versions };
    const event = (usageId: string, key: string, value: string): LoggedEvent => ({
      id: usageId,
      type: 'UsageRecorded',
      data: {
        usage_id: usageId,
        customer_id: 'c1',
        metric_key: 'm1',
        value,
        timestamp: '2026-03-15T00:00:00Z',
        idempotency_key: key,
        properties: {},
      },
    });
    const [x, y] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
    const log = [event(x, 'k1', '1'), event(x, 'k2', '10'), event(y, 'k2', '100')];
    const all = new Map([...metrics, ['m1', sum]]);
    for (const pageSize of [1, 3]) {
      const [plain] = streamed(log, all, pageSize);
      expect(plain.quantity).toBe('101');
      expect(plain).toEqual(batch(log, all)[0]);
    }
  });

  it('writes decimals as the checksum definition does (toDecimalString), with or without decimal.js', () => {
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.stringMatching(/^\d{1,10}$/),
        fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: undefined }),
      )
      .map(([sign, whole, fraction]) => `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}`);
    fc.assert(
      fc.property(decimal, (text) => {
        expect(canonicalDecimal(text)).toBe(toDecimalString(new Dec(text)));
      }),
      { numRuns: 2000 },
    );
    expect(['-0', '-0.000', '00.10', '5.0'].map(canonicalDecimal)).toEqual(['0', '0', '0.1', '5']);
    expect(instantKey('2026-03-12T00:00:00+02:00')).toBe(instantKey('2026-03-11T22:00:00Z'));
  });
});
