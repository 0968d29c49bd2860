const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

/** Where test/chaos/support/report.ts appends one JSON line per chaos scenario. */
const chaosReport = () => process.env.ABAXUS_CHAOS_REPORT ?? join(process.cwd(), 'chaos-report.jsonl');

/**
 * Prints the plain closing line CI reads: `N passed, N failed` (`, N skipped` when any).
 * Suites that fail to run (syntax errors, failing hooks) count as failures too. Before it, the
 * figures of any chaos scenario that ran, so they are not lost in the middle of the log.
 */
class SummaryReporter {
  onRunStart() {
    rmSync(chaosReport(), { force: true });
  }

  onRunComplete(_contexts, results) {
    if (existsSync(chaosReport())) {
      const lines = readFileSync(chaosReport(), 'utf8').split('\n').filter(Boolean);
      if (lines.length > 0) process.stdout.write(`\nchaos figures:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    }
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    let line = `${results.numPassedTests} passed, ${failed} failed`;
    if (skipped > 0) line += `, ${skipped} skipped`;
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
