import { UsageLag } from './usage-lag';

/* The lag measure behind meta.lag_seconds: shared, and never older than its maximum age. */

describe('UsageLag', () => {
  function setup(maxAgeMs = 250) {
    let clock = 1_000;
    let calls = 0;
    let next = 0;
    const pending: Array<() => void> = [];
    const lag = new UsageLag(
      () => {
        calls += 1;
        const value = next;
        return new Promise<number>((resolve) => pending.push(() => resolve(value)));
      },
      maxAgeMs,
      () => clock,
    );
    return {
      lag,
      calls: () => calls,
      setNext: (value: number) => (next = value),
      advance: (ms: number) => (clock += ms),
      settle: () => pending.splice(0).forEach((resolve) => resolve()),
    };
  }

  it('concurrent readers share one measure; a fresh value is served without measuring again', async () => {
    const t = setup();
    t.setNext(1.5);
    const [a, b] = [t.lag.seconds(), t.lag.seconds()];
    expect(t.calls()).toBe(1);
    t.settle();
    expect(await Promise.all([a, b])).toEqual([1.5, 1.5]);
    t.advance(249);
    expect(await t.lag.seconds()).toBe(1.5);
    expect(t.calls()).toBe(1);
  });

  it('a value as old as the maximum age is measured again (from when its measure began)', async () => {
    const t = setup();
    t.setNext(2);
    const first = t.lag.seconds();
    t.advance(100); // the measure took 100 ms
    t.settle();
    expect(await first).toBe(2);
    t.advance(150);
    t.setNext(0);
    const second = t.lag.seconds();
    expect(t.calls()).toBe(2);
    t.settle();
    expect(await second).toBe(0);
  });

  it('a failed measure is not remembered: the next reader measures again', async () => {
    let calls = 0;
    const lag = new UsageLag(async () => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
      return 0;
    });
    await expect(lag.seconds()).rejects.toThrow('database down');
    expect(await lag.seconds()).toBe(0);
    expect(calls).toBe(2);
  });
});
