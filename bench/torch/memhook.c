/*
 * memhook: LD_PRELOAD shim counting live bytes of blocks allocated through
 * posix_memalign (what PyTorch's CPU allocator c10::alloc_cpu uses, alignment 64),
 * plus aligned_alloc/memalign for completeness.
 * Blocks are tracked in an open-addressing hash table keyed by pointer; free()
 * of an untracked pointer is forwarded untouched. Counting is by the *requested*
 * size (nbytes). Usable size (malloc_usable_size) is tracked separately.
 * Exports for ctypes: memhook_reset_peak, memhook_peak, memhook_current,
 * memhook_count, memhook_current_usable, memhook_peak_usable, memhook_total_bytes, memhook_total_allocs,
 * memhook_set_enabled.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>

extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

#define TBITS 22
#define TSIZE (1u << TBITS)
#define TMASK (TSIZE - 1)

typedef struct { uintptr_t key; size_t size; size_t usable; int inside; } slot_t;
static slot_t table[TSIZE];          /* bss, 96 MiB virtual, touched lazily */
static atomic_flag lock = ATOMIC_FLAG_INIT;
static long long cur_bytes = 0, peak_bytes = 0, n_live = 0;
static long long cur_usable = 0, peak_usable = 0;
static long long total_bytes = 0, total_allocs = 0; /* cumulative, for cross-checks (check_hook.py) */
/* Optional split by caller: allocations whose return address lies in [range_lo, range_hi) (set to libc10.so's
 * text by check_hook.py / harness.py: c10::alloc_cpu, i.e. tensor storage) are "inside"; the rest (oneDNN
 * scratchpads, MKL buffers, ...) are "outside". The main counters always count both. */
static uintptr_t range_lo = 0, range_hi = 0;
static long long in_cur = 0, in_peak = 0;
/* Optional caller table (memhook_trace): distinct return addresses with count and bytes. */
#define NCALLER 4096
typedef struct { uintptr_t addr; long long n, bytes; } caller_t;
static caller_t callers[NCALLER];
static int trace = 0, n_callers = 0;
static int enabled = 1;

static inline void lk(void) { while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) { } }
static inline void ulk(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }
static inline uint32_t hsh(uintptr_t p) { uint64_t x = (uint64_t)p; x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; return (uint32_t)x & TMASK; }

static void track(void *p, size_t size, uintptr_t caller) {
    size_t us = malloc_usable_size(p);
    int inside = range_hi != 0 && caller >= range_lo && caller < range_hi;
    lk();
    if (trace) {
        int c = 0;
        while (c < n_callers && callers[c].addr != caller) c++;
        if (c == n_callers && n_callers < NCALLER) { callers[c].addr = caller; callers[c].n = 0; callers[c].bytes = 0; n_callers++; }
        if (c < NCALLER) { callers[c].n++; callers[c].bytes += (long long)size; }
    }
    if (inside) { in_cur += (long long)size; if (in_cur > in_peak) in_peak = in_cur; }
    uint32_t i = hsh((uintptr_t)p);
    while (table[i].key != 0) i = (i + 1) & TMASK;
    table[i].key = (uintptr_t)p; table[i].size = size; table[i].usable = us; table[i].inside = inside;
    cur_bytes += (long long)size; cur_usable += (long long)us; n_live++;
    total_bytes += (long long)size; total_allocs++;
    if (cur_bytes > peak_bytes) peak_bytes = cur_bytes;
    if (cur_usable > peak_usable) peak_usable = cur_usable;
    ulk();
}

/* returns 1 if found (and removed) */
static void untrack(void *p) {
    lk();
    if (n_live == 0) { ulk(); return; }
    uint32_t i = hsh((uintptr_t)p);
    while (table[i].key != 0 && table[i].key != (uintptr_t)p) i = (i + 1) & TMASK;
    if (table[i].key == 0) { ulk(); return; }
    cur_bytes -= (long long)table[i].size; cur_usable -= (long long)table[i].usable; n_live--;
    if (table[i].inside) in_cur -= (long long)table[i].size;
    /* backward-shift deletion for linear probing */
    uint32_t j = i;
    for (;;) {
        table[i].key = 0;
        for (;;) {
            j = (j + 1) & TMASK;
            if (table[j].key == 0) { ulk(); return; }
            uint32_t k = hsh(table[j].key);
            /* move j to i if k is cyclically outside (i, j] */
            if ((i <= j) ? ((i < k) && (k <= j)) : ((i < k) || (k <= j))) continue;
            break;
        }
        table[i] = table[j];
        i = j;
    }
}

int posix_memalign(void **memptr, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    if (enabled) track(p, size, (uintptr_t)__builtin_return_address(0));
    *memptr = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    if (p && enabled) track(p, size, (uintptr_t)__builtin_return_address(0));
    return p;
}

void *memalign(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    if (p && enabled) track(p, size, (uintptr_t)__builtin_return_address(0));
    return p;
}

void free(void *p) {
    if (!p) return;
    untrack(p);
    __libc_free(p);
}

void memhook_reset_peak(void) { lk(); peak_bytes = cur_bytes; peak_usable = cur_usable; in_peak = in_cur; ulk(); }
long long memhook_peak(void) { lk(); long long v = peak_bytes; ulk(); return v; }
long long memhook_current(void) { lk(); long long v = cur_bytes; ulk(); return v; }
long long memhook_count(void) { lk(); long long v = n_live; ulk(); return v; }
long long memhook_peak_usable(void) { lk(); long long v = peak_usable; ulk(); return v; }
long long memhook_current_usable(void) { lk(); long long v = cur_usable; ulk(); return v; }
long long memhook_total_bytes(void) { lk(); long long v = total_bytes; ulk(); return v; }
long long memhook_total_allocs(void) { lk(); long long v = total_allocs; ulk(); return v; }
void memhook_set_enabled(int e) { enabled = e; }
void memhook_set_range(unsigned long long lo, unsigned long long hi) { lk(); range_lo = (uintptr_t)lo; range_hi = (uintptr_t)hi; ulk(); }
long long memhook_inside_current(void) { lk(); long long v = in_cur; ulk(); return v; }
long long memhook_inside_peak(void) { lk(); long long v = in_peak; ulk(); return v; }
void memhook_trace(int on) { lk(); trace = on; if (on) n_callers = 0; ulk(); }
int memhook_callers(void) { return n_callers; }
unsigned long long memhook_caller(int i, long long *n, long long *bytes) { *n = callers[i].n; *bytes = callers[i].bytes; return callers[i].addr; }
