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

from pricing.dims import ATTRIBUTE
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
