/** memplan's library API: the pure core (no file or console I/O), and file loaders (src/files.ts). */
export { MemplanError, ERROR_CODES, asMemplanError, type ErrorCode } from './core/errors.js';
export { compileExpr, evalValue, ALLOWED_FUNCTIONS } from './core/expr.js';
export { resolveDims } from './core/dims.js';
export { BLOCKS } from './core/blocks/index.js';
export type { BlockModule, BlockArgs } from './core/blocks/types.js';
export type { Builder, T, DType } from './core/graph.js';
export { Tracer, type Precision, type Trace, type OpRec, type TTensor } from './core/tracer.js';
export {
  assemble, normalizeRun, validateModel, BATCH_DIM,
  type ModelDescriptor, type RunConfig, type BlockSpec, type BlockInfo, type Knob,
} from './core/model.js';
export {
  estimate, estimateOn, traceRun, stepMemory, stepTotals, traceKey, buildEstimate,
  type Estimate, type Component, type Preset, type PhasePeak, type Traced, type StepMemory, type StepTotals,
} from './core/estimate.js';
export { optimizerCost } from './core/optimizers.js';
export { validate, modelSchema, runSchema, presetSchema } from './core/schema.js';
export { formatBytes, gib, gb, parseSize } from './core/units.js';
export {
  checkBudget, resolveBudget, parseHeadroom, headroomBytes, settingsOf, diffSettings, DEFAULT_BUDGET,
  type BudgetLevel, type BudgetStatus, type BudgetSpec, type BudgetResult, type BudgetOverrides, type Headroom,
  type ResolvedBudget, type Settings, type SettingChange,
} from './core/check.js';
export { estimateTfjs, predictTfjs, type TfjsPrediction } from './core/estimate-tfjs.js';
export { simulateTfjs, type TfjsRun, type TfjsStep } from './core/runtime/tfjs-sim.js';
/** The TensorFlow.js probe (loads TensorFlow.js on first use only). */
export { probe, verify, type ProbeResult, type ProbeOptions } from './probe/probe.js';
export {
  recommend, maxBatch, parseAllow, accumFactor, largestComponent, SPEED, stepTime, workOf,
  type RecommendOptions, type RecommendResult, type TargetResult, type Candidate, type Target, type AllowSpec,
  type MaxBatchResult, type KnobInfo, type Suggestion, type Setting, type MaxBatchOptions, type Work,
} from './core/recommend.js';
export { checkClaims, withClaims, claimLine, CLAIM_KEYS, type Claim, type ClaimResult, type ClaimKey } from './core/claims.js';
/** Files: load a run config or a preset, estimate a file (these read the disk; the rest is pure). */
export { loadRun, loadPreset, listPresets, estimateFile, type LoadedRun } from './files.js';
export { findPreset, didYouMean, editDistance } from './core/names.js';
export { setUnits, size, byteFormat, type Units } from './core/units.js';
export { plotSvg, plotHtml, type PlotData, type BatchSeries, type BreakdownBar, type Timeline } from './report/plot.js';
