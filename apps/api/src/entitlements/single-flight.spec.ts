import { SingleFlight } from './single-flight';

/* Checks of one customer arriving together share one usage read, and only while it is in flight. */

describe('SingleFlight', () => {
  function deferred<T>() {
    let resolve!: (value: T) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<T>((ok, fail) => ((resolve = ok), (reject = fail)));
    return { promise, resolve, reject };
  }

  it('concurrent runs of one key share one work; other keys run their own', async () => {
    const flight = new SingleFlight<string>();
    const pending = [deferred<string>(), deferred<string>()];
    let calls = 0;
    const work = (index: number) => () => ((calls += 1), pending[index].promise);
    const [a, b] = [flight.run('cust_a', work(0)), flight.run('cust_a', work(1))];
    const other = flight.run('cust_b', work(1));
    expect(calls).toBe(2);
    expect(flight.size).toBe(2);
    pending[0].resolve('60');
    pending[1].resolve('7');
    expect(await Promise.all([a, b, other])).toEqual(['60', '60', '7']);
  });

  it('runs again once the previous run has settled, fulfilled or rejected', async () => {
    const flight = new SingleFlight<string>();
    let calls = 0;
    const failing = flight.run('k', async () => {
      calls += 1;
      throw new Error('database down');
    });
    await expect(failing).rejects.toThrow('database down');
    expect(flight.size).toBe(0);
    expect(await flight.run('k', async () => ((calls += 1), 'fresh'))).toBe('fresh');
    expect(await flight.run('k', async () => ((calls += 1), 'fresher'))).toBe('fresher');
    expect(calls).toBe(3);
  });
});
