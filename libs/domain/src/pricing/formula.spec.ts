import { Dec } from '../decimal';
import { PricingError } from './charge';
import { compileFormula } from './formula';

const evaluate = (formula: string, usage: string) => compileFormula(formula).evaluate(new Dec(usage)).toString();

function rejection(formula: unknown): PricingError {
  try {
    compileFormula(formula as string);
  } catch (error) {
    if (error instanceof PricingError) return error;
    throw error;
  }
  throw new Error(`expected ${String(formula)} to be rejected`);
}

describe('compileFormula', () => {
  it.each([
    ['max(0, usage - 100) * 0.01', '1150', '10.5'],
    ['usage * 0.1', '0.3', '0.03'], // decimal, not float: 0.030000000000000002 would be wrong
    ['(usage + 1) / 4', '1', '0.5'],
    ['-usage + +2', '1', '1'],
    ['min(usage, 10, 5)', '100', '5'],
    ['max(usage)', '7', '7'],
    ['ceil(usage)', '1.1', '2'],
    ['floor(usage)', '1.9', '1'],
    ['abs(usage - 10)', '4', '6'],
    ['round(usage)', '2.5', '3'],
    ['round(usage)', '-2.5', '-3'], // half away from zero
    ['round(usage, 2)', '1.005', '1.01'],
    ['1e3 * usage', '2', '2000'],
  ])('%s at usage %s = %s', (formula, usage, expected) => {
    expect(new Dec(evaluate(formula, usage)).equals(new Dec(expected))).toBe(true);
  });

  it('rounds divisions at 80 significant digits (the line rounds to the currency afterwards)', () => {
    expect(evaluate('usage / 3 * 3', '1')).toBe(`0.${'9'.repeat(80)}`);
  });

  it('keeps literals exact beyond double precision', () => {
    expect(evaluate('usage * 0.12345678901234567890123', '1')).toBe('0.12345678901234567890123');
  });

  it.each([
    // names other than usage: nothing of mathjs, JavaScript or the host is reachable
    'x + 1',
    'pi * usage',
    'e',
    'Infinity',
    'NaN',
    'process',
    'constructor',
    '__proto__',
    'this',
    // functions outside the whitelist, including mathjs' own evaluators
    'sqrt(usage)',
    'evaluate("1+1")',
    'import({}, {})',
    'createUnit("x")',
    'parse("1")',
    'usage.constructor',
    'usage["constructor"]',
    '(usage)(1)',
    'f(x) = x',
    'a = 1',
    'usage; 1',
    'usage\n1',
    // operators outside + - * /
    'usage ^ 2',
    'usage % 3',
    'usage mod 3',
    'usage!',
    "usage'",
    'usage == 1',
    'usage > 1 ? 1 : 2',
    'usage and 1',
    'usage to cm',
    '1:3',
    '[1, 2]',
    '{a: 1}',
    '2usage',
    '2 usage',
    '5 cm',
    // literals other than decimals
    '"1"',
    'true',
    'null',
    '0x10',
    '0b1 + usage',
    '0o7',
    'round(usage, usage)',
    'round(usage, 11)',
    'round(usage, 1.5)',
    'round(usage, -1)',
    'min()',
    'ceil(usage, 2)',
    // structural problems
    '',
    '   ',
    'usage +',
    '((usage)',
    'x'.repeat(501),
    Array.from({ length: 120 }, () => 'usage').join(' + '),
  ])('rejects %p', (formula) => {
    const error = rejection(formula);
    expect(error.code).toBe('PRICING.INVALID_FORMULA');
    expect(error.field).toBe('formula');
  });

  it('rejects non-strings and formulas that fail at zero usage', () => {
    expect(rejection(42).code).toBe('PRICING.INVALID_FORMULA');
    expect(rejection(null).code).toBe('PRICING.INVALID_FORMULA');
    expect(rejection('100 / usage').message).toContain('zero usage');
    expect(rejection('1 / 0').message).toContain('division by zero');
  });

  it('reports division by zero at other usages as an evaluation error', () => {
    const formula = compileFormula('100 / (usage - 5)');
    expect(() => formula.evaluate(new Dec(5))).toThrow(expect.objectContaining({ code: 'PRICING.FORMULA_EVALUATION' }));
  });
});
