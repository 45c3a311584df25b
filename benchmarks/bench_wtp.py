"""Fitting times of the survey WTP models: nutpie (what `pricing fit` uses) against PyMC's own NUTS sampler.

Run ``python benchmarks/bench_wtp.py``. Both samplers run the same PyMC model (1000 tuning + 1000 draws,
2 chains, 2 cores) on data simulated from known parameters:

- stated WTP: 2,000 respondents in 5 segments (half exact amounts, half price brackets); target < 10 s;
- Gabor-Granger: 2,000 respondents x 5 tested prices; target < 20 s.

nutpie's time includes compiling the model with numba; the first compile in a process also warms numba up
(reported separately as "first fit"). The likelihood is aggregated over identical bounds, so sampling itself
takes well under a second and compilation dominates.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pymc as pm

from pricing.wtp.gabor_granger import GaborGrangerWTP
from pricing.wtp.stated import StatedWTP, resolve_priors

SEGMENTS = {
    f"S{i}": (np.log(m), s)
    for i, (m, s) in enumerate([(30, 0.3), (45, 0.4), (60, 0.5), (80, 0.35), (120, 0.45)])
}
BRACKETS = np.array([0, 20, 30, 40, 50, 60, 80, 100, 130, 170, np.inf])
PRICES = np.array([30, 45, 60, 80, 110])
SAMPLING = {"draws": 1000, "tune": 1000, "chains": 2}


def stated_data(n_per_segment: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for segment, (mu, sigma) in SEGMENTS.items():
        for i, w in enumerate(np.exp(rng.normal(mu, sigma, n_per_segment))):
            if i % 2:
                k = np.searchsorted(BRACKETS, w, side="right") - 1
                low, high = BRACKETS[k], BRACKETS[k + 1]
                rows.append((segment, "", low if low > 0 else "", high if np.isfinite(high) else ""))
            else:
                rows.append((segment, round(w, 2), "", ""))
    return pd.DataFrame(rows, columns=["segment", "wtp", "wtp_lower", "wtp_upper"])


def gabor_granger_data(n_per_segment: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for segment, (mu, sigma) in SEGMENTS.items():
        for i, w in enumerate(np.exp(rng.normal(mu, sigma, n_per_segment))):
            rows += [(f"{segment}-{i}", segment, p, "yes" if w >= p else "no") for p in PRICES]
    return pd.DataFrame(rows, columns=["respondent", "segment", "price", "answer"])


def time_fit(model, data) -> tuple[float, dict]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data, seed=1, **SAMPLING)
    return time.perf_counter() - start, model.diagnostics


def time_pymc(model, data) -> float:
    intervals, _, _ = model.read(data)
    pymc_model = model.build_model(intervals, resolve_priors(None, model.default_priors, intervals))
    start = time.perf_counter()
    with pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.sample(
            **SAMPLING, cores=2, random_seed=1, target_accept=0.95, progressbar=False, nuts_sampler="pymc"
        )
    return time.perf_counter() - start


def time_nutpie_parts(model, data) -> tuple[float, float]:
    """nutpie's compile and sampling times on their own."""
    import nutpie

    intervals, _, _ = model.read(data)
    pymc_model = model.build_model(intervals, resolve_priors(None, model.default_priors, intervals))
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(pymc_model)
    compiled_at = time.perf_counter()
    nutpie.sample(compiled, **SAMPLING, cores=2, seed=1, target_accept=0.95, progress_bar=False)
    return compiled_at - start, time.perf_counter() - compiled_at


def main() -> None:
    rng = np.random.default_rng(2026)
    stated, gabor_granger = stated_data(400, rng), gabor_granger_data(400, rng)
    first, _ = time_fit(StatedWTP(columns={"segment": "segment"}), stated)
    print(f"first fit in this process (numba warm-up + compile + sampling): {first:.1f} s")
    cases = [
        ("stated WTP, 2,000 respondents, 5 segments", StatedWTP, stated, 10.0),
        ("Gabor-Granger, 2,000 respondents x 5 prices", GaborGrangerWTP, gabor_granger, 20.0),
    ]
    for label, model_class, data, target in cases:
        seconds, diagnostics = time_fit(model_class(columns={"segment": "segment"}), data)
        reference = time_pymc(model_class(columns={"segment": "segment"}), data)
        compile_seconds, sample_seconds = time_nutpie_parts(model_class(columns={"segment": "segment"}), data)
        verdict = "meets" if seconds < target else "MISSES"
        print(
            f"{label}: nutpie {seconds:.1f} s ({verdict} target {target:.0f} s), "
            f"PyMC NUTS {reference:.1f} s, "
            f"ratio pymc/nutpie {reference / seconds:.1f}x; R-hat max {diagnostics['rhat_max']:.3f}, "
            f"ESS bulk min {diagnostics['ess_bulk_min']:.0f}, divergences {diagnostics['divergences']}\n"
            f"  nutpie alone: compile {compile_seconds:.1f} s, sampling {sample_seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
