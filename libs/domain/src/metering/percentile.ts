import { Dec, toDecimalString, type DecimalString } from '../decimal';
import { acceptedValues, build, type Aggregator, type ValuesState } from './aggregator';
import { MeteringError, type MetricDefinition } from './metric';

/**
 * Percentile by the NEAREST-RANK method: with the n values sorted ascending (v1 <= … <= vn),
 *   rank = max(1, ceil(p × n / 100)),   percentile = v_rank
 * so the result is always one of the observed values (p = 100 is the maximum, p = 0 the minimum).
 * This is PostgreSQL's `percentile_disc(p / 100)`, which works on NUMERIC exactly, whereas
 * `percentile_cont` (linear interpolation) only exists for double precision and would lose the
 * exactness of DECIMAL(20,10) usage. One caveat for the SQL path: percentile_disc computes
 * `ceil(fraction × n)` in float8 (0.07 × 100 = 7.000000000000001 -> rank 8), so the exact path must
 * compute the rank in numeric itself (row_number() = greatest(1, ceil(p::numeric * n / 100))).
 */
export function nearestRank(percentile: DecimalString, count: bigint): bigint {
  if (count <= 0n) throw new MeteringError('METERING.INVALID_METRIC', 'nearest rank of an empty set');
  const rank = BigInt(new Dec(percentile).times(count.toString()).dividedBy(100).ceil().toFixed(0));
  return rank < 1n ? 1n : rank;
}

function percentileOf(metric: MetricDefinition): DecimalString {
  const raw: unknown = metric.percentile;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d+(\.\d+)?$/.test(text) || new Dec(text).greaterThan(100)) {
    throw new MeteringError('METERING.INVALID_METRIC', 'percentile must be a number from 0 to 100', 'percentile');
  }
  return text;
}

function mergeSorted(a: readonly DecimalString[], b: readonly DecimalString[]): DecimalString[] {
  const out: DecimalString[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    out.push(new Dec(a[i]).lessThanOrEqualTo(b[j]) ? a[i++] : b[j++]);
  }
  return out.concat(a.slice(i), b.slice(j));
}

/**
 * percentile needs every raw value: its partial state is the sorted multiset of values, which
 * merges exactly (multiset union) but never shrinks, so it cannot be pre-aggregated into
 * fixed-size rows. The eventual path keeps raw values (or a sketch, clearly marked approximate).
 */
export function percentileAggregator(metric: MetricDefinition): Aggregator<ValuesState> {
  const percentile = percentileOf(metric);
  return build<ValuesState>('percentile', {
    init: () => ({ values: [] }),
    addAll: (state, events) => {
      const values = state.values.map((value) => new Dec(value));
      for (const { value } of acceptedValues(metric, events)) values.push(value);
      values.sort((x, y) => x.comparedTo(y));
      return { values: values.map(toDecimalString) };
    },
    merge: (a, b) => ({ values: mergeSorted(a.values, b.values) }),
    result: (state) => {
      if (state.values.length === 0) return null;
      return state.values[Number(nearestRank(percentile, BigInt(state.values.length))) - 1];
    },
  });
}
