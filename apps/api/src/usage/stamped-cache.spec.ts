import { StampedCache } from './stamped-cache';

describe('StampedCache', () => {
  const loader = () => {
    let calls = 0;
    return {
      load: (value: string) => () => {
        calls += 1;
        return Promise.resolve(value);
      },
      calls: () => calls,
    };
  };

  it('reuses an entry while the stamp is the same, and loads again for another stamp', async () => {
    const cache = new StampedCache<string>();
    const l = loader();
    expect(await cache.get('k', '1.0@10/5', l.load('a'))).toBe('a');
    expect(await cache.get('k', '1.0@10/5', l.load('b'))).toBe('a');
    expect(l.calls()).toBe(1);
    expect(await cache.get('k', '1.0@10/6', l.load('c'))).toBe('c');
    expect(await cache.get('k', '1.1@10/6', l.load('d'))).toBe('d'); // another build, same checkpoint
    expect(await cache.get('other', '1.1@10/6', l.load('e'))).toBe('e');
    expect(l.calls()).toBe(4);
  });

  it('never keeps a load without a stamp, nor one that failed', async () => {
    const cache = new StampedCache<string>();
    const l = loader();
    await cache.get('k', null, l.load('a'));
    await cache.get('k', null, l.load('a'));
    expect(l.calls()).toBe(2);
    expect(cache.size).toBe(0);
    await expect(cache.get('k', 's', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get('k', 's', l.load('b'))).toBe('b');
  });

  it('keeps at most capacity entries, dropping the oldest written', async () => {
    const cache = new StampedCache<string>(2);
    const l = loader();
    await cache.get('a', 's', l.load('a'));
    await cache.get('b', 's', l.load('b'));
    await cache.get('a', 't', l.load('a2')); // rewritten: now the newest
    await cache.get('c', 's', l.load('c'));
    expect(cache.size).toBe(2);
    expect(await cache.get('a', 't', l.load('x'))).toBe('a2');
    expect(await cache.get('b', 's', l.load('b2'))).toBe('b2'); // b was dropped
    expect(() => new StampedCache(0)).toThrow(RangeError);
  });
});
