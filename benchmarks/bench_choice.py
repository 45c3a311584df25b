"""Benchmark: hierarchical Bayes mixed logit fitting time, nutpie vs PyMC's own NUTS sampler.

Target: 500 respondents x 10 tasks x 4 alternatives (3 products + none), 5 random coefficients, 2 segments,
under 150 s on 2 cores with R-hat <= 1.01 and bulk ESS >= 400 on the population parameters (segment means,
fixed coefficients and sds). Prints absolute figures and the ratio to PyMC's default sampler on the same
model; the reference run takes ``--reference-draws`` tuning steps and draws per chain (1000: the same
iterations as ours) and is compared per effective draw per second.

Run: ``PYTENSOR_FLAGS=blas__ldflags=-lopenblas .venv/bin/python benchmarks/bench_choice.py``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))

from make_choice_data import COLUMNS, make_choice_data  # noqa: E402

from pricing.wtp.choice import fit_choice  # noqa: E402


def run(sampler: str, draws: int, tune: int, chains: int, respondents: int, seed: int) -> dict:
    data = make_choice_data(n_respondents=respondents, n_tasks=10, n_alternatives=3, seed=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_choice(
            data,
            COLUMNS,
            random="all",
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            cores=2,
            nuts_sampler=sampler,
        )
    total = time.perf_counter() - started
    d = fit.diagnostics
    return {
        "sampler": sampler,
        "total_s": total,
        "sampling_s": d["seconds"],
        "draws": draws * chains,
        "rhat_max": d["rhat_max"],
        "ess_bulk_min": d["ess_bulk_min"],
        "ess_tail_min": d["ess_tail_min"],
        "divergences": d["divergences"],
        "ess_per_s": d["ess_bulk_min"] / total,
    }


def show(result: dict) -> None:
    print(
        f"{result['sampler']:>7}: {result['total_s']:7.1f} s total "
        f"({result['sampling_s']:.1f} s compile+sample), {result['draws']} draws, "
        f"R-hat max {result['rhat_max']:.4f}, bulk ESS min {result['ess_bulk_min']:.0f}, "
        f"tail ESS min {result['ess_tail_min']:.0f}, divergences {result['divergences']}, "
        f"min bulk ESS/s {result['ess_per_s']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=500)
    # one chain per core: 4 chains on 2 cores would double the wall time for the same effective draws
    parser.add_argument("--draws", type=int, default=1500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--reference-draws", type=int, default=1000, help="draws (and tune) of the PyMC run")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"HB mixed logit: {args.respondents} respondents x 10 tasks x 4 alternatives, 5 random coefficients"
    )
    ours = run("nutpie", args.draws, args.tune, args.chains, args.respondents, args.seed)
    show(ours)
    ok = ours["total_s"] < 150 and ours["rhat_max"] <= 1.01 and ours["ess_bulk_min"] >= 400
    print(f"target (< 150 s, R-hat <= 1.01, bulk ESS >= 400): {'met' if ok else 'NOT met'}")
    if args.skip_reference:
        return
    reference = run(
        "pymc", args.reference_draws, args.reference_draws, args.chains, args.respondents, args.seed
    )
    show(reference)
    print(
        f"ratio pymc / nutpie: wall time {reference['total_s'] / ours['total_s']:.2f}x "
        f"(pymc ran {reference['draws']} draws, nutpie {ours['draws']}); "
        f"min bulk ESS per second: nutpie {ours['ess_per_s'] / reference['ess_per_s']:.2f}x pymc"
    )


if __name__ == "__main__":
    main()
