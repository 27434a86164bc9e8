import type { ActKind, T } from '../graph.js';
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
  properties: {
    edges: numOrExpr,
    hidden: numOrExpr,
    activation: { enum: [...ACTIVATIONS] },
    edge_dim: numOrExpr,
    update_layers: numOrExpr,
    aggregate: { enum: ['scatter_add', 'index_add'] },
  },
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
    const edgeDim = a.num('edge_dim', { integer: true, min: 0, default: 0 });
    const updateLayers = a.num('update_layers', { integer: true, min: 1, default: 1 });
    const lin = (name: string, x: T, inF: number, out: number) =>
      b.linear(x, b.param(`${name}.weight`, [inF, out], { matmul: true }), b.param(`${name}.bias`, [out], { init: 'zeros' }));
    // One edge list (and edge feature table) for the graph, read by every layer (not a new input per layer).
    const src = b.input('edge_src', [edges], 'int', nodes, true);
    const dst = b.input('edge_dst', [edges], 'int', nodes, true);
    const parts = [b.gatherRows(h, src), b.gatherRows(h, dst)];
    if (edgeDim > 0) parts.push(b.input('edge_attr', [edges, edgeDim], 'float', undefined, true));
    const pair = b.concat(parts, 1);
    let m = b.act(act, lin('msg1', pair, 2 * d + edgeDim, hidden));
    m = lin('msg2', m, hidden, d);
    // index_add_ keeps its source (the messages) for backward; scatter_add only the index (measured).
    const agg = a.get<string>('aggregate', 'scatter_add') === 'index_add' ? b.indexAdd([nodes, d], 0, dst, m) : b.scatterAdd(m, dst, nodes);
    let upd = lin('update', b.concat([h, agg], 1), 2 * d, updateLayers > 1 ? hidden : d);
    for (let l = 1; l < updateLayers; l++) upd = lin(`update${l + 1}`, b.act(act, upd), hidden, l === updateLayers - 1 ? d : hidden);
    return b.add(h, b.act(act, upd));
  },
};
