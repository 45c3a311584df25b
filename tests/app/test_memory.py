"""The app's process keeps the memory its simulations free (`memory.keep_freed_memory`)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
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
