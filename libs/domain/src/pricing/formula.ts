import type { MathNode } from 'mathjs';
import { Dec } from '../decimal';
import { PricingError } from './charge';

/*
 * custom_formula: a decimal expression over `usage`, e.g. "max(0, usage - 100) * 0.01".
 *
 * mathjs only PARSES the text (configured for BigNumber, so literals are read as decimals, never as
 * floats). We never let mathjs evaluate it, and never use eval/Function: compileFormula walks the
 * AST and accepts only this whitelist, turning it into closures over our decimal type:
 *   numeric literals (decimal notation, exponents allowed; no hex/binary/octal), the name `usage`,
 *   + - * / (binary), unary - and +, parentheses,
 *   min(a, …), max(a, …), ceil(x), floor(x), abs(x), round(x) and round(x, n) with n a literal 0-10.
 * Anything else (other names, ^, %, implicit multiplication "2usage", units, strings, matrices,
 * assignments, function definitions, property access, conditionals) is PRICING.INVALID_FORMULA.
 * round() rounds half away from zero, like every rounding in ABAXUS.
 */

type MathJs = typeof import('mathjs');
let parser: ((text: string) => MathNode) | undefined;

/**
 * mathjs is loaded on the first formula, not at start: requiring it costs 1.5-2.5 s of CPU, which
 * every process (API, projector, CLI) paid on start-up even when no plan has a custom_formula charge.
 */
function parseFormula(text: string): MathNode {
  if (!parser) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy by design (see above)
    const { create, parseDependencies } = require('mathjs') as MathJs;
    const math = create({ parseDependencies }, { number: 'BigNumber', precision: 64 });
    parser = (formula) => math.parse(formula);
  }
  return parser(text);
}

const MAX_LENGTH = 500;
const MAX_NODES = 200;
const MAX_ROUND_DECIMALS = 10;
const BINARY: Readonly<Record<string, (a: Dec, b: Dec) => Dec>> = {
  add: (a, b) => a.plus(b),
  subtract: (a, b) => a.minus(b),
  multiply: (a, b) => a.times(b),
  divide: (a, b) => {
    if (b.isZero()) throw new PricingError('PRICING.FORMULA_EVALUATION', 'division by zero in the formula', 'formula');
    return a.dividedBy(b);
  },
};
const UNARY: Readonly<Record<string, (a: Dec) => Dec>> = {
  unaryMinus: (a) => a.negated(),
  unaryPlus: (a) => a,
  ceil: (a) => a.ceil(),
  floor: (a) => a.floor(),
  abs: (a) => a.abs(),
};

type Evaluate = (usage: Dec) => Dec;

export interface CompiledFormula {
  readonly formula: string;
  /** The formula's value for a usage quantity. Throws PRICING.FORMULA_EVALUATION (division by zero). */
  evaluate(usage: Dec): Dec;
}

function invalid(message: string): PricingError {
  return new PricingError('PRICING.INVALID_FORMULA', message, 'formula');
}

/** Walks the AST; every node must be on the whitelist. */
function compileNode(node: MathNode, budget: { nodes: number }): Evaluate {
  if (++budget.nodes > MAX_NODES) throw invalid(`is too complex (more than ${MAX_NODES} terms)`);
  const n = node as MathNode & Record<string, unknown>;
  switch (node.type) {
    case 'ConstantNode': {
      const value = n.value as
        { isBigNumber?: boolean; isFinite?: () => boolean; toString(): string } | string | boolean | null;
      if (typeof value !== 'object' || value === null || !value.isBigNumber || !value.isFinite?.()) {
        throw invalid('may only contain numbers, "usage", + - * / ( ) and min, max, ceil, floor, round, abs');
      }
      const constant = new Dec(value.toString());
      return () => constant;
    }
    case 'SymbolNode':
      if (n.name === 'usage') return (usage) => usage;
      throw invalid(`unknown name "${String(n.name)}" (only "usage" is available)`);
    case 'ParenthesisNode':
      return compileNode(n.content as MathNode, budget);
    case 'OperatorNode':
      return compileOperator(n, budget);
    case 'FunctionNode':
      return compileFunction(n, budget);
    default:
      throw invalid(`${describeNode(node.type)} is not allowed`);
  }
}

function describeNode(type: string): string {
  const names: Record<string, string> = {
    AssignmentNode: 'assignment',
    FunctionAssignmentNode: 'a function definition',
    AccessorNode: 'property access',
    ArrayNode: 'a matrix',
    ObjectNode: 'an object',
    ConditionalNode: 'a conditional',
    RangeNode: 'a range',
    RelationalNode: 'a comparison',
    BlockNode: 'more than one expression',
    IndexNode: 'indexing',
  };
  return names[type] ?? type;
}

function compileOperator(n: MathNode & Record<string, unknown>, budget: { nodes: number }): Evaluate {
  const args = (n.args as MathNode[]).map((arg) => compileNode(arg, budget));
  const fn = String(n.fn);
  if (n.implicit) throw invalid('write multiplication explicitly with "*"');
  if (args.length === 2 && BINARY[fn]) {
    const [left, right] = args;
    const apply = BINARY[fn];
    return (usage) => apply(left(usage), right(usage));
  }
  if (args.length === 1 && (fn === 'unaryMinus' || fn === 'unaryPlus')) {
    const [operand] = args;
    const apply = UNARY[fn];
    return (usage) => apply(operand(usage));
  }
  throw invalid(`operator "${String(n.op)}" is not allowed (use + - * /)`);
}

function compileFunction(n: MathNode & Record<string, unknown>, budget: { nodes: number }): Evaluate {
  const callee = n.fn as MathNode & Record<string, unknown>;
  const name = callee.type === 'SymbolNode' ? String(callee.name) : '';
  const rawArgs = n.args as MathNode[];
  if (name === 'min' || name === 'max') {
    if (rawArgs.length === 0) throw invalid(`${name}() needs at least one argument`);
    const args = rawArgs.map((arg) => compileNode(arg, budget));
    return (usage) => {
      const values = args.map((arg) => arg(usage));
      return values.reduce((best, value) =>
        name === 'min' ? (value.lessThan(best) ? value : best) : value.greaterThan(best) ? value : best,
      );
    };
  }
  if (name === 'round') return compileRound(rawArgs, budget);
  if (UNARY[name] && name !== 'unaryMinus' && name !== 'unaryPlus') {
    if (rawArgs.length !== 1) throw invalid(`${name}() takes exactly one argument`);
    const [operand] = rawArgs.map((arg) => compileNode(arg, budget));
    const apply = UNARY[name];
    return (usage) => apply(operand(usage));
  }
  throw invalid(`function "${name || 'expression'}" is not allowed (use min, max, ceil, floor, round, abs)`);
}

function compileRound(rawArgs: MathNode[], budget: { nodes: number }): Evaluate {
  if (rawArgs.length < 1 || rawArgs.length > 2)
    throw invalid('round() takes a value and optionally a number of decimals');
  const operand = compileNode(rawArgs[0], budget);
  let decimals = 0;
  if (rawArgs.length === 2) {
    // The decimals must be a literal, so the rounding is known when the plan is published.
    const places = compileNode(rawArgs[1], budget)(new Dec(0));
    if (
      rawArgs[1].type !== 'ConstantNode' ||
      !places.isInteger() ||
      places.isNegative() ||
      places.greaterThan(MAX_ROUND_DECIMALS)
    ) {
      throw invalid(`round(x, n) needs n to be a whole number from 0 to ${MAX_ROUND_DECIMALS}`);
    }
    decimals = places.toNumber();
  }
  return (usage) => operand(usage).toDecimalPlaces(decimals, Dec.ROUND_HALF_UP);
}

/**
 * Parses and checks a formula. Throws PRICING.INVALID_FORMULA (field `formula`) when it does not
 * parse, uses anything outside the whitelist, or fails at zero usage (every period can have zero
 * usage, so "100 / usage" is a plan error, not a billing-time surprise).
 */
export function compileFormula(formula: string): CompiledFormula {
  if (typeof formula !== 'string' || formula.trim().length === 0) throw invalid('must be a non-empty expression');
  if (formula.length > MAX_LENGTH) throw invalid(`must be at most ${MAX_LENGTH} characters`);
  // mathjs reads 0x10, 0b1 and 0o7 as numbers; a price formula has no use for them.
  if (/(^|[^0-9A-Za-z_.])0[xXbBoO]/.test(formula))
    throw invalid('hexadecimal, binary and octal literals are not allowed');
  let tree: MathNode;
  try {
    tree = parseFormula(formula);
  } catch (error) {
    throw invalid(`does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
  const evaluate = compileNode(tree, { nodes: 0 });
  try {
    evaluate(new Dec(0));
  } catch (error) {
    if (error instanceof PricingError) throw invalid(`fails at zero usage: ${error.message}`);
    throw error;
  }
  return { formula, evaluate };
}

const compiled = new Map<string, CompiledFormula>();

/** compileFormula, memoised (a plan's formula is priced for every subscription on every run). */
export function cachedFormula(formula: string): CompiledFormula {
  let hit = compiled.get(formula);
  if (!hit) {
    hit = compileFormula(formula);
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(formula, hit);
  }
  return hit;
}
