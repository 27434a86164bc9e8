import type { ActKind } from '../graph.js';
import { ACTIVATIONS } from './activation.js';
import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

/**
 * One message-passing layer over a graph with `nodes` x `dim` features and `edges` directed edges:
 * gather source and target rows, per-edge MLP on their concatenation, scatter-add messages to the
 * targets, node update, residual. Per-edge tensors ([edges, ...]) dominate on dense graphs.
 */
export const messagePassing: BlockModule = {
  type: 'message_passing',
  summary: 'graph layer: gather endpoints per edge, per-edge MLP, scatter-add to nodes, node update + residual',
  properties: { edges: numOrExpr, hidden: numOrExpr, activation: { enum: [...ACTIVATIONS] } },
  required: ['edges'],
  build(b, x, a) {
    const h = need(x, 'message_passing', a.path);
    if (h.shape.length !== 2) {
      throw new MemplanError('E_SHAPE', `message_passing expects node features [nodes, dim], got [${h.shape.join(', ')}]`, { path: a.path });
    }
    const [nodes, d] = h.shape as [number, number];
    const edges = a.num('edges', { integer: true, min: 1 });
    const hidden = a.num('hidden', { integer: true, min: 1, default: d });
    const act = a.get<ActKind>('activation', 'silu');
    // One edge list for the graph, read by every layer (not a new input per layer).
    const src = b.input('edge_src', [edges], 'int', nodes, true);
    const dst = b.input('edge_dst', [edges], 'int', nodes, true);
    const pair = b.concat([b.gatherRows(h, src), b.gatherRows(h, dst)], 1);
    let m = b.linear(pair, b.param('msg1.weight', [2 * d, hidden], { matmul: true }), b.param('msg1.bias', [hidden], { init: 'zeros' }));
    m = b.act(act, m);
    m = b.linear(m, b.param('msg2.weight', [hidden, d], { matmul: true }), b.param('msg2.bias', [d], { init: 'zeros' }));
    const agg = b.scatterAdd(m, dst, nodes);
    const upd = b.linear(b.concat([h, agg], 1), b.param('update.weight', [2 * d, d], { matmul: true }), b.param('update.bias', [d], { init: 'zeros' }));
    return b.add(h, b.act(act, upd));
  },
};
