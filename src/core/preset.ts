/** A card or host-RAM preset (presets/*.yaml, schema/preset.schema.json): a leaf module, so names.ts and the loaders need nothing else of the estimate. */
export interface Preset {
  id: string;
  /** Other names the card is known by (`4090`, `h100`); matched ignoring case, spaces and dashes. */
  aliases?: string[];
  name: string;
  kind: 'gpu' | 'host';
  capacity_bytes: number;
  context_bytes: number;
  /** Where the context value comes from (else `source`). */
  context_source?: string;
  /** The context with every kernel loaded (CUDA < 11.7, or CUDA_MODULE_LOADING=EAGER), where published for the card. */
  context_eager_bytes?: number;
  /** The CUDA version a run on this card assumes unless its `stack.cuda` says otherwise. */
  cuda?: string;
  workspace_bytes?: number;
  architecture?: string;
  bf16?: boolean;
  source: string;
  notes?: string;
  /** Written by `memplan calibrate`: the measured context is `context_bytes`; reserved / allocated as measured over as simulated. */
  calibration?: { reserved_ratio: number; allocated_ratio?: number; from: string; measured?: Record<string, unknown> };
  /** Where the preset was read from (the CLI fills this in; not part of the file). */
  origin?: string;
}
