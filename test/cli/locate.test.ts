/** lineOf: the line of a descriptor path in block-style YAML, for `file:line: path` locations. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineOf } from '../../src/io/locate.js';

const MODEL = `# a comment with heads: 99
name: m
dims:
  seq: 128
  x: seq / 2
  y:
    value: 3
    doc: "x: not a key"
blocks:
  - type: embedding
    input: [batch, seq]
    chunk:
      dim: seq
      size: 64
  - name: enc
    type: transformer_encoder
    heads: 4
  -
    type: linear
    out: 8
  - type: attention
    # heads: 2 is only a comment here
    dropout: 0.1
    heads: 8
    memory:
      - batch
      - seq
knobs:
  seq:
    values: [64, 128]
`;

describe('lineOf', () => {
  const cases: [string, number | undefined][] = [
    ['name', 2],
    ['dims', 3],
    ['dims.seq', 4],
    ['dims.x', 5],
    ['dims.y', 6],
    ['dims.y.value', 7],
    ['dims.y.doc', 8],
    ['blocks', 9],
    ['blocks[0]', 10],
    ['blocks[0].type', 10],
    ['blocks[0].input', 11],
    ['blocks[0].input[1]', 11], // a flow list: the key's line
    ['blocks[0].chunk', 12],
    ['blocks[0].chunk.size', 14],
    ['blocks[0].chunk.dim', 13],
    ['blocks[1]', 15],
    ['blocks[1].name', 15],
    ['blocks[1].heads', 17],
    ['blocks[2]', 18], // a bare "-" item
    ['blocks[2].out', 20],
    ['blocks[3].heads', 24], // not the comment, not blocks[1]'s heads
    ['blocks[3].memory[1]', 27],
    ['knobs.seq.values', 30],
  ];
  for (const [path, line] of cases) {
    it(`${path} -> ${line}`, () => assert.equal(lineOf(MODEL, path), line));
  }

  it('falls back to the deepest part found', () => {
    assert.equal(lineOf(MODEL, 'blocks[1].dropout'), 15, 'blocks[1] has no dropout: the item line');
    assert.equal(lineOf(MODEL, 'blocks[9].heads'), 9, 'no 10th block: the blocks line');
    assert.equal(lineOf(MODEL, 'dims.z'), 3);
    assert.equal(lineOf(MODEL, 'nothing'), undefined);
  });

  it('reads unindented lists and CRLF line ends', () => {
    const text = 'blocks:\r\n- type: linear\r\n  out: 4\r\n- type: loss\r\n  kind: mse\r\nname: x\r\n';
    assert.equal(lineOf(text, 'blocks[1].kind'), 5);
    assert.equal(lineOf(text, 'blocks[0].out'), 3);
    assert.equal(lineOf(text, 'name'), 6);
  });
});
