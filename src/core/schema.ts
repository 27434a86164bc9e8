/**
 * JSON Schemas for model descriptors, run configs and GPU presets, built from the block modules so a
 * new block's keys are validated without touching this file. `npm run schema` writes them to
 * schema/*.json for editors (`# yaml-language-server: $schema=...`); a test keeps those in sync.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BLOCKS } from './blocks/index.js';
import { MemplanError, joinPath } from './errors.js';
import { numOrExpr } from './blocks/types.js';

const shape = { type: 'array', items: numOrExpr, minItems: 1 };
const dimSpec = {
  anyOf: [
    numOrExpr,
    {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: { value: numOrExpr, assumed: { type: ['boolean', 'string'] }, doc: { type: 'string' } },
    },
  ],
};

/** Keys every block accepts, handled by the model assembler. */
export const COMMON_BLOCK_PROPS: Record<string, unknown> = {
  type: { type: 'string' },
  name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' },
  doc: { type: 'string' },
  input: shape,
  from: { type: 'string' },
  repeat: numOrExpr,
  frozen: { type: 'boolean' },
  checkpoint: { type: 'boolean' },
  chunk: {
    type: 'object',
    additionalProperties: false,
    required: ['dim', 'size'],
    properties: { dim: { type: 'string' }, size: numOrExpr, checkpoint: { type: 'boolean' } },
  },
};

export function blockSchema(type: string): Record<string, unknown> {
  const m = BLOCKS.get(type)!;
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...(m.required ?? [])],
    properties: { ...COMMON_BLOCK_PROPS, ...m.properties, type: { const: type } },
  };
}

const knob = {
  type: 'object',
  additionalProperties: false,
  required: ['values'],
  properties: {
    values: { type: 'array', items: numOrExpr, minItems: 1 },
    changes_results: { type: 'boolean' },
    note: { type: 'string' },
  },
};

export const modelSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://memplan.dev/schema/model.schema.json',
  title: 'memplan model descriptor',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'blocks'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    source: { type: 'string' },
    dims: { type: 'object', additionalProperties: dimSpec, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
    blocks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: [...BLOCKS.keys()] } },
        allOf: [...BLOCKS.keys()].map((t) => ({ if: { properties: { type: { const: t } } }, then: blockSchema(t) })),
      },
    },
    knobs: { type: 'object', additionalProperties: knob },
  },
};

const optimizerNames = ['sgd', 'sgd-momentum', 'adam', 'adamw', 'adafactor', 'adamw-8bit'];
export const runSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://memplan.dev/schema/run.schema.json',
  title: 'memplan run config',
  type: 'object',
  additionalProperties: false,
  required: ['model'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    model: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] },
    batch_size: { type: 'integer', minimum: 1 },
    grad_accum: { type: 'integer', minimum: 1 },
    precision: { enum: ['fp32', 'bf16-mixed', 'fp16-mixed', 'bf16', 'fp16'] },
    optimizer: {
      anyOf: [
        { enum: optimizerNames },
        {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { enum: optimizerNames },
            impl: { enum: ['foreach', 'fused', 'for-loop'] },
            weight_decay: { type: 'number', minimum: 0 },
          },
        },
      ],
    },
    ema: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: { enabled: { type: 'boolean' }, dtype: { enum: ['f32', 'bf16', 'f16'] }, device: { enum: ['gpu', 'cpu'] } },
        },
      ],
    },
    checkpointing: { anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
    attention: { enum: ['eager', 'sdpa'] },
    runtime: { enum: ['pytorch', 'tfjs'] },
    device: { enum: ['cuda', 'cpu'] },
    pytorch: { enum: ['2', '1.13', 2, 1.13] },
    distributed: {
      type: 'object',
      additionalProperties: false,
      properties: {
        strategy: { enum: ['none', 'ddp', 'zero1', 'zero2', 'zero3', 'fsdp'] },
        gpus: { type: 'integer', minimum: 1 },
        bucket_view: { type: 'boolean' },
        bucket_cap_mb: { type: 'number', minimum: 0 },
        prefetch: { type: 'integer', minimum: 0 },
      },
    },
    allocator: {
      type: 'object',
      additionalProperties: false,
      properties: {
        expandable_segments: { type: 'boolean' },
        max_split_size_mb: { type: 'number', minimum: 0 },
        fragmentation: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    dims: { type: 'object', additionalProperties: numOrExpr },
    gpu: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    budget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        gpu: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
        headroom: { anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*[0-9.]+\\s*(%|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\\s*$' }] },
        level: { enum: ['error', 'warn', 'off'] },
      },
    },
    notes: { type: 'array', items: { type: 'string' } },
  },
};

export const presetSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://memplan.dev/schema/preset.schema.json',
  title: 'memplan GPU preset',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'kind', 'capacity_bytes', 'context_bytes', 'source'],
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z0-9-]+$' },
    name: { type: 'string' },
    kind: { enum: ['gpu', 'host'] },
    capacity_bytes: { type: 'integer', minimum: 1 },
    context_bytes: { type: 'integer', minimum: 0 },
    workspace_bytes: { type: 'integer', minimum: 0 },
    architecture: { type: 'string' },
    bf16: { type: 'boolean' },
    source: { type: 'string', minLength: 1 },
    notes: { type: 'string' },
  },
};

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function validator(key: string, schema: object): ValidateFunction {
  let v = validators.get(key);
  if (!v) {
    ajv ??= new Ajv({ allErrors: false, strict: false });
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

/** Converts ajv's `/blocks/3/heads` into `blocks[3].heads`. */
export function jsonPointerToPath(ptr: string): string {
  return ptr
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function toError(e: ErrorObject, what: string): MemplanError {
  const path = jsonPointerToPath(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return new MemplanError('E_SCHEMA', `unknown key "${key}" in ${what}`, {
      path: joinPath(path, key),
      expected: 'one of the keys the schema lists',
      hint: 'check the spelling; docs/descriptor.md lists every key',
    });
  }
  if (e.keyword === 'required') {
    const key = (e.params as { missingProperty: string }).missingProperty;
    return new MemplanError('E_SCHEMA', `missing required key "${key}" in ${what}`, { path: joinPath(path, key), expected: `a value for ${key}` });
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
    return new MemplanError('E_SCHEMA', `${path || what}: value is not allowed`, { path, expected: `one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}` });
  }
  return new MemplanError('E_SCHEMA', `${path || what} ${e.message ?? 'is invalid'}`, { path, expected: e.message });
}

/** Validates `data` and throws the first schema error as a MemplanError with a descriptor path. */
export function validate(kind: 'model' | 'run' | 'preset', data: unknown): void {
  if (kind === 'model') return validateModel(data);
  const schema = kind === 'run' ? runSchema : presetSchema;
  const v = validator(kind, schema);
  if (!v(data)) throw toError(v.errors![0]!, kind === 'run' ? 'the run config' : 'the GPU preset');
}

/** Two stages so errors are precise: the model's own keys, then each block against its type's schema. */
function validateModel(data: unknown): void {
  const top = { ...modelSchema, properties: { ...modelSchema.properties, blocks: { type: 'array', minItems: 1, items: { type: 'object' } } } };
  const v = validator('model-top', top);
  if (!v(data)) throw toError(v.errors![0]!, 'the model descriptor');
  const blocks = (data as { blocks: Record<string, unknown>[] }).blocks;
  blocks.forEach((blk, i) => {
    const type = blk.type;
    if (typeof type !== 'string' || !BLOCKS.has(type)) {
      const known = [...BLOCKS.keys()];
      const close = typeof type === 'string' ? known.find((k) => k.startsWith(type.slice(0, 3))) : undefined;
      throw new MemplanError('E_UNKNOWN_BLOCK', `unknown block type ${JSON.stringify(type)}`, {
        path: `blocks[${i}].type`,
        expected: `one of ${known.join(', ')}`,
        hint: close ? `did you mean "${close}"? ` + 'a tensor block covers anything else' : 'use a `tensor` block for a component no block type covers',
      });
    }
    const bv = validator(`block:${type}`, blockSchema(type));
    if (!bv(blk)) throw toError(bv.errors![0]!, `a ${type} block`).at(undefined, `blocks[${i}]`);
  });
}
