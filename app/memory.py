"""How the app's process manages its memory: a long-running server that simulates again and again.

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
import gc
import platform
import threading
import time

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


#: Seconds without a script run before the collector walks every object (`collect_when_idle`).
IDLE_SECONDS = 2.0
#: Streamlit's name for the thread of a script run (`streamlit.runtime.scriptrunner.script_runner`).
SCRIPT_THREAD = "ScriptRunner.scriptThread"


class IdleCollector:
    """Collects garbage over every object only while no script runs, then hides the survivors from the
    collector (`gc.freeze`) until the next time.

    Streamlit's own collection after each run (`runner.postScriptGC`, off in `.streamlit/config.toml`)
    walked the ~200,000 objects of the libraries and the caches: 40-205 ms after every change, holding the
    interpreter lock while the run's last deltas waited to be sent and the browser redrew beside it on a
    small machine. Between idle collections Python's own generational collections walk only the objects
    made since (the survivors are frozen); a cycle that becomes garbage meanwhile (an evicted cache entry)
    waits for the next idle moment.
    """

    def __init__(self, idle_seconds: float = IDLE_SECONDS, poll_seconds: float = 0.25):
        self.idle_seconds, self.poll_seconds = idle_seconds, poll_seconds
        self.collections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pricing-idle-gc", daemon=True)

    def start(self) -> IdleCollector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last_busy, ran = time.monotonic(), True  # the process's start-up counts as a run
        while not self._stop.wait(self.poll_seconds):
            if any(thread.name == SCRIPT_THREAD for thread in threading.enumerate()):
                last_busy, ran = time.monotonic(), True
            elif ran and time.monotonic() - last_busy >= self.idle_seconds:
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                self.collections += 1
                ran = False


_collector: IdleCollector | None = None


def collect_when_idle() -> IdleCollector:
    """Start the process's `IdleCollector` once; returns it."""
    global _collector
    if _collector is None:
        _collector = IdleCollector().start()
    return _collector
