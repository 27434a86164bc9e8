/**
 * PyTorch's CUDA caching allocator, simulated: a port of the algorithm of `DeviceCachingAllocator`
 * in `c10/cuda/CUDACachingAllocator.cpp` and the options of `c10/core/AllocatorConfig.cpp`
 * (PyTorch 2.x), for one device and one stream. Addresses are simulated (each new segment gets the
 * next free range of a virtual address counter); only their order matters, as the tie-break of the
 * best-fit search.
 *
 * What is ported, by the C++ function it follows:
 * - `round_size`: 512 B multiples, or `roundup_power2_divisions` per power-of-two size bucket.
 * - `get_pool`: requests <= 1 MiB come from the small pool, the rest from the large pool.
 * - `get_allocation_size`: a new segment is 2 MiB (small), 20 MiB (requests under 10 MiB), or the
 *   request rounded up to 2 MiB.
 * - `get_free_block`: best fit (smallest cached block >= the request, ties by address); a block >=
 *   `max_split_size` is not handed to a smaller request, and a large request takes an oversize block
 *   only within `max_non_split_rounding` (20 MiB) of its size.
 * - `should_split` / `alloc_found_block`: split when >= 512 B would remain (small pool, expandable
 *   segments) or, in the large pool, when the request is under `max_split_size` and more than 1 MiB
 *   would remain.
 * - `free_block` / `try_merge_blocks`: a freed block merges with free neighbours of its segment.
 * - `malloc`'s miss path: garbage collection (`garbage_collection_threshold`, only with a memory
 *   fraction set), a new segment (`alloc_block`), then `release_available_cached_blocks` (oversize
 *   blocks, only with `max_split_size`) and a retry, then `release_cached_blocks` (every whole free
 *   segment) and a last retry; then out of memory.
 * - expandable segments (`find_expandable_block`, `map_block`, `try_allocate_expandable_block`,
 *   `unmap_block`): one virtual range per pool that grows by 2 MiB pages (small) or 20 MiB pages
 *   (large); best fit sees a block's size plus the unmapped space after it.
 *
 * Left out: multiple streams and cross-stream events (`record_stream`), CUDA graph private pools,
 * IPC, free-memory callbacks, peer access.
 */

export const MIN_BLOCK = 512;
export const SMALL_SIZE = 1024 * 1024;
export const SMALL_BUFFER = 2 * 1024 * 1024;
export const MIN_LARGE_ALLOC = 10 * 1024 * 1024;
export const ROUND_LARGE = 2 * 1024 * 1024;
export const LARGE_BUFFER = 20 * 1024 * 1024;
const MB = 1024 * 1024;
/** roundup_power2_divisions has one entry per power of two from 1 MiB to 64 GiB. */
export const ROUNDUP_INTERVALS = 16;

export interface AllocatorOptions {
  /** `max_split_size_mb` in bytes; Infinity when unset (PyTorch's SIZE_MAX). */
  maxSplitSize: number;
  /** `max_non_split_rounding_mb` in bytes (default 20 MiB). */
  maxNonSplitRounding: number;
  /** `roundup_power2_divisions`, one entry per power-of-two bucket from 1 MiB (index 0) to 32 GiB+ (index 15); 0 = off. */
  roundupPower2Divisions: number[];
  expandableSegments: boolean;
  /** `garbage_collection_threshold` (0 = off); acts only with `memoryFraction` set. */
  garbageCollectionThreshold: number;
  /** `torch.cuda.set_per_process_memory_fraction`; undefined when never called. */
  memoryFraction?: number;
  /** Total device memory (cudaMemGetInfo total): what the fraction applies to and what expandable segments reserve address space for. */
  deviceTotal: number;
  /** Bytes cudaMalloc can still get for this process (card minus CUDA context); Infinity without a card. */
  limit: number;
}

export function allocatorOptions(o: Partial<AllocatorOptions> = {}): AllocatorOptions {
  return {
    maxSplitSize: Infinity,
    maxNonSplitRounding: LARGE_BUFFER,
    roundupPower2Divisions: new Array<number>(ROUNDUP_INTERVALS).fill(0),
    expandableSegments: false,
    garbageCollectionThreshold: 0,
    deviceTotal: 2 ** 40,
    limit: Infinity,
    ...o,
  };
}

interface Segment {
  /** Expandable segment: page size and which pages are mapped. */
  page: number;
  base: number;
  pages: number;
  mapped: boolean[];
}

/** A block of a segment (a class, so every block has one shape: the replay's hot path stays monomorphic). */
export class Block {
  requested = 0;
  allocated = false;
  gcBase = 0;
  prev: Block | undefined = undefined;
  next: Block | undefined = undefined;
  constructor(
    public ptr: number,
    public size: number,
    public pool: Pool,
    public mapped: boolean,
    public expandable: Segment | undefined,
  ) {}
}

/** A set of blocks ordered by (size, address) or by address: a sorted array with binary search. */
class SortedBlocks {
  readonly items: Block[] = [];
  constructor(private readonly bySize: boolean) {}
  /** Index of the first block not less than the key. */
  lowerBound(key: { size: number; ptr: number }): number {
    const items = this.items;
    const ks = key.size;
    const kp = key.ptr;
    const bySize = this.bySize;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const b = items[mid]!;
      const less = bySize && b.size !== ks ? b.size < ks : b.ptr < kp;
      if (less) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  insert(b: Block): void {
    this.items.splice(this.lowerBound(b), 0, b);
  }
  remove(b: Block): boolean {
    const i = this.lowerBound(b);
    if (this.items[i] !== b) return false;
    this.items.splice(i, 1);
    return true;
  }
  get size(): number {
    return this.items.length;
  }
}

export interface Pool {
  small: boolean;
  blocks: SortedBlocks;
  unmapped: SortedBlocks;
  freeCalls: number;
}

export interface AllocatorStats {
  allocated: number;
  allocatedPeak: number;
  requested: number;
  requestedPeak: number;
  reserved: number;
  reservedPeak: number;
  segments: number;
  numAllocRetries: number;
  numOoms: number;
  numDeviceAlloc: number;
  numDeviceFree: number;
}

/** What an out-of-memory error would have said. */
export interface OomInfo {
  /** The request as PyTorch reports it ("Tried to allocate"): the allocation (segment) size. */
  tried: number;
  request: number;
  allocated: number;
  reserved: number;
}

export class CachingAllocator {
  readonly opts: AllocatorOptions;
  readonly small: Pool = { small: true, blocks: new SortedBlocks(true), unmapped: new SortedBlocks(false), freeCalls: 0 };
  readonly large: Pool = { small: false, blocks: new SortedBlocks(true), unmapped: new SortedBlocks(false), freeCalls: 0 };
  readonly stats: AllocatorStats = {
    allocated: 0, allocatedPeak: 0, requested: 0, requestedPeak: 0, reserved: 0, reservedPeak: 0, segments: 0,
    numAllocRetries: 0, numOoms: 0, numDeviceAlloc: 0, numDeviceFree: 0,
  };
  oom?: OomInfo;
  /** total_allocated_memory: bytes obtained from the driver (cudaMalloc'd segments, mapped pages). */
  private total = 0;
  private nextAddress = 0;
  private readonly segments: Segment[] = [];

  private readonly rounding: boolean;

  constructor(opts: Partial<AllocatorOptions> = {}) {
    this.opts = allocatorOptions(opts);
    this.rounding = this.opts.roundupPower2Divisions.some((d) => d > 1);
  }

  private get setFraction(): boolean {
    return this.opts.memoryFraction !== undefined;
  }

  private get allowedMax(): number {
    return Math.floor((this.opts.memoryFraction ?? 1) * this.opts.deviceTotal);
  }

  /** `round_size`. */
  roundSize(size: number): number {
    if (size < MIN_BLOCK) return MIN_BLOCK;
    if (!this.rounding) return MIN_BLOCK * Math.ceil(size / MIN_BLOCK);
    const div = roundupDivisions(this.opts.roundupPower2Divisions, size);
    if (div > 1 && size > MIN_BLOCK * div) return roundupPower2NextDivision(size, div);
    return MIN_BLOCK * Math.ceil(size / MIN_BLOCK);
  }

  /** Allocates `orig` bytes; undefined when the device is out of memory (see `oom`). */
  malloc(orig: number): Block | undefined {
    const size = this.roundSize(orig);
    const pool = size <= SMALL_SIZE ? this.small : this.large;
    const allocSize = allocationSize(size);
    let block = this.getFreeBlock(pool, size);
    if (!block) {
      if (this.setFraction && this.opts.garbageCollectionThreshold > 0) this.garbageCollect();
      block =
        this.allocBlock(pool, size, allocSize, false) ??
        (this.releaseAvailableCachedBlocks(pool, size) ? this.allocBlock(pool, size, allocSize, false) : undefined) ??
        (this.releaseCachedBlocks() ? this.allocBlock(pool, size, allocSize, true) : undefined);
    }
    if (!block) {
      this.stats.numOoms++;
      this.oom ??= { tried: allocSize, request: orig, allocated: this.stats.allocated, reserved: this.stats.reserved };
      return undefined;
    }
    return this.allocFoundBlock(block, size, orig, this.shouldSplit(block, size));
  }

  free(block: Block): void {
    if (!block.allocated) throw new Error('double free in the allocator simulation');
    block.allocated = false;
    this.stats.allocated -= block.size;
    this.stats.requested -= block.requested;
    this.freeBlock(block);
  }

  /** `emptyCache`: every whole free segment back to the driver. */
  emptyCache(): void {
    this.releaseCachedBlocks();
  }

  /** Largest cached free block (`cacheInfo`), over both pools. */
  largestFree(): number {
    const a = this.small.blocks.items;
    const b = this.large.blocks.items;
    return Math.max(a.length ? a[a.length - 1]!.size : 0, b.length ? b[b.length - 1]!.size : 0);
  }

  /** Every segment with its blocks, in address order (torch.cuda.memory_snapshot()). */
  snapshot(): { ptr: number; size: number; small: boolean; expandable: boolean; blocks: { size: number; allocated: boolean }[] }[] {
    const heads = new Set<Block>();
    const all = [...this.small.blocks.items, ...this.large.blocks.items, ...this.activeList()];
    for (let b of all) {
      while (b.prev && (b.prev.mapped || !b.expandable)) b = b.prev;
      heads.add(b);
    }
    const out: ReturnType<CachingAllocator['snapshot']> = [];
    for (const h of heads) {
      if (h.expandable && !h.mapped) continue;
      const blocks: { size: number; allocated: boolean }[] = [];
      let size = 0;
      for (let b: Block | undefined = h; b && b.mapped; b = b.next) {
        blocks.push({ size: b.size, allocated: b.allocated });
        size += b.size;
      }
      out.push({ ptr: h.ptr, size, small: h.pool.small, expandable: !!h.expandable, blocks });
    }
    return out.sort((a, b) => a.ptr - b.ptr);
  }

  private active = new Set<Block>();
  private activeList(): Block[] {
    return [...this.active];
  }

  /** `get_free_block`. */
  private getFreeBlock(pool: Pool, size: number): Block | undefined {
    if (this.setFraction && this.opts.garbageCollectionThreshold > 0) pool.freeCalls++;
    const items = pool.blocks.items;
    let i = pool.blocks.lowerBound({ size, ptr: -Infinity });
    if (i >= items.length) return undefined;
    if (items[i]!.expandable) {
      if (this.opts.expandableSegments) {
        // Best fit counts an expandable block as the size it can grow to (itself plus the unmapped space after it).
        const grow = (b: Block) => b.size + (b.next && !b.next.mapped ? b.next.size : 0);
        while (items[i]!.expandable && i + 1 < items.length && grow(items[i + 1]!) < grow(items[i]!)) i++;
      } else {
        do i++;
        while (i < items.length && items[i]!.expandable);
        if (i >= items.length) return undefined;
      }
    }
    const b = items[i]!;
    const { maxSplitSize, maxNonSplitRounding } = this.opts;
    if (size < maxSplitSize && b.size >= maxSplitSize) return undefined;
    if (size >= maxSplitSize && b.size >= size + maxNonSplitRounding) return undefined;
    items.splice(i, 1);
    return b;
  }

  /** `should_split`. */
  private shouldSplit(b: Block, size: number): boolean {
    const remaining = b.size - size;
    if (b.pool.small || this.opts.expandableSegments) return remaining >= MIN_BLOCK;
    return size < this.opts.maxSplitSize && remaining > SMALL_SIZE;
  }

  /** `alloc_found_block`. */
  private allocFoundBlock(b: Block, size: number, orig: number, split: boolean): Block {
    let block = b;
    if (split) {
      const remaining = b;
      block = new Block(b.ptr, size, b.pool, true, b.expandable);
      block.prev = b.prev;
      block.next = remaining;
      if (block.prev) block.prev.next = block;
      remaining.prev = block;
      remaining.ptr += size;
      remaining.size -= size;
      this.insertFree(remaining);
    }
    block.allocated = true;
    block.requested = orig;
    this.active.add(block);
    const s = this.stats;
    s.allocated += block.size;
    s.requested += orig;
    if (s.allocated > s.allocatedPeak) s.allocatedPeak = s.allocated;
    if (s.requested > s.requestedPeak) s.requestedPeak = s.requested;
    return block;
  }

  private insertFree(b: Block): void {
    b.gcBase = b.pool.freeCalls;
    b.pool.blocks.insert(b);
  }

  /** `free_block`: merge with free neighbours, back into the pool. */
  private freeBlock(b: Block): void {
    this.tryMerge(b, b.prev);
    this.tryMerge(b, b.next);
    this.active.delete(b);
    this.insertFree(b);
  }

  /** `try_merge_blocks`: `src` (a free neighbour) joins `dst`. */
  private tryMerge(dst: Block, src: Block | undefined): number {
    if (!src || src.allocated || dst.mapped !== src.mapped) return 0;
    if (dst.prev === src) {
      dst.ptr = src.ptr;
      dst.prev = src.prev;
      if (dst.prev) dst.prev.next = dst;
    } else {
      dst.next = src.next;
      if (dst.next) dst.next.prev = dst;
    }
    dst.size += src.size;
    if (src.mapped) src.pool.blocks.remove(src);
    else src.pool.unmapped.remove(src);
    return src.size;
  }

  /** `alloc_block`: a new segment (or mapped pages), within the process fraction and the device. */
  private allocBlock(pool: Pool, size: number, allocSize: number, retry: boolean): Block | undefined {
    if (retry) this.stats.numAllocRetries++;
    if (this.setFraction && this.total + allocSize > this.allowedMax) return undefined;
    if (this.opts.expandableSegments) return this.tryAllocateExpandableBlock(pool, size);
    if (this.stats.reserved + allocSize > this.opts.limit) return undefined;
    const block = new Block(this.take(allocSize), allocSize, pool, true, undefined);
    this.total += allocSize;
    this.stats.segments++;
    this.stats.numDeviceAlloc++;
    this.grow(allocSize);
    return block;
  }

  private take(bytes: number): number {
    const p = this.nextAddress;
    // Segments never touch: a gap keeps each one its own address range.
    this.nextAddress += bytes + ROUND_LARGE;
    return p;
  }

  private grow(bytes: number): void {
    const s = this.stats;
    s.reserved += bytes;
    if (s.reserved > s.reservedPeak) s.reservedPeak = s.reserved;
  }

  /** `release_block`: a whole cached segment back to the driver (cudaFree). */
  private releaseBlock(b: Block): void {
    this.total -= b.size;
    this.stats.reserved -= b.size;
    this.stats.segments--;
    this.stats.numDeviceFree++;
    b.pool.blocks.remove(b);
  }

  /** `release_available_cached_blocks`: free oversize blocks (max_split_size set) until the request fits. */
  private releaseAvailableCachedBlocks(pool: Pool, size: number): boolean {
    const maxSplit = this.opts.maxSplitSize;
    if (maxSplit === Infinity) return false;
    const keySize = size < maxSplit ? maxSplit : size;
    const items = pool.blocks.items;
    let i = pool.blocks.lowerBound({ size: keySize, ptr: -Infinity });
    if (i >= items.length) {
      if (i === 0) return false;
      let released = 0;
      i--;
      while (released < keySize && i >= 0 && items[i]!.size >= maxSplit && !items[i]!.expandable) {
        const b = items[i]!;
        released += b.size;
        this.releaseBlock(b);
        i--;
      }
      return released >= keySize;
    }
    if (items[i]!.expandable) return false;
    this.releaseBlock(items[i]!);
    return true;
  }

  /** `release_cached_blocks` / `release_blocks`: every whole free segment; free pages of expandable segments. */
  private releaseCachedBlocks(): boolean {
    for (const pool of [this.large, this.small]) {
      const toUnmap: Block[] = [];
      for (const b of [...pool.blocks.items]) {
        if (b.expandable) toUnmap.push(b);
        else if (!b.prev && !b.next) this.releaseBlock(b);
      }
      for (const b of toUnmap) this.unmapBlock(b);
    }
    return true;
  }

  /** `garbage_collect_cached_blocks`: free the oldest whole cached blocks of the large pool above the threshold. */
  private garbageCollect(): void {
    const threshold = Math.floor(this.opts.garbageCollectionThreshold * this.allowedMax);
    if (this.total <= threshold) return;
    const target = this.total - threshold;
    let reclaimed = 0;
    const pool = this.large;
    const age = (b: Block) => pool.freeCalls - b.gcBase;
    let totalAge = 0;
    let count = 0;
    for (const b of pool.blocks.items) {
      if (!b.prev && !b.next && !b.expandable) {
        totalAge += age(b);
        count++;
      }
    }
    if (!count) return;
    let freed = true;
    while (reclaimed < target && freed && count > 0) {
      const threshold2 = totalAge / count;
      freed = false;
      for (const b of [...pool.blocks.items]) {
        if (!b.prev && !b.next && !b.expandable && age(b) >= threshold2) {
          freed = true;
          reclaimed += b.size;
          totalAge -= age(b);
          count--;
          this.releaseBlock(b);
        }
      }
    }
  }

  // Expandable segments.

  private pageOf(pool: Pool): number {
    return pool.small ? SMALL_BUFFER : LARGE_BUFFER;
  }

  /** `find_expandable_block`: the lowest free-or-unmapped run of address space with room for `size`, else a new segment. */
  private findExpandableBlock(pool: Pool, size: number): Block {
    const allocatable = (b: Block | undefined): b is Block => !!b && !b.allocated;
    const hasRoom = (start: Block) => {
      let bytes = 0;
      let b: Block | undefined = start;
      while (bytes < size && allocatable(b)) {
        bytes += b.size;
        b = b.next;
      }
      return bytes >= size;
    };
    for (const u of pool.unmapped.items) {
      const c = allocatable(u.prev) && u.prev.mapped ? u.prev : u;
      if (hasRoom(c)) return c;
    }
    const page = this.pageOf(pool);
    // Address space for 1 1/8 of the device (PyTorch); a request larger than that can never be mapped on a
    // real card, but without one (deviceTotal is only a stand-in) the segment is made large enough for it.
    const pages = Math.ceil(Math.max(this.opts.deviceTotal + this.opts.deviceTotal / 8, size) / page);
    const seg: Segment = { page, base: this.take(pages * page), pages, mapped: new Array<boolean>(pages).fill(false) };
    this.segments.push(seg);
    const candidate = new Block(seg.base, pages * page, pool, false, seg);
    pool.unmapped.insert(candidate);
    return candidate;
  }

  /** `map_block`: back the start of an unmapped block with pages (whole pages); false when the device is full. */
  private mapBlock(b: Block, size: number): boolean {
    const seg = b.expandable!;
    const begin = Math.floor((b.ptr - seg.base) / seg.page);
    const end = Math.ceil((b.ptr + size - seg.base) / seg.page);
    const bytes = (end - begin) * seg.page;
    if (this.stats.reserved + bytes > this.opts.limit) return false;
    for (let i = begin; i < end; i++) seg.mapped[i] = true;
    const pool = b.pool;
    pool.unmapped.remove(b);
    b.mapped = true;
    if (bytes < b.size) {
      const rest = new Block(b.ptr + bytes, b.size - bytes, pool, false, seg);
      rest.prev = b;
      rest.next = b.next;
      if (b.next) b.next.prev = rest;
      b.next = rest;
      pool.unmapped.insert(rest);
      b.size = bytes;
    }
    this.tryMerge(b, b.prev);
    this.tryMerge(b, b.next);
    this.insertFree(b);
    this.total += bytes;
    this.stats.numDeviceAlloc++;
    this.grow(bytes);
    return true;
  }

  /** `try_allocate_expandable_block`. */
  private tryAllocateExpandableBlock(pool: Pool, size: number): Block | undefined {
    let c = this.findExpandableBlock(pool, size);
    if (!c.mapped && !this.mapBlock(c, Math.min(c.size, size))) return undefined;
    while (c.size < size) {
      const next = c.next;
      // The end of the segment's address space: as a failed cuMemCreate, the allocation fails.
      if (!next || next.allocated) return undefined;
      if (!this.mapBlock(next, Math.min(size - c.size, next.size))) return undefined;
      c = next;
    }
    pool.blocks.remove(c);
    return c;
  }

  /** `unmap_block`: give the whole free pages inside a free block back to the driver. */
  private unmapBlock(b: Block): void {
    const seg = b.expandable!;
    const begin = Math.ceil((b.ptr - seg.base) / seg.page);
    const end = Math.floor((b.ptr + b.size - seg.base) / seg.page);
    if (begin >= end) return;
    const pool = b.pool;
    pool.blocks.remove(b);
    const uPtr = seg.base + begin * seg.page;
    const uSize = (end - begin) * seg.page;
    const before = uPtr - b.ptr;
    if (before > 0) {
      const f = new Block(b.ptr, before, pool, true, seg);
      f.prev = b.prev;
      f.next = b;
      if (b.prev) b.prev.next = f;
      b.prev = f;
      this.insertFree(f);
    }
    const after = b.size - (before + uSize);
    if (after > 0) {
      const f = new Block(uPtr + uSize, after, pool, true, seg);
      f.prev = b;
      f.next = b.next;
      if (b.next) b.next.prev = f;
      b.next = f;
      this.insertFree(f);
    }
    for (let i = begin; i < end; i++) seg.mapped[i] = false;
    b.ptr = uPtr;
    b.size = uSize;
    b.mapped = false;
    this.tryMerge(b, b.prev);
    this.tryMerge(b, b.next);
    pool.unmapped.insert(b);
    this.total -= uSize;
    this.stats.reserved -= uSize;
    this.stats.numDeviceFree++;
  }
}

/** `get_allocation_size`: the segment a miss of `size` (already rounded) asks the driver for. */
export function allocationSize(size: number): number {
  if (size <= SMALL_SIZE) return SMALL_BUFFER;
  if (size < MIN_LARGE_ALLOC) return LARGE_BUFFER;
  return ROUND_LARGE * Math.ceil(size / ROUND_LARGE);
}

/** `AllocatorConfig::roundup_power2_divisions(size)`: the divisions of the power-of-two bucket `size` falls in. */
export function roundupDivisions(table: readonly number[], size: number): number {
  const log = Math.floor(Math.log2(size));
  const idx = Math.min(Math.max(0, log - 20), ROUNDUP_INTERVALS - 1);
  return table[idx] ?? 0;
}

/** `roundup_power2_next_division`: 1200 with 4 divisions of [1024, 2048) rounds to 1280. */
export function roundupPower2NextDivision(size: number, divisions: number): number {
  if (isPowerOf2(size)) return size;
  const floor = 2 ** Math.floor(Math.log2(size));
  // power2_floor >> (63 - clz(divisions)): the floor divided by the largest power of two <= divisions.
  const step = floor / 2 ** Math.floor(Math.log2(divisions));
  if (step < 1) return floor * 2;
  const low = Math.floor(size / step) * step;
  return low === size ? size : low + step;
}

function isPowerOf2(x: number): boolean {
  return x > 0 && 2 ** Math.round(Math.log2(x)) === x;
}

/**
 * The roundup_power2_divisions table from the run config: one number (every bucket), or
 * `{ "256": 1, "512": 2, ">": 4 }` (MiB buckets, as PyTorch's `[256:1,512:2,>:4]`).
 */
export function divisionsTable(v: number | Record<string, number> | undefined): number[] {
  const table = new Array<number>(ROUNDUP_INTERVALS).fill(0);
  if (v === undefined) return table;
  if (typeof v === 'number') return table.fill(v);
  let first = true;
  let last = 0;
  for (const [k, d] of Object.entries(v)) {
    if (k === '>') {
      for (let i = last; i < ROUNDUP_INTERVALS; i++) table[i] = d;
      continue;
    }
    const idx = Math.min(Math.max(0, Math.floor(Math.log2(Number(k)))), ROUNDUP_INTERVALS - 1);
    if (first) {
      for (let i = 0; i < idx; i++) table[i] = d;
      first = false;
    }
    table[idx] = d;
    last = idx;
  }
  return table;
}

export { MB };
