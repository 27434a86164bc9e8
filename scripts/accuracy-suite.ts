/**
 * The accuracy suite: small configurations that together use every block type the TensorFlow.js
 * probe can build, each probed with Adam and SGD (two steps: state created, steady). Shared by
 * `npm run accuracy` (which measures and writes docs/accuracy.md) and the staleness test.
 */
import type { ModelDescriptor } from '../src/core/model.js';

export interface SuiteCase {
  name: string;
  /** What it covers, for the table. */
  covers: string;
  model: ModelDescriptor;
  run: Record<string, unknown>;
  /** Backends to measure on (wasm unless said). */
  backends?: ('wasm' | 'cpu')[];
}

const m = (name: string, blocks: ModelDescriptor['blocks'], dims: ModelDescriptor['dims'] = {}): ModelDescriptor => ({ name, dims, blocks });

export const SUITE: SuiteCase[] = [
  {
    name: 'mlp-relu',
    covers: 'linear (2-D, no bias), relu, mean loss',
    model: m('mlp-relu', [
      { type: 'linear', input: [64, 128], out: 256, bias: false },
      { type: 'activation', kind: 'relu' },
      { type: 'loss', kind: 'mean' },
    ]),
    run: { batch_size: 1 },
    backends: ['wasm', 'cpu'],
  },
  {
    name: 'mlp-gelu-mse',
    covers: 'mlp (gelu, dropout, 3-D linear), mse loss',
    model: m('mlp-gelu-mse', [
      { type: 'mlp', input: ['batch', 32, 64], hidden: 256, activation: 'gelu', dropout: 0.1 },
      { type: 'loss', kind: 'mse' },
    ]),
    run: { batch_size: 4 },
  },
  {
    name: 'activations',
    covers: 'activation silu, tanh, sigmoid; dropout block; auto mean loss',
    model: m('activations', [
      { type: 'linear', input: ['batch', 16, 32], out: 64 },
      { type: 'activation', kind: 'silu' },
      { type: 'linear', out: 64 },
      { type: 'activation', kind: 'tanh' },
      { type: 'dropout', p: 0.2 },
      { type: 'linear', out: 32 },
      { type: 'activation', kind: 'sigmoid' },
    ]),
    run: { batch_size: 4 },
  },
  {
    name: 'norms',
    covers: 'layer_norm, batch_norm (channels axis 1, 2-D and 3-D), reshape',
    model: m('norms', [
      { type: 'linear', input: ['batch', 16, 32], out: 32 },
      { type: 'layer_norm' },
      { type: 'batch_norm' },
      { type: 'reshape', shape: ['batch * 16', 32] },
      { type: 'batch_norm' },
      { type: 'loss', kind: 'mean' },
    ]),
    run: { batch_size: 4 },
  },
  {
    name: 'attention-eager',
    covers: 'attention (eager, attention dropout), cross_entropy loss',
    model: m('attention-eager', [
      { type: 'linear', input: ['batch', 'seq', 32], out: 32 },
      { type: 'attention', heads: 4, impl: 'eager', dropout: 0.1 },
      { type: 'linear', out: 10 },
      { type: 'loss', kind: 'cross_entropy' },
    ], { seq: 24 }),
    run: { batch_size: 2 },
  },
  {
    name: 'encoder-lm',
    covers: 'embedding, transformer_encoder (post-norm, gelu) x2, linear head, cross_entropy',
    model: m('encoder-lm', [
      { type: 'embedding', input: ['batch', 'seq'], vocab: 200, dim: 64 },
      { type: 'transformer_encoder', heads: 4, ffn_dim: 128, activation: 'gelu', dropout: 0.1, repeat: 2 },
      { type: 'linear', out: 200 },
      { type: 'loss', kind: 'cross_entropy' },
    ], { seq: 32 }),
    run: { batch_size: 2 },
    backends: ['wasm', 'cpu'],
  },
  {
    name: 'decoder-prenorm',
    covers: 'transformer_decoder (pre-norm, cross-attention over memory), transformer_encoder (pre-norm, relu)',
    model: m('decoder-prenorm', [
      { type: 'linear', input: ['batch', 16, 32], out: 32 },
      { type: 'transformer_encoder', heads: 2, ffn_dim: 64, norm_first: true, dropout: 0 },
      { type: 'transformer_decoder', heads: 2, ffn_dim: 64, norm_first: true, memory: ['batch', 12, 32], dropout: 0.1 },
      { type: 'loss', kind: 'mse' },
    ]),
    run: { batch_size: 2 },
  },
  {
    name: 'conv1d-pool',
    covers: 'conv1d (stride 2, padding 1), pool max 1-d, mean_pool',
    model: m('conv1d-pool', [
      { type: 'conv1d', input: ['batch', 8, 64], out_channels: 16, kernel: 3, stride: 2, padding: 1 },
      { type: 'activation', kind: 'relu' },
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'mean_pool', axis: 2 },
      { type: 'linear', out: 4 },
      { type: 'loss', kind: 'cross_entropy' },
    ]),
    run: { batch_size: 4 },
    backends: ['wasm', 'cpu'],
  },
  {
    name: 'conv2d-pool',
    covers: 'conv2d (padding 1), batch_norm over [n, c, h, w], pool avg 2-d, conv2d without bias',
    model: m('conv2d-pool', [
      { type: 'conv2d', input: ['batch', 3, 16, 16], out_channels: 8, kernel: 3, padding: 1 },
      { type: 'batch_norm' },
      { type: 'pool', kind: 'avg', size: 2 },
      { type: 'conv2d', out_channels: 8, kernel: 3, bias: false },
      { type: 'loss', kind: 'mean' },
    ]),
    run: { batch_size: 2 },
  },
  {
    name: 'message-passing',
    covers: 'message_passing (gather_rows, concat, scatter_add), frozen linear',
    model: m('message-passing', [
      { type: 'linear', input: [50, 16], out: 16, frozen: true },
      { type: 'message_passing', edges: 200, hidden: 32, activation: 'silu' },
      { type: 'loss', kind: 'mean' },
    ]),
    run: { batch_size: 1 },
    backends: ['wasm', 'cpu'],
  },
  {
    name: 'chunked',
    covers: 'chunked block (slices of the input, concat of the outputs)',
    model: m('chunked', [
      { type: 'linear', input: ['batch', 'seq', 32], out: 32 },
      { type: 'mlp', input: ['batch', 'seq', 32], hidden: 64, activation: 'relu', chunk: { dim: 'seq', size: 16 } },
      { type: 'loss', kind: 'mean' },
    ], { seq: 40 }),
    run: { batch_size: 2 },
  },
  {
    name: 'tensor-standins',
    covers: 'tensor stand-ins (persistent, saved, transient, loss), params by count (no gradient in tfjs)',
    model: m('tensor-standins', [
      { type: 'linear', input: ['batch', 32], out: 32 },
      { type: 'tensor', name: 'cache', shape: [1000], lifetime: 'persistent' },
      { type: 'tensor', name: 'spectrum', shape: ['batch', 64, 64], lifetime: 'saved' },
      { type: 'tensor', name: 'scratch', shape: ['batch', 128, 32], lifetime: 'transient', dtype: 'i32' },
      { type: 'tensor', name: 'loss_buf', shape: ['batch', 256], lifetime: 'loss', dtype: 'bool' },
      { type: 'params', count: 1000 },
      { type: 'linear', out: 8 },
      { type: 'loss', kind: 'mse' },
    ]),
    run: { batch_size: 8 },
  },
];

/** Optimizers every case runs with; sgd-momentum runs on one case. */
export const OPTIMIZERS = ['adam', 'sgd'] as const;
