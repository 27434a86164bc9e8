import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, evalValue } from '../../src/core/expr.js';
import { MemplanError } from '../../src/core/errors.js';

const scope = new Map([
  ['batch', 2],
  ['token_limit', 1024],
  ['zero', 0],
]);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MemplanError, `expected a MemplanError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

test('arithmetic and the allowed functions evaluate', () => {
  assert.equal(evalValue('batch * token_limit', scope, 'x'), 2048);
  assert.equal(evalValue('ceil(token_limit / 300)', scope, 'x'), 4);
  assert.equal(evalValue('floor(token_limit / 300) + max(batch, 3) - min(1, 2)', scope, 'x'), 5);
  assert.equal(evalValue('2 ^ 10 + token_limit % 1000 + mod(7, 4) + pow(2, 3)', scope, 'x'), 1024 + 24 + 3 + 8);
  assert.equal(evalValue('sqrt(16) * log2(8) * abs(-1) + round(2.4)', scope, 'x'), 14);
  assert.equal(evalValue(12, scope, 'x'), 12);
});

test('the sandbox refuses mathjs escape hatches', () => {
  for (const src of ['import({}, {override: true})', 'evaluate("1")', 'createUnit("x")', 'parse("1")', 'compile("1")', 'simplify("x")']) {
    assert.equal(code(() => compileExpr(src)), 'E_EXPR_FORBIDDEN', src);
  }
});

test('strings, matrices, unknown functions, assignment and function definitions are refused', () => {
  assert.equal(code(() => compileExpr('"abc"')), 'E_EXPR_FORBIDDEN');
  assert.equal(code(() => compileExpr('"1" + 2')), 'E_EXPR_FORBIDDEN');
  for (const src of ['[1, 2]', 'matrix([1, 2])', 'sin(1)', 'batch.x', 'batch == 1', 'a = 1', 'f(x) = x', 'x ? 1 : 2', '{a: 1}', '1:3']) {
    const c = code(() => compileExpr(src));
    // Some of these do not even parse in the reduced instance; either way nothing is evaluated.
    assert.ok(c === 'E_EXPR_FORBIDDEN' || c === 'E_EXPR_SYNTAX', `${src}: ${c}`);
  }
  assert.equal(code(() => compileExpr('sin(1)')), 'E_EXPR_FORBIDDEN');
  assert.equal(code(() => compileExpr('a = 1')), 'E_EXPR_FORBIDDEN');
  assert.equal(code(() => compileExpr('f(x) = x')), 'E_EXPR_FORBIDDEN');
  assert.equal(code(() => compileExpr('1 +')), 'E_EXPR_SYNTAX');
});

test('undeclared symbols are reported before evaluation, with a did-you-mean hint', () => {
  let err: MemplanError | undefined;
  try {
    evalValue('batch * token_limt', scope, 'blocks[0].input[1]');
  } catch (e) {
    err = e as MemplanError;
  }
  assert.ok(err);
  assert.equal(err.code, 'E_UNDECLARED_SYMBOL');
  assert.equal(err.path, 'blocks[0].input[1]');
  assert.match(err.message, /"token_limt"/);
  assert.match(err.hint ?? '', /did you mean "token_limit"/);
  // Reported even where evaluating first would have failed differently (division by an undeclared name).
  assert.equal(code(() => evalValue('1 / nothing_like_it', scope, 'x')), 'E_UNDECLARED_SYMBOL');
});

test('division by zero is its own error', () => {
  assert.equal(code(() => evalValue('token_limit / zero', scope, 'x')), 'E_DIVISION_BY_ZERO');
  assert.equal(code(() => evalValue('ceil(token_limit / (batch - 2))', scope, 'x')), 'E_DIVISION_BY_ZERO');
});

test('integers where integers are required; negatives refused', () => {
  assert.equal(code(() => evalValue('token_limit / 3', scope, 'x', { integer: true })), 'E_EXPR_VALUE');
  assert.equal(evalValue('token_limit / 3', scope, 'x'), 1024 / 3);
  assert.equal(code(() => evalValue('batch - 3', scope, 'x')), 'E_EXPR_VALUE');
  assert.equal(code(() => evalValue(-1, scope, 'x')), 'E_EXPR_VALUE');
  assert.equal(code(() => evalValue(1.5, scope, 'x', { integer: true })), 'E_EXPR_VALUE');
  assert.equal(code(() => evalValue('batch - 2', scope, 'x', { integer: true, min: 1 })), 'E_EXPR_VALUE');
  // Decimal round-off a few ulps from an integer is snapped, not refused.
  assert.equal(evalValue('2000 / 0.1', scope, 'x', { integer: true }), 20000);
});

test('values past the dimension limit (2^40) are E_TOO_LARGE; a place that allows more says so', () => {
  assert.equal(code(() => evalValue('2 ^ 53 + 2', scope, 'x')), 'E_TOO_LARGE');
  assert.equal(code(() => evalValue(2 ** 60, scope, 'x', { integer: true })), 'E_TOO_LARGE');
  assert.equal(code(() => evalValue('2 ^ 40 + 1', scope, 'x', { integer: true })), 'E_TOO_LARGE');
  assert.equal(evalValue('2 ^ 40', scope, 'x', { integer: true }), 1099511627776);
  assert.equal(evalValue('2 ^ 53 - 1', scope, 'x', { integer: true, max: Number.MAX_SAFE_INTEGER }), Number.MAX_SAFE_INTEGER);
  assert.equal(code(() => evalValue('2 ^ 53 + 2', scope, 'x', { max: Number.MAX_SAFE_INTEGER })), 'E_TOO_LARGE');
});
