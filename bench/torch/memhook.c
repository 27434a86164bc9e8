/*
 * memhook: LD_PRELOAD shim counting live bytes of blocks allocated through
 * posix_memalign (what PyTorch's CPU allocator c10::alloc_cpu uses, alignment 64),
 * plus aligned_alloc/memalign for completeness.
 * Blocks are tracked in an open-addressing hash table keyed by pointer; free()
 * of an untracked pointer is forwarded untouched. Counting is by the *requested*
 * size (nbytes). Usable size (malloc_usable_size) is tracked separately.
 * Exports for ctypes: memhook_reset_peak, memhook_peak, memhook_current,
 * memhook_count, memhook_current_usable, memhook_peak_usable, memhook_set_enabled.
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

typedef struct { uintptr_t key; size_t size; size_t usable; } slot_t;
static slot_t table[TSIZE];          /* bss, 96 MiB virtual, touched lazily */
static atomic_flag lock = ATOMIC_FLAG_INIT;
static long long cur_bytes = 0, peak_bytes = 0, n_live = 0;
static long long cur_usable = 0, peak_usable = 0;
static int enabled = 1;

static inline void lk(void) { while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) { } }
static inline void ulk(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }
static inline uint32_t hsh(uintptr_t p) { uint64_t x = (uint64_t)p; x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; return (uint32_t)x & TMASK; }

static void track(void *p, size_t size) {
    size_t us = malloc_usable_size(p);
    lk();
    uint32_t i = hsh((uintptr_t)p);
    while (table[i].key != 0) i = (i + 1) & TMASK;
    table[i].key = (uintptr_t)p; table[i].size = size; table[i].usable = us;
    cur_bytes += (long long)size; cur_usable += (long long)us; n_live++;
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
    if (enabled) track(p, size);
    *memptr = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    if (p && enabled) track(p, size);
    return p;
}

void *memalign(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    if (p && enabled) track(p, size);
    return p;
}

void free(void *p) {
    if (!p) return;
    untrack(p);
    __libc_free(p);
}

void memhook_reset_peak(void) { lk(); peak_bytes = cur_bytes; peak_usable = cur_usable; ulk(); }
long long memhook_peak(void) { lk(); long long v = peak_bytes; ulk(); return v; }
long long memhook_current(void) { lk(); long long v = cur_bytes; ulk(); return v; }
long long memhook_count(void) { lk(); long long v = n_live; ulk(); return v; }
long long memhook_peak_usable(void) { lk(); long long v = peak_usable; ulk(); return v; }
long long memhook_current_usable(void) { lk(); long long v = cur_usable; ulk(); return v; }
void memhook_set_enabled(int e) { enabled = e; }
