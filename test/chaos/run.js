#!/usr/bin/env node
/**
 * `npm run test:chaos -- --minutes N`: the chaos scenarios of test/chaos, each given an equal share
 * of N minutes of fault injection (the bounded form runs in `npm test` with 15 s each).
 */
const { spawnSync } = require('node:child_process');
const { readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { Command, InvalidArgumentError } = require('commander');

const program = new Command('test:chaos')
  .description('run every chaos scenario against real processes and a real PostgreSQL')
  .option(
    '--minutes <n>',
    'total fault-injection time, shared equally by the scenarios',
    (value) => {
      const minutes = Number(value);
      if (!Number.isFinite(minutes) || minutes <= 0) throw new InvalidArgumentError('expected a number > 0');
      return minutes;
    },
    5,
  )
  .option('--scenario <name>', 'run only the scenario files whose name contains this')
  .parse();
const { minutes, scenario } = program.opts();

const root = join(__dirname, '..', '..');
const specs = readdirSync(__dirname).filter(
  (file) => file.endsWith('.spec.ts') && (!scenario || file.includes(scenario)),
);
if (specs.length === 0) {
  console.error(`no chaos scenario matches ${scenario}`);
  process.exit(2);
}
const seconds = Math.max(5, Math.floor((minutes * 60) / specs.length));
const report = join(root, 'chaos-report.jsonl');
rmSync(report, { force: true });
console.log(`chaos: ${specs.length} scenario(s), ${seconds} s of faults each`);
const result = spawnSync(
  process.execPath,
  [require.resolve('jest/bin/jest'), '--runInBand', ...specs.map((spec) => join('test', 'chaos', spec))],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      ABAXUS_CHAOS_SECONDS: String(seconds),
      ABAXUS_CHAOS_REPORT: report,
      ABAXUS_TEST_SKIP_BUILD: '1',
    },
  },
);
process.exit(result.status ?? 1);
