"""Stated WTP surveys, and the interval-censored hierarchical lognormal model all survey methods share.

Each respondent's answer bounds their WTP (currency): an exact amount ``w`` (lower = upper = w), an interval
``[lower, upper)`` ("between 50 and 100"), or an interval open at one end ("below 50": lower = 0; "above
100": upper = inf). Gabor-Granger and Van Westendorp turn their answers into the same kind of bounds.

Model (per segment s, customers' log WTP ~ Normal(mu_s, sigma_s); the likelihood is marginal, in closed form,
with no latent variable per respondent):

- exact amount w: lognormal density, log f = log phi((log w - mu_s) / sigma_s) - log sigma_s - log w;
- interval [a, b): log(Phi((log b - mu_s)/sigma_s) - Phi((log a - mu_s)/sigma_s));
- open below (a = 0): log Phi((log b - mu_s)/sigma_s);
- open above (b = inf): log(1 - Phi((log a - mu_s)/sigma_s)).

Respondents with identical bounds are aggregated (their weights summed), exact amounts enter through
weighted sufficient statistics, so the cost does not grow with the number of respondents.

Priors (hierarchical, partially pooling the segments; every number is overridable through ``priors``):

- segment log-medians mu_s ~ Normal(c, tau_mu), common centre c ~ Normal(``log_wtp_center``,
  ``log_wtp_center_sd`` = 1.5), between-segment sd tau_mu ~ Gamma(2, 2 / ``segment_median_sd``) (mean 0.5);
  the default ``log_wtp_center`` is the median over respondents of the log of the answer's geometric
  midpoint (the amount, sqrt(lower x upper), or the one finite bound), stored resolved with the fit;
- segment log-spreads log sigma_s ~ Normal(c', tau_sigma), c' ~ Normal(log ``wtp_sd_center`` = log 0.5,
  ``log_wtp_sd_center_sd`` = 0.75), tau_sigma ~ Gamma(2, 2 / ``segment_sd_sd``) (mean 0.3).

The common centres are integrated out analytically and the Gamma priors on the between-segment sds avoid
zero; both keep NUTS free of funnels when there are few segments (see `_pooled_normal`).

``wtp_log_median`` (= mu_s) and ``wtp_log_sd`` (= sigma_s) are the contract variables the simulator reads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtr

from pricing.dims import RESPONDENT, SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp import data as survey
from pricing.wtp.model import WTPModel, laplace, map_diagnostics, options_error, sample_density
from pricing.wtp.priors import check_depth, prior_value

if TYPE_CHECKING:  # ArviZ takes seconds to import, numba too: the functions that need them import them
    import arviz as az

    from pricing.wtp.interval_density import IntervalDensity, LognormalBlock

DEFAULT_PRIORS: dict[str, float | None] = {
    "log_wtp_center": None,
    "log_wtp_center_sd": 1.5,
    "segment_median_sd": 0.5,
    "wtp_sd_center": 0.5,
    "log_wtp_sd_center_sd": 0.75,
    "segment_sd_sd": 0.3,
}


@dataclass(frozen=True)
class Intervals:
    """Bounds on each respondent's WTP (currency), the common input of every interval-censored fit.

    Arrays are per respondent: ``segment`` (int code into ``segments``), ``lower`` and ``upper`` (equal for an
    exact amount; lower 0 and upper inf for open ends), ``weight`` (default 1) and ``respondent`` ids.
    ``notes`` counts what the reader dropped or changed (e.g. ``{"dropped_no_answer": 3}``).
    """

    segment: np.ndarray
    segments: list[str]
    lower: np.ndarray
    upper: np.ndarray
    weight: np.ndarray
    respondent: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        lower, upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if np.any(lower < 0) or np.any(upper < lower) or np.any(np.isnan(lower) | np.isnan(upper)):
            raise ValueError("Intervals: need 0 <= lower <= upper for every respondent")
        counts = np.bincount(self.segment, minlength=len(self.segments))
        empty = [name for name, n in zip(self.segments, counts, strict=True) if n == 0]
        if empty:
            raise DataError(f"segment(s) {', '.join(map(repr, empty))}: no usable respondents")

    @property
    def exact(self) -> np.ndarray:
        return self.lower == self.upper

    def representative(self) -> np.ndarray:
        """A typical value per respondent (amount, geometric midpoint, or the one finite bound)."""
        lower, upper = self.lower, self.upper
        finite_low, finite_high = lower > 0, np.isfinite(upper)
        out = np.where(finite_low & finite_high, np.sqrt(lower * np.where(finite_high, upper, 1.0)), np.nan)
        out = np.where(finite_low & ~finite_high, lower, out)
        out = np.where(~finite_low & finite_high, upper, out)
        return out


def resolve_priors(
    priors: Mapping[str, Any] | None, defaults: Mapping[str, Any], intervals: Intervals
) -> dict:
    """Defaults overridden by `priors`, with data-dependent defaults filled in; unknown keys are errors."""
    check_depth(dict(priors or {}))
    resolved = survey.merged_config("priors", priors, defaults)
    for key, value in resolved.items():
        if value is None and key == "log_wtp_center":
            typical = intervals.representative()
            typical = typical[np.isfinite(typical) & (typical > 0)]
            resolved[key] = float(np.median(np.log(typical))) if typical.size else 0.0
            continue
        resolved[key] = prior_value(f"priors.{key}", value)
    return resolved


# ---- the model -----------------------------------------------------------------------------------------


# Log-space stand-ins for open bounds: far enough out that Phi is 0 or 1 in double precision for any WTP.
_LOG_ZERO, _LOG_INFINITY = -1e4, 1e4


def _aggregate(intervals: Intervals) -> dict[str, np.ndarray]:
    """Group identical bounds: the likelihood then costs one term per distinct (segment, bounds)."""
    frame = pd.DataFrame(
        {
            "segment": intervals.segment,
            "lower": intervals.lower,
            "upper": intervals.upper,
            "w": intervals.weight,
        }
    )
    exact = frame[frame.lower == frame.upper]
    log_amount = np.log(exact.lower.to_numpy())
    n_seg = len(intervals.segments)
    weight = np.bincount(exact.segment, weights=exact.w, minlength=n_seg)
    log_sum = np.bincount(exact.segment, weights=exact.w * log_amount, minlength=n_seg)
    mean = np.divide(log_sum, weight, out=np.zeros(n_seg), where=weight > 0)
    squares = np.bincount(
        exact.segment, weights=exact.w * (log_amount - mean[exact.segment.to_numpy()]) ** 2, minlength=n_seg
    )
    censored = frame[frame.lower < frame.upper]
    grouped = censored.groupby(["segment", "lower", "upper"], as_index=False)["w"].sum()
    with np.errstate(divide="ignore"):
        log_lower = np.where(grouped.lower > 0, np.log(grouped.lower), _LOG_ZERO)
        log_upper = np.where(np.isfinite(grouped.upper), np.log(grouped.upper), _LOG_INFINITY)
    return {
        "exact_weight": weight,
        "exact_mean": mean,
        "exact_squares": squares,
        "exact_log_sum": log_sum,
        "interval_segment": grouped.segment.to_numpy(dtype=int),
        "interval_log_lower": log_lower,
        "interval_log_upper": log_upper,
        "interval_weight": grouped.w.to_numpy(dtype=float),
    }


def _pooled_normal(pm, name: str, center, center_sd: float, segment_sd: float, dims: str | tuple[str, str]):
    """Segment values x_s ~ Normal(c, tau), c ~ Normal(center, center_sd) integrated out, tau ~ Gamma.

    Two reparametrisations keep NUTS free of divergences with few segments:

    - the common centre c is integrated out: x is jointly normal with covariance a I + b J (a = tau^2,
      b = center_sd^2, J all ones), whose log density is closed form (no Cholesky factor):
      -[n log 2 pi + (n-1) log a + log(a + n b) + (|x - m|^2 - b (sum(x - m))^2 / (a + n b)) / a] / 2;
      this removes the funnel in which c's scale follows tau;
    - tau ~ Gamma(2, 2 / segment_sd) (mean `segment_sd`) is zero-avoiding: its density vanishes at 0,
      which keeps the sampler out of the funnel where tau -> 0 and all segments must coincide.

    With `dims` = (rows, segment) and `center` an array over rows, each row is pooled on its own (one
    vectorised term instead of one per row keeps the compiled model small).
    """
    import pytensor.tensor as pt

    coords = pm.modelcontext(None).coords
    dims = (dims,) if isinstance(dims, str) else tuple(dims)
    n = len(coords[dims[-1]])
    center = np.asarray(center, dtype=float)
    tau = pm.Gamma(f"{name}_segment_sd", alpha=2.0, beta=2.0 / segment_sd, dims=dims[:-1] or None)
    values = pm.Flat(name, dims=dims, initval=np.broadcast_to(center[..., None], (*center.shape, n)).copy())
    a, b = tau**2, center_sd**2
    # the centre is data (it defaults to the data's median): a refit with other data reuses the compiled model
    deviation = values - pm.Data(f"{name}_center", center)[..., None]
    quadratic = (pt.sum(deviation**2, axis=-1) - b * pt.sum(deviation, axis=-1) ** 2 / (a + n * b)) / a
    pm.Potential(
        f"{name}_prior",
        pt.sum(-0.5 * (n * math.log(2 * math.pi) + (n - 1) * pt.log(a) + pt.log(a + n * b) + quadratic)),
    )
    return values


def _hierarchical_lognormal(pm, prefix: str, priors: Mapping[str, Any], dims: str | tuple[str, str]):
    """Segment log-medians and log-sds, each partially pooled across segments (see `_pooled_normal`).

    ``priors["log_wtp_center"]`` may be an array over the first of two `dims` (one centre per row).
    """
    log_median = _pooled_normal(
        pm,
        f"{prefix}log_median",
        priors["log_wtp_center"],
        priors["log_wtp_center_sd"],
        priors["segment_median_sd"],
        dims,
    )
    rows = np.shape(priors["log_wtp_center"])
    log_log_sd = _pooled_normal(
        pm,
        f"{prefix}log_log_sd",
        np.full(rows, math.log(priors["wtp_sd_center"])),
        priors["log_wtp_sd_center_sd"],
        priors["segment_sd_sd"],
        dims,
    )
    log_sd = pm.Deterministic(f"{prefix}log_sd", pm.math.exp(log_log_sd), dims=dims)
    return log_median, log_sd


def interval_loglik(mu, sigma, parts: Mapping[str, np.ndarray], prefix: str = "wtp_"):
    """Closed-form interval-censored lognormal log-likelihood (a PyTensor scalar) of aggregated bounds.

    `mu` and `sigma` are per-segment tensors; `parts` comes from `_aggregate` and enters the model as
    ``pm.Data`` named ``prefix + key`` (so that a fit of other data with the same structure reuses the
    compiled model). Open ends are handled by log-space stand-ins (`_LOG_ZERO`, `_LOG_INFINITY`) so that
    all intervals share one expression, which keeps the compiled model small.
    """
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.distributions.dist_math import normal_lcdf

    def data(key):
        return pm.Data(f"{prefix}{key}", np.asarray(parts[key]))

    total = pt.as_tensor_variable(0.0)
    if parts["exact_weight"].sum() > 0:
        weight, mean, squares = data("exact_weight"), data("exact_mean"), data("exact_squares")
        # sum_i w_i log N(log y_i | mu, sigma) - sum_i w_i log y_i, via weighted sufficient statistics
        total += pt.sum(
            -weight * (pt.log(sigma) + 0.5 * math.log(2 * math.pi))
            - (squares + weight * (mean - mu) ** 2) / (2 * sigma**2)
        )
        total -= pt.sum(data("exact_log_sum"))
    if len(parts["interval_weight"]):
        s = data("interval_segment")
        z_low = (data("interval_log_lower") - mu[s]) / sigma[s]
        z_high = (data("interval_log_upper") - mu[s]) / sigma[s]
        n = z_low.shape[0]
        # Phi(b) - Phi(a) = Phi(-a) - Phi(-b): evaluate on the side where the interval's middle sits in the
        # left tail, where log Phi is accurate; one log Phi call over both ends
        flip = pt.gt(z_low + z_high, 0)
        left = pt.switch(flip, -z_high, z_low)
        right = pt.switch(flip, -z_low, z_high)
        log_cdf = normal_lcdf(0.0, 1.0, pt.concatenate([right, left]))
        total += pt.sum(data("interval_weight") * pm.math.logdiffexp(log_cdf[:n], log_cdf[n:]))
    return total


def pymc_model(blocks: list[LognormalBlock], coords: Mapping[str, list]):
    """The PyMC model of `blocks`: each a hierarchical lognormal per segment with its likelihood."""
    import pymc as pm

    with pm.Model(coords=coords) as model:
        for block in blocks:
            dims = block.dims if len(block.dims) > 1 else block.dims[0]
            priors = {**block.priors, "log_wtp_center": block.median_center}
            log_median, log_sd = _hierarchical_lognormal(pm, block.prefix, priors, dims)
            loglik = interval_loglik(log_median, log_sd, block.parts, prefix=block.data_prefix)
            pm.Potential(f"{block.data_prefix}loglik", loglik)
    return model


# ---- the fit object ------------------------------------------------------------------------------------


class IntervalWTPModel(WTPModel):
    """Base of the survey fits: read answers into `Intervals`, build the PyMC model, sample, save.

    A `pricing.wtp.model.WTPModel`: ``model_config`` holds the priors (`DEFAULT_PRIORS`, see the module
    docstring), ``sampler_config`` the sampler settings. Subclasses set `model_type`, `roles` (role ->
    default column name, None = optional and absent) and implement `intervals_from_frame` (or `read`).

    Parameters
    ----------
    model_config : dict, optional
        Prior hyper-parameters overriding `DEFAULT_PRIORS`.
    sampler_config : dict, optional
        Sampler settings overriding `pricing.wtp.model.SAMPLER_DEFAULTS`.
    columns : dict, optional
        Role -> column name overrides, e.g. ``{"amount": "wtp_eur", "segment": "region"}``.
    """

    roles: ClassVar[dict[str, str | None]]
    default_model_config: ClassVar[dict[str, Any]] = DEFAULT_PRIORS

    def __init__(
        self,
        model_config: Mapping[str, Any] | None = None,
        sampler_config: Mapping[str, Any] | None = None,
        columns: Mapping[str, str | None] | None = None,
    ):
        try:
            check_depth(dict(model_config or {}), "model_config")
        except PricingError as error:
            raise options_error(error) from None
        super().__init__(model_config, sampler_config)
        try:
            for key, value in self.model_config.items():
                if value is not None:
                    prior_value(f"model_config.{key}", value)
            survey.resolve_columns(columns, self.roles)
        except PricingError as error:
            raise options_error(error) from None
        self.columns = dict(columns) if columns else None
        self.intervals: Intervals | None = None

    @property
    def method(self) -> str:
        """The survey method (the file format's ``method`` attr): the model type."""
        return self.model_type

    def options(self) -> dict[str, Any]:
        return {"columns": self.columns}

    @classmethod
    def legacy_options(cls, info: Mapping[str, Any]) -> dict[str, Any]:
        return {"columns": info.get("columns") or None}

    # -- data
    def resolved_columns(self) -> dict[str, str | None]:
        """Role -> column, defaults overridden by `columns`."""
        return survey.resolve_columns(self.columns, self.roles)

    def read(self, source: str | os.PathLike | pd.DataFrame) -> tuple[Intervals, str, dict[str, str]]:
        """Read a survey file (or frame): its `Intervals`, the data's SHA-256 and the columns used."""
        frame, label, sha256 = survey.read_survey(source)
        columns = self.resolved_columns()
        survey.require_columns(frame, columns, label)
        used = {role: name for role, name in columns.items() if name is not None}
        return self.intervals_from_frame(frame, columns, label), sha256, used

    def intervals_from_frame(
        self, frame: pd.DataFrame, columns: dict[str, str | None], label: str
    ) -> Intervals:
        raise NotImplementedError

    # -- model
    def model_blocks(self, intervals: Intervals, priors: Mapping[str, Any]) -> list[LognormalBlock]:
        """The model, as blocks: hierarchical lognormal WTP per segment, interval-censored likelihood."""
        from pricing.wtp.interval_density import LognormalBlock

        center = np.asarray(priors["log_wtp_center"], dtype=float)
        return [LognormalBlock("wtp_", "wtp_", (SEGMENT,), center, priors, _aggregate(intervals))]

    def model_coords(self, intervals: Intervals) -> dict[str, list]:
        return {SEGMENT: list(intervals.segments)}

    def build_model(self, intervals: Intervals, priors: Mapping[str, Any]):
        """The PyMC model of `model_blocks` (see `pymc_model`)."""
        return pymc_model(self.model_blocks(intervals, priors), self.model_coords(intervals))

    def density(self, intervals: Intervals, priors: Mapping[str, Any]) -> IntervalDensity:
        """The same model's log-density, what NUTS samples (`pricing.wtp.interval_density`)."""
        from pricing.wtp.interval_density import IntervalDensity

        return IntervalDensity(self.model_blocks(intervals, priors), self.model_coords(intervals))

    def diagnostic_vars(self, idata: az.InferenceData) -> list[str]:
        """Variables whose R-hat and ESS are checked: every sampled and contract variable."""
        return [str(v) for v in idata.posterior.data_vars]

    def _fit(self, data, fit_method: str, config: dict[str, Any]) -> az.InferenceData:
        """Read `data`, sample (NUTS) or approximate (map) the posterior, check it, attach the metadata.

        `target_accept` 0.95 (smaller steps than PyMC's 0.8) keeps the tails of the between-segment sds
        free of divergences. Sampler problems (R-hat > 1.01, ESS < 400, divergences) raise a
        `SamplingWarning` and are listed in ``metadata(idata)["diagnostics"]``; the same seed gives the same
        draws.
        """
        from pricing.wtp.posterior import attach_metadata, diagnose

        intervals, sha256, columns = self.read(data)
        try:
            priors = resolve_priors(self.model_config, self.default_model_config, intervals)
        except PricingError as error:
            raise options_error(error) from None
        if fit_method == "nuts":
            idata = sample_density(self.density(intervals, priors), config)
        else:
            idata, _ = laplace(self.density(intervals, priors), config)
        # transformed (``*_log__``) copies are not needed: half the file
        transformed = [v for v in idata.posterior.data_vars if v.endswith("__")]
        idata.posterior = idata.posterior.drop_vars(transformed)
        idata.add_groups(constant_data=_respondent_data(intervals))
        if fit_method == "nuts":
            diagnostics = diagnose(idata, self.diagnostic_vars(idata))
        else:
            diagnostics = map_diagnostics(config)
        attach_metadata(
            idata,
            method=self.method,
            columns=columns,
            data_sha256=sha256,
            priors=priors,
            diagnostics=diagnostics,
            data_notes=intervals.notes,
            seed=config["seed"],
        )
        self.record(idata, fit_method, self.model_config)
        self.intervals = intervals
        return idata

    def _restore(self, idata) -> None:
        if "constant_data" not in idata.groups():
            return
        data = idata.constant_data
        codes, names = survey.segment_codes(data["respondent_segment"].values.astype(str))
        self.intervals = Intervals(
            segment=codes,
            segments=names,
            lower=data["wtp_lower"].values,
            upper=data["wtp_upper"].values,
            weight=data["weight"].values,
            respondent=data[RESPONDENT].values,
        )

    def summary(self) -> pd.DataFrame:
        """WTP per segment (see `wtp_summary`)."""
        return wtp_summary(self.fitted())

    def posterior_predictive_check(self, thresholds=None, seed: int = 0) -> pd.DataFrame:
        """Observed vs replicated shares (see `interval_check`)."""
        return interval_check(self.fitted(), thresholds=thresholds, seed=seed)

    def report(self) -> str:
        """Readable summary: WTP per segment and the sampler diagnostics."""
        return format_report(self.fitted())

    def to_json(self) -> dict[str, Any]:
        """The fit as plain data (see `summary_dict`)."""
        return summary_dict(self.fitted())


def _respondent_data(intervals: Intervals) -> xr.Dataset:
    coords = {RESPONDENT: np.asarray(intervals.respondent).astype(str)}
    segment_names = np.asarray(intervals.segments, dtype=object)[intervals.segment].astype(str)
    return xr.Dataset(
        {
            "wtp_lower": (RESPONDENT, intervals.lower.astype(float)),
            "wtp_upper": (RESPONDENT, intervals.upper.astype(float)),
            "weight": (RESPONDENT, intervals.weight.astype(float)),
            "respondent_segment": (RESPONDENT, segment_names),
        },
        coords=coords,
    )


# ---- summaries and checks ------------------------------------------------------------------------------


def wtp_summary(idata: az.InferenceData) -> pd.DataFrame:
    """Per segment: the median customer's WTP (currency) and the spread, posterior mean and 90% interval.

    Columns: ``median_mean``, ``median_sd``, ``median_q05``, ``median_q50``, ``median_q95`` (of
    exp(wtp_log_median)), ``log_sd_mean``, ``log_sd_q05``, ``log_sd_q95`` (of wtp_log_sd); index: segment.
    """
    posterior = idata.posterior
    median = np.exp(posterior["wtp_log_median"]).stack(sample=("chain", "draw"))
    spread = posterior["wtp_log_sd"].stack(sample=("chain", "draw"))
    frame = pd.DataFrame(
        {
            "median_mean": median.mean("sample").values,
            "median_sd": median.std("sample").values,
            "median_q05": median.quantile(0.05, "sample").values,
            "median_q50": median.quantile(0.5, "sample").values,
            "median_q95": median.quantile(0.95, "sample").values,
            "log_sd_mean": spread.mean("sample").values,
            "log_sd_q05": spread.quantile(0.05, "sample").values,
            "log_sd_q95": spread.quantile(0.95, "sample").values,
        },
        index=pd.Index([str(s) for s in posterior[SEGMENT].values], name=SEGMENT),
    )
    return frame


def summary_dict(idata: az.InferenceData) -> dict[str, Any]:
    """The fit as plain data (what ``pricing fit --json`` prints).

    Keys: ``coefficients`` ({} for survey fits), ``wtp`` (segment -> q05, q50, q95 of the median
    customer's WTP, currency: the posterior median is the headline of every WTP figure), ``sd`` (segment
    -> mean, sd, q05, q95 of the sd of log WTP), ``segments``, ``diagnostics`` (rhat_max, ess_bulk_min,
    ess_tail_min, divergences, ok, problems), ``data_notes``.
    """
    from pricing.wtp.posterior import metadata

    table = wtp_summary(idata)
    spread = idata.posterior["wtp_log_sd"].stack(sample=("chain", "draw"))
    meta = metadata(idata)
    diagnostics = meta["diagnostics"]
    return {
        "method": meta["method"],
        "coefficients": {},
        "wtp": {
            segment: {"q05": row.median_q05, "q50": row.median_q50, "q95": row.median_q95}
            for segment, row in table.iterrows()
        },
        "sd": {
            segment: {
                "mean": float(spread.sel({SEGMENT: segment}).mean()),
                "sd": float(spread.sel({SEGMENT: segment}).std()),
                "q05": float(spread.sel({SEGMENT: segment}).quantile(0.05)),
                "q95": float(spread.sel({SEGMENT: segment}).quantile(0.95)),
            }
            for segment in table.index
        },
        "segments": list(table.index),
        "diagnostics": {
            key: diagnostics[key]
            for key in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ok", "problems")
        },
        "data_notes": meta.get("data_notes") or {},
        "fit_method": meta.get("fit_method", "nuts"),
    }


def format_report(idata: az.InferenceData) -> str:
    """Lines for people: one per segment, then the diagnostics."""
    from pricing.wtp.posterior import format_diagnostics, metadata

    meta = metadata(idata)
    lines = [f"method: {meta['method']}"]
    for segment, row in wtp_summary(idata).iterrows():
        lines.append(
            f"  {segment}: median WTP {row.median_q50:,.2f} [5% {row.median_q05:,.2f}, 95% "
            f"{row.median_q95:,.2f}], sd of log WTP {row.log_sd_mean:.3f}"
        )
    notes = meta.get("data_notes") or {}
    if any(notes.values()):
        lines.append("  data: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in notes.items()))
    if meta.get("fit_method") == "map":
        lines.append(f"fit: {meta['diagnostics'].get('note', 'map')} (did not sample)")
    else:
        lines.append("sampler: " + format_diagnostics(meta["diagnostics"]))
    return "\n".join(lines)


def demand_curve(idata: az.InferenceData, prices, quantiles=(0.05, 0.5, 0.95)) -> xr.DataArray:
    """P(WTP >= p) per segment over `prices` (currency), as posterior quantiles.

    Returns a DataArray (quantile, segment, price): the share of the segment's customers whose WTP is at least
    the price, from the lognormal CDF of each posterior draw.
    """
    prices = np.asarray(prices, dtype=float)
    mu = idata.posterior["wtp_log_median"].stack(sample=("chain", "draw")).transpose(SEGMENT, "sample")
    sigma = idata.posterior["wtp_log_sd"].stack(sample=("chain", "draw")).transpose(SEGMENT, "sample")
    z = (np.log(prices)[None, None, :] - mu.values[:, :, None]) / sigma.values[:, :, None]
    survival = ndtr(-z)  # segment, sample, price
    values = np.quantile(survival, quantiles, axis=1)
    return xr.DataArray(
        values,
        dims=("quantile", SEGMENT, "price"),
        coords={"quantile": list(quantiles), SEGMENT: mu[SEGMENT].values, "price": prices},
        name="share_wtp_at_least_price",
    )


def interval_check(idata: az.InferenceData, thresholds=None, seed: int = 0) -> pd.DataFrame:
    """Posterior predictive check of a fit against the respondents' bounds (its constant_data group).

    For each segment and threshold t (default: the distinct finite bounds, at most 12 spread over them)
    the data say that the share of respondents with WTP >= t lies between ``observed_low`` (share whose
    lower bound >= t) and ``observed_high`` (1 - share whose upper bound <= t); both are equal for exact
    answers and for Gabor-Granger answers at a tested price. Replicated data sets of the same size
    (weighted size) drawn from each posterior draw give ``replicated_q05``, ``replicated_q50`` and
    ``replicated_q95`` of that share.
    ``consistent`` is True when [observed_low, observed_high] meets the replicated 90% interval.
    """
    data = idata.constant_data
    rng = np.random.default_rng(seed)
    lower, upper, weight = data["wtp_lower"].values, data["wtp_upper"].values, data["weight"].values
    segments = data["respondent_segment"].values.astype(str)
    if thresholds is None:
        bounds = np.concatenate([lower[lower > 0], upper[np.isfinite(upper)]])
        unique = np.unique(bounds)
        thresholds = (
            unique if len(unique) <= 12 else np.unique(np.quantile(bounds, np.linspace(0.05, 0.95, 12)))
        )
    thresholds = np.asarray(thresholds, dtype=float)
    rows = []
    for segment in [str(s) for s in idata.posterior[SEGMENT].values]:
        mask = segments == segment
        if not mask.any():
            continue
        w = weight[mask] / weight[mask].sum()
        n = max(int(round(weight[mask].sum())), 1)
        mu = idata.posterior["wtp_log_median"].sel({SEGMENT: segment}).values.reshape(-1)
        sigma = idata.posterior["wtp_log_sd"].sel({SEGMENT: segment}).values.reshape(-1)
        probability = ndtr((mu[:, None] - np.log(thresholds)[None, :]) / sigma[:, None])
        replicated = rng.binomial(n, probability) / n
        low_q, mid_q, high_q = np.quantile(replicated, [0.05, 0.5, 0.95], axis=0)
        exact = lower[mask] == upper[mask]
        for j, t in enumerate(thresholds):
            # WTP >= t is certain when lower >= t; WTP < t is certain when an interval's (open) upper
            # bound is <= t or an exact amount is < t
            observed_low = float(np.sum(w * (lower[mask] >= t)))
            known_below = np.where(exact, upper[mask] < t, upper[mask] <= t)
            observed_high = float(np.clip(1 - np.sum(w * known_below), 0.0, 1.0))
            rows.append(
                {
                    SEGMENT: segment,
                    "threshold": float(t),
                    "observed_low": observed_low,
                    "observed_high": observed_high,
                    "replicated_q05": float(low_q[j]),
                    "replicated_q50": float(mid_q[j]),
                    "replicated_q95": float(high_q[j]),
                    # (with a rounding tolerance: shares are sums of weights)
                    "consistent": bool(observed_high >= low_q[j] - 1e-9 and observed_low <= high_q[j] + 1e-9),
                }
            )
    return pd.DataFrame(rows)


# ---- stated WTP ----------------------------------------------------------------------------------------


class StatedWTP(IntervalWTPModel):
    """Stated WTP: one row per respondent with an amount, or lower/upper bounds (either may be blank).

    Roles (default column): ``segment`` (none: one segment "all"), ``amount`` ("wtp"), ``lower``
    ("wtp_lower"), ``upper`` ("wtp_upper"), ``respondent`` (row number), ``weight`` (none: 1). A row with
    an amount is an exact answer; otherwise lower/upper bound it (blank = open). Rows with neither are
    dropped and counted (``data_notes``). Columns absent from the file are skipped, but at least an amount
    column or a bound column must exist.
    """

    model_type = "stated"
    roles = {
        "segment": None,
        "amount": "wtp",
        "lower": "wtp_lower",
        "upper": "wtp_upper",
        "respondent": None,
        "weight": None,
    }

    def read(self, source):
        frame, label, sha256 = survey.read_survey(source)
        columns = self.resolved_columns()
        user = dict(self.columns or {})
        # default columns the file lacks are simply not used; columns the user named must exist
        for role in ("amount", "lower", "upper"):
            if role not in user and columns[role] not in frame.columns:
                columns[role] = None
        if columns["amount"] is None and columns["lower"] is None and columns["upper"] is None:
            known = ", ".join(repr(c) for c in frame.columns)
            raise DataError(
                f"{label}: no WTP column: expected an amount column ('wtp') or bound columns ('wtp_lower', "
                f"'wtp_upper'); the file has columns {known}"
            )
        survey.require_columns(frame, columns, label)
        used = {role: name for role, name in columns.items() if name is not None}
        return self.intervals_from_frame(frame, columns, label), sha256, used

    def intervals_from_frame(self, frame, columns, label):
        n = len(frame)
        amount = (
            survey.money_column(frame, columns["amount"], label, allow_blank=True)
            if columns["amount"]
            else np.full(n, np.nan)
        )
        lower = (
            survey.money_column(frame, columns["lower"], label, allow_blank=True, zero=True)
            if columns["lower"]
            else np.full(n, np.nan)
        )
        upper = (
            survey.money_column(frame, columns["upper"], label, allow_blank=True)
            if columns["upper"]
            else np.full(n, np.nan)
        )
        weight = survey.weight_column(frame, columns["weight"], label) if columns["weight"] else np.ones(n)
        has_amount = np.isfinite(amount)
        low = np.where(has_amount, amount, np.nan_to_num(lower, nan=0.0))
        high = np.where(has_amount, amount, np.where(np.isfinite(upper), upper, np.inf))
        reversed_rows = np.flatnonzero(~has_amount & (high < low))
        if reversed_rows.size:
            raise DataError(
                f"{label}: columns {columns['lower']!r}/{columns['upper']!r}: "
                f"{survey.line_list(reversed_rows)} "
                "have lower above upper"
            )
        no_answer = ~has_amount & (low == 0) & ~np.isfinite(high)
        keep = ~no_answer
        segments_all = survey.label_column(frame, columns["segment"], label)
        if not keep.any():
            raise DataError(f"{label}: no row has an amount or a bound; nothing to fit")
        codes, names = survey.segment_codes(segments_all[keep])
        respondent = (
            frame[columns["respondent"]].to_numpy()[keep]
            if columns["respondent"]
            else np.flatnonzero(keep) + 1
        )
        return Intervals(
            segment=codes,
            segments=names,
            lower=low[keep],
            upper=high[keep],
            weight=weight[keep],
            respondent=respondent,
            notes={"dropped_no_answer": int(no_answer.sum())},
        )


def fit_stated(source, columns=None, model_config=None, fit_method="nuts", **sampler_config) -> StatedWTP:
    """Fit a stated-WTP survey; returns the fitted `StatedWTP` (its `idata` holds the posterior)."""
    model = StatedWTP(model_config=model_config, columns=columns)
    model.fit(source, fit_method, **sampler_config)
    return model
