"""Fit speed of the WTP models (issue 8 §5): cold in a fresh process, warm in this one, against a reference.

Run ``python benchmarks/bench_wtp.py`` (``--interval-only``: without the MNL rows). One table, with the
machine's load:

- stated, Gabor-Granger and Van Westendorp fits of the bundled examples (``scenarios/data/``; default
  settings: 1000 tuning + 1000 draws, 2 chains), and a multinomial logit of the size the issue measured
  (361 respondents, 4,308 tasks, 4 alternatives, 5 coefficients) with ``fit_method="map"`` and "nuts";
- **cold**: a fresh ``python`` process that imports ``pricing``, reads the file, fits and exits (what
  ``pricing fit`` costs); for the interval fits with an empty numba cache (``NUMBA_CACHE_DIR`` a new
  folder: the log-density's C callbacks are compiled), then again in a fresh process with that cache on
  disk (the row below it); the MNL's map compiles nothing (the numpy density of
  `pricing.wtp.choice_likelihood`), its NUTS samples the numba kernel of `pricing.wtp.choice_kernel`:
  cold with an empty numba cache, then with it on disk, as the interval fits;
- **warm**: a second fit in this process (interval fits: nothing to compile, the callbacks are loaded; the
  MNL neither: `pricing.wtp.model.COMPILED` must not move, checked here);
- **reference**, side by side in the same run: the PyMC model of the same fit compiled by nutpie's numba
  backend and sampled by nutpie (how fits ran two versions ago), cold in a fresh process (PyTensor's and
  numba's caches as earlier runs left them) and warm in this one (a second compile of the same model); for
  the multinomial logit's map, scipy's L-BFGS maximum likelihood on a plain
  numpy log-likelihood (the floor any fit pays).

Targets: interval fits < 8 s cold and < 3 s warm; MNL < 3 s (map) and < 10 s (NUTS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
DATA = ROOT / "scenarios" / "data"
SURVEYS = [
    ("stated", "stated_wtp.csv", {"segment": "segment"}),
    ("gabor_granger", "gabor_granger.csv", {"segment": "segment"}),
    ("van_westendorp", "van_westendorp.csv", {"segment": "segment", "weight": "weight"}),
]
TARGETS = {"survey": (8.0, 3.0), "map": (3.0, 3.0), "nuts": (10.0, 10.0)}

OURS_COLD = """
import json, sys, time, warnings
start = time.perf_counter()
warnings.simplefilter("ignore")
kind, path, columns, fit_method = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
if kind == "choice":
    from pricing.wtp.choice import ChoiceColumns, ChoiceModel
    ChoiceModel(columns=ChoiceColumns.from_dict(columns)).fit(path, fit_method, seed=1)
else:
    from pricing.wtp import fit_survey
    fit_survey(kind, path, columns, fit_method=fit_method, seed=1)
print(json.dumps(time.perf_counter() - start))
"""

REFERENCE_COLD = """
import json, sys, time, warnings
start = time.perf_counter()
warnings.simplefilter("ignore")
import nutpie
from pricing.wtp import survey_model
from pricing.wtp.stated import resolve_priors
model = survey_model(sys.argv[1], json.loads(sys.argv[3]))
intervals, _, _ = model.read(sys.argv[2])
pymc_model = model.build_model(intervals, resolve_priors(None, model.default_model_config, intervals))
compiled = nutpie.compile_pymc_model(pymc_model)
accept = model.default_sampler_config["target_accept"]
nutpie.sample(
    compiled, draws=1000, tune=1000, chains=2, cores=2, seed=1, target_accept=accept, progress_bar=False
)
print(json.dumps(time.perf_counter() - start))
"""


def fresh(script: str, *args: str, numba_cache: str | None = None) -> float:
    """Wall time of `script` in a fresh Python process (start-up, imports and exit included); with
    `numba_cache`, numba's on-disk cache is that folder (an empty one: nothing compiled before)."""
    env = dict(os.environ) | ({"NUMBA_CACHE_DIR": numba_cache} if numba_cache else {})
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True, env=env
    )
    json.loads(out.stdout.strip().splitlines()[-1])  # the script finished its fit
    return time.perf_counter() - start


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        function(*args, **kwargs)
    return time.perf_counter() - start


def reference_warm(kind: str, path: Path, columns: dict) -> float:
    """nutpie's numba backend, the same model compiled again in this process and sampled."""
    import nutpie

    from pricing.wtp import survey_model
    from pricing.wtp.stated import resolve_priors

    def run():
        model = survey_model(kind, columns)
        intervals, _, _ = model.read(path)
        priors = resolve_priors(None, model.default_model_config, intervals)
        compiled = nutpie.compile_pymc_model(model.build_model(intervals, priors))
        accept = model.default_sampler_config["target_accept"]
        nutpie.sample(
            compiled,
            draws=1000,
            tune=1000,
            chains=2,
            cores=2,
            seed=1,
            target_accept=accept,
            progress_bar=False,
        )

    timed(run)  # numba's own warm-up
    return timed(run)


def mnl_data(folder: Path) -> tuple[Path, dict]:
    """A multinomial-logit panel of the issue's size: 361 respondents, 4,308 tasks, 3 products + none."""
    sys.path.insert(0, str(DATA))
    from make_choice_data import COLUMNS, make_choice_data

    frame = make_choice_data(n_respondents=361, n_tasks=12, n_alternatives=3, seed=8, sd_scale=0.0)
    tasks = frame[["id", "task"]].drop_duplicates()
    dropped = tasks.sample(n=len(tasks) - 4308, random_state=1)
    frame = frame.merge(dropped.assign(drop=1), on=["id", "task"], how="left")
    frame = frame[frame["drop"].isna()].drop(columns="drop")
    path = folder / "mnl.csv"
    frame.to_csv(path, index=False)
    return path, COLUMNS.to_dict() | {"segment": None}  # one conditional logit, as the issue timed


def scipy_mle(path: Path, columns: dict) -> float:
    """Maximum likelihood of the same MNL with scipy on numpy arrays (coded by our reader, not timed)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    from pricing.wtp.choice_data import ChoiceColumns, code_rows, learn_design
    from pricing.wtp.data import read_survey

    frame, label, _ = read_survey(path)
    spec = ChoiceColumns.from_dict(columns)
    design = learn_design(frame, spec, label)
    arrays = code_rows(frame, design, label)
    x, present, chosen = arrays.x / np.array(design.scales), arrays.present, arrays.chosen
    rows = np.arange(len(chosen))

    def negative(beta):
        utility = np.where(present, x @ beta, -np.inf)
        probability = np.exp(utility - logsumexp(utility, axis=1, keepdims=True))
        value = -(utility[rows, chosen] - logsumexp(utility, axis=1)).sum()
        weights = np.where(present, probability, 0.0)
        weights[rows, chosen] -= 1.0
        return value, np.einsum("ts,tsk->k", weights, x)

    start = time.perf_counter()
    minimize(negative, np.zeros(x.shape[-1]), jac=True, method="L-BFGS-B")
    return time.perf_counter() - start


def row(label, cold, warm, ref_cold, ref_warm, target) -> str:
    shown = [f"{v:8.1f}" if v is not None else "     n/a" for v in (cold, warm, ref_cold, ref_warm)]
    ratio = f"{cold / ref_cold:6.2f}" if cold and ref_cold else "   n/a"
    meets = (cold is None or cold < target[0]) and (warm is None or warm < target[1])
    verdict = "yes" if meets else "NO"
    return f"{label:<36}{''.join(shown)}{ratio}   < {target[0]:g} / {target[1]:g} s  {verdict}"


def main() -> None:
    from pricing.wtp import fit_survey
    from pricing.wtp.model import COMPILED

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (2 chains of 1000 + 1000)")
    print(
        f"{'fit':<36}{'cold s':>8}{'warm s':>8}{'ref cold':>9}{'ref warm':>9}{'ratio':>6}"
        "   target cold / warm"
    )
    for kind, name, columns in SURVEYS:
        path = DATA / name
        with tempfile.TemporaryDirectory() as cache:  # nothing compiled before, then cached on disk
            args = (kind, str(path), json.dumps(columns), "nuts")
            cold, disk = (fresh(OURS_COLD, *args, numba_cache=cache) for _ in range(2))
        timed(fit_survey, kind, path, columns, seed=1)  # this process's first fit
        warm = timed(fit_survey, kind, path, columns, seed=2)
        checks = fit_survey(kind, path, columns).diagnostics  # the default settings (seed 0)
        ref_cold = fresh(REFERENCE_COLD, kind, str(path), json.dumps(columns))
        ref_warm = reference_warm(kind, path, columns)
        print(row(f"{kind} ({name})", cold, warm, ref_cold, ref_warm, TARGETS["survey"]))
        print(row("  fresh process, numba cache on disk", disk, None, ref_cold, None, TARGETS["survey"]))
        print(
            f"  defaults: {checks['divergences']} divergences, R-hat max {checks['rhat_max']:.3f}, "
            f"bulk ESS min {checks['ess_bulk_min']:.0f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} after the interval fits")
    if "--interval-only" in sys.argv:
        return
    try:
        from pricing.wtp.choice import ChoiceColumns, ChoiceModel
    except ImportError:  # the choice model without the API yet
        print("multinomial logit: skipped (pricing.wtp.choice.ChoiceModel not available)")
        return
    with tempfile.TemporaryDirectory() as folder:
        path, columns = mnl_data(Path(folder))
        reference = scipy_mle(path, columns)
        for fit_method in ("map", "nuts"):
            args = ("choice", str(path), json.dumps(columns), fit_method)
            disk = None
            if fit_method == "nuts":  # nothing compiled before, then cached on disk
                with tempfile.TemporaryDirectory() as cache:
                    cold, disk = (fresh(OURS_COLD, *args, numba_cache=cache) for _ in range(2))
            else:
                cold = fresh(OURS_COLD, *args)
            model = ChoiceModel(columns=ChoiceColumns.from_dict(columns))
            timed(model.fit, path, fit_method, seed=1)
            compiled = COMPILED["count"]
            warm = timed(model.fit, path, fit_method, seed=2)
            assert COMPILED["count"] == compiled, "a warm fit compiled its model again"
            label = f"MNL 361 x 4,308 tasks, {fit_method}"
            ref_warm = reference if fit_method == "map" else None
            print(row(label, cold, warm, None, ref_warm, TARGETS[fit_method]))
            if disk is not None:
                on_disk = "  fresh process, numba cache on disk"
                print(row(on_disk, disk, None, None, None, TARGETS[fit_method]))
        print("  (MNL reference: scipy L-BFGS maximum likelihood on numpy arrays, fit only, no import)")


if __name__ == "__main__":
    main()
