"""Benchmark: our hierarchical Bayes mixed logit (full posterior, NUTS) against xlogit's maximum simulated
likelihood, side by side on the same simulated panel.

Panel: 360 respondents x 12 tasks x 4 alternatives (3 products + none), six random coefficients (price
included, all normal: what ``--random all`` means in mlogit, xlogit and gmnl). xlogit: ``MixedLogit`` with
1500 Halton draws per respondent, panel structure, every coefficient random normal. Ours: `fit_choice` with
the default settings (``random="all"``: 2 chains on 2 cores, 1000 tuning steps and 4000 draws each).

Targets (issue 8 §4): our wall time (model build, compile and sampling; the import of nutpie and ArviZ is
printed apart) at most 2x xlogit's; R-hat <= 1.01 and bulk ESS >= 400 on every population mean and sd; and
xlogit's estimates within one posterior sd of our posterior means. Prints one table with the machine's load.

Run: ``python benchmarks/bench_choice.py`` (needs the ``bench`` extra: ``pip install -e .[bench]``; skips
with a message when xlogit is missing). ``--variants`` also times the sampler settings compared when the
defaults were chosen (centred vs non-centred, diagonal vs low-rank mass matrix).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))

from make_choice_data import COEFFICIENTS, COLUMNS, TRUE_MEAN, TRUE_SD, make_choice_data  # noqa: E402

#: the simulated population: the students' means; every coefficient random (price sd 0.05)
MEAN = TRUE_MEAN["students"]
SD = {**TRUE_SD, "price": 0.05}
XLOGIT_DRAWS = 1500


def panel(respondents: int, tasks: int, seed: int):
    data = make_choice_data(
        n_respondents=respondents,
        n_tasks=tasks,
        n_alternatives=3,
        seed=seed,
        segments=("all",),
        mean=MEAN,
        sd=SD,
    )
    columns = COLUMNS.__class__(**{**COLUMNS.to_dict(), "segment": None, "attributes": COLUMNS.attributes})
    return data, columns


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads (user + system): less sensitive to load than wall."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_ours(data, columns, seed: int, **options) -> dict:
    from pricing.wtp.choice import fit_choice

    started, cpu = time.perf_counter(), cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the CLI's defaults (pricing fit choice): 2 chains, 1000 tuning steps, fit_choice's draws (4000 for
        # a mixed logit)
        settings = {"tune": 1000, "chains": 2} | options
        fit = fit_choice(data, columns, random="all", seed=seed, cores=2, **settings)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    theta = fit.posterior["theta"].sel(segment="all")
    sd = fit.posterior["sd"]
    d = fit.diagnostics
    return {
        "wall": wall,
        "cpu": cpu,
        "sampling": d["seconds"],
        "rhat": d["rhat_max"],
        "ess": d["ess_bulk_min"],
        "divergences": d["divergences"],
        "mean": {c: float(theta.sel(coefficient=c).mean()) for c in COEFFICIENTS},
        "mean_sd": {c: float(theta.sel(coefficient=c).std()) for c in COEFFICIENTS},
        "sd": {c: float(sd.sel(random_coefficient=c).mean()) for c in COEFFICIENTS},
        "sd_sd": {c: float(sd.sel(random_coefficient=c).std()) for c in COEFFICIENTS},
        "ll": fit.log_likelihood,
        "ll_error": fit.log_likelihood_info.get("mc_error"),
    }


def run_xlogit(data, seed: int) -> dict:
    from xlogit import MixedLogit

    frame = data.copy()
    for column in ("price", "storage", "speed"):
        frame[column] = np.where(frame[column] == "", 0.0, frame[column]).astype(float)
    frame["colour=red"] = (frame["colour"] == "red").astype(float)
    frame["colour=blue"] = (frame["colour"] == "blue").astype(float)
    frame["alt=none"] = (frame["alt"] == "none").astype(float)
    frame["situation"] = frame["id"].astype(str) + "/" + frame["task"].astype(str)
    varnames = list(COEFFICIENTS)
    started, cpu = time.perf_counter(), cpu_seconds()
    model = MixedLogit()
    model.fit(
        X=frame[varnames].to_numpy(),
        y=frame["choice"].to_numpy(),
        varnames=varnames,
        alts=frame["alt"].to_numpy(),
        ids=frame["situation"].to_numpy(),
        panels=frame["id"].to_numpy(),
        randvars=dict.fromkeys(varnames, "n"),
        n_draws=XLOGIT_DRAWS,
        halton=True,
        random_state=seed,
        verbose=0,
    )
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    estimates = dict(zip(model.coeff_names, model.coeff_, strict=True))
    return {
        "wall": wall,
        "cpu": cpu,
        "mean": {c: float(estimates[c]) for c in varnames},
        "sd": {c: abs(float(estimates[f"sd.{c}"])) for c in varnames},
        "ll": float(model.loglikelihood),
        "converged": bool(model.convergence),
    }


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def table(ours: dict, reference: dict, show: bool = True) -> int:
    """Print ours against xlogit (when `show`); returns on how many of the 12 population parameters
    xlogit's estimate is within one posterior sd of our posterior mean."""
    rows = [
        ("wall time, s", f"{ours['wall']:.1f}", f"{reference['wall']:.1f}"),
        ("  of which sampling, s", f"{ours['sampling']:.1f}", ""),
        ("CPU time (all threads), s", f"{ours['cpu']:.1f}", f"{reference['cpu']:.1f}"),
        ("R-hat max / bulk ESS min", f"{ours['rhat']:.3f} / {ours['ess']:.0f}", "n/a"),
        ("min bulk ESS per s", f"{ours['ess'] / ours['wall']:.1f}", "n/a (point estimate)"),
        ("divergences", f"{ours['divergences']}", ""),
        ("marginal log-likelihood", f"{ours['ll']:.2f} +- {ours['ll_error']:.2f}", f"{reference['ll']:.2f}"),
    ]
    agree = 0
    for kind in ("mean", "sd"):
        for c in COEFFICIENTS:
            truth = (MEAN if kind == "mean" else SD)[c]
            gap = abs(ours[kind][c] - reference[kind][c]) / ours[f"{kind}_sd"][c]
            agree += gap <= 1
            rows.append(
                (
                    f"{kind} {c} (truth {truth:g})",
                    f"{ours[kind][c]:.4f} (sd {ours[f'{kind}_sd'][c]:.4f})",
                    f"{reference[kind][c]:.4f} ({gap:.2f} sd)",
                )
            )
    if show:
        print(f"{'':28}{'ours (NUTS, full posterior)':>30}{'xlogit (MSL, 1500 Halton)':>30}")
        for label, a, b in rows:
            print(f"{label:28}{a:>30}{b:>30}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=360)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", help="comma-separated seeds: one panel and fit per seed (e.g. 7,8,9)")
    parser.add_argument("--variants", action="store_true", help="also time the sampler settings compared")
    args = parser.parse_args()
    try:
        import xlogit  # noqa: F401
    except ImportError:
        print("SKIP: xlogit is not installed (pip install -e .[bench]); nothing measured")
        return
    started = time.perf_counter()
    import nutpie  # noqa: F401  (imports ArviZ; our fit needs no PyMC)

    import_s = time.perf_counter() - started
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
    print(
        f"mixed logit, {args.respondents} respondents x {args.tasks} tasks x 4 alternatives, 6 random "
        f"coefficients (price included, normal); {load()} at start; import of nutpie + ArviZ "
        f"{import_s:.1f} s (not in our wall time)"
    )
    rows = []
    for seed in seeds:
        data, columns = panel(args.respondents, args.tasks, seed)
        reference = run_xlogit(data, seed)
        ours = run_ours(data, columns, seed)
        rows.append((seed, ours, reference, table(ours, reference, show=seed == seeds[0])))
    print(f"per seed (a new panel and sampler seed each; {load()}):")
    print(
        f"{'seed':>6}{'ours s':>9}{'xlogit s':>10}{'ratio':>7}{'CPU ratio':>11}{'R-hat max':>11}"
        f"{'ESS min':>9}{'div':>5}{'agree':>7}"
    )
    for seed, ours, reference, agree in rows:
        print(
            f"{seed:>6}{ours['wall']:>9.1f}{reference['wall']:>10.1f}{ours['wall'] / reference['wall']:>7.2f}"
            f"{ours['cpu'] / reference['cpu']:>11.2f}{ours['rhat']:>11.3f}{ours['ess']:>9.0f}"
            f"{ours['divergences']:>5}{agree:>4}/12"
        )
    ratios = [ours["wall"] / reference["wall"] for _, ours, reference, _ in rows]
    mixing = all(ours["rhat"] <= 1.01 and ours["ess"] >= 400 for _, ours, _, _ in rows)
    print(
        f"ratio ours / xlogit wall time: max {max(ratios):.2f}x (target <= 2: "
        f"{'met' if max(ratios) <= 2 else 'NOT met'}); R-hat <= 1.01 and ESS >= 400 on every seed: "
        f"{'met' if mixing else 'NOT met'}; {load()} at end"
    )
    data, columns = panel(args.respondents, args.tasks, seeds[0])
    if args.variants:
        print("sampler settings (same data, same seed):")
        for label, options in (
            ("non-centred, diagonal", {"low_rank": False}),
            ("non-centred, low-rank", {"low_rank": True}),
            ("centred, diagonal", {"centred": True, "low_rank": False}),
            ("centred, low-rank", {"centred": True, "low_rank": True}),
        ):
            result = run_ours(data, columns, seeds[0], **options)
            print(
                f"  {label:34} wall {result['wall']:6.1f} s, R-hat max {result['rhat']:.3f}, bulk ESS min "
                f"{result['ess']:5.0f}, ESS/s {result['ess'] / result['wall']:5.1f}, divergences "
                f"{result['divergences']}"
            )
        print(f"  ({load()})")


if __name__ == "__main__":
    main()
