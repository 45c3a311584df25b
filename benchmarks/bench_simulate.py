"""Benchmark: the vectorised simulator against a plain per-draw Python loop doing the same maths.

Size: 4000 draws x 5 segments x 6 offerings x 200 prices x 3 variants, logit with a none option, the
scenario built in code. Target: under 1 s and under 2 GB on 2 cores. Prints

- the peak of memory allocated during one run (tracemalloc) and the process's peak resident size;
- the simulator's wall and CPU time (best of `--repeat` runs) with the default integration over customers'
  WTP spread (`integration_nodes` = 16) and with ``integration_nodes=1`` (the segment's median customer
  only): what the integration costs;
- a plain loop over draws, segments, variants and prices on `--reference-draws` draws, calling the same
  kernel (`pricing.market.logit_purchase`, one point at a time, so no table) per cell: its time per draw,
  the ratio per draw, and the largest difference in any share (the table's interpolation error);
- the largest difference in any share from customers at 2000 evenly spaced WTP quantiles each choosing by
  logit (no quadrature) on `--truth-draws` draws: the simulator's accuracy.

- customers who differ (`market.heterogeneity`, every segment with a `value_spread`) and randomized first
  choice (`market.choice_rule: randomized_first_choice`): their CPU time on `--options-draws` draws against
  the default run's per draw, i.e. what each costs. Both are options: without them the simulator is the
  one timed above.

Run: ``.venv/bin/python benchmarks/bench_simulate.py`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
from scipy.special import ndtri

from pricing.market import logit_purchase
from pricing.scenario import Scenario, scenario_from_dict, with_changes
from pricing.simulate import offering_levels, segment_parameters, simulate
from pricing.value import differentiation_value

ATTRIBUTES = [
    ("speed", "one_dimensional"),
    ("uptime", "must_be"),
    ("support", "attractive"),
    ("api", "one_dimensional"),
]


def build_scenario(draws: int = 4000) -> Scenario:
    """5 segments, us + 5 rivals, 4 attributes, 3 variants, 200 prices (the current price on the grid)."""
    rng = np.random.default_rng(2026)
    names = [a for a, _ in ATTRIBUTES]
    segments = [
        {
            "name": f"segment {i + 1}",
            "size": float(rng.integers(1_000, 50_000)),
            "wtp": {"median": 60.0 + 25 * i, "spread": 0.2 + 0.1 * i, "uncertainty": 0.1},
            "logit_scale": 4.0 + 3 * i,
            "expectations": {a: float(rng.uniform(3, 7)) for a in names},
            "value_per_unit": {a: float(rng.uniform(1, 12)) for a in names},
            "value_uncertainty": 0.2,
        }
        for i in range(5)
    ]
    offerings = [
        {"name": "ours", "owner": "us", "price": 100.0, "unit_cost": 35.0, "levels": {a: 5.0 for a in names}},
        *(
            {
                "name": f"rival {i + 1}",
                "price": float(rng.uniform(60, 160)),
                "levels": {a: float(rng.uniform(2, 9)) for a in names},
            }
            for i in range(5)
        ),
    ]
    variants = [
        {"name": "meets expectations"},
        {"name": "faster", "levels": {"speed": 8.0}, "extra_unit_cost": 4.0, "fixed_cost": 50_000.0},
        {
            "name": "delight",
            "levels": {"speed": 8.0, "support": 9.0},
            "extra_unit_cost": 9.0,
            "fixed_cost": 1e5,
        },
    ]
    return scenario_from_dict(
        {
            "schema_version": 1,
            "name": "benchmark",
            "seed": 1,
            "attributes": [{"name": a, "kano": k} for a, k in ATTRIBUTES],
            "segments": segments,
            "offerings": offerings,
            "variants": variants,
            "market": {"draws": draws, "price_grid": {"min": 50.5, "max": 150.0, "steps": 200}},
        }
    )


def plain_loop(
    scenario: Scenario, parameters: dict[str, np.ndarray], customers: int | None = None
) -> np.ndarray:
    """Shares (draw, segment, offering, price, variant) the obvious way: one draw, segment, variant and price
    at a time. The purchase probability comes from `pricing.market.logit_purchase` at that one point (the
    same quadrature as the simulator, without its table), or with `customers`, from that many customers at
    evenly spaced WTP quantiles, each choosing by logit."""
    names = scenario.attribute_names
    kano = [a.kano for a in scenario.attributes]
    levels = offering_levels(scenario)  # offering, variant, attribute
    prices = np.array(scenario.price_grid())
    offering_price = np.array([o.price for o in scenario.offerings])
    ours = [o.owner for o in scenario.offerings].index("us")
    nodes = scenario.market.integration_nodes
    z = ndtri((np.arange(customers) + 0.5) / customers) if customers else None
    n_draws, n_seg = parameters["wtp_log_median"].shape
    shares = np.zeros((n_draws, n_seg, len(scenario.offerings), len(prices), len(scenario.variants)))
    for d in range(n_draws):
        for s, segment in enumerate(scenario.segments):
            expected = np.array([segment.expectations.get(a, 0.0) for a in names])
            unit = parameters["value_per_unit"][d, s]
            mu, sigma = parameters["wtp_log_median"][d, s], parameters["wtp_log_sd"][d, s]
            scale = parameters["logit_scale"][d, s]
            for v in range(len(scenario.variants)):
                value = differentiation_value(levels[:, v], expected, unit, kano)  # per offering
                for p, price in enumerate(prices):
                    paid = offering_price.copy()
                    paid[ours] = price
                    net = value - paid
                    if z is None:
                        top = net.max()
                        weights = np.exp((net - top) / scale)
                        inclusive = top + scale * np.log(weights.sum())
                        buy, _ = logit_purchase(
                            np.array([[inclusive]]),
                            np.array([mu]),
                            np.array([sigma]),
                            np.array([scale]),
                            nodes,
                        )
                        shares[d, s, :, p, v] = buy[0, 0] * weights / weights.sum()
                    else:
                        utility = (np.exp(mu + sigma * z)[:, None] + net) / scale  # customer, offering
                        top = np.maximum(utility.max(axis=1, keepdims=True), 0.0)
                        e = np.exp(utility - top)
                        shares[d, s, :, p, v] = (e / (np.exp(-top) + e.sum(axis=1, keepdims=True))).mean(
                            axis=0
                        )
    return shares


def best_time(function, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds over `repeat` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--reference-draws", type=int, default=20)
    parser.add_argument("--truth-draws", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--options-draws", type=int, default=200, help="draws for the optional features")
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument("--trips", type=int, default=100)
    args = parser.parse_args()
    k = args.reference_draws
    scenario = build_scenario(args.draws)
    one_node = with_changes(scenario, {"market.integration_nodes": 1})
    nodes = scenario.market.integration_nodes

    # Memory first, while the process holds nothing else: one run under tracemalloc (numpy reports its
    # buffers to it), then the process's peak resident size.
    tracemalloc.start()
    results = simulate(scenario)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    shape = " x ".join(f"{n} {d}s" for d, n in results.share.sizes.items())
    print(f"simulate: {shape} = {results.share.size / 1e6:.0f}M shares")
    print(f"  memory: peak allocated during one run {peak / 2**20:,.0f} MiB; process peak RSS {rss:,.0f} MiB")
    print(
        f"  the results hold {results.nbytes / 2**20:,.0f} MiB "
        f"(share {results.share.nbytes / 2**20:,.0f} MiB as {results.share.dtype})"
    )
    first_shares = results.share.values[:k].copy()
    del results

    # Wall time is what users see; CPU time (this process only) is steadier on a busy machine.
    wall, cpu = best_time(lambda: simulate(scenario), args.repeat)
    wall_1, cpu_1 = best_time(lambda: simulate(one_node), args.repeat)
    print(
        f"  integration_nodes={nodes:<3d} wall {wall:6.3f} s, CPU {cpu:6.3f} s "
        f"({cpu / args.draws * 1e3:.3f} ms/draw)"
    )
    print(f"  integration_nodes=1   wall {wall_1:6.3f} s, CPU {cpu_1:6.3f} s (the median customer only)")
    print(f"  the integration over customers' WTP costs {cpu - cpu_1:.3f} s CPU (x{cpu / cpu_1:.2f})")

    parameters = segment_parameters(scenario, args.draws, np.random.default_rng(scenario.seed))
    started = time.process_time()
    reference = plain_loop(scenario, {name: values[:k] for name, values in parameters.items()})
    cpu_loop = time.process_time() - started
    ratio = (cpu_loop / k) / (cpu / args.draws)
    print(
        f"plain loop over draws, segments, variants and prices calling the kernel per cell, {k} draws: "
        f"CPU {cpu_loop:.2f} s ({cpu_loop / k * 1e3:.1f} ms/draw); the simulator is x{ratio:,.0f} faster "
        "per draw"
    )
    print(
        "  largest difference in any share, simulator vs loop: "
        f"{np.abs(first_shares[:k] - reference).max():.1e}"
    )
    t = args.truth_draws
    truth = plain_loop(scenario, {name: values[:t] for name, values in parameters.items()}, customers=2000)
    print(
        f"  largest difference in any share from 2000 customers per segment ({t} draws): "
        f"{np.abs(first_shares[:t] - truth).max():.1e}"
    )
    d = args.options_draws
    per_draw = cpu / args.draws
    spread = {f"segments[{i}].value_spread": 0.3 for i in range(len(scenario.segments))}
    options = {
        f"heterogeneity, {args.customers} QMC customers per segment and draw": {
            "market.heterogeneity": {"customers": args.customers},
            **spread,
        },
        f"randomized first choice, {args.trips} trips per draw": {
            "market.choice_rule": "randomized_first_choice",
            "market.rfc": {"repetitions": args.trips, "attribute_error": 1.0, "product_error": 0.0},
        },
    }
    for label, changes in options.items():
        optioned = with_changes(scenario, {"market.draws": d, **changes})
        wall_o, cpu_o = best_time(lambda s=optioned: simulate(s), 1)
        print(
            f"  {label}, {d} draws: wall {wall_o:.3f} s, CPU {cpu_o:.3f} s = x{cpu_o / d / per_draw:.1f} the "
            f"default's CPU per draw (the default's {args.draws} draws cost as much as "
            f"{args.draws / (cpu_o / d / per_draw):.0f} draws with it)"
        )
    verdict = "meets" if wall < 1 and peak < 2 * 2**30 else "MISSES"
    print(f"target (< 1 s wall, < 2 GB): {verdict}")


if __name__ == "__main__":
    main()
