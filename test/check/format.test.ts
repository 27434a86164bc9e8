import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeText, renderCheck, xml, type CheckReport } from '../../src/cli/format/check.js';

test('xml escapes the five entities and drops characters XML cannot hold', () => {
  assert.equal(xml(`a<b & "c" 'd' > e\u0001\u0008f\tg`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos; &gt; ef\tg');
});

const failing: CheckReport = {
  tool: 'memplan check',
  version: 1,
  exit: 1,
  results: [
    {
      file: 'configs/a,b:c.yaml',
      line: 7,
      status: 'FAIL',
      message: '100% used\nsecond line',
      gpu: { id: 't4', name: 'T4' },
      device_total: 2048,
      capacity: 1024,
      budget: 1024,
      free: -1024,
      headroom_spec: '0 B',
    },
  ],
};

test('github annotations escape properties and data', () => {
  const out = renderCheck(failing, 'github');
  assert.ok(out.startsWith('::error file=configs/a%2Cb%3Ac.yaml,line=7,title=memplan check FAIL::FAIL configs/a,b:c.yaml:7 (t4): 100%25 used%0Asecond line\n'), out);
});

test('markdown escapes table cells', () => {
  const report: CheckReport = { ...failing, results: [{ ...failing.results[0]!, file: 'x|y.yaml' }] };
  const out = renderCheck(report, 'markdown');
  assert.match(out, /\| ❌ FAIL \| `x\\\|y.yaml` \| t4 \| 2\.000 KiB \|/);
});

test('change text', () => {
  assert.equal(changeText({ status: 'changed', bytes: 3.1 * 1024 ** 3, from: 0, baseline_status: 'PASS', settings: [{ key: 'batch_size', from: 48, to: 64 }] }), '+3.100 GiB from batch_size 48 -> 64');
  assert.equal(changeText({ status: 'changed', bytes: -1024, from: 0, baseline_status: 'PASS', settings: [] }), "-1.000 KiB (no setting changed: the model or memplan's estimate did)");
  const many = [1, 2, 3, 4, 5].map((i) => ({ key: `d${i}`, from: i, to: i + 1 }));
  assert.equal(changeText({ status: 'changed', bytes: 1024, from: 0, baseline_status: 'PASS', settings: many }), '+1.000 KiB from d1 1 -> 2, d2 2 -> 3, d3 3 -> 4 and 2 more');
  assert.equal(changeText({ status: 'baseline-error', baseline_status: 'ERROR' }), 'baseline: ERROR');
});
