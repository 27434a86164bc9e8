import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDims } from '../../src/core/dims.js';
import { MemplanError } from '../../src/core/errors.js';
import { est, model } from './helpers.js';

function err(fn: () => unknown): MemplanError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MemplanError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

test('dimensions resolve in dependency order, whatever the declaration order', () => {
  const d = resolveDims({ chunks: 'ceil(token_limit / asv_chunk_size)', asv_chunk_size: 256, token_limit: 1000 }, {}, { batch: 2 });
  assert.equal(d.get('chunks'), 4);
  assert.equal(d.get('batch'), 2);
  assert.equal(resolveDims({ tokens: { value: 'batch * 512', doc: 'tokens per micro-batch' } }, {}, { batch: 3 }).get('tokens'), 1536);
});

test('a derived default follows an override of what it derives from', () => {
  const declared = { token_limit: 1024, asv_chunk_size: 'token_limit' };
  assert.equal(resolveDims(declared, {}, {}).get('asv_chunk_size'), 1024);
  const over = resolveDims(declared, { token_limit: 512 }, {});
  assert.equal(over.get('token_limit'), 512);
  assert.equal(over.get('asv_chunk_size'), 512);
  // An override of the derived one wins over its default.
  assert.equal(resolveDims(declared, { asv_chunk_size: 128 }, {}).get('asv_chunk_size'), 128);
  // Overrides may be expressions of other dimensions too.
  assert.equal(resolveDims(declared, { asv_chunk_size: 'token_limit / 4' }, {}).get('asv_chunk_size'), 256);
});

test('the override reaches the traced shapes: a chunked block follows token_limit', () => {
  const m = model(
    [{ type: 'linear', input: ['batch', 'token_limit', 8], out: 8, chunk: { dim: 'token_limit', size: 'asv_chunk_size' } }],
    { token_limit: 1024, asv_chunk_size: 'token_limit' },
  );
  assert.equal(est(m, { dims: { token_limit: 512 } }).blocks[0]!.chunks, 1);
  assert.equal(est(m, { dims: { asv_chunk_size: 256 } }).blocks[0]!.chunks, 4);
});

test('cycles are reported with the cycle named', () => {
  const e = err(() => resolveDims({ a: 'b + 1', b: 'c * 2', c: 'a', d: 4 }, {}, {}));
  assert.equal(e.code, 'E_DIM_CYCLE');
  assert.match(e.message, /a -> b -> c -> a/);
  assert.equal(err(() => resolveDims({ a: 'a + 1' }, {}, {})).code, 'E_DIM_CYCLE');
  // An override can create a cycle as well.
  assert.equal(err(() => resolveDims({ a: 4, b: 'a' }, { a: 'b' }, {})).code, 'E_DIM_CYCLE');
});

test('undeclared names, bad overrides, zero divisors, negative and huge values', () => {
  const u = err(() => resolveDims({ token_limit: 1024, chunk: 'token_limt / 4' }, {}, {}));
  assert.equal(u.code, 'E_UNDECLARED_SYMBOL');
  assert.equal(u.path, 'dims.chunk');
  assert.match(u.hint ?? '', /did you mean "token_limit"/);
  assert.equal(err(() => resolveDims({ a: 1 }, { nope: 2 }, {})).code, 'E_CONFIG');
  assert.equal(err(() => resolveDims({ n: 8, c: 0, k: 'n / c' }, {}, {})).code, 'E_DIVISION_BY_ZERO');
  assert.equal(err(() => resolveDims({ n: 8, k: 'n - 9' }, {}, {})).code, 'E_EXPR_VALUE');
  assert.equal(err(() => resolveDims({ n: '2 ^ 54' }, {}, {})).code, 'E_TOO_LARGE');
});

test('dims used as tensor sizes must be positive integers', () => {
  const m = model([{ type: 'linear', input: ['batch', 'seq'], out: 4 }], { seq: 'n / 3', n: 10 });
  assert.equal(err(() => est(m)).code, 'E_EXPR_VALUE');
  const z = model([{ type: 'linear', input: ['batch', 'seq'], out: 4 }], { seq: 0 });
  assert.equal(err(() => est(z)).code, 'E_EXPR_VALUE');
  const h = model([{ type: 'attention', input: ['batch', 4, 8], heads: 'h' }], { h: 2.5 });
  assert.equal(err(() => est(h)).code, 'E_EXPR_VALUE');
});

test('sizes past 2^53 bytes are E_TOO_LARGE, not a wrong number', () => {
  // 2^27 x 2^27 elements x 4 B = 2^56 B.
  const m = model([{ type: 'linear', input: ['batch', 'n', 'n'], out: 1 }], { n: 2 ** 27 });
  assert.equal(err(() => est(m)).code, 'E_TOO_LARGE');
  const p = model([{ type: 'params', count: '2 ^ 52' }]);
  assert.equal(err(() => est(p)).code, 'E_TOO_LARGE');
});

test('batch is the run\'s batch_size: declaring or overriding it as a dimension is refused', () => {
  const declared = err(() => resolveDims({ batch: 4 }, {}, { batch: 2 }));
  assert.equal(declared.code, 'E_CONFIG');
  assert.equal(declared.path, 'dims.batch');
  const overridden = err(() => resolveDims({ seq: 8 }, { batch: 3 }, { batch: 2 }));
  assert.equal(overridden.code, 'E_CONFIG');
  assert.match(overridden.expected ?? '', /batch_size/);
});
