"""Benchmark: Bertrand-Nash equilibrium prices for every posterior draw and variant, against a per-draw loop
of a general root solver on the same first-order conditions.

Size: 4000 draws x 3 variants (12,000 equilibria), 6 offerings of 4 firms (two of them own two each),
5 segments, logit with a none option and the WTP spread integrated (16 nodes), uncertain costs; the
scenario is built in code. Target: under 5 s on 2 cores. Prints the machine's load, the wall and CPU time of
`pricing.competition.equilibrium` (import of the module excluded, everything else included: the draws,
the solve, the profitable-deviation check), the share of draws that converged and the iterations; then
`scipy.optimize.root` (MINPACK's hybrid method, its own finite-difference Jacobian) on the FOCs of one
problem at a time, started at cost plus the segments' mean logit scale (from today's prices it wanders off
to prices where demand and the FOCs vanish), on `--reference-problems` problems: its time per problem,
that time scaled to all 12,000 problems, the ratio, and the largest price difference from our solution.

Run: ``.venv/bin/python benchmarks/bench_equilibrium.py``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import root

from pricing import competition
from pricing.scenario import Scenario, scenario_from_dict

FIRMS = [
    ("ours", "us"),
    ("a1", "Acme"),
    ("a2", "Acme"),
    ("b1", "Beta"),
    ("b2", "Beta"),
    ("solo", "competitor"),
]


def build_scenario(draws: int = 4000) -> Scenario:
    """5 segments, 6 offerings of 4 firms, 2 attributes, 3 variants."""
    rng = np.random.default_rng(12)
    segments = [
        {
            "name": f"segment {i + 1}",
            "size": float(rng.integers(500, 5000)),
            "wtp": {"median": 15.0 + 8 * i, "spread": 0.3 + 0.05 * i, "uncertainty": 0.1},
            "logit_scale": 2.5 + i,
            "expectations": {"quality": 4.0 + 0.5 * i, "service": 4.0 + 0.5 * i},
            "value_per_unit": {"quality": 0.8 + 0.5 * i, "service": 0.3 + 0.4 * i},
            "value_uncertainty": 0.2,
        }
        for i in range(5)
    ]
    offerings = [
        {
            "name": name,
            "owner": owner,
            "price": float(20 + 3 * j),
            "unit_cost": float(6 + j),
            "unit_cost_uncertainty": 0.0 if owner == "us" else 0.1,
            "levels": {"quality": float(4 + j % 3), "service": float(5 + (j + 1) % 3)},
        }
        for j, (name, owner) in enumerate(FIRMS)
    ]
    return scenario_from_dict(
        {
            "schema_version": 1,
            "name": "equilibrium benchmark",
            "seed": 12,
            "attributes": [{"name": "quality"}, {"name": "service"}],
            "segments": segments,
            "offerings": offerings,
            "variants": [
                {"name": "base"},
                {"name": "service+", "levels": {"service": 7.0}, "extra_unit_cost": 1.5, "fixed_cost": 2000},
                {"name": "premium", "levels": {"quality": 8.0, "service": 7.0}, "extra_unit_cost": 4.0},
            ],
            "market": {"draws": draws, "choice_rule": "logit", "none_option": True, "integration_nodes": 16},
        }
    )


def foc_residual(free_prices, problem, data, free):
    """First-order conditions of the best-responding offerings (units), one problem."""
    net, mu, sigma, scale, cost, prices = problem
    prices = prices.copy()
    prices[free] = free_prices
    units, lambda_, gamma, _ = competition.demand(net - prices[None, None, :], mu, sigma, scale, data.size)
    jacobian = gamma[0] - np.diag(lambda_[0])  # d units_j / d p_k
    same_firm = data.firm[:, None] == data.firm[None, :]
    foc = units[0] + ((prices - cost) * jacobian.T * same_firm).sum(
        axis=1
    )  # j: D_j + sum_k O_jk m_k dD_k/dp_j
    return foc[free] / data.size.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--reference-problems", type=int, default=60)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    scenario = build_scenario(args.draws)
    start, cpu = time.perf_counter(), time.process_time()
    data = competition.market_draws(scenario)
    result = competition.equilibrium(scenario, market_data=data)
    ours, cpu = time.perf_counter() - start, time.process_time() - cpu
    problems = result.sizes["draw"] * result.sizes["variant"]
    iterations = result.iterations.values
    shape = f"{result.sizes['draw']} draws x {result.sizes['variant']} variants = {problems:,} problems"
    print(
        f"equilibrium: {shape}, {len(FIRMS)} offerings of {len(set(scenario.firms))} firms, "
        f"{len(scenario.segments)} segments: "
        f"{ours:.2f} s wall, {cpu:.2f} s CPU; converged {float(result.converged.mean()):.2%}; "
        f"map evaluations median {np.median(iterations):.0f}, max {iterations.max()}"
    )

    p = data.parameters
    free = data.best_response
    rng = np.random.default_rng(0)
    picks = rng.choice(problems, size=min(args.reference_problems, problems), replace=False)
    worst, failed = 0.0, 0
    start = time.perf_counter()
    for index in picks:  # the reference: one problem at a time
        d, v = divmod(int(index), result.sizes["variant"])
        problem = (
            data.differentiation[[d], :, :, v],
            p["wtp_log_median"][[d]],
            p["wtp_log_sd"][[d]],
            p["logit_scale"][[d]],
            data.cost[d, :, v],
            data.price.astype(float),
        )
        guess = data.cost[d, :, v][free] + p["logit_scale"][d].mean()
        solution = root(foc_residual, guess, args=(problem, data, free), method="hybr")
        if not solution.success:
            failed += 1
            continue
        worst = max(worst, float(np.abs(solution.x - result.price.values[d, v][free]).max()))
    per_problem = (time.perf_counter() - start) / len(picks)
    print(
        f"scipy.optimize.root per problem: {1000 * per_problem:.1f} ms on {len(picks)} problems "
        f"({failed} failed); all {problems:,} would take {per_problem * problems:.1f} s; "
        f"ratio {per_problem * problems / ours:.1f}x; largest price difference {worst:.2e}"
    )


if __name__ == "__main__":
    main()
