"""Willingness to pay from survey data: one module per method, and the shared posterior file format.

Only this package imports PyMC; `pricing.wtp.posterior` (what the simulator uses) needs ArviZ only, and the
method modules are imported on first use so that loading a saved posterior stays quick.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pricing.dims import ATTRIBUTE, CHAIN, DRAW, RESPONDENT, SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp.posterior import (
    SamplingWarning,
    diagnose,
    file_sha256,
    load_posterior,
    posterior_draws,
    save_posterior,
)

__all__ = [
    "METHOD_MODELS",
    "SamplingWarning",
    "diagnose",
    "fit_survey",
    "fitted_customer_draws",
    "fitted_segment_draws",
    "load_posterior",
    "posterior_draws",
    "save_posterior",
    "survey_model",
]

# method -> "module:class" of its fit (imported on first use: PyMC is slow to import)
METHOD_MODELS = {
    "stated": "pricing.wtp.stated:StatedWTP",
    "gabor_granger": "pricing.wtp.gabor_granger:GaborGrangerWTP",
    "van_westendorp": "pricing.wtp.van_westendorp:VanWestendorpWTP",
}
FIT_ON_LOAD = {"draws": 1000, "tune": 1000, "chains": 2}
_fits_on_load: dict[tuple, Any] = {}


def survey_model(method: str, columns: dict | None = None, priors: dict | None = None, **options: Any):
    """An unfitted survey model of `method` (stated, gabor_granger, van_westendorp)."""
    if method not in METHOD_MODELS:
        raise PricingError(f"method: {method!r} is not one of {', '.join(METHOD_MODELS)}")
    module, name = METHOD_MODELS[method].split(":")
    return getattr(importlib.import_module(module), name)(columns=columns, priors=priors, **options)


def fit_survey(method: str, source, columns=None, priors=None, **sample_options: Any):
    """Fit a survey file (or frame) with `method`; returns the fitted model (its `idata` is the posterior)."""
    model = survey_model(method, columns, priors)
    model.fit(source, **sample_options)
    return model


@functools.lru_cache(maxsize=16)
def _load_posterior_cached(path: str, mtime_ns: int, size: int):
    """A saved posterior, read once per file version (the app re-simulates on every competitor price)."""
    return load_posterior(path)


def _posterior_for(wtp, segment_name: str, base_dir: Path, seed: int):
    path = base_dir / (wtp.posterior or wtp.data)
    if not path.is_file():
        raise DataError(
            f"segment {segment_name!r}: wtp.{wtp.source} file {str(path)!r} not found "
            f"(paths are relative to the scenario file's folder {base_dir})"
        )
    if wtp.source == "posterior":
        stat = path.stat()
        return _load_posterior_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    columns = json.dumps(dict(wtp.columns), sort_keys=True)
    key = (str(path.resolve()), file_sha256(path), wtp.method, columns, seed)
    if key not in _fits_on_load:  # fitting takes seconds: once per data file, method, columns and seed
        _fits_on_load[key] = fit_survey(wtp.method, path, dict(wtp.columns), seed=seed, **FIT_ON_LOAD).idata
    return _fits_on_load[key]


def fitted_segment_draws(
    wtp,
    segment_name: str,
    base_dir: str | os.PathLike,
    seed: int,
    draws: int,
    rng: np.random.Generator,
    attribute_names: list[str] | tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """Posterior draws of one scenario segment whose WTP points to a saved posterior or to survey data.

    Parameters
    ----------
    wtp : pricing.scenario.ElicitedWTP
        The segment's WTP with ``source`` "posterior" or "data" (paths relative to `base_dir`).
    segment_name : str
        The segment's name in the scenario (used when ``wtp.segment`` is not given).
    base_dir : path
        Folder of the scenario file.
    seed : int
        The scenario's seed (seeds a fit on load).
    draws : int
        Draws wanted.
    rng : numpy.random.Generator
        Resamples the posterior's draws (see `posterior_draws`).
    attribute_names : list of str
        The scenario's attributes, in order: a conjoint fit's money value of those it knows replaces the
        scenario's.

    Returns
    -------
    dict
        ``wtp_log_median`` and ``wtp_log_sd``, each of shape (draws,); for conjoint fits also the joint
        draws of ``logit_scale`` (draws,) and ``value_per_unit`` (draws, n_attributes), NaN for attributes
        the fit does not know (they keep the scenario's values).
    """
    idata = _posterior_for(wtp, segment_name, Path(base_dir), seed)
    name = wtp.segment or segment_name
    if "wtp_log_median" not in idata.posterior:
        raise DataError(
            f"segment {segment_name!r}: the fit in wtp.{wtp.source} has no reference WTP (a choice fit "
            "without a none alternative); give the segment an elicited wtp and attach the fit in the app"
        )
    posterior = idata.posterior
    fitted_attributes = [str(a) for a in posterior[ATTRIBUTE].values] if ATTRIBUTE in posterior else []
    shared = [a for a in attribute_names if a in fitted_attributes]
    fitted = posterior_draws(idata, [name], draws, rng, attribute_names=shared if shared else None)
    result = {
        key: fitted[key][:, 0] for key in ("wtp_log_median", "wtp_log_sd", "logit_scale") if key in fitted
    }
    if "value_per_unit" in fitted and shared:
        values = np.full((draws, len(attribute_names)), np.nan)
        for j, attribute in enumerate(shared):
            values[:, list(attribute_names).index(attribute)] = fitted["value_per_unit"][:, 0, j]
        result["value_per_unit"] = values
    return result


def fitted_customer_draws(
    wtp,
    segment_name: str,
    base_dir: str | os.PathLike,
    seed: int,
    draws: int,
    rng: np.random.Generator,
    value_columns: list[str] | tuple[str, ...],
    settings,
) -> dict[str, np.ndarray] | None:
    """Simulated customers of a segment whose WTP points to a hierarchical Bayes (mixed logit) fit; None
    for any other fit (its customers differ only in their WTP).

    With ``settings.from_fit == "respondents"`` the customers are the segment's respondents, each with
    their own posterior draws of their coefficients (Sawtooth's approach: shares per respondent, weighted
    equally within the segment); with ``"population"``, ``settings.customers`` quasi-Monte Carlo customers
    drawn from the fitted population distribution of each draw (segment means and sds of the random
    coefficients). Coefficients become money as the fit's contract does: value of a column =
    -beta_column / beta_price (a categorical attribute's reference level and the constant of the reference
    alternative: 0), logit scale = 1 / |beta_price|, and the customer's value of the reference offering
    against none ``w = beta . x_ref / -beta_price``.

    Returns ``value_per_unit`` (draws, customers, value column; NaN where the fit does not know the
    column), ``logit_scale``, ``wtp_log_median`` (log of max(w, a floor)), ``wtp_log_sd`` (a token spread)
    and ``value_offset`` (w - max(w, floor) <= 0: what a customer who prefers none to the reference
    offering subtracts from every product's value), each (draws, customers).
    """
    from pricing.customers import quasi_random_normal
    from pricing.wtp.choice import MIN_LOG_SD, reference_vector
    from pricing.wtp.choice_data import Design
    from pricing.wtp.posterior import metadata

    idata = _posterior_for(wtp, segment_name, Path(base_dir), seed)
    posterior = idata.posterior
    info = metadata(idata)
    if info.get("method") != "choice" or "sd" not in posterior or "design" not in info:
        return None
    design = Design.from_dict(info["design"])
    name = wtp.segment or segment_name
    coefficients = list(design.coefficients)
    total = posterior.sizes[CHAIN] * posterior.sizes[DRAW]
    index = np.arange(total) if draws == total else rng.choice(total, size=draws, replace=draws > total)
    if settings.from_fit == "respondents":
        in_segment = np.asarray(posterior["respondent_segment"].values).astype(str) == name
        if not in_segment.any():
            raise DataError(
                f"segment {segment_name!r}: the fit in wtp.posterior has no respondents of {name!r}"
            )
        beta = posterior["beta_respondent"].transpose(CHAIN, DRAW, RESPONDENT, "coefficient").values
        beta = beta.reshape(total, *beta.shape[2:])[index][:, in_segment]  # draw, respondent, coefficient
    else:
        mean = posterior["beta"].sel({SEGMENT: name}).transpose(CHAIN, DRAW, "coefficient").values
        sd = posterior["sd"].transpose(CHAIN, DRAW, "random_coefficient").values
        mean, sd = mean.reshape(total, -1)[index], sd.reshape(total, -1)[index]
        random = [str(c) for c in posterior["random_coefficient"].values]
        z = quasi_random_normal(settings.customers, len(random), settings.sequence, seed)
        beta = np.repeat(mean[:, None, :], settings.customers, axis=1)
        r_index = [coefficients.index(c) for c in random]
        beta[..., r_index] += z[None] * sd[:, None, :]
    price = beta[..., design.price_index]
    values = np.full((*beta.shape[:2], len(value_columns)), np.nan)
    reference_levels = {f"{a}={levels[0]}" for a, levels in design.levels.items()}
    if design.columns.asc:
        reference_levels.add(f"{design.columns.alt}={design.reference.get(design.columns.alt)}")
    for j, column in enumerate(value_columns):
        if column in coefficients and design.kinds[coefficients.index(column)] != "none":
            values[..., j] = -beta[..., coefficients.index(column)] / price
        elif column in reference_levels:
            values[..., j] = 0.0
    w = (beta @ reference_vector(design)) / -price
    floor = 1e-6 * abs(design.reference[design.columns.price])
    kept = np.maximum(w, floor)
    return {
        "value_per_unit": values,
        "logit_scale": 1.0 / np.abs(price),
        "wtp_log_median": np.log(kept),
        "wtp_log_sd": np.full(w.shape, MIN_LOG_SD),
        "value_offset": w - kept,
    }
