"""Satisfaction surveys: does satisfaction pay? Churn and referral against satisfaction, per segment, and NPS.

Data: one row per customer with a satisfaction rating and, where known, what they did in the period after
the survey (one scenario period): whether they left (``churned``: yes/no, 1/0, true/false) and whether, or
how many customers, they referred (``referred``: yes/no or a count). Blank outcome cells mean "not known":
that customer is left out of that model only. Optional segment and weight columns.

Ratings are put on the simulator's satisfaction index (-100..100, `pricing.value.satisfaction_index`) by the
scale's midpoint and ends: the midpoint reads as "expectations exactly met" (0), the top as +100 and the
bottom as -100 (CSAT 1..5: ``S = 100 (r - 3) / 2``; 1..7: ``100 (r - 4) / 3``; likelihood to recommend
0..10: ``100 (r - 5) / 5``). With ``x = S / 100``, per segment s (the models of `pricing.dynamics`):

- churn: ``logit P(left) = a_s - k_s x``: churn odds are multiplied by ``exp(-k_s S / 100)``, so ``k_s`` is
  the dynamics' ``retention.satisfaction_effect`` and ``expit(a_s)`` the baseline churn at S = 0;
- referral: each customer wins ``Poisson(rate_s exp(r_s x))`` new customers per period; a yes/no answer is
  "at least one" (``P(yes) = 1 - exp(-rate_s exp(r_s x))``, the complementary log-log link), a count is the
  count. ``rate_s`` and ``r_s`` are the dynamics' ``referral.rate`` and ``referral.satisfaction_effect``.

Segments are partially pooled (non-centred normal hierarchies): ``a_s ~ Normal(mu_a, tau_a)``, ``k_s ~
Normal(mu_k, tau_k)``, likewise log rate_s and r_s, with ``mu_a ~ Normal(logit 0.05, 1.5)``, ``mu_log_rate
~ Normal(log 0.05, 1.5)``, effect means ``~ Normal(0, 2)`` and every between-segment sd
``tau ~ Gamma(2, 2 / 0.75)`` (mean 0.75, zero-avoiding: no funnel at tau -> 0)
(`DEFAULT_MODEL_CONFIG`, overridable, stored with the fit). Ratings are aggregated into (segment, rating)
cells, so the cost does not grow with the number of customers.

NPS (0..10 ratings only): promoters rate 9-10, detractors 0-6; ``NPS = 100 (share promoters - share
detractors)``. Its posterior is exact: the (detractor, passive, promoter) shares are Dirichlet(1 + weighted
counts) (a flat prior), drawn per posterior draw.

The posterior's variables are named like the dynamics' parameters (``retention_effect``, ``baseline_churn``,
``referral_rate``, ``referral_effect``; dims chain, draw, segment), so a scenario's ``dynamics`` can take
them; `dynamics_snippet` gives the 90% intervals in the form the ``dynamics:`` section reads today.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pricing.dims import SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp import data as survey

SCALES = {"1-5": (1, 5), "1-7": (1, 7), "0-10": (0, 10)}
ROLES = {
    "rating": "satisfaction",
    "churned": "churned",
    "referred": "referred",
    "segment": None,
    "weight": None,
}
DEFAULT_MODEL_CONFIG: dict[str, float] = {
    "baseline_churn": 0.05,
    "baseline_churn_sd": 1.5,
    "referral_rate": 0.05,
    "referral_rate_sd": 1.5,
    "effect_sd": 2.0,
    "segment_sd": 0.75,
}
DEFAULT_SAMPLER_CONFIG: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 2, "target_accept": 0.95}
METHOD = "satisfaction"
_YES = {"1", "yes", "y", "true", "t", "left", "churned"}
_NO = {"0", "no", "n", "false", "f", "stayed", "active"}


def satisfaction_index(rating: np.ndarray, scale: str) -> np.ndarray:
    """Ratings on `scale` as the simulator's satisfaction index (-100..100; the midpoint is 0)."""
    low, high = SCALES[scale]
    middle, half = (low + high) / 2, (high - low) / 2
    return 100.0 * (np.asarray(rating, dtype=float) - middle) / half


def infer_scale(rating: np.ndarray) -> str:
    """The smallest usual scale holding every rating (0 or above 7 means 0..10; above 5 means 1..7)."""
    low, high = float(np.min(rating)), float(np.max(rating))
    if low < 1 or high > 7:
        return "0-10"
    return "1-7" if high > 5 else "1-5"


@dataclass(frozen=True)
class SatisfactionData:
    """A satisfaction survey as read: per customer ``rating`` (on ``scale``), ``index`` (-100..100),
    ``churned`` (1/0, NaN = not known), ``referred`` (0/1 or a count, NaN = not known), ``segment`` codes
    into ``segments``, ``weight``; ``referral_counts`` says whether referrals are counts."""

    rating: np.ndarray
    scale: str
    churned: np.ndarray
    referred: np.ndarray
    referral_counts: bool
    segment: np.ndarray
    segments: list[str]
    weight: np.ndarray
    columns: dict[str, str]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> np.ndarray:
        return satisfaction_index(self.rating, self.scale)


def _outcome(frame: pd.DataFrame, column: str, label: str, counts_allowed: bool) -> tuple[np.ndarray, bool]:
    cells = frame[column].str.lower()
    values = np.full(len(frame), np.nan)
    values[cells.isin(_YES).to_numpy()] = 1.0
    values[cells.isin(_NO).to_numpy()] = 0.0
    other = ~cells.isin(_YES | _NO | {""}).to_numpy()
    counts = False
    if other.any():
        numbers = pd.to_numeric(frame[column].where(other, None), errors="coerce").to_numpy(dtype=float)
        whole = np.isfinite(numbers) & (numbers >= 0) & (numbers == np.round(numbers)) & (numbers <= 1e6)
        bad = np.flatnonzero(other & ~whole)
        if bad.size or not counts_allowed:
            rows = bad if bad.size else np.flatnonzero(other)
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(frame[column].iloc[rows]))[:3])
            what = "yes/no or a whole number >= 0" if counts_allowed else "yes/no (or 1/0)"
            raise DataError(
                f"{label}: column {column!r}: {survey.line_list(rows)} are not {what} (got {shown})"
            )
        values[other] = numbers[other]
        counts = True
    return values, counts


def read_satisfaction(
    source: str | os.PathLike | pd.DataFrame, columns: Mapping[str, str | None] | None = None, scale=None
) -> tuple[SatisfactionData, str]:
    """Read a satisfaction survey; returns the data and its SHA-256. `scale`: "1-5", "1-7", "0-10" or None
    (inferred from the ratings, see `infer_scale`)."""
    frame, label, sha256 = survey.read_survey(source)
    resolved = survey.resolve_columns(columns, ROLES)
    user = dict(columns or {})
    for role in ("churned", "referred"):  # default outcome columns the file lacks are simply not used
        if role not in user and resolved[role] not in frame.columns:
            resolved[role] = None
    survey.require_columns(frame, resolved, label)
    if resolved["churned"] is None and resolved["referred"] is None:
        known = ", ".join(repr(c) for c in frame.columns)
        raise DataError(
            f"{label}: no outcome column: expected 'churned' (left or stayed) and/or 'referred'; the file "
            f"has columns {known}"
        )
    rating = survey.numeric_column(frame, resolved["rating"], label, allow_blank=True)
    if scale is not None and scale not in SCALES:
        raise PricingError(f"scale: {scale!r} is not one of {', '.join(SCALES)}")
    known_rating = np.isfinite(rating)
    if not known_rating.any():
        raise DataError(f"{label}: column {resolved['rating']!r}: no ratings")
    scale = scale or infer_scale(rating[known_rating])
    low, high = SCALES[scale]
    outside = known_rating & ((rating < low) | (rating > high) | (rating != np.round(rating)))
    if outside.any():
        rows = np.flatnonzero(outside)
        raise DataError(
            f"{label}: column {resolved['rating']!r}: {survey.line_list(rows)} are not whole ratings "
            f"{low}..{high} (got {', '.join(repr(v) for v in frame[resolved['rating']].iloc[rows[:3]])})"
        )
    n = len(frame)
    churned = (
        _outcome(frame, resolved["churned"], label, False)[0] if resolved["churned"] else np.full(n, np.nan)
    )
    referred, counts = (
        _outcome(frame, resolved["referred"], label, True)
        if resolved["referred"]
        else (np.full(n, np.nan), False)
    )
    if not (np.isfinite(churned[known_rating]).any() or np.isfinite(referred[known_rating]).any()):
        used = " and ".join(repr(resolved[r]) for r in ("churned", "referred") if resolved[r])
        raise DataError(f"{label}: column(s) {used}: no known outcome (every cell beside a rating is blank)")
    weight = survey.weight_column(frame, resolved["weight"], label) if resolved["weight"] else np.ones(n)
    keep = known_rating
    codes, segments = survey.segment_codes(survey.label_column(frame, resolved["segment"], label)[keep])
    survey.check_fit_segments(segments, resolved["segment"], label)
    data = SatisfactionData(
        rating=rating[keep],
        scale=scale,
        churned=churned[keep],
        referred=referred[keep],
        referral_counts=counts,
        segment=codes,
        segments=segments,
        weight=weight[keep],
        columns={k: v for k, v in resolved.items() if v is not None},
        notes={
            "dropped_no_rating": int((~keep).sum()),
            "churn_known": int(np.isfinite(churned[keep]).sum()),
            "referral_known": int(np.isfinite(referred[keep]).sum()),
        },
    )
    return data, sha256


def _cells(data: SatisfactionData, outcome: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted totals per (segment, rating) cell of customers whose `outcome` is known."""
    known = np.isfinite(outcome)
    frame = pd.DataFrame(
        {
            "segment": data.segment[known],
            "x": data.index[known] / 100.0,
            "w": data.weight[known],
            "wy": data.weight[known] * outcome[known],
        }
    )
    grouped = frame.groupby(["segment", "x"], as_index=False)[["w", "wy"]].sum()
    return {
        "segment": grouped.segment.to_numpy(dtype=int),
        "x": grouped.x.to_numpy(dtype=float),
        "n": grouped.w.to_numpy(dtype=float),
        "y": grouped.wy.to_numpy(dtype=float),
    }


def nps_counts(data: SatisfactionData) -> np.ndarray | None:
    """Weighted (detractor, passive, promoter) counts per segment, or None when the scale is not 0..10."""
    if data.scale != "0-10":
        return None
    group = np.where(data.rating <= 6, 0, np.where(data.rating <= 8, 1, 2))
    flat = data.segment * 3 + group
    return np.bincount(flat, weights=data.weight, minlength=3 * len(data.segments)).reshape(-1, 3)


def nps_draws(counts: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Posterior draws of NPS (draws, segment) from (segment, 3) counts, flat Dirichlet prior."""
    gammas = rng.standard_gamma(1.0 + counts[None], size=(draws, *counts.shape))
    shares = gammas / gammas.sum(axis=-1, keepdims=True)
    return 100.0 * (shares[..., 2] - shares[..., 0])


def _pooled(pm, name: str, center: float, center_sd: float, segment_sd: float, dims: str):
    """Segment values mean + tau z (non-centred), mean ~ Normal(center, center_sd), tau ~ Gamma."""
    mean = pm.Normal(f"{name}_mean", mu=center, sigma=center_sd)
    # zero-avoiding (Gamma(2, 2 / segment_sd), mean segment_sd): keeps NUTS out of the funnel at tau -> 0
    tau = pm.Gamma(f"{name}_segment_sd", alpha=2.0, beta=2.0 / segment_sd)
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
    return pm.Deterministic(name, mean + tau * z, dims=dims)


class SatisfactionModel:
    """Churn and referral against satisfaction, per segment (see the module docstring).

    Parameters
    ----------
    columns : dict, optional
        Role -> column: ``rating`` ("satisfaction"), ``churned`` ("churned"), ``referred`` ("referred"),
        ``segment`` and ``weight`` (none).
    scale : "1-5", "1-7", "0-10" or None (inferred).
    model_config, sampler_config : dict, optional
        Over `DEFAULT_MODEL_CONFIG` and `DEFAULT_SAMPLER_CONFIG`.
    """

    def __init__(self, columns=None, scale=None, model_config=None, sampler_config=None):
        self.columns = columns
        self.scale = scale
        self.model_config = model_config
        self.sampler_config = sampler_config
        self.idata = None

    def resolved_model_config(self) -> dict[str, float]:
        resolved = survey.merged_config("model_config", self.model_config, DEFAULT_MODEL_CONFIG)
        for key, value in resolved.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise PricingError(f"model_config: {key} must be a finite number (got {value!r})")
            if value <= 0 or (key in ("baseline_churn", "referral_rate") and value >= 1):
                raise PricingError(f"model_config: {key} is out of range (got {value!r})")
        return {k: float(v) for k, v in resolved.items()}

    def build_model(self, data: SatisfactionData, config: Mapping[str, float]):
        """The PyMC model: a churn logit and a referral cloglog (or Poisson) model on (segment, rating)."""
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model(coords={SEGMENT: data.segments}) as model:
            if np.isfinite(data.churned).any():
                cells = _cells(data, data.churned)
                a = _pooled(
                    pm,
                    "churn_logit",
                    math.log(config["baseline_churn"] / (1 - config["baseline_churn"])),
                    config["baseline_churn_sd"],
                    config["segment_sd"],
                    SEGMENT,
                )
                k = _pooled(pm, "retention_effect", 0.0, config["effect_sd"], config["segment_sd"], SEGMENT)
                pm.Deterministic("baseline_churn", pm.math.sigmoid(a), dims=SEGMENT)
                eta = a[cells["segment"]] - k[cells["segment"]] * cells["x"]
                # y log p + (n - y) log(1 - p), with log p = -softplus(-eta), log(1 - p) = -softplus(eta)
                pm.Potential(
                    "churn_loglik",
                    pt.sum(-cells["y"] * pt.softplus(-eta) - (cells["n"] - cells["y"]) * pt.softplus(eta)),
                )
            if np.isfinite(data.referred).any():
                cells = _cells(data, data.referred)
                log_rate = _pooled(
                    pm,
                    "referral_log_rate",
                    math.log(config["referral_rate"]),
                    config["referral_rate_sd"],
                    config["segment_sd"],
                    SEGMENT,
                )
                r = _pooled(pm, "referral_effect", 0.0, config["effect_sd"], config["segment_sd"], SEGMENT)
                pm.Deterministic("referral_rate", pt.exp(log_rate), dims=SEGMENT)
                rate = pt.exp(log_rate[cells["segment"]] + r[cells["segment"]] * cells["x"])
                if data.referral_counts:  # Poisson counts: y log(rate) - n rate
                    loglik = pt.sum(cells["y"] * pt.log(rate) - cells["n"] * rate)
                else:  # at least one referral: P = 1 - exp(-rate)
                    loglik = pt.sum(cells["y"] * pt.log1mexp(-rate) - (cells["n"] - cells["y"]) * rate)
                pm.Potential("referral_loglik", loglik)
        return model

    def fit(self, source, *, seed: int = 0, progressbar: bool = False):
        """Read, sample (nutpie), add the NPS posterior, check the sampler; the posterior is `self.idata`."""
        from pricing.wtp.kano import _json
        from pricing.wtp.posterior import diagnose, sample_nuts, sampler_settings

        config = self.resolved_model_config()
        sampler = sampler_settings(self.sampler_config, DEFAULT_SAMPLER_CONFIG)
        data, sha256 = read_satisfaction(source, self.columns, self.scale)
        idata = sample_nuts(self.build_model(data, config), sampler, seed, progressbar)
        checked = [v for v in idata.posterior.data_vars if not v.endswith("_z")]
        diagnostics = diagnose(idata, checked)
        counts = nps_counts(data)
        if counts is not None:
            chains, draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
            nps = nps_draws(counts, chains * draws, np.random.default_rng(seed)).reshape(chains, draws, -1)
            idata.posterior["nps"] = (("chain", "draw", SEGMENT), nps)
        idata.add_groups(constant_data=_customer_data(data))
        idata.posterior.attrs.update(
            pricing_format="pricing-wtp-posterior/1",
            method=METHOD,
            columns=_json(data.columns),
            data_sha256=sha256,
            priors=_json(config),
            diagnostics=_json(diagnostics),
            scale=data.scale,
            referral_counts=int(data.referral_counts),
            data_notes=_json(data.notes),
            seed=seed,
        )
        self.idata = idata
        return idata

    def save(self, path: str | os.PathLike) -> None:
        """Write the fit as netCDF (atomically); a scenario's dynamics can point to it."""
        from pricing.wtp.posterior import save_posterior

        if self.idata is None:
            raise PricingError("SatisfactionModel: call fit() first")
        save_posterior(self.idata, path)

    def summary(self) -> dict[str, Any]:
        return satisfaction_summary(self.idata)


def _customer_data(data: SatisfactionData) -> xr.Dataset:
    names = np.asarray(data.segments, dtype=object)[data.segment].astype(str)
    return xr.Dataset(
        {
            "rating": ("customer", data.rating),
            "churned": ("customer", data.churned),
            "referred": ("customer", data.referred),
            "weight": ("customer", data.weight),
            "customer_segment": ("customer", names),
        }
    )


def load_satisfaction_posterior(path: str | os.PathLike):
    """Read a saved satisfaction fit; `DataError` naming the file when it is not one."""
    from pricing.wtp.posterior import load_posterior

    return load_posterior(path, METHOD)


SUMMARISED = ("retention_effect", "baseline_churn", "referral_rate", "referral_effect", "nps")


def _stats(values: np.ndarray) -> dict[str, float]:
    q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    return {"mean": float(values.mean()), "q05": float(q05), "q50": float(q50), "q95": float(q95)}


def classic_nps(idata) -> dict[str, float | None]:
    """Per segment, the NPS of the answers themselves (weighted), or None without 0..10 ratings."""
    if idata.posterior.attrs.get("scale") != "0-10":
        return {}
    data = idata.constant_data
    result = {}
    for segment in [str(s) for s in idata.posterior[SEGMENT].values]:
        mask = data["customer_segment"].values.astype(str) == segment
        rating, weight = data["rating"].values[mask], data["weight"].values[mask]
        total = weight.sum()
        result[segment] = float(100 * (weight[rating >= 9].sum() - weight[rating <= 6].sum()) / total)
    return result


def satisfaction_summary(idata) -> dict[str, Any]:
    """Per segment: the effect of satisfaction on churn (``retention_effect``, k) and referral, the baseline
    churn and referral rate, NPS (posterior and of the answers), each as mean, q05, q50, q95; plus the
    sampler diagnostics, the scale and the data notes. Strict JSON."""
    from pricing.wtp.kano import kano_metadata

    posterior = idata.posterior
    meta = kano_metadata(idata)
    nps = classic_nps(idata)
    segments = {}
    for segment in [str(s) for s in posterior[SEGMENT].values]:
        record = {}
        for name in SUMMARISED:
            if name in posterior:
                record[name] = _stats(posterior[name].sel({SEGMENT: segment}).values.ravel())
        if segment in nps:
            record["nps_answers"] = nps[segment]
        segments[segment] = record
    diagnostics = meta.get("diagnostics") or {}
    return {
        "segments": segments,
        "scale": meta.get("scale"),
        "diagnostics": {
            k: diagnostics.get(k)
            for k in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ok", "problems")
        },
        "notes": meta.get("data_notes") or {},
        "dynamics": dynamics_snippet(idata),
    }


def dynamics_snippet(idata) -> dict[str, Any]:
    """The fit as a scenario ``dynamics:`` section's per-segment entries: 90% intervals as ranges
    ``[q05, q95]`` (the section draws a range uniformly per draw); only what the fit measured."""
    posterior = idata.posterior
    segments = {}
    for segment in [str(s) for s in posterior[SEGMENT].values]:

        def interval(name: str, low: float = -20.0, high: float = 20.0, segment=segment) -> list[float]:
            values = posterior[name].sel({SEGMENT: segment}).values.ravel()
            q05, q95 = np.quantile(values, [0.05, 0.95])
            return [round(float(np.clip(q05, low, high)), 4), round(float(np.clip(q95, low, high)), 4)]

        entry: dict[str, Any] = {}
        if "retention_effect" in posterior:
            entry["retention"] = {
                "churn": interval("baseline_churn", 0.0, 0.9999),
                "satisfaction_effect": interval("retention_effect"),
            }
        if "referral_effect" in posterior:
            entry["referral"] = {
                "rate": interval("referral_rate", 0.0, 1.0),
                "satisfaction_effect": interval("referral_effect"),
            }
        segments[segment] = entry
    return {"segments": segments}


def format_summary(idata) -> str:
    """Lines for people: per segment the effects with 90% intervals, NPS, then the sampler diagnostics."""
    from pricing.wtp.posterior import format_diagnostics

    summary = satisfaction_summary(idata)

    def shown(stats: dict[str, float], fmt: str) -> str:
        return f"{stats['mean']:{fmt}} [{stats['q05']:{fmt}}, {stats['q95']:{fmt}}]"

    lines = [f"satisfaction scale {summary['scale']} (midpoint = 0, top = +100 on the simulator's index)"]
    for segment, record in summary["segments"].items():
        parts = []
        if "retention_effect" in record:
            parts.append(
                f"churn at satisfaction 0 {shown(record['baseline_churn'], '.1%')}, "
                f"k (churn odds x exp(-k S/100)) {shown(record['retention_effect'], '.2f')}"
            )
        if "referral_effect" in record:
            parts.append(
                f"referrals per customer at 0 {shown(record['referral_rate'], '.3f')}, "
                f"effect {shown(record['referral_effect'], '.2f')}"
            )
        if "nps" in record:
            parts.append(f"NPS {shown(record['nps'], '.0f')} (answers {record['nps_answers']:.0f})")
        lines.append(f"  {segment}: " + "; ".join(parts))
    lines.append("intervals: 90% posterior; sampler: " + format_diagnostics(json_diagnostics(idata)))
    return "\n".join(lines)


def json_diagnostics(idata) -> dict[str, Any]:
    return json.loads(idata.posterior.attrs["diagnostics"])


def fit_link(scenario, idata, file: str) -> tuple[dict[str, Any], list[str]]:
    """Changes (for `pricing.scenario.with_changes`) that make each scenario segment the fit knows take its
    retention and referral from the fit saved as `file` (``churn``, ``satisfaction_effect`` and ``rate``:
    ``{posterior: file}``, drawn jointly), and notes. `pricing.bundle.with_fit` saves the fit beside the
    scenario."""
    from pricing.wtp.parameters import shared_segments

    posterior = idata.posterior
    fitted = [str(s) for s in posterior[SEGMENT].values]
    names = [s.name for s in scenario.segments]
    shared = shared_segments(scenario, posterior, "satisfaction")
    ref = {"posterior": file}
    parts = {}
    if "retention_effect" in posterior:
        parts["retention"] = {"churn": ref, "satisfaction_effect": ref}
    if "referral_effect" in posterior:
        parts["referral"] = {"rate": ref, "satisfaction_effect": ref}
    changes = {f"dynamics.segments.{n}.{part}": value for n in shared for part, value in parts.items()}
    notes = [f"{' and '.join(parts)} from the fit: {', '.join(shared)}"]
    unmatched = [n for n in fitted if n not in names]
    if unmatched:
        notes.append(f"fit segment(s) {', '.join(unmatched)} are not in the scenario, left out")
    return changes, notes
