"""Willingness-to-pay fits for the app: read an uploaded survey, fit it with `pricing.wtp`, keep the result.

Plain functions over the colleagues' public `pricing.wtp` API (no Streamlit here), so the page stays a
layout and these can be tested directly. A fit is kept as a dict: label, method, idata, key (for caches),
and the method's read-outs (tables) for the page.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pricing.errors import DataError, PricingError

METHODS = {
    "stated": "Stated WTP",
    "gabor_granger": "Gabor-Granger",
    "van_westendorp": "Van Westendorp",
    "choice": "Choice-based conjoint",
}
#: Words in an example file's name that tell its method.
EXAMPLE_HINTS = {
    "stated": ("stated",),
    "gabor_granger": ("gabor", "granger"),
    "van_westendorp": ("westendorp", "psm"),
    "choice": ("conjoint", "choice", "cbc"),
}
NOT_USED = "(not used)"
CHOICE_ROLES = ("id", "task", "alt", "choice", "price")


def examples(folder: Path) -> dict[str, list[Path]]:
    """Example survey files in `folder` per method, recognised by their names."""
    found: dict[str, list[Path]] = {method: [] for method in METHODS}
    for path in sorted(folder.glob("*.csv")):
        name = path.stem.lower()
        for method, hints in EXAMPLE_HINTS.items():
            if any(h in name for h in hints):
                found[method].append(path)
                break
    return found


def read_upload(name: str, data: bytes) -> pd.DataFrame:
    """The survey's cells (as text), read as `pricing.wtp.data.read_survey` reads; errors name `name`."""
    from pricing.wtp.data import read_survey

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            frame, _, _ = read_survey(path)
        except DataError as error:
            raise DataError(str(error).replace(str(path), Path(name).name)) from None
    return frame


def roles(method: str) -> dict[str, str | None]:
    """Column roles of an interval method and their default column names (None: optional, unused)."""
    model = _interval_model(method)
    return dict(model.roles)


def default_mapping(method: str, columns: list[str]) -> dict[str, str | None]:
    """Each role's column when the file has the default name, else None."""
    if method == "choice":
        guess = {role: role if role in columns else None for role in CHOICE_ROLES}
        guess["id"] = next((c for c in ("id", "respondent", "respondent_id") if c in columns), None)
        guess["segment"] = "segment" if "segment" in columns else None
        return guess
    return {role: (default if default in columns else None) for role, default in roles(method).items()} | {
        role: role
        for role, default in roles(method).items()
        if default is None and role in columns  # optional roles named as the role (segment, weight)
    }


def missing_roles(method: str, mapping: Mapping[str, Any]) -> list[str]:
    """Roles that need a column but have none (stated WTP needs an amount or at least one bound)."""
    if method == "choice":
        return [role for role in CHOICE_ROLES if not mapping.get(role)]
    if method == "stated":
        return (
            [] if any(mapping.get(r) for r in ("amount", "lower", "upper")) else ["amount (or lower/upper)"]
        )
    return [role for role, default in roles(method).items() if default is not None and not mapping.get(role)]


def _interval_model(method: str, columns: Mapping[str, str | None] | None = None):
    from pricing.wtp import METHOD_MODELS, survey_model

    if method not in METHOD_MODELS:
        raise PricingError(f"method {method!r}: not one of {', '.join(METHODS)}")
    return survey_model(method, dict(columns) if columns else None)


def classic(method: str, frame: pd.DataFrame, columns: Mapping[str, str | None]) -> dict[str, Any]:
    """The method's classic read-out, without sampling: Gabor-Granger table or Van Westendorp price points."""
    if method == "gabor_granger":
        from pricing.wtp.gabor_granger import gabor_granger_table

        result = gabor_granger_table(frame, dict(columns))
        return {"table": result.table, "best_price": result.best_price, "by_segment": result.by_segment}
    if method == "van_westendorp":
        from pricing.wtp.van_westendorp import psm_analysis

        def read_out(rows: pd.DataFrame) -> dict[str, Any]:
            result = psm_analysis(rows, dict(columns))
            return {
                "curves": result.curves,
                "points": {"pmc": result.pmc, "opp": result.opp, "idp": result.idp, "pme": result.pme},
                "n_valid": result.n_valid,
                "n_invalid": result.n_invalid,
            }

        pooled = read_out(frame)
        by_segment = {}
        column = columns.get("segment")
        if column and column in frame.columns:  # the fit is per segment: so is the classic read-out
            for name, rows in frame.groupby(frame[column].astype(str), sort=False):
                try:
                    by_segment[name] = read_out(rows)
                except PricingError:  # too few valid answers in this segment: the pooled one still shows
                    continue
        return pooled | {"by_segment": by_segment}
    return {}


def fit(
    method: str,
    frame: pd.DataFrame,
    columns: Mapping[str, Any],
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    label: str,
    fit_method: str = "nuts",
    random: tuple[str, ...] = (),
    space: str = "preference",
    price_distribution: str | None = None,
) -> dict[str, Any]:
    """Fit a survey and return the app's record of the fit (see the module docstring); `fit_method` is
    nuts (the posterior) or map (mode + Laplace approximation, a quick look); `space` and
    `price_distribution` are the choice model's (`pricing.wtp.choice.fit_choice`)."""
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]
    settings = (
        f"{method}|{sorted(columns.items())}|{draws}|{tune}|{chains}|{seed}|{fit_method}|{random}|{space}|"
        f"{price_distribution}"
    )
    key = hashlib.sha256(f"{digest}|{settings}".encode()).hexdigest()[:16]
    record: dict[str, Any] = {"label": label, "method": method, "key": key}
    if method == "choice":
        from pricing.wtp.choice import ChoiceModel
        from pricing.wtp.choice_data import ChoiceColumns

        spec = ChoiceColumns(
            id=columns["id"],
            task=columns["task"],
            alt=columns["alt"],
            choice=columns["choice"],
            price=columns["price"],
            attributes=tuple(columns.get("attributes") or ()),
            none_alt=columns.get("none_alt"),
            segment=columns.get("segment"),
            asc=bool(columns.get("asc")),
        )
        model = ChoiceModel(
            columns=spec, random=list(random) or None, space=space, price_distribution=price_distribution
        )
        with warnings.catch_warnings():  # the page shows the diagnostics and warnings itself
            warnings.simplefilter("ignore")
            model.fit(frame, fit_method, draws=draws, tune=tune, chains=chains, seed=seed)
        return record | _choice_record(model)
    model = _interval_model(method, {k: v for k, v in columns.items()})
    from pricing.wtp.posterior import SamplingWarning

    with warnings.catch_warnings():  # the page shows the diagnostics itself
        warnings.simplefilter("ignore", SamplingWarning)
        model.fit(frame, fit_method, draws=draws, tune=tune, chains=chains, seed=seed)
    return record | _interval_record(model, model.idata)


def _choice_record(model) -> dict[str, Any]:
    """The read-outs of a fitted (or loaded) choice model, for the page."""
    result = model.fitted_result()
    return {
        "idata": model.idata,
        "model": model,
        "diagnostics": result.diagnostics,
        "choice_fit": result,
        "attribute_wtp": result.wtp_summary().reset_index(),
        "warnings": result.warnings(),
    }


def _interval_record(model, idata) -> dict[str, Any]:
    """The read-outs of a fitted (or loaded) interval model, for the page."""
    record = {"idata": idata, "model": model, "diagnostics": model.diagnostics}
    record["summary"] = model.summary().reset_index()
    if model.model_type == "van_westendorp":
        record["price_points"] = model.price_points()
    return record


def demand(idata, prices: np.ndarray) -> pd.DataFrame:
    """Share of each segment's customers with WTP >= price (columns segment, price, q05, q50, q95)."""
    from pricing.wtp.stated import demand_curve

    curve = demand_curve(idata, prices)
    frame = (
        curve.to_dataframe()
        .reset_index()
        .pivot_table(index=["segment", "price"], columns="quantile", values=curve.name)
    )
    frame.columns = [f"q{int(round(100 * q)):02d}" for q in frame.columns]
    return frame.reset_index()


def price_range(idata) -> np.ndarray:
    """Prices spanning the fitted WTP distributions (from the 2nd to the 98th percentile), log-spaced."""
    mu = idata.posterior["wtp_log_median"].values
    sigma = idata.posterior["wtp_log_sd"].values
    low = float(np.exp(np.min(mu - 2.05 * sigma)))
    high = float(np.exp(np.max(mu + 2.05 * sigma)))
    return np.geomspace(low, high, 80)


def posterior_bytes(idata) -> bytes:
    """The fit as the netCDF posterior file `pricing` reads (via `save_posterior`)."""
    from pricing.wtp.posterior import save_posterior

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "posterior.nc"
        save_posterior(idata, path)
        return path.read_bytes()


def load_upload(name: str, data: bytes) -> dict[str, Any]:
    """A posterior file uploaded by the user, checked by `load_posterior` and loaded as its model
    (`WTPModel.from_idata`), as the app's record of a fit."""
    from pricing.wtp.model import WTPModel
    from pricing.wtp.posterior import load_posterior, metadata

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            idata = load_posterior(path)
        except DataError as error:
            raise DataError(str(error).replace(str(path), Path(name).name)) from None
    meta = metadata(idata)
    key = hashlib.sha256(data).hexdigest()[:16]
    record = {"label": f"{Path(name).name}", "method": meta["method"], "key": key, "idata": idata}
    record["diagnostics"] = meta.get("diagnostics") or {}
    model = WTPModel.from_idata(idata, Path(name).name)
    if meta["method"] == "choice":
        record |= _choice_record(model)
        if "wtp_log_median" in idata.posterior:
            from pricing.wtp.stated import wtp_summary

            record["summary"] = wtp_summary(idata).reset_index()
    else:
        record |= _interval_record(model, idata)
    return record
