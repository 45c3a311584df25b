"""The app's process keeps the memory its simulations free (`memory.keep_freed_memory`) and collects its
garbage while idle (`memory.IdleCollector`)."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import memory
import pytest

ROOT = Path(__file__).resolve().parents[2]

# As the app runs it: simulations in a thread other than the main one, each result kept (the app's cache),
# a rival's price changed each time. Prints the page faults of each run after the first.
SIMULATIONS = """
import resource, sys, threading
sys.path.insert(0, "app")
import memory
from pricing.scenario import load_scenario, with_changes
from pricing.simulate import simulate

if sys.argv[1] == "keep":
    assert memory.keep_freed_memory()
scenario = load_scenario("scenarios/saas_team_plan.yaml")
kept = [simulate(scenario)]

def run():
    for step in range(4):
        rival = with_changes(scenario, {"offerings[TaskHub].price": 10.2 + 0.2 * step})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        kept.append(simulate(rival))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

thread = threading.Thread(target=run)
thread.start()
thread.join()
"""


def _faults(mode: str) -> list[int]:
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SIMULATIONS, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_kept_memory_spares_each_new_simulation_most_of_its_page_faults():
    default, kept = _faults("default"), _faults("keep")
    # glibc's own thresholds: every run faults its temporaries in afresh (~25,000 pages); fixed ones: the
    # new results' pages only
    assert min(default[1:]) > 3 * max(kept[1:]), (default, kept)


def test_keep_freed_memory_says_whether_it_set_the_thresholds():
    kept = memory.keep_freed_memory()
    assert kept is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    assert memory.keep_freed_memory() is kept  # a second call changes nothing


class _Held:
    """An object in a reference cycle: freed only by the garbage collector."""

    def __init__(self):
        self.me = self


def _wait(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_idle_collector_collects_cycles_only_once_no_script_runs_and_freezes_the_survivors():
    automatic = gc.isenabled()
    gc.disable()  # only the collector under test may free the cycle
    release = threading.Event()
    held = _Held()
    alive = weakref.ref(held)
    script = threading.Thread(target=release.wait, name=memory.SCRIPT_THREAD)  # a run in progress
    script.start()
    collector = memory.IdleCollector(idle_seconds=0.2, poll_seconds=0.02).start()
    try:
        del held  # garbage now, but a script runs: no collection yet
        time.sleep(0.5)
        assert alive() is not None and collector.collections == 0
        release.set()
        script.join()
        assert _wait(lambda: collector.collections == 1), "no collection once idle"
        assert alive() is None  # the cycle made before is freed
        assert gc.get_freeze_count() > 0  # the survivors are out of later collections' way
        time.sleep(0.5)
        assert collector.collections == 1  # idle and no run since: nothing to collect again
    finally:
        collector.stop()
        gc.unfreeze()
        if automatic:
            gc.enable()
