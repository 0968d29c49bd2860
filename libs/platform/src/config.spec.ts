import { ConfigError, loadConfig } from './config';

describe('loadConfig: protection settings', () => {
  it('defaults to 2,000 requests per second per key and a 30 s request timeout', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitPerSecond: 2_000, requestTimeoutMs: 30_000 });
  });

  it('reads ABAXUS_RATE_LIMIT_PER_SECOND (0 turns the limit off) and ABAXUS_REQUEST_TIMEOUT_MS', () => {
    const config = loadConfig({ ABAXUS_RATE_LIMIT_PER_SECOND: '0', ABAXUS_REQUEST_TIMEOUT_MS: '5000' });
    expect(config).toMatchObject({ rateLimitPerSecond: 0, requestTimeoutMs: 5_000 });
  });

  it.each([
    ['ABAXUS_RATE_LIMIT_PER_SECOND', '-1'],
    ['ABAXUS_RATE_LIMIT_PER_SECOND', '2.5'],
    ['ABAXUS_RATE_LIMIT_PER_SECOND', 'lots'],
    ['ABAXUS_REQUEST_TIMEOUT_MS', '999'],
    ['ABAXUS_REQUEST_TIMEOUT_MS', '1e4'],
    ['ABAXUS_DATABASE_QUERY_TIMEOUT_MS', '-5'],
    ['ABAXUS_DATABASE_QUERY_TIMEOUT_MS', '2s'],
    ['ABAXUS_PROJECTOR_BATCH_SIZE', '0'],
    ['ABAXUS_PROJECTOR_BATCH_SIZE', '100001'],
    ['ABAXUS_PROJECTOR_BATCH_SIZE', '8k'],
  ])('refuses %s=%s with a ConfigError naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: expected an integer`));
  });
});

describe('loadConfig: database query timeout', () => {
  it("bounds the API's queries at 60 s by default; 0 turns the bound off", () => {
    expect(loadConfig({}).databaseQueryTimeoutMs).toBe(60_000);
    expect(loadConfig({ ABAXUS_DATABASE_QUERY_TIMEOUT_MS: '2500' }).databaseQueryTimeoutMs).toBe(2_500);
    expect(loadConfig({ ABAXUS_DATABASE_QUERY_TIMEOUT_MS: '0' }).databaseQueryTimeoutMs).toBe(0);
  });
});

describe('loadConfig: projector batch size', () => {
  it('leaves it unset by default (the ledger default applies) and reads ABAXUS_PROJECTOR_BATCH_SIZE', () => {
    expect(loadConfig({}).projectorBatchSize).toBeUndefined();
    expect(loadConfig({ ABAXUS_PROJECTOR_BATCH_SIZE: '20000' }).projectorBatchSize).toBe(20_000);
    expect(loadConfig({ ABAXUS_PROJECTOR_BATCH_SIZE: '100000' }).projectorBatchSize).toBe(100_000);
  });

  it('names the accepted range when the value is out of it', () => {
    expect(() => loadConfig({ ABAXUS_PROJECTOR_BATCH_SIZE: '100001' })).toThrow(
      'ABAXUS_PROJECTOR_BATCH_SIZE: expected an integer from 1 to 100000, got "100001"',
    );
  });
});
