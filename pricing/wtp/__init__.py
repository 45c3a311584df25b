"""Willingness to pay from survey data: one module per method, the shared posterior file format, and the one
path from posteriors into the simulation (`posterior_parameters`).

Only this package imports PyMC; `pricing.wtp.posterior` (what the simulator uses) needs ArviZ only, and the
method modules are imported on first use so that loading a saved posterior stays quick.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np

from pricing.dims import CHAIN, DRAW, RESPONDENT, SEGMENT
from pricing.errors import DataError

# Re-exported names, imported on first use: ArviZ (behind the posterior module) takes seconds to import,
# and the classic read-outs (`pricing psm`, `pricing gabor-granger`) need neither of them.
_LAZY = {
    "PosteriorRequest": "parameters",
    "posterior_parameters": "parameters",
    "posterior_requests": "parameters",
    "scenario_with_fit": "parameters",
    "SamplingWarning": "posterior",
    "diagnose": "posterior",
    "load_posterior": "posterior",
    "posterior_draws": "posterior",
    "save_posterior": "posterior",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"pricing.wtp.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pricing.wtp' has no attribute {name!r}")


__all__ = [
    "METHOD_MODELS",
    "SamplingWarning",
    "diagnose",
    "fit_survey",
    "posterior_parameters",
    "posterior_requests",
    "scenario_with_fit",
    "PosteriorRequest",
    "fitted_customer_draws",
    "load_model",
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


def survey_model(
    method: str,
    columns: dict | None = None,
    model_config: dict | None = None,
    sampler_config: dict | None = None,
    **options: Any,
):
    """An unfitted survey model of `method` (stated, gabor_granger, van_westendorp): a
    `pricing.wtp.model.WTPModel`; `options` are the method's own (``inconsistent``, ``wtp_bounds``)."""
    from pricing.wtp.model import OptionsError

    if method not in METHOD_MODELS:
        raise OptionsError(f"method: {method!r} is not one of {', '.join(METHOD_MODELS)}")
    module, name = METHOD_MODELS[method].split(":")
    model_class = getattr(importlib.import_module(module), name)
    return model_class(model_config=model_config, sampler_config=sampler_config, columns=columns, **options)


def fit_survey(
    method: str, source, columns=None, model_config=None, fit_method: str = "nuts", **sampler_config
):
    """Fit a survey file (or frame) with `method`; returns the fitted model (its `idata` is the posterior)."""
    model = survey_model(method, columns, model_config)
    model.fit(source, fit_method, **sampler_config)
    return model


def load_model(path: str | os.PathLike):
    """The WTP model saved at `path`, of whatever type (`pricing.wtp.model.WTPModel.load`)."""
    from pricing.wtp.model import WTPModel

    return WTPModel.load(path)


def fitted_customer_draws(
    idata,
    fitted_segment: str,
    segment_name: str,
    index: np.ndarray,
    seed: int,
    value_columns: list[str] | tuple[str, ...],
    settings,
) -> dict[str, np.ndarray] | None:
    """Simulated customers of a segment whose WTP points to a hierarchical Bayes (mixed logit) fit, at the
    fit's draws `index` (chain-major; the same indices as every other parameter taken from the file, so
    the joint posterior is kept: `pricing.wtp.posterior_parameters` calls this); None for any other fit
    (its customers differ only in their WTP).

    With ``settings.from_fit == "respondents"`` the customers are the respondents of `fitted_segment`, each
    with their own posterior draws of their coefficients (Sawtooth's approach: shares per respondent,
    weighted equally within the segment); with ``"population"``, ``settings.customers`` quasi-Monte Carlo
    customers drawn from the fitted population distribution of each draw (segment means and sds of the
    random coefficients; in WTP space the population of omega and of the price scale lambda). Coefficients
    become money as the fit's contract does: value of a column = -beta_column / beta_price (a categorical
    attribute's reference level and the constant of the reference alternative: 0), logit scale =
    1 / |beta_price|, and the customer's value of the reference offering against none
    ``w = beta . x_ref / -beta_price``; a WTP-space population's customers take omega, 1 / lambda and
    ``omega . x_ref`` directly (no ratio).

    Returns ``value_per_unit`` (draws, customers, value column; NaN where the fit does not know the
    column), ``logit_scale``, ``wtp_log_median`` (log of max(w, a floor)), ``wtp_log_sd`` (a token spread)
    and ``value_offset`` (w - max(w, floor) <= 0: what a customer who prefers none to the reference
    offering subtracts from every product's value), each (draws, customers).
    """
    from pricing.customers import quasi_random_normal
    from pricing.wtp.choice import (
        MIN_LOG_SD,
        Parametrisation,
        Specification,
        customer_money,
        reference_vector,
    )
    from pricing.wtp.choice_data import Design
    from pricing.wtp.posterior import metadata

    posterior = idata.posterior
    info = metadata(idata)
    if info.get("method") != "choice" or "sd" not in posterior or "design" not in info:
        return None
    design = Design.from_dict(info["design"])
    name = fitted_segment
    coefficients = list(design.coefficients)
    total = posterior.sizes[CHAIN] * posterior.sizes[DRAW]
    if settings.from_fit == "respondents":
        in_segment = np.asarray(posterior["respondent_segment"].values).astype(str) == name
        if not in_segment.any():
            raise DataError(
                f"segment {segment_name!r}: the fit in wtp.posterior has no respondents of {name!r}"
            )
        beta = posterior["beta_respondent"].transpose(CHAIN, DRAW, RESPONDENT, "coefficient").values
        beta = beta.reshape(total, *beta.shape[2:])[index][:, in_segment]  # draw, respondent, coefficient
        money, scale = -beta / beta[..., design.price_index, None], np.abs(beta[..., design.price_index])
    else:  # the model's own parameters (theta; files before WTP space: beta, the same there)
        native = "theta" if "theta" in posterior else "beta"
        mean = posterior[native].sel({SEGMENT: name}).transpose(CHAIN, DRAW, "coefficient").values
        sd = posterior["sd"].transpose(CHAIN, DRAW, "random_coefficient").values
        mean, sd = mean.reshape(total, -1)[index], sd.reshape(total, -1)[index]
        random = tuple(str(c) for c in posterior["random_coefficient"].values)
        z = quasi_random_normal(settings.customers, len(random), settings.sequence, seed)
        theta = np.repeat(mean[:, None, :], settings.customers, axis=1)
        r_index = [coefficients.index(c) for c in random]
        theta[..., r_index] += z[None] * sd[:, None, :]
        spec = Specification(
            info.get("space", "preference"), random, info.get("price_distribution", "normal")
        )
        money, scale = customer_money(theta, Parametrisation.of(design, spec))  # WTP space: no ratio

    values = np.full((*money.shape[:2], len(value_columns)), np.nan)
    reference_levels = {f"{a}={levels[0]}" for a, levels in design.levels.items()}
    if design.columns.asc:
        reference_levels.add(f"{design.columns.alt}={design.reference.get(design.columns.alt)}")
    for j, column in enumerate(value_columns):
        if column in coefficients and design.kinds[coefficients.index(column)] != "none":
            values[..., j] = money[..., coefficients.index(column)]
        elif column in reference_levels:
            values[..., j] = 0.0
    w = money @ reference_vector(design)  # the price's entry of the reference vector is 0
    floor = 1e-6 * abs(design.reference[design.columns.price])
    kept = np.maximum(w, floor)
    return {
        "value_per_unit": values,
        "logit_scale": 1.0 / scale,
        "wtp_log_median": np.log(kept),
        "wtp_log_sd": np.full(w.shape, MIN_LOG_SD),
        "value_offset": w - kept,
    }
