import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface CruiseResult {
  summary: { violations: Array<{ from: string; to: string; rule: { name: string } }>; totalCruised: number };
  modules: Array<{
    source: string;
    dependencies: Array<{ module: string; resolved: string; couldNotResolve: boolean }>;
  }>;
}

describe('architecture', () => {
  const cruise = (): CruiseResult => {
    const out = execFileSync(
      bin('depcruise'),
      ['apps', 'libs', '--config', '.dependency-cruiser.cjs', '--output-type', 'json', '--no-progress'],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(out) as CruiseResult;
  };

  it('keeps libs/domain pure and libs independent of apps (dependency-cruiser)', () => {
    const result = cruise();
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(violations).toEqual([]);
    // The check is only meaningful if the cross-lib aliases (#domain, #ledger, #platform) resolve.
    const aliasImports = result.modules.flatMap((m) => m.dependencies.filter((d) => d.module.startsWith('#')));
    expect(aliasImports.length).toBeGreaterThan(0);
    expect(aliasImports.filter((d) => d.couldNotResolve)).toEqual([]);
    expect(aliasImports.every((d) => d.resolved.startsWith('libs/'))).toBe(true);
  });

  it('passes ESLint', () => {
    let report = '';
    try {
      execFileSync(
        bin('eslint'),
        ['apps', 'libs', 'test', 'bench', '--max-warnings', '0', '--no-error-on-unmatched-pattern'],
        {
          cwd: root,
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      report = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim() || String(error);
    }
    expect(report).toBe('');
  }, 120_000);

  it('is formatted with Prettier', () => {
    let report = '';
    try {
      execFileSync(bin('prettier'), ['--list-different', 'apps', 'libs', 'test', 'bench'], {
        cwd: root,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      report = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim() || String(error);
    }
    expect(report).toBe('');
  }, 120_000);
});
