"""What a choice fit hands on: the readable summary, and a starter scenario for the simulator.

The starter scenario summarises the posterior per segment (see `starter_scenario`): the simulator can then
be run on it directly, and the numbers edited like any elicited ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pricing.dims import ATTRIBUTE, CHAIN, DRAW, SEGMENT
from pricing.errors import DataError
from pricing.wtp.choice import ChoiceFit
from pricing.wtp.posterior import format_diagnostics

PLACEHOLDER_SPREAD = 0.5
PLACEHOLDER_UNCERTAINTY = 0.5


def format_summary(fit: ChoiceFit, currency: str = "") -> str:
    """Readable summary: per segment each coefficient and each attribute's WTP (mean [90% interval])."""

    def interval(row: pd.Series, digits: int = 4, centre: str = "mean") -> str:
        return f"{row[centre]:.{digits}g} [{row['q05']:.{digits}g}, {row['q95']:.{digits}g}]"

    model = "hierarchical Bayes mixed logit" if fit.random else "multinomial logit"
    how = "posterior mode + Laplace approximation" if fit.method == "map" else "NUTS"
    lines = [
        f"choice-based conjoint: {model}, {how}; coefficients: mean [90% interval], WTP: median [5%, 95%]"
    ]
    coefficients, wtp = fit.coefficient_summary(), fit.wtp_summary()
    for segment in fit.posterior[SEGMENT].values:
        lines.append(f"segment {segment}:")
        for name, row in coefficients.loc[segment].iterrows():
            random = " (random: segment mean)" if name in fit.random else ""
            lines.append(f"  coefficient {name}: {interval(row)}{random}")
        for name, row in wtp.loc[segment].iterrows():
            unit = f" {currency}" if currency else ""
            lines.append(f"  WTP {name}: {interval(row, centre='q50')}{unit}")
        if "wtp_log_median" in fit.posterior:
            median = np.exp(fit.posterior["wtp_log_median"].sel({SEGMENT: segment}).values)
            q05, q50, q95 = np.quantile(median, (0.05, 0.5, 0.95))
            lines.append(
                f"  WTP of the reference offering vs none (median customer): {q50:.4g} [{q05:.4g}, {q95:.4g}]"
            )
    for name, row in fit.sd_summary().iterrows():
        lines.append(f"sd across respondents of {name}: {interval(row)}")
    if fit.log_likelihood is not None:
        at = "posterior mode" if fit.method == "map" else "posterior mean"
        lines.append(f"log-likelihood at the {at}: {fit.log_likelihood:.2f}")
    if fit.method == "map":
        lines.append("diagnostics: none (Laplace approximation draws are independent)")
    else:
        lines.append("diagnostics: " + format_diagnostics(fit.diagnostics))
    lines += [f"WARNING: {warning}" for warning in fit.warnings()]
    return "\n".join(lines)


def _clip(value: float, low: float, high: float) -> float:
    return _round(min(max(value, low), high))


def _round(value: float) -> float:
    """Six significant digits: the file stays readable and far finer than the posterior's uncertainty."""
    return float(f"{float(value):.6g}")


def starter_scenario(
    fit: ChoiceFit, name: str = "Conjoint starter", currency: str = "EUR", posterior_path: str | None = None
) -> dict[str, Any]:
    """A scenario (plain data, validate with `pricing.scenario.scenario_from_dict`) from a conjoint fit.

    - attributes: every money-valued coefficient (numeric attributes, ``attr=level`` dummies, ``alt=X``
      constants), one-dimensional;
    - segments: size = respondents in the segment; ``logit_scale`` and ``value_per_unit`` = posterior
      medians (ratios with the price coefficient: their means need not exist); ``value_uncertainty`` =
      median over attributes of the 90% range / 3.29 / |median| (capped at 2);
      ``expectations`` = the reference offering's levels (numeric: the column's median; dummies and
      constants: 0); ``wtp`` = lognormal with ``median = exp(median wtp_log_median)``,
      ``spread = median wtp_log_sd``, ``uncertainty = sd of wtp_log_median`` over draws. Without a none
      alternative the WTP is not identified: a placeholder (median = the median price, spread 0.5,
      uncertainty 0.5) is written and the description says to replace it with an elicited one. With
      `posterior_path` (the saved fit, relative to the scenario file), each segment's ``logit_scale`` and
      ``value_per_unit`` (and, with a none alternative, its wtp) point to the saved posterior instead, so
      the simulator takes its joint draws;
    - offerings: one per alternative of the design (the none alternative excepted) at its mean price and
      mean numeric levels, modal categorical level; the reference alternative (or the first) is ours.
    """
    if fit.arrays is None:
        raise DataError("starter scenario: needs the fit's data (use the fit returned by fit_choice)")
    design, arrays, posterior = fit.design, fit.arrays, fit.posterior
    columns = design.columns
    attributes = design.attribute_coefficients
    kinds = dict(zip(design.coefficients, design.kinds, strict=True))

    scenario_attributes = []
    for attribute in attributes:
        unit = "" if kinds[attribute] == "numeric" else "1 = has this level, 0 = reference level"
        scenario_attributes.append({"name": attribute, "unit": unit, "kano": "one_dimensional"})

    has_wtp = "wtp_log_median" in posterior
    segments = []
    for index, segment in enumerate(posterior[SEGMENT].values):
        selected = posterior.sel({SEGMENT: segment})
        value = selected["value_per_unit"].transpose(CHAIN, DRAW, ATTRIBUTE)
        medians = value.median((CHAIN, DRAW))  # WTP ratios: medians, not means (which need not exist)
        q05, q95 = value.quantile(0.05, (CHAIN, DRAW)), value.quantile(0.95, (CHAIN, DRAW))
        relative = ((q95 - q05) / (2 * 1.6449) / np.abs(medians)).values  # sd from the 90% range
        relative = relative[np.isfinite(relative)]
        ref = {"posterior": posterior_path, "segment": str(segment)}
        if has_wtp and posterior_path is not None:
            wtp = {"source": "posterior", "file": posterior_path, "segment": str(segment)}
        elif has_wtp:
            log_median = selected["wtp_log_median"].values
            log_sd = selected["wtp_log_sd"].values
            wtp = {
                "median": _round(np.exp(np.median(log_median))),
                "spread": _clip(np.median(log_sd), 1e-3, 5.0),
                "uncertainty": _clip(log_median.std(), 0.0, 2.0),
                "spread_uncertainty": _clip(np.log(log_sd).std(), 0.0, 2.0),
            }
        else:
            wtp = {
                "median": _round(design.reference[columns.price]),
                "spread": PLACEHOLDER_SPREAD,
                "uncertainty": PLACEHOLDER_UNCERTAINTY,
            }
        expectations = {a: float(design.reference[a]) if kinds[a] == "numeric" else 0.0 for a in attributes}
        segments.append(
            {
                "name": str(segment),
                "size": float(np.sum(arrays.respondent_segment == index)),
                "wtp": wtp,
                "logit_scale": dict(ref) if posterior_path else _round(selected["logit_scale"].median()),
                "expectations": expectations,
                "value_per_unit": {
                    str(a): dict(ref) if posterior_path else _round(v)
                    for a, v in zip(medians[ATTRIBUTE].values, medians.values, strict=True)
                },
                "value_uncertainty": _clip(np.median(relative) if relative.size else 0.0, 0.0, 2.0),
            }
        )

    position = {c: k for k, c in enumerate(design.coefficients)}
    offered = [a for a in design.alternatives if a != columns.none_alt]
    ours = design.reference.get(columns.alt, offered[0]) if columns.asc else offered[0]
    offerings = []
    for alternative in offered:
        rows = arrays.x[(arrays.alt == alternative) & arrays.present]
        price = float(rows[:, design.price_index].mean())
        if not (price > 0 and math.isfinite(price)):
            raise DataError(
                f"starter scenario: alternative {alternative!r} has mean price {price:g}; prices must be > 0"
            )
        levels = {}
        for attribute in attributes:
            column = rows[:, position[attribute]]
            if kinds[attribute] == "numeric":
                levels[attribute] = _round(column.mean())
            elif kinds[attribute] == "asc":
                levels[attribute] = float(attribute == f"{columns.alt}={alternative}")
        for attr, attr_levels in design.levels.items():
            counts = [np.sum(rows[:, position[f"{attr}={lv}"]]) for lv in attr_levels[1:]]
            reference_count = len(rows) - sum(counts)
            modal = int(np.argmax([reference_count, *counts]))
            for k, level in enumerate(attr_levels[1:], start=1):
                levels[f"{attr}={level}"] = float(k == modal)
        offerings.append(
            {
                "name": f"{columns.alt}={alternative}",
                "owner": "us" if alternative == ours else "competitor",
                "price": _round(price),
                "levels": levels,
            }
        )
    model = "hierarchical Bayes mixed logit" if fit.random else "multinomial logit"
    description = (
        f"Starter scenario from a choice-based conjoint fit ({model}, {fit.method}; data SHA-256 "
        f"{posterior.attrs.get('data_sha256', '')[:12]}). Offerings are the design's alternatives at their "
        f"mean price and levels; edit them to the real products."
    )
    if not has_wtp:
        description += (
            " The data has no none alternative, so the WTP for the reference offering is not identified: "
            "each "
            "segment's wtp is a PLACEHOLDER (median price, spread 0.5); replace it with an elicited one."
        )
    return {
        "schema_version": 2,
        "name": name,
        "description": description,
        "currency": currency,
        "attributes": scenario_attributes,
        "segments": segments,
        "offerings": offerings,
        "market": {"none_option": True},
    }
