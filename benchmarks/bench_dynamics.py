"""Benchmark: the multi-period simulation (`pricing.dynamics`) against a plain per-draw loop.

Size: 4000 draws x 5 segments x 6 offerings x 3 variants x 60 periods at 20 of our prices (the simulator
benchmark's market, `bench_simulate.build_scenario`, with a dynamics section: uncertain churn, satisfaction
effects on churn and referral, market entry). Target: under 2 s and 2 GB on 2 cores. Prints

- the peak of memory allocated during one run (tracemalloc) and the process's peak resident size;
- wall and CPU time (best of `--repeat`) of `simulate_dynamics` with the totals only (NPV, CLV, customers)
  and with every per-period variable kept, without expectation drift (each period's choices are the first
  period's: the simulator runs once) and with drift on every attribute (each later period's choices read
  off one purchase table per draw and segment, `pricing.market.purchase_table`);
- the cold start a user waits for, each in a fresh process: importing `pricing`, compiling the dynamics'
  kernels (`pricing.trajectory`, numba) into an empty cache and running with drift; then the same once the
  kernels are cached on disk (every later run);
- a plain loop over draws on `--reference-draws` draws (one `simulate_dynamics` call per draw, so every
  period and every choice is recomputed for that draw alone): its time per draw, the ratio per draw against
  the vectorised run, and the largest relative difference in any NPV.

Run: ``.venv/bin/python benchmarks/bench_dynamics.py``. Report ``uptime`` beside the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_simulate import ATTRIBUTES, best_time, build_scenario  # noqa: E402

from pricing.dynamics import RNG_STREAM, dynamics_parameters, simulate_dynamics  # noqa: E402
from pricing.scenario import Scenario, with_changes  # noqa: E402
from pricing.simulate import segment_parameters  # noqa: E402

PERIODS = 60


def dynamics_scenario(draws: int, drift: bool) -> Scenario:
    """The simulator benchmark's market at 20 prices of ours, with a dynamics section."""
    dynamics = {
        "horizon": PERIODS,
        "discount_rate": 0.01,
        "retention": {"churn": [0.02, 0.05], "satisfaction_effect": [1, 3]},
        "referral": {"rate": [0.0, 0.01], "satisfaction_effect": 2},
        "entry_rate": 0.002,
    }
    if drift:
        dynamics["adaptation"] = {name: [0.02, 0.08] for name, _ in ATTRIBUTES}
    changes = {"market.price_grid": {"min": 60.5, "max": 150.0, "steps": 19}, "dynamics": dynamics}
    scenario = with_changes(build_scenario(draws), changes)
    assert len(scenario.price_grid()) == 20
    return scenario


def per_draw_loop(scenario: Scenario, parameters: dict, dynamics: dict, draws: int) -> np.ndarray:
    """NPV (draw, price, variant) one draw at a time."""
    npv = []
    for d in range(draws):
        one = {name: values[d : d + 1] for name, values in parameters.items()}
        own = {
            name: values if name == "class_weight" else values[d : d + 1] for name, values in dynamics.items()
        }
        npv.append(simulate_dynamics(scenario, parameters=one, dynamics=own, per_period=False).npv.values[0])
    return np.array(npv)


COLD = """
import sys, time
started = time.perf_counter()
sys.path.insert(0, {here!r})
from bench_dynamics import dynamics_scenario
from pricing.dynamics import simulate_dynamics
simulate_dynamics(dynamics_scenario({draws}, drift=True), per_period=False)
print(time.perf_counter() - started)
"""


def cold_start(draws: int, cache: str) -> float:
    """Wall seconds of a fresh process importing `pricing` and running with drift (numba's cache: `cache`)."""
    code = COLD.format(here=str(Path(__file__).resolve().parent), draws=draws)
    env = os.environ | {"NUMBA_CACHE_DIR": cache}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--reference-draws", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    still, drifting = dynamics_scenario(args.draws, drift=False), dynamics_scenario(args.draws, drift=True)

    tracemalloc.start()
    result = simulate_dynamics(still, per_period=False)
    _, peak_totals = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = {
        "draws": args.draws,
        "segments": 5,
        "offerings": 6,
        "variants": 3,
        "periods": PERIODS,
        "prices": 20,
    }
    print("dynamics: " + " x ".join(f"{n} {name}" for name, n in sizes.items()))
    print(f"  load average at the start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    memory = f"peak allocated {peak_totals / 2**20:,.0f} MiB; process peak RSS {rss:,.0f} MiB"
    print(f"  memory (totals only): {memory}")
    del result

    walls = {}
    for label, scenario in (("no drift", still), ("drift", drifting)):
        wall, cpu = best_time(lambda s=scenario: simulate_dynamics(s, per_period=False), args.repeat)
        walls[label] = wall
        per_draw = cpu / args.draws * 1e3
        print(f"  {label:<8} totals only: wall {wall:6.2f} s, CPU {cpu:6.2f} s ({per_draw:.2f} ms/draw)")
    with tempfile.TemporaryDirectory() as cache:
        compiling, cached = cold_start(args.draws, cache), cold_start(args.draws, cache)
    print(
        f"  drift, fresh process (import, run): wall {compiling:6.2f} s compiling the kernels into an empty "
        f"cache, {cached:6.2f} s with them cached"
    )
    prices = still.price_grid()[::7]  # every per-period variable at 3 prices, as `value_over_time` keeps
    tracemalloc.start()
    wall, cpu = best_time(lambda: simulate_dynamics(still, prices=prices), 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  no drift, per period at 3 prices: wall {wall:6.2f} s, peak allocated {peak / 2**20:,.0f} MiB")

    k = args.reference_draws
    parameters = segment_parameters(drifting, args.draws, np.random.default_rng(drifting.seed))
    dynamics = dynamics_parameters(drifting, args.draws, np.random.default_rng([drifting.seed, RNG_STREAM]))
    started = time.process_time()
    vectorised = simulate_dynamics(drifting, parameters=parameters, dynamics=dynamics, per_period=False)
    cpu_vector = time.process_time() - started
    started = time.process_time()
    looped = per_draw_loop(drifting, parameters, dynamics, k)
    cpu_loop = time.process_time() - started
    difference = np.abs(looped - vectorised.npv.values[:k]) / np.abs(vectorised.npv.values[:k]).max()
    loop_ms, vector_ms = cpu_loop / k * 1e3, cpu_vector / args.draws * 1e3
    print(
        f"per-draw loop (drift), {k} draws: CPU {loop_ms:.1f} ms/draw, vectorised {vector_ms:.2f} ms/draw "
        f"(x{loop_ms / vector_ms:.0f}); largest relative NPV difference {difference.max():.1e}"
    )
    verdict = "meets" if max(walls.values()) < 2 and peak_totals < 2 * 2**30 else "MISSES"
    print(f"target (< 2 s wall with and without drift, < 2 GB): {verdict}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
