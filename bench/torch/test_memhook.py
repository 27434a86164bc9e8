"""Self-test of libmemhook.so: torch.empty(1000,1000) must add exactly 4,000,000 bytes."""
import harness as H  # re-execs with LD_PRELOAD
import torch

c0 = H.cur(); n0 = H._h.memhook_count(); u0 = H._h.memhook_current_usable()
t = torch.empty(1000, 1000)
d = H.cur() - c0
print("empty(1000,1000): +%d bytes requested, +%d usable, +%d blocks" % (d, H._h.memhook_current_usable() - u0, H._h.memhook_count() - n0))
assert d == 4_000_000, d
del t
assert H.cur() == c0, H.cur() - c0
# odd sizes: counted as requested nbytes (no rounding); usable size shows glibc rounding
for n in (1, 3, 17, 1001):
    c0 = H.cur(); u0 = H._h.memhook_current_usable()
    t = torch.empty(n, dtype=torch.uint8)
    print("empty(%d, uint8): +%d requested, +%d usable, ptr%%64=%d" % (n, H.cur() - c0, H._h.memhook_current_usable() - u0, t.data_ptr() % 64))
    assert H.cur() - c0 == n
    del t
# zero-size tensors allocate nothing
c0 = H.cur(); t = torch.empty(0); assert H.cur() == c0; del t
# views allocate nothing
a = torch.empty(100, 100); c0 = H.cur(); v = a.t(); r = a.view(-1); assert H.cur() == c0; del a, v, r
# scalar tensor (e.g. Adam step) = 4 bytes
c0 = H.cur(); s = torch.tensor(0.); print("torch.tensor(0.): +%d" % (H.cur() - c0)); del s
# peak
H.reset_peak(); c0 = H.cur(); a = torch.ones(1000); b = a * a; del a, b
assert H.peak() - c0 == 8000 and H.cur() == c0, (H.peak() - c0, H.cur() - c0)
# a Python scalar operand is wrapped into a temporary 0-dim tensor (here 12 extra bytes at peak)
H.reset_peak(); c0 = H.cur(); a = torch.ones(1000); b = a + 1; del a, b
print("ones(1000)+1 peak: %d (8000 + scalar wrapper temporaries)" % (H.peak() - c0))
print("memhook OK")
