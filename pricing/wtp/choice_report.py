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
    space = (
        "WTP space: utility = lambda (omega . x - price), WTP (omega) estimated directly"
        if fit.space == "wtp"
        else "preference space"
    )
    lines = [
        f"choice-based conjoint: {model}, {how}, {space}; coefficients: mean [90% interval], "
        "WTP: median [5%, 95%]"
    ]
    price = fit.design.coefficients[fit.design.price_index]
    if price in fit.random:
        shape = "lognormal" if fit.specification.log_price(fit.design) else "normal"
        lines.append(f"random price: {shape} across respondents")
    coefficients, wtp = fit.coefficient_summary(), fit.wtp_summary()
    native = fit.native_summary() if fit.space == "wtp" else None
    for segment in fit.posterior[SEGMENT].values:
        lines.append(f"segment {segment}:")
        if native is not None:
            for name, row in native.loc[segment].iterrows():
                random = " (random: segment mean)" if name in fit.random else ""
                label = "log price scale (log lambda)" if name == price else f"omega {name}"
                lines.append(f"  {label}: {interval(row)}{random}")
        for name, row in coefficients.loc[segment].iterrows():
            if native is not None:
                break
            random = " (random: segment mean)" if name in fit.random else ""
            if name == price and name in fit.random and fit.specification.log_price(fit.design):
                random = " (random, lognormal: segment median)"
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
    log_price = fit.specification.log_price(fit.design)
    for name, row in fit.sd_summary().iterrows():
        of = f"log |{name}|" if name == price and log_price else name
        lines.append(f"sd across respondents of {of}: {interval(row)}")
    if fit.log_likelihood is not None:
        at = "posterior mode" if fit.method == "map" else "posterior mean"
        how = fit.log_likelihood_info.get("how") or f"at the {at}"
        if fit.random and not fit.log_likelihood_info:
            how = (
                "conditional, at each respondent's own coefficients: a file of an earlier version; refit for "
                "the marginal log-likelihood the reference packages report"
            )
        lines.append(f"log-likelihood: {fit.log_likelihood:.2f} ({how})")
    loo = fit.loo_summary()
    if loo is not None:
        lines.append(
            f"PSIS-LOO over respondents: elpd_loo {loo['elpd_loo']:.2f} (se {loo['se']:.2f}), p_loo "
            f"{loo['p_loo']:.1f}; Pareto k > 0.7 for {loo['pareto_k_over_0_7']} of {loo['respondents']}"
        )
    if fit.diagnostics.get("stopped"):
        lines.append(f"target ESS: {fit.diagnostics['stopped']}")
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
    fit: ChoiceFit,
    name: str = "Conjoint starter",
    currency: str = "EUR",
    posterior_path: str | None = None,
    products: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A scenario (plain data, validate with `pricing.scenario.scenario_from_dict`) from a conjoint fit.

    - attributes: the data's own: each numeric attribute, each categorical attribute with its levels as
      the data names them (reference level first), and with alternative-specific constants the
      alternative column as a categorical attribute whose levels are the alternatives; one-dimensional;
    - segments: size = respondents in the segment; ``logit_scale`` and ``value_per_unit`` = posterior
      medians (ratios: their means need not exist; a categorical attribute's: the money value of each level
      against the reference level, the segments' expectation); ``value_uncertainty`` = median over
      attributes of the 90% range / 3.29 / |median| (capped at 2); ``expectations`` = the reference
      offering (numeric: the column's median; categorical: the reference level); ``wtp`` = lognormal with
      ``median = exp(median wtp_log_median)``, ``spread = median wtp_log_sd``, ``uncertainty = sd of
      wtp_log_median`` over draws. Without a none
      alternative the WTP is not identified: a placeholder (median = the median price, spread 0.5,
      uncertainty 0.5) is written and the description says to replace it with an elicited one. With
      `posterior_path` (the saved fit, relative to the scenario file), each segment's ``logit_scale`` and
      every value (and, with a none alternative, its wtp) point to the saved posterior, so the simulator
      takes its joint draws;
    - offerings: `products` (each ``{name, price, levels: {attribute: level}}``, levels named as in the
      data), or else the most chosen product profiles in the data (as many as a task offers), named by
      their levels; the most chosen one is ours.
    """
    if fit.arrays is None:
        raise DataError(
            "starter scenario: needs the fit's data, which this file does not carry (saved before the data "
            "were kept with the fit): refit it with `pricing fit choice ... --output FILE`"
        )
    design, arrays, posterior = fit.design, fit.arrays, fit.posterior
    columns = design.columns
    kinds = dict(zip(design.coefficients, design.kinds, strict=True))
    numeric = [c for c in design.coefficients if kinds[c] == "numeric"]
    categorical = {attribute: list(levels) for attribute, levels in design.levels.items()}
    offered = [a for a in design.alternatives if a != columns.none_alt]
    if columns.asc:
        asc_ref = design.reference.get(columns.alt, offered[0])
        categorical[columns.alt] = [asc_ref, *[a for a in offered if a != asc_ref]]

    scenario_attributes = [{"name": a, "kano": "one_dimensional"} for a in numeric]
    scenario_attributes += [
        {"name": a, "levels": levels, "kano": "one_dimensional"} for a, levels in categorical.items()
    ]
    expectations = {a: float(design.reference[a]) for a in numeric}
    expectations |= {a: levels[0] for a, levels in categorical.items()}

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
        median_of = {  # the saved fit's draws, or the posterior median
            str(a): dict(ref) if posterior_path else _round(v)
            for a, v in zip(medians[ATTRIBUTE].values, medians.values, strict=True)
        }
        values: dict[str, Any] = {a: median_of[a] for a in numeric}
        for attribute, levels in categorical.items():
            values[attribute] = {level: median_of[f"{attribute}={level}"] for level in levels[1:]}
        segments.append(
            {
                "name": str(segment),
                "size": float(np.sum(arrays.respondent_segment == index)),
                "wtp": wtp,
                "logit_scale": dict(ref) if posterior_path else _round(selected["logit_scale"].median()),
                "expectations": expectations,
                "value_per_unit": values,
                "value_uncertainty": _clip(np.median(relative) if relative.size else 0.0, 0.0, 2.0),
            }
        )

    offerings = _offerings(products, fit, numeric, categorical)
    model = "hierarchical Bayes mixed logit" if fit.random else "multinomial logit"
    picked = "the products given" if products else "the most chosen product profiles in the data"
    description = (
        f"Starter scenario from a choice-based conjoint fit ({model}, {fit.method}; data SHA-256 "
        f"{posterior.attrs.get('data_sha256', '')[:12]}). Offerings are {picked}; edit them to the real "
        "products."
    )
    if has_wtp and posterior_path is not None:
        description += (
            f" Each segment's WTP, value of each attribute and level, and price sensitivity come from the "
            f"saved fit {posterior_path}."
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


def chosen_profiles(fit: ChoiceFit) -> pd.DataFrame:
    """The product profiles chosen in the fit's data, most chosen first: one row per distinct profile with
    its price, each attribute's level as the data names it, and ``chosen`` (how often it was chosen)."""
    design, arrays = fit.design, fit.arrays
    columns = design.columns
    position = {c: k for k, c in enumerate(design.coefficients)}
    tasks = np.arange(len(arrays.chosen))
    x = arrays.x[tasks, arrays.chosen]  # task, coefficient: the chosen alternative's
    alternative = arrays.alt[tasks, arrays.chosen]
    keep = alternative != columns.none_alt
    frame = pd.DataFrame({"price": x[keep, design.price_index]})
    for c, kind in zip(design.coefficients, design.kinds, strict=True):
        if kind == "numeric":
            frame[c] = x[keep, position[c]]
    for attribute, levels in design.levels.items():
        dummies = np.stack([x[keep, position[f"{attribute}={lv}"]] for lv in levels[1:]], axis=-1)
        which = np.where(dummies.any(axis=-1), dummies.argmax(axis=-1) + 1, 0)
        frame[attribute] = np.array(levels, dtype=object)[which]
    if columns.asc:
        frame[columns.alt] = alternative[keep]
    counts = frame.value_counts(sort=True).rename("chosen").reset_index()
    return counts.sort_values("chosen", ascending=False, kind="stable").reset_index(drop=True)


def product_from_text(text: str, fit: ChoiceFit) -> dict[str, Any]:
    """A product for `starter_scenario` from ``"Name: storage=4, colour=red, price=20"`` (the name is
    optional; levels as the data names them; a numeric attribute's level and the price are numbers)."""
    name, sep, rest = text.partition(":")
    if not sep:
        name, rest = "", text
    design = fit.design
    numeric = {c for c, k in zip(design.coefficients, design.kinds, strict=True) if k == "numeric"}
    known = sorted(numeric | set(design.levels) | ({design.columns.alt} if design.columns.asc else set()))
    product: dict[str, Any] = {"levels": {}}
    if name.strip():
        product["name"] = name.strip()
    for item in (part.strip() for part in rest.split(",") if part.strip()):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key or not value:
            raise DataError(f"--product {text!r}: {item!r} is not ATTRIBUTE=LEVEL (or price=AMOUNT)")
        if key == "price" or key in numeric:
            try:
                number = float(value)
            except ValueError:
                raise DataError(f"--product {text!r}: {key} must be a number (got {value!r})") from None
            if key == "price":
                product["price"] = number
            else:
                product["levels"][key] = number
        elif key in known:
            product["levels"][key] = value
        else:
            raise DataError(f"--product {text!r}: unknown attribute {key!r} (attributes: {', '.join(known)})")
    if "price" not in product:
        raise DataError(f"--product {text!r}: give its price, e.g. price=20")
    return product


def _offerings(
    products: list[dict[str, Any]] | None, fit: ChoiceFit, numeric: list[str], categorical: dict
) -> list[dict[str, Any]]:
    """The starter's offerings: the user's products, or the most chosen profiles (the first is ours)."""
    if products:
        offerings = [
            {"name": p.get("name") or f"Product {i + 1}", "owner": "competitor", **p}
            for i, p in enumerate(products)
        ]
        if not any(o["owner"] == "us" for o in offerings):
            offerings[0]["owner"] = "us"
        return offerings
    columns = fit.design.columns
    offered = [a for a in fit.design.alternatives if a != columns.none_alt]
    profiles = chosen_profiles(fit).head(max(2, len(offered)))
    offerings, names = [], set()
    for i, row in profiles.iterrows():
        levels: dict[str, Any] = {a: _round(row[a]) for a in numeric}
        levels |= {a: str(row[a]) for a in categorical}
        label = ", ".join(f"{a} {v:g}" if isinstance(v, float) else f"{a} {v}" for a, v in levels.items())
        label = label or "product"
        if label in names:
            label = f"{label} at {row['price']:g}"
        names.add(label)
        price = float(row["price"])
        if not (price > 0 and math.isfinite(price)):
            raise DataError(f"starter scenario: a chosen product has price {price:g}; prices must be > 0")
        offerings.append(
            {
                "name": label[:80],
                "owner": "us" if i == 0 else "competitor",
                "price": _round(price),
                "levels": levels,
            }
        )
    return offerings
