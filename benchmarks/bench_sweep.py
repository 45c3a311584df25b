"""Sweep throughput: points per second in this process, on a pool of 2 processes and on a 2-worker Dask
LocalCluster, side by side on one sweep of a bundled scenario; the scaling ratio, the overhead per point
against the time of one simulation, and what a 64-core cluster would do at the measured rate per worker.

    python benchmarks/bench_sweep.py                 # 10,000 points at 500 draws (about an hour on 2 cores)
    python benchmarks/bench_sweep.py --points 1000   # a quicker look

Wall times include starting the pool's processes and the cluster (and their imports), as a user waits for
them. Every mode must give the same table; the script checks it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from pricing import sweep
from pricing.scenario import load_scenario, with_changes
from pricing.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent


def one_simulation(scenario, repeats: int = 7) -> float:
    """Median seconds of one simulation of the point's scenario (the reference)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        simulate(scenario)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--scenario", default="robot_vacuum")
    args = parser.parse_args()

    base = load_scenario(ROOT / "scenarios" / f"{args.scenario}.yaml")
    rivals = [i for i, o in enumerate(base.offerings) if o.owner != "us"]
    ranges = {
        f"offerings[{i}].price": (0.7 * base.offerings[i].price, 1.3 * base.offerings[i].price)
        for i in rivals
    }
    ranges["segments[0].size"] = (0.5 * base.segments[0].size, 1.5 * base.segments[0].size)
    spec = sweep.Sweep(
        sweep_version=1,
        scenario=f"{args.scenario}.yaml",
        changes={"market.draws": args.draws},
        sample={"points": args.points, "ranges": {p: {"from": a, "to": b} for p, (a, b) in ranges.items()}},
    )
    reference = one_simulation(with_changes(base, {"market.draws": args.draws}))
    print(
        f"sweep of {args.points:,} points ({args.scenario}, {args.draws} draws, "
        f"{len(base.price_grid())} prices, {len(base.variants)} variants; "
        f"Latin hypercube over {', '.join(ranges)})"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"one simulation, directly: {reference * 1000:.1f} ms")

    rates, steady, tables = {}, {}, {}

    def run(mode: str, **where) -> None:
        """Wall rate (start-up included) and the steady rate after the first batch came back."""
        first: list[tuple[int, float]] = []

        def progress(done: int, total: int, seconds: float) -> None:
            if done and not first:
                first.append((done, time.perf_counter()))

        started = time.perf_counter()
        tables[mode] = sweep.run_sweep(spec, base, progress=progress, **where).table
        ended = time.perf_counter()
        rates[mode] = args.points / (ended - started)
        done, at = first[0]
        steady[mode] = (
            (args.points - done) / (ended - at) if ended > at and done < args.points else rates[mode]
        )

    run("in-process", workers=1)
    run("pool of 2", workers=2)
    from distributed import LocalCluster

    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        cluster_start = time.perf_counter() - started
        run("dask, 2 workers", scheduler=cluster.scheduler_address)
    load = os.getloadavg()[0]

    same = all(table.equals(tables["in-process"]) for table in tables.values())
    print(f"\n{'mode':<18}{'points/s':>10}{'vs in-process':>15}{'wall (s)':>10}{'steady pts/s':>14}")
    for mode, rate in rates.items():
        print(
            f"{mode:<18}{rate:>10.2f}{rate / rates['in-process']:>14.2f}x{args.points / rate:>10.1f}"
            f"{steady[mode]:>14.2f}"
        )
    print("(wall: from the call to the table, pool and worker start-up included; the cluster's own start-up,")
    print(f" {cluster_start:.1f} s, is not. steady: after the first batch came back)")
    # the overhead side by side: one simulation, then the same work as sweep points, alternating
    small = spec.model_copy(update={"sample": spec.sample.model_copy(update={"points": 10})})
    direct, swept = [], []
    for _ in range(5):
        direct.append(one_simulation(with_changes(base, {"market.draws": args.draws}), repeats=3))
        began = time.perf_counter()
        sweep.run_sweep(small, base, workers=1)
        swept.append((time.perf_counter() - began) / 10)
    reference, per_point = statistics.median(direct), statistics.median(swept)
    print(
        f"\none point in a sweep (in this process, 10-point runs alternating with direct simulations): "
        f"{per_point * 1000:.1f} ms; one simulation directly: {reference * 1000:.1f} ms; "
        f"overhead {(per_point - reference) * 1000:+.1f} ms ({per_point / reference:.2f}x)"
    )
    per_worker = steady["dask, 2 workers"] / 2
    print(
        f"64-core cluster at the measured steady rate per Dask worker ({per_worker:.2f} points/s): "
        f"{64 * per_worker:,.0f} points/s; 10,000 points in {10_000 / (64 * per_worker):,.0f} s, "
        f"a million in {1e6 / (64 * per_worker) / 60:,.0f} min"
    )
    print(f"identical tables in every mode: {same}; load average after: {load:.2f}")
    if not same:
        raise SystemExit("the modes gave different tables")


if __name__ == "__main__":
    main()
