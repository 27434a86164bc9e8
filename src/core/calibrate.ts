/**
 * `memplan calibrate`: from what a user measured on their own stack for one known config
 * (torch.cuda.memory_stats, max_memory_allocated / reserved, the nvidia-smi total), fit the CUDA
 * context and the allocator's reserved / allocated correction, and say how far the uncalibrated
 * estimate was off. Pure: the CLI reads the JSON and writes the preset.
 */
import { MemplanError } from './errors.js';
import type { Estimate, Preset } from './estimate.js';
import { size } from './units.js';

/** What the snippet in docs/calibrate.md writes (bytes unless named otherwise). */
export interface Measured {
  memplan_calibration: 1;
  max_memory_allocated: number;
  max_memory_reserved: number;
  /** torch.cuda.memory_reserved() when nvidia-smi was read. */
  memory_reserved: number;
  /** This process's memory as nvidia-smi shows it (MiB), or the device's used memory when the process is not listed. */
  nvidia_smi_used_mib: number;
  nvidia_smi_total_mib?: number;
  device_name?: string;
  torch?: string;
  cuda?: string;
  cuda_module_loading?: string;
  steps?: number;
  memory_stats?: Record<string, number>;
  note?: string;
}

const MiB = 1024 * 1024;

/** Checks the measured JSON; errors name the key. */
export function validateMeasured(data: unknown): Measured {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new MemplanError('E_SCHEMA', 'the measurement is not a JSON object', { expected: 'the JSON the snippet in docs/calibrate.md writes' });
  }
  const d = data as Record<string, unknown>;
  const need = ['max_memory_allocated', 'max_memory_reserved', 'memory_reserved', 'nvidia_smi_used_mib'] as const;
  for (const k of need) {
    const v = d[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new MemplanError('E_SCHEMA', v === undefined ? `missing "${k}"` : `"${k}" is not a byte count: ${JSON.stringify(v)}`, {
        path: k,
        expected: 'a number >= 0 (bytes; nvidia_smi_used_mib in MiB)',
        hint: 'write the file with the snippet in docs/calibrate.md',
      });
    }
  }
  const m = d as unknown as Measured;
  if (m.max_memory_allocated > m.max_memory_reserved) {
    throw new MemplanError('E_SCHEMA', 'max_memory_allocated is larger than max_memory_reserved: not one run\'s counters', { path: 'max_memory_allocated' });
  }
  if (m.nvidia_smi_used_mib * MiB < m.memory_reserved) {
    throw new MemplanError('E_SCHEMA', 'nvidia-smi shows less than PyTorch reserves: the two were read at different times or on different GPUs', {
      path: 'nvidia_smi_used_mib',
      hint: 'read both right after the training steps, on the GPU the run used (the snippet does)',
    });
  }
  return m;
}

export interface CalibrationResult {
  preset: Preset;
  /** Measured vs the uncalibrated estimate, per level. */
  rows: { level: string; measured: number; estimated: number; errorPct: number }[];
  context: number;
  reservedRatio: number;
  allocatedRatio: number;
  notes: string[];
}

const pct = (est: number, meas: number) => (meas > 0 ? (100 * (est - meas)) / meas : 0);

/**
 * The context is what nvidia-smi shows beyond PyTorch's reservation; the reserved ratio corrects the
 * simulated reserved/allocated to the measured one. Allocated is compared, not fitted: a mismatch
 * there is the tensor model's error and stays visible.
 */
export function calibrate(e: Estimate, base: Preset, m: Measured, opts: { id?: string; from: string }): CalibrationResult {
  if (!e.allocator) {
    throw new MemplanError('E_CONFIG', 'calibration needs the caching-allocator simulation (a CUDA run without allocator.fragmentation)', {
      path: 'allocator.fragmentation',
      hint: 'remove allocator.fragmentation (and device: cpu) from the config you calibrate with',
    });
  }
  const context = Math.max(0, Math.round(m.nvidia_smi_used_mib * MiB - m.memory_reserved));
  const simAllocated = e.allocator.allocated_peak;
  const simReserved = e.allocator.reserved_peak;
  const reservedRatio = m.max_memory_reserved / m.max_memory_allocated / (simReserved / simAllocated);
  const allocatedRatio = m.max_memory_allocated / simAllocated;
  const measuredDevice = context + m.max_memory_reserved;
  const rows = [
    { level: 'allocated (max_memory_allocated)', measured: m.max_memory_allocated, estimated: simAllocated },
    { level: 'reserved (max_memory_reserved)', measured: m.max_memory_reserved, estimated: e.reserved },
    { level: 'context (nvidia-smi minus reserved)', measured: context, estimated: e.device_total - e.reserved },
    { level: 'device total (context + max reserved)', measured: measuredDevice, estimated: e.device_total },
  ].map((r) => ({ ...r, errorPct: pct(r.estimated, r.measured) }));
  const id = opts.id ?? `${base.id}-calibrated`;
  const capacity = m.nvidia_smi_total_mib ? Math.round(m.nvidia_smi_total_mib * MiB) : base.capacity_bytes;
  const notes: string[] = [];
  if (Math.abs(allocatedRatio - 1) > 0.05) {
    notes.push(`allocated is off by ${((allocatedRatio - 1) * 100).toFixed(1)}%: the tensor model, not the device layer, misses something for this config (calibration does not fit it; check the descriptor and run settings)`);
  }
  if (m.max_memory_reserved > m.memory_reserved) {
    notes.push(`reserved fell from ${size(m.max_memory_reserved)} to ${size(m.memory_reserved)} before nvidia-smi was read (empty_cache or the OOM retry path): the context is taken against the reserved bytes at that moment`);
  }
  const preset: Preset = {
    id,
    name: `${base.name} (calibrated${m.device_name ? `: ${m.device_name}` : ''})`,
    kind: 'gpu',
    capacity_bytes: capacity,
    context_bytes: context,
    context_source: `measured: nvidia-smi ${m.nvidia_smi_used_mib} MiB minus torch.cuda.memory_reserved ${m.memory_reserved} B (${opts.from})`,
    ...(m.cuda && /^\d+\.\d+/.test(m.cuda) ? { cuda: /^\d+\.\d+/.exec(m.cuda)![0] } : base.cuda ? { cuda: base.cuda } : {}),
    workspace_bytes: 0,
    ...(base.architecture ? { architecture: base.architecture } : {}),
    ...(base.bf16 !== undefined ? { bf16: base.bf16 } : {}),
    source: `memplan calibrate from ${opts.from} against ${base.id}; capacity ${m.nvidia_smi_total_mib ? 'from nvidia-smi' : `from preset ${base.id}`}`,
    calibration: {
      reserved_ratio: Math.round(reservedRatio * 10000) / 10000,
      allocated_ratio: Math.round(allocatedRatio * 10000) / 10000,
      from: opts.from,
      measured: {
        max_memory_allocated: m.max_memory_allocated,
        max_memory_reserved: m.max_memory_reserved,
        memory_reserved: m.memory_reserved,
        nvidia_smi_used_mib: m.nvidia_smi_used_mib,
        ...(m.torch ? { torch: m.torch } : {}),
        ...(m.cuda ? { cuda: m.cuda } : {}),
      },
    },
  };
  return { preset, rows, context, reservedRatio, allocatedRatio, notes };
}
