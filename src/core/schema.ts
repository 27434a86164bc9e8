/**
 * JSON Schemas for model descriptors, run configs and GPU presets, built from the block modules so a
 * new block's keys are validated without touching this file. `npm run schema` writes them to
 * schema/*.json for editors (`# yaml-language-server: $schema=...`); a test keeps those in sync.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { BLOCKS } from './blocks/index.js';
import { MemplanError, joinPath } from './errors.js';
import { numOrExpr } from './blocks/types.js';
import { CLAIM_KEYS } from './claim-keys.js';
import { didYouMean } from './names.js';
import { LIMITS } from './limits.js';
import { VALIDATORS } from './schema-validators.generated.js';

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
  from: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
  repeat: numOrExpr,
  frozen: { type: 'boolean' },
  no_grad: { type: 'boolean' },
  detach: { type: 'boolean' },
  loss: { type: 'boolean' },
  eval: { type: 'boolean' },
  share: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' },
  checkpoint: { type: 'boolean' },
  hold: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
  chunk: {
    type: 'object',
    additionalProperties: false,
    required: ['dim', 'size'],
    properties: { dim: { type: 'string' }, size: numOrExpr, checkpoint: { type: 'boolean' } },
  },
};

export function blockSchema(type: string): Record<string, unknown> {
  const m = BLOCKS.get(type)!;
  // A `share:` block takes the module's keys from the block it shares, so they are not required on it.
  const own = m.required ?? [];
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type'],
    properties: { ...COMMON_BLOCK_PROPS, ...m.properties, type: { const: type } },
    ...(own.length ? { if: { not: { required: ['share'] } }, then: { required: own } } : {}),
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
    // Counts stop at the dimension limit (docs/security.md): past it nothing fits any card, and
    // ajv's integer check alone lets .inf and 1e308 through.
    batch_size: { type: 'integer', minimum: 1, maximum: LIMITS.dimension },
    grad_accum: { type: 'integer', minimum: 1, maximum: LIMITS.dimension },
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
            impl: { enum: ['foreach', 'fused', 'for-loop', 'hf'] },
            weight_decay: { type: 'number', minimum: 0, maximum: LIMITS.dimension },
            paged: { type: 'boolean' },
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
    attention: { enum: ['auto', 'eager', 'sdpa'] },
    runtime: { enum: ['pytorch', 'tfjs'] },
    mode: { enum: ['train', 'inference'] },
    device: { enum: ['cuda', 'cpu'] },
    pytorch: { enum: ['2', '1.13', '1.10', 2, 1.13] },
    distributed: {
      type: 'object',
      additionalProperties: false,
      properties: {
        strategy: { enum: ['none', 'ddp', 'zero1', 'zero2', 'zero3', 'fsdp'] },
        gpus: { type: 'integer', minimum: 1, maximum: LIMITS.dimension },
        bucket_view: { type: 'boolean' },
        bucket_cap_mb: { type: 'number', minimum: 0, maximum: LIMITS.dimension },
        prefetch: { type: 'integer', minimum: 0, maximum: LIMITS.dimension },
        mixed_precision: { enum: ['autocast', 'fsdp', 'deepspeed'] },
      },
    },
    set_to_none: { anyOf: [{ type: 'boolean' }, { const: 'default' }] },
    stack: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cuda: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$', maxLength: 16 },
        module_loading: { enum: ['lazy', 'eager'] },
        libraries: { type: 'array', maxItems: 3, items: { enum: ['cublas', 'cudnn', 'nccl'] } },
        context_bytes: { type: 'integer', minimum: 0, maximum: LIMITS.dimension },
      },
    },
    allocator: {
      type: 'object',
      additionalProperties: false,
      properties: {
        expandable_segments: { type: 'boolean' },
        max_split_size_mb: { type: 'number', minimum: 20, maximum: LIMITS.dimension },
        fragmentation: { type: 'number', minimum: 0, maximum: 1 },
        garbage_collection_threshold: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        memory_fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        roundup_power2_divisions: {
          anyOf: [
            { type: 'integer', minimum: 0, maximum: 1024 },
            { type: 'object', maxProperties: 64, propertyNames: { pattern: '^([0-9]+|>)$', maxLength: 12 }, additionalProperties: { type: 'integer', minimum: 0, maximum: 1024 } },
          ],
        },
        max_non_split_rounding_mb: { type: 'number', minimum: 20, maximum: LIMITS.dimension },
      },
    },
    dims: { type: 'object', additionalProperties: numOrExpr },
    gpu: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    budget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        gpu: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
        headroom: { anyOf: [{ type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: '^\\s*[0-9.]+\\s*(%|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\\s*$' }] },
        level: { enum: ['error', 'warn', 'off'] },
      },
    },
    lora: {
      type: 'object',
      additionalProperties: false,
      properties: {
        r: { type: 'integer', minimum: 1 },
        alpha: { type: 'number', minimum: 0 },
        dropout: { type: 'number', minimum: 0, maximum: 1 },
        targets: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
      },
    },
    quantization: {
      anyOf: [
        { enum: ['int8', 'nf4', 'fp4'] },
        {
          type: 'object',
          additionalProperties: false,
          required: ['weights'],
          properties: { weights: { enum: ['int8', 'nf4', 'fp4'] }, double_quant: { type: 'boolean' }, compute: { enum: ['bf16', 'f16', 'f32'] } },
        },
      ],
    },
    kv_cache: {
      anyOf: [
        numOrExpr,
        { type: 'object', additionalProperties: false, required: ['context'], properties: { context: numOrExpr, dtype: { enum: ['f32', 'bf16', 'f16'] } } },
      ],
    },
    notes: { type: 'array', items: { type: 'string' } },
    claims: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['label', 'bytes', 'of'],
        properties: {
          label: { type: 'string', minLength: 1 },
          bytes: { anyOf: [{ type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: '^\\s*[0-9.]+\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\\s*$' }] },
          of: { anyOf: [{ enum: [...CLAIM_KEYS] }, { type: 'array', minItems: 1, items: { enum: [...CLAIM_KEYS] } }] },
          source: { type: 'string' },
          arithmetic: { type: 'string', minLength: 1 },
        },
      },
    },
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
    aliases: { type: 'array', items: { type: 'string', minLength: 1 } },
    name: { type: 'string' },
    kind: { enum: ['gpu', 'host'] },
    capacity_bytes: { type: 'integer', minimum: 1 },
    context_bytes: { type: 'integer', minimum: 0 },
    context_source: { type: 'string' },
    context_eager_bytes: { type: 'integer', minimum: 0 },
    cuda: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' },
    workspace_bytes: { type: 'integer', minimum: 0 },
    calibration: {
      type: 'object',
      additionalProperties: false,
      required: ['reserved_ratio', 'from'],
      properties: {
        reserved_ratio: { type: 'number', exclusiveMinimum: 0 },
        allocated_ratio: { type: 'number', exclusiveMinimum: 0 },
        from: { type: 'string' },
        measured: { type: 'object' },
      },
    },
    architecture: { type: 'string' },
    bf16: { type: 'boolean' },
    source: { type: 'string', minLength: 1 },
    notes: { type: 'string' },
  },
};

/**
 * A `memplan check --baseline` file: the JSON report of an earlier run. Only what the comparison
 * reads is checked; rows carry more. A row's fields are optional (an ERROR row has no card), but
 * each that is there must have its type, so a hand-edited or hostile file cannot break the report.
 */
export const baselineSchema = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['file', 'status'],
        properties: {
          file: { type: 'string' },
          status: { type: 'string' },
          gpu: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          device_total: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          settings: {
            type: 'object',
            required: ['run', 'dims', 'params'],
            properties: {
              run: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
              dims: { type: 'object', additionalProperties: { type: 'number' } },
              params: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            },
          },
        },
      },
    },
  },
};

/** The model schema with blocks only checked to be objects: each block is then checked against its type's schema. */
function modelTopSchema(): Record<string, unknown> {
  return { ...modelSchema, properties: { ...modelSchema.properties, blocks: { type: 'array', minItems: 1, items: { type: 'object' } } } };
}

/**
 * Every schema `validate` uses, by key. scripts/schema.mjs compiles these ahead of time into
 * schema-validators.generated.ts (ajv standalone code), so no schema is compiled at run time.
 */
export function validatorSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = { run: runSchema, preset: presetSchema, baseline: baselineSchema, 'model-top': modelTopSchema() };
  for (const type of BLOCKS.keys()) out[`block:${type}`] = blockSchema(type);
  return out;
}

function validator(key: string): ValidateFunction {
  const v = VALIDATORS[key];
  if (!v) throw new MemplanError('E_INTERNAL', `no precompiled validator "${key}"`, { hint: 'run `npm run build` (it regenerates src/core/schema-validators.generated.ts)' });
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

/** The keys the object schema at ajv's `schemaPath` (`#/properties/optimizer/anyOf/1/additionalProperties`) allows. */
function allowedKeys(root: unknown, schemaPath: string): string[] {
  let node: unknown = root;
  for (const part of schemaPath.split('/').slice(1, -1)) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  const props = (node as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props).filter((k) => k !== '$schema') : [];
}

const closest = didYouMean;

function toError(e: ErrorObject, what: string, root: unknown, data: unknown, siblings: ErrorObject[] = [e]): MemplanError {
  const path = jsonPointerToPath(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const keys = allowedKeys(root, e.schemaPath);
    const near = closest(key, keys);
    return new MemplanError('E_SCHEMA', `unknown key ${brief(key)} in ${what}`, {
      path: joinPath(path, key.length > 80 ? `${key.slice(0, 60)}...` : key),
      expected: keys.length ? `one of ${keys.join(', ')}` : 'one of the keys the schema lists',
      hint: `${near ? `did you mean "${near}"? ` : ''}check the spelling; docs/descriptor.md lists every key`,
    });
  }
  if (e.keyword === 'required') {
    const key = (e.params as { missingProperty: string }).missingProperty;
    return new MemplanError('E_SCHEMA', `missing required key "${key}" in ${what}`, {
      path: joinPath(path, key),
      expected: `a value for ${key}`,
      hint: 'docs/descriptor.md describes every key',
    });
  }
  const value = valueAt(data, e.instancePath);
  const shown = value === undefined ? '' : ` ${brief(value)}`;
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
    const near = typeof value === 'string' ? closest(value, allowed.filter((x): x is string => typeof x === 'string')) : undefined;
    return new MemplanError('E_SCHEMA', `${path || what}: value${shown} is not allowed`, {
      path,
      expected: `one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}`,
      hint: near ? `did you mean "${near}"?` : 'docs/descriptor.md lists the values',
    });
  }
  const expected = expectedOf(e, siblings);
  return new MemplanError('E_SCHEMA', `${path || what}: value${shown} is not ${expected}`, {
    path,
    expected,
    hint: 'docs/descriptor.md describes every key',
  });
}

/** What the schema wanted, in words; `siblings` are ajv's errors for the other `anyOf` branches at the same place. */
function expectedOf(e: ErrorObject, siblings: ErrorObject[]): string {
  if (e.keyword === 'type') {
    const types = [...new Set(siblings.filter((x) => x.keyword === 'type' && x.instancePath === e.instancePath).map((x) => String((x.params as { type: string }).type)))];
    if (types.includes('number') && types.includes('string')) return 'a number or an expression (a string such as "2 * seq")';
    return types.length > 1 ? `of type ${types.join(' or ')}` : `of type ${(e.params as { type: string }).type}`;
  }
  if (e.keyword === 'minLength' && (e.params as { limit: number }).limit === 1) return 'a non-empty string';
  return (e.message ?? 'valid').replace(/^must (be )?/, '');
}

/**
 * The most telling of ajv's errors. Under `anyOf` (`optimizer: adamw` or `{type, impl}`) ajv
 * reports each branch; the useful one is the branch written for the value's kind, and the deepest.
 */
function pickError(errors: ErrorObject[], data: unknown): ErrorObject {
  const score = (e: ErrorObject): number => {
    const v = valueAt(data, e.instancePath);
    const kindMismatch =
      e.keyword === 'type' ||
      (e.keyword === 'enum' && (e.params as { allowedValues: unknown[] }).allowedValues.every((a) => typeof a !== typeof v));
    return e.keyword === 'anyOf' ? 0 : kindMismatch ? 1 : 2;
  };
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  return [...errors].sort((a, b) => score(b) - score(a) || depth(b) - depth(a))[0]!;
}

/**
 * A value as an error shows it: scalars as JSON, long strings cut, lists and mappings by their size
 * only. An error never prints a whole structure (an alias bomb's, or a file's worth of text).
 */
export function brief(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (Array.isArray(value)) return `(a list of ${value.length} item${value.length === 1 ? '' : 's'})`;
  if (value && typeof value === 'object') return '(a mapping)';
  return value === null || typeof value === 'number' || typeof value === 'boolean' ? String(value) : `(${typeof value})`;
}

function valueAt(data: unknown, pointer: string): unknown {
  let node = data;
  for (const part of pointer.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node;
}

/** Validates `data` and throws the first schema error as a MemplanError with a descriptor path. */
export function validate(kind: 'model' | 'run' | 'preset' | 'baseline', data: unknown): void {
  if (kind === 'model') return validateModel(data);
  const v = validator(kind);
  const [what, schema] = kind === 'run' ? ['the run config', runSchema] : kind === 'baseline' ? ['the baseline', baselineSchema] : ['the GPU preset', presetSchema];
  if (!v(data)) throw toError(pickError(v.errors!, data), what, schema, data, v.errors!);
}

/** Two stages so errors are precise: the model's own keys, then each block against its type's schema. */
function validateModel(data: unknown): void {
  const v = validator('model-top');
  if (!v(data)) throw toError(pickError(v.errors!, data), 'the model descriptor', modelTopSchema(), data, v.errors!);
  validateBlocks((data as { blocks: Record<string, unknown>[] }).blocks, 'blocks');
}

/** Each block against its type's schema; a group's blocks in turn (`blocks[2].blocks[0]`). */
function validateBlocks(blocks: Record<string, unknown>[], path: string): void {
  blocks.forEach((blk, i) => {
    const at = `${path}[${i}]`;
    const type = blk.type;
    if (typeof type !== 'string' || !BLOCKS.has(type)) {
      const known = [...BLOCKS.keys()];
      const close = typeof type === 'string' ? didYouMean(type, known) : undefined;
      throw new MemplanError('E_UNKNOWN_BLOCK', `unknown block type ${brief(type)}`, {
        path: `${at}.type`,
        expected: `one of ${known.join(', ')}`,
        hint: close ? `did you mean "${close}"? ` + 'a tensor block covers anything else' : 'use a `tensor` block for a component no block type covers',
      });
    }
    const bv = validator(`block:${type}`);
    if (!bv(blk)) throw toError(pickError(bv.errors!, blk), `a ${type} block`, blockSchema(type), blk, bv.errors!).at(undefined, at);
    if (type === 'group' && Array.isArray(blk.blocks)) validateBlocks(blk.blocks as Record<string, unknown>[], `${at}.blocks`);
  });
}
