"""Willingness to pay from survey data: one module per method, the shared posterior file format, and the one
path from posteriors into the simulation (`posterior_parameters`).

Only this package imports PyMC; `pricing.wtp.posterior` (what the simulator uses) needs ArviZ only, and the
method modules are imported on first use so that loading a saved posterior stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from pricing.errors import PricingError
from pricing.wtp.parameters import (
    PosteriorRequest,
    posterior_parameters,
    posterior_requests,
    scenario_with_fit,
)
from pricing.wtp.posterior import (
    SamplingWarning,
    diagnose,
    load_posterior,
    posterior_draws,
    save_posterior,
)

__all__ = [
    "METHOD_MODELS",
    "SamplingWarning",
    "diagnose",
    "fit_survey",
    "posterior_parameters",
    "posterior_requests",
    "scenario_with_fit",
    "PosteriorRequest",
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
