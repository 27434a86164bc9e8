/**
 * The caching-allocator port against alloc/free sequences worked out by hand from
 * c10/cuda/CUDACachingAllocator.cpp: which pool, which segment size, where blocks split and merge,
 * what the OOM retry path frees. Every expected number is written as its arithmetic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachingAllocator, divisionsTable, roundupPower2NextDivision, type Block } from '../../src/core/allocator/caching.js';

const MiB = 1024 * 1024;

function segs(a: CachingAllocator) {
  return a.snapshot().map((s) => ({ size: s.size, small: s.small, blocks: s.blocks.map((b) => `${b.allocated ? 'A' : 'F'}${b.size}`) }));
}

test('small pool: 512 B rounding, one 2 MiB segment, split, best fit reuse without split', () => {
  const a = new CachingAllocator();
  const x = a.malloc(1000)!; // rounds to 1024, small pool (<= 1 MiB), miss: a 2 MiB segment, split
  assert.equal(x.size, 1024);
  assert.equal(a.stats.reserved, 2 * MiB);
  assert.equal(a.stats.requested, 1000);
  const y = a.malloc(1)!; // 512 B from the remainder
  assert.equal(y.size, 512);
  assert.deepEqual(segs(a), [{ size: 2 * MiB, small: true, blocks: ['A1024', 'A512', `F${2 * MiB - 1024 - 512}`] }]);
  a.free(x); // its neighbour y is allocated: no merge
  const z = a.malloc(600)!; // 1024: best fit is x's old 1024 B block (smaller than the remainder), nothing left to split
  assert.equal(z.size, 1024);
  assert.equal(z.ptr, x.ptr);
  assert.equal(a.stats.allocated, 1024 + 512);
  assert.equal(a.stats.reserved, 2 * MiB);
});

test('large pool: 1-10 MiB requests share a 20 MiB segment; a block is not split when <= 1 MiB would remain', () => {
  const a = new CachingAllocator();
  const p = a.malloc(3 * MiB)!;
  const q = a.malloc(5 * MiB)!;
  assert.equal(a.stats.reserved, 20 * MiB); // one kLargeBuffer segment serves both
  assert.equal(a.stats.segments, 1);
  a.free(p); // q is allocated: 3 MiB stays its own free block
  assert.deepEqual(segs(a), [{ size: 20 * MiB, small: false, blocks: [`F${3 * MiB}`, `A${5 * MiB}`, `F${12 * MiB}`] }]);
  const r = a.malloc(2.5 * MiB)!; // best fit: the 3 MiB block; 0.5 MiB would remain (<= 1 MiB): taken whole
  assert.equal(r.size, 3 * MiB);
  assert.equal(a.stats.allocated, 3 * MiB + 5 * MiB); // torch's allocated counts the whole block
  assert.equal(a.stats.requested, 2.5 * MiB + 5 * MiB);
  void q;
});

test('large pool: >= 10 MiB rounds the segment to 2 MiB; the remainder serves a later 1-2 MiB request', () => {
  const a = new CachingAllocator();
  const big = a.malloc(12 * MiB + 1000)!; // 12 MiB + 1024 B; segment ceil(/2 MiB) = 14 MiB; remainder 2 MiB - 1024 B > 1 MiB: split
  assert.equal(big.size, 12 * MiB + 1024);
  assert.equal(a.stats.reserved, 14 * MiB);
  const mid = a.malloc(1.5 * MiB)!; // large pool; best fit the remainder (2 MiB - 1024 B); 0.5 MiB - 1024 B left: no split
  assert.equal(mid.size, 2 * MiB - 1024);
  assert.equal(a.stats.reserved, 14 * MiB);
  assert.equal(a.stats.segments, 1);
});

test('max_split_size_mb: oversize blocks serve only requests within 20 MiB of their size and are never split', () => {
  const a = new CachingAllocator({ maxSplitSize: 20 * MiB });
  const big = a.malloc(30 * MiB)!;
  a.free(big);
  a.malloc(5 * MiB); // the cached 30 MiB block is oversize (>= 20 MiB) and 5 MiB < 20 MiB: a new 20 MiB segment
  assert.equal(a.stats.reserved, 30 * MiB + 20 * MiB);
  const near = a.malloc(29 * MiB)!; // >= max_split_size, and 30 < 29 + 20: the oversize block, whole
  assert.equal(near.size, 30 * MiB);
  assert.equal(a.stats.reserved, 50 * MiB);
  a.free(near);
  const far = a.malloc(9 * MiB)!; // under max_split_size: the 30 MiB block is refused; the 20 MiB segment's 15 MiB remainder serves it
  assert.equal(far.size, 9 * MiB);
  assert.equal(a.stats.reserved, 50 * MiB);
  const huge = a.malloc(6 * MiB)!; // 6 MiB left in the 20 MiB segment: exact fit
  assert.equal(huge.size, 6 * MiB);
  assert.equal(a.stats.reserved, 50 * MiB);
});

test('merging: freed blocks join free neighbours into the whole segment; empty_cache returns it', () => {
  const a = new CachingAllocator();
  const [x, y, z] = [a.malloc(4 * MiB)!, a.malloc(4 * MiB)!, a.malloc(4 * MiB)!];
  a.free(y);
  assert.deepEqual(segs(a)[0]!.blocks, [`A${4 * MiB}`, `F${4 * MiB}`, `A${4 * MiB}`, `F${8 * MiB}`]);
  a.free(x); // merges with y
  assert.deepEqual(segs(a)[0]!.blocks, [`F${8 * MiB}`, `A${4 * MiB}`, `F${8 * MiB}`]);
  assert.equal(a.largestFree(), 8 * MiB);
  a.free(z); // merges both sides: 8 + 4 + 8
  assert.deepEqual(segs(a)[0]!.blocks, [`F${20 * MiB}`]);
  assert.equal(a.largestFree(), 20 * MiB);
  a.emptyCache();
  assert.equal(a.stats.reserved, 0);
  assert.equal(a.stats.reservedPeak, 20 * MiB);
});

test('OOM path: cached whole segments are released and the allocation retried; then out of memory', () => {
  const a = new CachingAllocator({ limit: 40 * MiB });
  const x = a.malloc(30 * MiB)!;
  a.free(x);
  const y = a.malloc(32 * MiB)!; // no cached block >= 32 MiB; 30 + 32 > 40: release the cached 30 MiB, retry
  assert.ok(y);
  assert.equal(a.stats.numAllocRetries, 1);
  assert.equal(a.stats.reserved, 32 * MiB);
  assert.equal(a.stats.reservedPeak, 32 * MiB);
  const z = a.malloc(10 * MiB); // 32 + 10 > 40 and nothing cached: out of memory
  assert.equal(z, undefined);
  assert.deepEqual(a.oom, { tried: 10 * MiB, request: 10 * MiB, allocated: 32 * MiB, reserved: 32 * MiB });
});

test('max_split_size: release_available_cached_blocks frees an oversize block, or several, before the full release', () => {
  // One cached oversize block large enough: released alone, the allocation succeeds without a retry.
  const a = new CachingAllocator({ maxSplitSize: 24 * MiB, limit: 100 * MiB });
  a.malloc(4 * MiB); // 20 MiB segment (under 24 MiB: not oversize), 16 MiB free remainder
  a.free(a.malloc(60 * MiB)!); // a cached 60 MiB oversize segment
  assert.equal(a.stats.reserved, 80 * MiB);
  a.malloc(30 * MiB); // 60 >= 30 + 20: refused by best fit; 80 + 30 > 100: the 60 MiB block (>= 30) is released
  assert.equal(a.stats.numAllocRetries, 0);
  assert.equal(a.stats.reserved, 20 * MiB + 30 * MiB);
  // No single block large enough: oversize blocks go from the largest down (here the 24 MiB one, 24 < 30: not enough),
  // then the full release frees every whole segment (the 20 MiB one) and the allocation is retried.
  const b = new CachingAllocator({ maxSplitSize: 24 * MiB, limit: 64 * MiB });
  const small = b.malloc(4 * MiB)!;
  const big = b.malloc(24 * MiB)!;
  b.free(big);
  b.free(small);
  assert.equal(b.stats.reserved, 44 * MiB);
  assert.ok(b.malloc(30 * MiB)); // 44 + 30 > 64
  assert.equal(b.stats.numAllocRetries, 1);
  assert.equal(b.stats.reserved, 30 * MiB);
});

test('expandable segments: one range grows by 20 MiB pages and a request spans the mapped tail', () => {
  const a = new CachingAllocator({ expandableSegments: true, deviceTotal: 1024 * MiB });
  const p = a.malloc(3 * MiB)!; // maps one 20 MiB page; split (expandable: >= 512 B remain)
  assert.equal(a.stats.reserved, 20 * MiB);
  const q = a.malloc(25 * MiB)!; // 17 MiB free + the next page: maps 20 more and merges
  assert.equal(q.size, 25 * MiB);
  assert.equal(a.stats.reserved, 40 * MiB); // a plain allocator would hold 20 + 26 MiB
  assert.deepEqual(segs(a), [{ size: 40 * MiB, small: false, blocks: [`A${3 * MiB}`, `A${25 * MiB}`, `F${12 * MiB}`] }]);
  a.free(p);
  a.free(q);
  assert.equal(a.largestFree(), 40 * MiB);
  a.emptyCache(); // whole free pages are unmapped
  assert.equal(a.stats.reserved, 0);

  const plain = new CachingAllocator();
  plain.malloc(3 * MiB);
  plain.malloc(25 * MiB);
  assert.equal(plain.stats.reserved, 20 * MiB + 26 * MiB);
});

test('expandable segments: a request beyond the address space of 1 1/8 of the device', () => {
  // Without a card the device size is a stand-in: the segment is made as large as the request (40 MiB:
  // two 20 MiB pages, not the 18 MiB of 16 MiB x 1.125).
  const a = new CachingAllocator({ expandableSegments: true, deviceTotal: 16 * MiB });
  const b = a.malloc(40 * MiB)!;
  assert.equal(b.size, 40 * MiB);
  assert.equal(a.stats.reserved, 40 * MiB);
  // With a limit (the card) the same request is out of memory, as PyTorch's mapping would fail.
  const c = new CachingAllocator({ expandableSegments: true, deviceTotal: 16 * MiB, memoryFraction: 1 });
  assert.equal(c.malloc(40 * MiB), undefined);
  assert.equal(c.stats.numOoms, 1);
});

test('roundup_power2_divisions: requests round to divisions of their power-of-two bucket', () => {
  assert.equal(roundupPower2NextDivision(1200, 4), 1280); // PyTorch's own example: [1024, 2048) in 4 steps of 256
  assert.equal(roundupPower2NextDivision(1024, 4), 1024);
  const a = new CachingAllocator({ roundupPower2Divisions: divisionsTable(4) });
  assert.equal(a.roundSize(1200), 1536); // 1200 <= 512 x 4: plain 512 B rounding
  assert.equal(a.roundSize(1.2 * MiB), 1.25 * MiB); // [1, 2) MiB in steps of 256 KiB
  assert.equal(a.roundSize(5 * MiB + 1), 6 * MiB); // [4, 8) MiB in steps of 1 MiB
  // `[256:1, 512:2, >:4]` in MiB buckets: below 256 MiB 1 (off), PyTorch's '>' then overwrites from the 512 MiB bucket on.
  const t = divisionsTable({ 256: 1, 512: 2, '>': 4 });
  assert.equal(t[0], 1);
  assert.equal(t[8], 1); // 256 MiB bucket: log2(256) = 8
  assert.equal(t[9], 4);
  assert.equal(t[15], 4);
});

test('garbage_collection_threshold (with a memory fraction): old whole cached blocks are freed before a new segment', () => {
  // fraction 0.5 of 100 MiB: 50 MiB allowed; threshold 0.6: collect above 30 MiB.
  const a = new CachingAllocator({ memoryFraction: 0.5, deviceTotal: 100 * MiB, garbageCollectionThreshold: 0.6 });
  const x = a.malloc(20 * MiB)!;
  const y = a.malloc(12 * MiB)!;
  a.free(x);
  a.free(y);
  assert.equal(a.stats.reserved, 32 * MiB);
  a.malloc(22 * MiB); // miss; 32 > 30: both cached blocks (age 1 >= average 1) are freed, then one 22 MiB segment
  assert.equal(a.stats.reserved, 22 * MiB);
  assert.equal(a.stats.numAllocRetries, 0);
  const b = new CachingAllocator({ memoryFraction: 0.5, deviceTotal: 100 * MiB });
  const bs: Block[] = [b.malloc(20 * MiB)!, b.malloc(12 * MiB)!];
  bs.forEach((k) => b.free(k));
  b.malloc(22 * MiB); // no GC: 32 + 22 > 50 allowed: the release-and-retry path does it instead
  assert.equal(b.stats.reserved, 22 * MiB);
  assert.equal(b.stats.numAllocRetries, 1);
});
