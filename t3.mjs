import { estimate, normalizeRun } from './dist/src/index.js';
import * as yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
const model = yaml.load(readFileSync('models/mini-transformer/model.yaml','utf8'));
for (const extra of [{}, {checkpointing: true}, {attention:'sdpa'}]) {
 const e = estimate(model, normalizeRun({model:'x', batch_size: 6, ...extra}));
 console.log(JSON.stringify(extra), e.allocated, e.peak.name, e.peak.at, e.forward_saved, e.components.map(c=>c.key+':'+c.bytes).join(' '));
}
