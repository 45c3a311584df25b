"""The classic survey read-outs at scale: Van Westendorp price points and the Gabor-Granger table.

Run ``python benchmarks/bench_readouts.py [respondents]`` (default 1,000,000). For each read-out, side by side
in this process on the same data:

- ours: `psm_analysis` on validated answers (`PSMData`), `gabor_granger_table` on `Answers`;
- a minimal numpy reference written here: sort each question, binary-search the grid, first crossing
  (Van Westendorp); unique + bincount (Gabor-Granger);

with answers in cents (about as many grid prices as answers) and in whole currency units. Printed: wall time
(best of 3), peak memory allocated during the call (tracemalloc, which sees numpy's buffers), the ratio ours /
reference. Targets (issue 8): under 2 s and 500 MB at 1M respondents, within 2x of the reference.

Last, the whole command line from a CSV file (`pricing psm file.csv --json` in a fresh process, including
Python's start-up, the imports and reading the CSV) against a plain reference in a fresh process (Python,
pandas' `read_csv` straight to floats, the numpy price points): wall time and peak resident memory (RSS).
Target (issue 8): a few seconds (it took 30 s and 1.1 GB before the numeric fast path of `read_survey`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from pricing.wtp.gabor_granger import Answers, gabor_granger_table
from pricing.wtp.van_westendorp import PSMData, psm_analysis

ROLES = ("too_cheap", "cheap", "expensive", "too_expensive")


def psm_answers(n: int, cents: bool, rng: np.random.Generator) -> PSMData:
    base = np.exp(rng.normal(np.log(20), 0.4, n))
    steps = np.exp(rng.normal(np.log(4), 0.5, (n, 3)))
    answers = np.cumsum(np.column_stack([base, steps]), axis=1)
    answers = np.round(answers, 2) if cents else np.round(answers)
    columns = {role: answers[:, i] for i, role in enumerate(ROLES)}
    return PSMData(
        **columns,
        weight=np.ones(n),
        segment=np.full(n, "all", dtype=object),
        respondent=np.arange(n),
        pi_cheap=None,
        pi_expensive=None,
    )


def reference_psm(answers: PSMData) -> dict[str, float]:
    """The four price points the plain way: no data frame, no checks, first crossing only."""
    tc, ch, ex, te = (getattr(answers, r) for r in ROLES)
    valid = (tc < ch) & (ch < ex) & (ex < te)
    tc, ch, ex, te = tc[valid], ch[valid], ex[valid], te[valid]
    grid = np.unique(np.concatenate([tc, ch, ex, te]))
    n = valid.sum()

    def ecdf(x):
        return np.searchsorted(np.sort(x), grid, side="right") / n

    too_cheap, cheap, expensive, too_expensive = 1 - ecdf(tc), 1 - ecdf(ch), ecdf(ex), ecdf(te)

    def first(condition):
        return float(grid[np.argmax(condition)])

    return {
        "pmc": first(1 - cheap >= too_cheap),
        "pme": first(too_expensive >= 1 - expensive),
        "idp": first(expensive >= cheap),
        "opp": first(too_expensive >= too_cheap),
    }


def gabor_granger_answers(n: int, cents: bool, rng: np.random.Generator) -> Answers:
    prices = np.array([9.99, 14.99, 19.99, 24.99, 29.99]) if cents else np.array([10.0, 15, 20, 25, 30])
    wtp = np.exp(rng.normal(np.log(20), 0.4, n))
    price = np.tile(prices, n)
    return Answers(
        respondent=np.repeat(np.arange(n), len(prices)),
        price=price,
        answer=(np.repeat(wtp, len(prices)) >= price).astype(float),
        segment=np.full(n * len(prices), "all", dtype=object),
        weight=np.ones(n * len(prices)),
    )


def reference_gabor_granger(answers: Answers) -> float:
    tested, at = np.unique(answers.price, return_inverse=True)
    share = np.bincount(at, weights=answers.answer) / np.bincount(at)
    return float(tested[np.argmax(tested * share)])


def measure(function, *args) -> tuple[float, float, object]:
    """Best wall time of 3 runs (s), peak traced memory of one run (MB), the result."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return min(times), peak, result


#: the plain reference of the whole command: start Python, read the CSV straight to floats, four price points
REFERENCE_SCRIPT = """
import sys
import numpy as np
import pandas as pd
frame = pd.read_csv(sys.argv[1], dtype=float)
tc, ch, ex, te = (frame[c].to_numpy() for c in ("too_cheap", "cheap", "expensive", "too_expensive"))
valid = (tc < ch) & (ch < ex) & (ex < te)
tc, ch, ex, te = tc[valid], ch[valid], ex[valid], te[valid]
grid = np.unique(np.concatenate([tc, ch, ex, te]))
ecdf = lambda x: np.searchsorted(np.sort(x), grid, side="right") / len(x)
first = lambda c: float(grid[np.argmax(c)]) if c.any() else float("nan")
too_cheap, cheap, expensive, too_expensive = 1 - ecdf(tc), 1 - ecdf(ch), ecdf(ex), ecdf(te)
print(first(1 - cheap >= too_cheap), first(too_expensive >= too_cheap))
"""


def run_measured(command: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of a subprocess (each in its own child, so that the
    children's peak is this one's: the reference runs first, the command second)."""
    probe = (
        "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(json.dumps([time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3]))"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True)
    wall, peak = json.loads(out.stdout)
    return wall, peak


def cli_from_csv(answers: PSMData) -> tuple[tuple[float, float], tuple[float, float]]:
    """`pricing psm FILE --json` and the plain reference, each in a fresh process on the same CSV: wall
    time (s) and peak resident memory (MB) of each."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "psm.csv"
        pd.DataFrame({r: getattr(answers, r) for r in ROLES}).to_csv(path, index=False)
        ours = run_measured([sys.executable, "-m", "pricing.cli", "psm", str(path), "--json"])
        reference = run_measured([sys.executable, "-c", REFERENCE_SCRIPT, str(path)])
    return ours, reference


def row(label: str, ours: tuple, reference: tuple, same: bool) -> str:
    (ours_s, ours_mb, _), (ref_s, ref_mb, _) = ours, reference
    return (
        f"{label:<34}{ours_s:>8.2f}{ref_s:>8.2f}{ours_s / ref_s:>7.2f}{ours_mb:>9.0f}{ref_mb:>8.0f}  {same}"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    print(f"{n:,} respondents; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'read-out':<34}{'ours s':>8}{'ref s':>8}{'ratio':>7}{'ours MB':>9}{'ref MB':>8}  same answer")
    for cents in (True, False):
        unit = "cents" if cents else "whole units"
        answers = psm_answers(n, cents, rng)
        ours, reference = measure(psm_analysis, answers), measure(reference_psm, answers)
        same = all(getattr(ours[2], k) == v for k, v in reference[2].items())
        print(row(f"Van Westendorp, {unit} ({len(ours[2].curves):,} prices)", ours, reference, same))
        answers = gabor_granger_answers(n, cents, rng)
        ours, reference = measure(gabor_granger_table, answers), measure(reference_gabor_granger, answers)
        print(row(f"Gabor-Granger, {unit} (5 prices)", ours, reference, ours[2].best_price == reference[2]))
    (wall, peak), (ref_wall, ref_peak) = cli_from_csv(psm_answers(n, True, rng))
    print(
        f"{'`pricing psm FILE.csv` (process)':<34}{wall:>8.2f}{ref_wall:>8.2f}{wall / ref_wall:>7.2f}"
        f"{peak:>9.0f}{ref_peak:>8.0f}  (RSS; reference: python + pandas read_csv + numpy price points)"
    )


if __name__ == "__main__":
    main()
