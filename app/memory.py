"""How the app's process keeps the memory it frees: a long-running server that simulates again and again.

A rival's price is a new simulation whose results the app keeps (`state.results`, `st.cache_resource`).
With glibc's default malloc, the simulator's temporaries of a few MB each (per block of draws) are then
handed back to the kernel after each run, through `munmap` or a trim of the heap's top, and every page of
them is faulted in afresh by the next run: about 25,000 page faults per simulation of saas_team_plan,
which made a simulation 2-3x slower in the app than in a script (a script that drops its results reuses
the freed memory, because glibc raises its thresholds when a large block is freed). Fixed thresholds keep
the freed memory in the process for the next run; the numbers are the same (only where memory comes from
changes).
"""

from __future__ import annotations

import ctypes
import platform

#: Blocks up to this size come from the heap, not from their own `mmap` (returned on free).
MMAP_THRESHOLD = 64 << 20
#: Free memory at the heap's top kept up to this size, not given back to the kernel.
TRIM_THRESHOLD = 512 << 20
# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_kept = False


def keep_freed_memory() -> bool:
    """Fix glibc's malloc thresholds (`MMAP_THRESHOLD`, `TRIM_THRESHOLD`) once per process; returns whether
    they are set (False on other C libraries, which keep their own policy)."""
    global _kept
    if _kept:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _kept = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _kept
