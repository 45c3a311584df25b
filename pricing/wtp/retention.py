"""Retention from cohort data: the shifted-beta-geometric (sBG) model of Fader & Hardie (2007).

Each customer churns at the end of every period with their own probability ``theta``, constant over time;
across the segment's customers ``theta ~ Beta(alpha, beta)``. A cohort's retention rate therefore rises over
time as its least loyal customers leave. Period convention (Fader & Hardie 2007, eqs. 5-7): period 0 is
acquisition, so the survivor function counts renewals t = 0, 1, 2, ...::

    S(t)      = B(alpha, beta + t) / B(alpha, beta)                 S(0) = 1
    P(T = t)  = B(alpha + 1, beta + t - 1) / B(alpha, beta)         t >= 1: lost in period t
    r(t)      = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)   t >= 1

pymc-marketing's `ShiftedBetaGeoModel` writes the same rate as ``(beta + T + t - 1) / (alpha + beta + T + t
- 1)`` with ``T >= 1`` periods already observed and its distribution's support starting at 1: its first
period is our period 1 (the first renewal), which is the difference by one. We use Fader & Hardie's t.

The discounted expected lifetime of a new customer paying at the start of each period while active (the
CLV per unit margin, `pricing.dynamics`' convention) is ``sum_{t>=0} S(t) / (1 + d)^t = 2F1(1, beta; alpha +
beta; 1 / (1 + d))``; pymc-marketing's `expected_residual_lifetime` (Fader & Hardie 2010) is the same sum for
a customer who has renewed ``T - 1`` times, from the next period on.

Data: one row per cohort and period, the period number from 0 and the customers of the cohort still active
(optional segment and cohort columns). Cohorts of a segment share its (alpha, beta); segments are partially
pooled on the log scale::

    log alpha_s ~ Normal(mu_alpha, sd_alpha),  log beta_s ~ Normal(mu_beta, sd_beta)
    mu_alpha ~ Normal(0, 1.5)  mu_beta ~ Normal(1, 1.5)  sd_alpha, sd_beta ~ HalfNormal(0.5)

(`DEFAULT_PRIORS`, overridable). ``method="map"`` is a quick look: the posterior mode of the same model
without pooling (each segment under the population priors; the pooled mode is degenerate as the sds run to
0) and a Laplace approximation around it; it does not sample, and says so in its diagnostics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1

import pricing
from pricing.dims import CHAIN, DRAW, PERIOD, SEGMENT
from pricing.errors import DataError
from pricing.wtp.data import (
    label_column,
    line_list,
    numeric_column,
    read_survey,
    require_columns,
    resolve_columns,
    segment_codes,
)
from pricing.wtp.posterior import diagnose

FORMAT = "pricing-retention-posterior/1"
ROLES = {"period": "period", "active": "active", "segment": None, "cohort": None}
DEFAULT_PRIORS = {
    "mu_log_alpha": {"mu": 0.0, "sigma": 1.5},
    "mu_log_beta": {"mu": 1.0, "sigma": 1.5},
    "sd_log_alpha": {"sigma": 0.5},
    "sd_log_beta": {"sigma": 0.5},
}
MAX_PERIODS = 1000
QUANTILES = (0.05, 0.5, 0.95)


# ---- closed forms --------------------------------------------------------------------------------------


def survival(alpha, beta, t):
    """S(t) = B(alpha, beta + t) / B(alpha, beta): share of a cohort still active after t periods."""
    return np.exp(betaln(alpha, np.add(beta, t)) - betaln(alpha, beta))


def retention_rate(alpha, beta, t):
    """r(t) = (beta + t - 1) / (alpha + beta + t - 1), t >= 1: share of period t - 1's customers staying."""
    return (np.add(beta, t) - 1) / (np.add(np.add(alpha, beta), t) - 1)


def churn_probability(alpha, beta, t):
    """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t >= 1: share of a cohort lost in period t."""
    return np.exp(betaln(np.add(alpha, 1), np.add(beta, t) - 1) - betaln(alpha, beta))


def discounted_expected_lifetime(alpha, beta, discount_rate, horizon: int | None = None):
    """Expected discounted periods a new customer is active, paying at the start of each one: the sum over
    t < horizon of S(t) / (1 + d)^t; without a horizon, 2F1(1, beta; alpha + beta; 1 / (1 + d)) (d > 0)."""
    if horizon is None:
        return hyp2f1(1.0, beta, np.add(alpha, beta), 1.0 / (1.0 + np.asarray(discount_rate)))
    t = np.arange(horizon)
    alpha, beta, d = (np.asarray(x, dtype=float)[..., None] for x in (alpha, beta, discount_rate))
    return (survival(alpha, beta, t) / (1.0 + d) ** t).sum(axis=-1)


# ---- data ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohorts:
    """Cohort survival counts reduced to the sBG likelihood's sufficient statistics, per segment.

    ``lost[s, t - 1]``: customers of segment s lost in period t (t = 1..T); ``censored[s, t - 1]``: customers
    still active at the last observed period t of their cohort. ``observed`` is the tidy table read.
    """

    segments: list[str]
    lost: np.ndarray
    censored: np.ndarray
    observed: pd.DataFrame
    columns: dict[str, str | None]
    data_sha256: str


def read_cohorts(source, columns: Mapping[str, str | None] | None = None) -> Cohorts:
    """Read cohort counts (a CSV path or a frame); `DataError` naming the column and lines when invalid."""
    roles = resolve_columns(columns, ROLES)
    frame, label, sha = read_survey(source)
    require_columns(frame, roles, label)
    if frame.empty:
        raise DataError(f"{label}: no rows")
    period = numeric_column(frame, roles["period"], label, minimum=0)
    active = numeric_column(frame, roles["active"], label, minimum=0)
    for name, values in (("period", period), ("active", active)):
        fractional = np.flatnonzero(values != np.round(values))
        if fractional.size:
            raise DataError(f"{label}: column {roles[name]!r}: {line_list(fractional)} are not whole numbers")
    if period.max() > MAX_PERIODS:
        raise DataError(f"{label}: column {roles['period']!r}: periods above {MAX_PERIODS} are not supported")
    segment = label_column(frame, roles["segment"], label)
    cohort = label_column(frame, roles["cohort"], label, default="cohort")
    codes, names = segment_codes(segment)
    observed = pd.DataFrame(
        {"segment": segment.astype(str), "cohort": cohort.astype(str), "period": period, "active": active}
    )
    horizon = int(period.max())
    if horizon < 1:
        raise DataError(f"{label}: column {roles['period']!r}: need periods after 0 to see anyone leave")
    lost = np.zeros((len(names), horizon))
    censored = np.zeros((len(names), horizon))
    for (seg, coh), rows in observed.groupby(["segment", "cohort"], sort=False):
        rows = rows.sort_values("period")
        where = f"{label}: segment {seg!r}, cohort {coh!r}"
        periods = rows["period"].to_numpy(dtype=int)
        if periods[0] != 0 or not np.array_equal(periods, np.arange(len(periods))):
            raise DataError(f"{where}: periods must run 0, 1, 2, ... without gaps or repeats")
        counts = rows["active"].to_numpy()
        if counts[0] <= 0:
            raise DataError(f"{where}: the cohort has no customers in period 0")
        rising = np.flatnonzero(np.diff(counts) > 0)
        if rising.size:
            raise DataError(
                f"{where}: customers rise at {line_list(rows.index[rising + 1])}: a cohort only shrinks"
            )
        s = names.index(seg)
        lost[s, : len(counts) - 1] += -np.diff(counts)
        if len(counts) > 1:
            censored[s, len(counts) - 2] += counts[-1]
    return Cohorts(names, lost, censored, observed, dict(roles), sha)


# ---- the model -----------------------------------------------------------------------------------------


def _log_likelihood(log_alpha, log_beta, cohorts: Cohorts):
    """sBG log likelihood of the sufficient statistics, in PyTensor (log_alpha, log_beta: (segment,))."""
    import pytensor.tensor as pt

    alpha, beta = pt.exp(log_alpha)[:, None], pt.exp(log_beta)[:, None]
    t = np.arange(1, cohorts.lost.shape[1] + 1)[None, :]

    def lbeta(a, b):
        return pt.gammaln(a) + pt.gammaln(b) - pt.gammaln(a + b)

    base = lbeta(alpha, beta)
    lost = cohorts.lost * (lbeta(alpha + 1, beta + t - 1) - base)
    kept = cohorts.censored * (lbeta(alpha, beta + t) - base)
    return pt.sum(lost) + pt.sum(kept)


def build_model(cohorts: Cohorts, priors: Mapping[str, Any], pooled: bool = True):
    """The PyMC model: per-segment log alpha and log beta, partially pooled (or not, for the mode)."""
    import pymc as pm

    with pm.Model(coords={SEGMENT: cohorts.segments}) as model:
        logs = {}
        for name in ("alpha", "beta"):
            center = priors[f"mu_log_{name}"]
            if pooled:
                mu = pm.Normal(f"mu_log_{name}", **center)
                sd = pm.HalfNormal(f"sd_log_{name}", **priors[f"sd_log_{name}"])
                # centred: cohort data are usually plentiful per segment, where the non-centred form diverges
                logs[name] = pm.Normal(f"log_{name}", mu, sd, dims=SEGMENT)
            else:  # each segment under the population prior alone
                logs[name] = pm.Normal(f"log_{name}", center["mu"], center["sigma"], dims=SEGMENT)
            pm.Deterministic(name, pm.math.exp(logs[name]), dims=SEGMENT)
        pm.Potential("sbg_likelihood", _log_likelihood(logs["alpha"], logs["beta"], cohorts))
    return model


def _resolve_priors(priors: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    merged = {k: dict(v) for k, v in DEFAULT_PRIORS.items()}
    for key, value in (priors or {}).items():
        if key not in merged:
            raise DataError(f"priors: unknown prior {key!r} (known: {', '.join(merged)})")
        if not isinstance(value, Mapping) or set(value) - set(merged[key]):
            raise DataError(f"priors.{key}: give {{{', '.join(merged[key])}}} as numbers")
        for field, number in value.items():
            if not isinstance(number, (int, float)) or isinstance(number, bool) or not np.isfinite(number):
                raise DataError(f"priors.{key}.{field}: must be a number (got {number!r})")
            if field == "sigma" and number <= 0:
                raise DataError(f"priors.{key}.sigma: must be > 0 (got {number!r})")
            merged[key][field] = float(number)
    return merged


@dataclass
class RetentionFit:
    """A fitted sBG retention posterior: ``idata.posterior`` has ``alpha`` and ``beta`` (chain, draw,
    segment); the file's attrs record the format, columns, data hash, priors, method and diagnostics."""

    idata: az.InferenceData
    cohorts: Cohorts | None = None

    @property
    def segments(self) -> list[str]:
        return [str(s) for s in self.idata.posterior[SEGMENT].values]

    @property
    def diagnostics(self) -> dict[str, Any]:
        return json.loads(self.idata.posterior.attrs["diagnostics"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the posterior as netCDF, atomically."""
        from pricing.io import atomic_output

        path = Path(path)
        if not path.parent.is_dir():
            raise DataError(f"{path}: folder {str(path.parent)!r} does not exist")
        with atomic_output(path) as tmp:
            self.idata.to_netcdf(tmp)
        return path

    def curves(self, horizon: int) -> Any:
        """Survival S(t) and retention r(t) draws for t = 0..horizon (retention NaN at t = 0), as xarray."""
        import xarray as xr

        t = xr.DataArray(np.arange(horizon + 1), dims=PERIOD, coords={PERIOD: np.arange(horizon + 1)})
        alpha, beta = self.idata.posterior["alpha"], self.idata.posterior["beta"]
        rate = xr.where(t >= 1, retention_rate(alpha, beta, t), np.nan)
        return xr.Dataset({"survival": survival(alpha, beta, t), "retention": rate})

    def summary_dict(self, horizon: int = 12) -> dict[str, Any]:
        """Per segment: alpha and beta, and survival and retention per period up to `horizon`, each as
        {mean, q05, q50, q95}; plus the method and the sampler diagnostics. Strict JSON (NaN -> null)."""
        posterior = self.idata.posterior
        curves = self.curves(horizon)

        def stats(values) -> dict[str, float | None]:
            flat = np.asarray(values, dtype=float).reshape(-1)
            if not np.isfinite(flat).all():
                return {"mean": None, "q05": None, "q50": None, "q95": None}
            q = np.quantile(flat, QUANTILES)
            return {"mean": float(flat.mean()), "q05": float(q[0]), "q50": float(q[1]), "q95": float(q[2])}

        segments = {}
        for name in self.segments:
            pick = {SEGMENT: name}
            segments[name] = {
                "alpha": stats(posterior["alpha"].sel(pick)),
                "beta": stats(posterior["beta"].sel(pick)),
                "survival": [stats(curves.survival.sel(pick).isel({PERIOD: t})) for t in range(horizon + 1)],
                "retention": [
                    stats(curves.retention.sel(pick).isel({PERIOD: t})) for t in range(horizon + 1)
                ],
            }
        return {
            "method": posterior.attrs.get("fit_method"),
            "periods": list(range(horizon + 1)),
            "segments": segments,
            "diagnostics": self.diagnostics,
        }

    def report(self, horizon: int = 12) -> str:
        """A short text summary: alpha, beta and the retention curve per segment [90% intervals]."""
        summary = self.summary_dict(horizon)
        lines = [f"shifted-beta-geometric retention ({summary['method']}); period 0 = acquisition"]
        for name, s in summary["segments"].items():
            a, b = s["alpha"], s["beta"]
            lines.append(
                f"{name}: alpha {a['q50']:.3g} [{a['q05']:.3g}, {a['q95']:.3g}], "
                f"beta {b['q50']:.3g} [{b['q05']:.3g}, {b['q95']:.3g}]"
            )
            for t in range(1, horizon + 1):
                r, surv = s["retention"][t], s["survival"][t]
                lines.append(
                    f"  period {t:>3}: retention {r['mean']:.1%} [{r['q05']:.1%}, {r['q95']:.1%}], "
                    f"survival {surv['mean']:.1%} [{surv['q05']:.1%}, {surv['q95']:.1%}]"
                )
        diagnostics = summary["diagnostics"]
        if not diagnostics.get("ok", True):
            lines.append("WARNING: sampling problems: " + "; ".join(diagnostics.get("problems", [])))
        if diagnostics.get("note"):
            lines.append(diagnostics["note"])
        return "\n".join(lines)


def fit_retention(
    source,
    columns: Mapping[str, str | None] | None = None,
    priors: Mapping[str, Any] | None = None,
    *,
    method: str = "nuts",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
) -> RetentionFit:
    """Fit the sBG model to cohort survival counts (see the module docstring); ``method`` nuts or map."""
    from pricing.wtp.choice import _laplace, _sample_nuts

    if method not in ("nuts", "map"):
        raise DataError(f"method {method!r}: use 'nuts' or 'map'")
    if draws < 1 or chains < 1:
        raise DataError("draws and chains must be at least 1")
    cohorts = read_cohorts(source, columns)
    resolved = _resolve_priors(priors)
    model = build_model(cohorts, resolved, pooled=method == "nuts")
    if method == "nuts":
        idata = _sample_nuts(model, draws, tune, chains, seed, None, "nutpie")
        diagnostics = diagnose(idata, ["alpha", "beta"], warn=True)
    else:
        idata, _ = _laplace(model, draws, chains, seed)  # free variables only: add the deterministics
        for name in ("alpha", "beta"):
            idata.posterior[name] = np.exp(idata.posterior[f"log_{name}"])
        diagnostics = {
            "ok": True,
            "problems": [],
            "note": "method map: Laplace approximation at the posterior mode, not sampled",
        }
    posterior = idata.posterior[["alpha", "beta"]].transpose(CHAIN, DRAW, SEGMENT)
    result = az.InferenceData(posterior=posterior)
    result.posterior.attrs.update(
        pricing_format=FORMAT,
        method="retention",
        fit_method=method,
        columns=json.dumps(cohorts.columns),
        data_sha256=cohorts.data_sha256,
        pricing_version=pricing.__version__,
        priors=json.dumps(resolved),
        diagnostics=json.dumps(diagnostics, default=float),
    )
    return RetentionFit(result, cohorts)


def load_retention(path: str | os.PathLike) -> RetentionFit:
    """Read a saved retention posterior; `DataError` naming the file when it is not one."""
    from pricing.wtp.posterior import load_posterior

    return RetentionFit(load_posterior(path, "retention"))


def retention_draws(
    path, segment: str, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`draws` joint (alpha, beta) draws of one segment from a saved posterior (resampled with `rng` when the
    file holds a different number)."""
    posterior = load_retention(path).idata.posterior
    known = [str(s) for s in posterior[SEGMENT].values]
    if segment not in known:
        raise DataError(
            f"{path}: no segment {segment!r} in the retention posterior (has: {', '.join(known)})"
        )
    alpha = posterior["alpha"].sel({SEGMENT: segment}).values.reshape(-1)
    beta = posterior["beta"].sel({SEGMENT: segment}).values.reshape(-1)
    index = (
        np.arange(alpha.size)
        if draws == alpha.size
        else rng.choice(alpha.size, draws, replace=draws > alpha.size)
    )
    return alpha[index], beta[index]
