/** Byte formatting: binary units (GiB) first, decimal (GB) beside them, so neither is ambiguous. */
import { MemplanError } from './errors.js';

const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const DEC = ['B', 'KB', 'MB', 'GB', 'TB'];

function scaled(bytes: number, base: number, units: string[]): string {
  const neg = bytes < 0;
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  const digits = i === 0 ? 0 : v >= 100 ? 1 : v >= 10 ? 2 : 3;
  return `${neg ? '-' : ''}${v.toFixed(digits)} ${units[i]}`;
}

export function gib(bytes: number): string {
  return scaled(bytes, 1024, BIN);
}

export function gb(bytes: number): string {
  return scaled(bytes, 1000, DEC);
}

/** Which units sizes are printed in: binary (GiB, the default), decimal (GB), or both side by side. */
export type Units = 'binary' | 'decimal' | 'both';
export const UNITS: readonly Units[] = ['binary', 'decimal', 'both'];

/** The byte formatter for a unit system: `23.99 GiB`, `25.76 GB`, or `23.99 GiB (25.76 GB)`. */
export function byteFormat(units: Units = 'binary'): (bytes: number) => string {
  return units === 'decimal' ? gb : units === 'both' ? formatBytes : gib;
}

let current: Units = 'binary';

/** Sets the unit system size() prints in (the CLI's --units); returns the previous one. */
export function setUnits(u: Units): Units {
  const prev = current;
  current = u;
  return prev;
}

export function currentUnits(): Units {
  return current;
}

/** A size for people to read, in the unit system chosen by setUnits() (binary unless changed). */
export function size(bytes: number): string {
  return byteFormat(current)(bytes);
}

/** `686.6 MiB (737.3 MB)` */
export function formatBytes(bytes: number): string {
  return Math.abs(bytes) < 1024 ? `${bytes} B` : `${gib(bytes)} (${gb(bytes)})`;
}

/**
 * Compact thousands separators for formulas: 12,500,000. Done by hand: toLocaleString loads ICU
 * data on first use (~35 ms of every CLI start).
 */
export function n(v: number): string {
  if (!Number.isInteger(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) return String(v);
  return String(v).replace(/\B(?=(\d{3})+$)/g, ',');
}

const UNIT: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
};

/** Parses `2 GiB`, `1.5GB`, `512MiB` into bytes, or `10%` into a fraction { fraction: 0.1 }. */
export function parseSize(text: string, path: string): { bytes: number } | { fraction: number } {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*(%|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/.exec(text);
  if (!m) {
    throw new MemplanError('E_OPTION', `cannot read "${text}" as a size`, { path, expected: 'a size such as 2GiB, 1.5GB, 512MiB or 10%' });
  }
  const v = Number(m[1]);
  if (m[2] === '%') return { fraction: v / 100 };
  return { bytes: Math.round(v * (UNIT[m[2] ?? 'B'] ?? 1)) };
}
