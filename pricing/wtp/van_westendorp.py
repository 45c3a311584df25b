"""Van Westendorp price sensitivity meter (PSM), the Newton-Miller-Smith (NMS) extension, and a Bayesian PSM.

Classic analysis (`psm_analysis`), following the R package ``pricesensitivitymeter`` with its defaults
(``validate = TRUE``, ``interpolate = FALSE``, ``intersection_method = "min"``):

- respondents whose answers are not strictly increasing (too cheap < cheap < expensive < too expensive), or
  who left one blank, are dropped and counted (``n_invalid``);
- the price grid is the sorted unique answers of the remaining respondents;
- curves (weighted shares when a weight column is given), as pricesensitivitymeter builds them from R's
  ``ecdf``: too cheap(p) = ``1 - ecdf(too_cheap)(p)``, the share of answers strictly **above** p; cheap(p) =
  ``1 - ecdf(cheap)(p)``, likewise; expensive(p) = ``ecdf(expensive)(p)``, the share **at or below** p; too
  expensive(p) = ``ecdf(too_expensive)(p)``; not cheap = 1 - cheap, not expensive = 1 - expensive;
- each price point is where two curves meet (`intersection`): the first grid price where the first curve
  reaches the second; where the two curves keep those same values over several grid prices,
  ``intersection_method`` picks the lowest ("min", the default), highest, mean or median of them. Point of
  marginal cheapness (PMC): not cheap meets too cheap; point of marginal expensiveness (PME): too expensive
  meets not expensive; indifference price point (IDP): expensive meets cheap; optimal price point (OPP): too
  expensive meets too cheap (NaN if never);
- ``interpolate=True`` interpolates the four curves linearly on ``seq(min, max, by = interpolation_steps)``
  first, as the R package does.

This is pricesensitivitymeter 1.3.0's behaviour (``identify_intersection`` in ``psm-utils.R``). Its 1.3.1
also sets ``ecdf`` to 0 at and below each question's lowest answer (too cheap then starts at 100%), which
changes the curves at those grid prices only; we follow 1.3.0, whose ``ecdf`` is R's own.

The curves take one sort and one binary search per question, O(n log n) time and O(n + grid) memory, and
NMS trial is summed from each respondent's slope changes: no respondents x grid array anywhere, so a
million respondents with answers in cents take about a second.

NMS: purchase likelihood at the cheap and at the expensive price on the scale 5..1 (or the labels "Very
likely", "Likely", "Neither likely nor unlikely"/"Neutral", "Unlikely", "Very unlikely") is calibrated to
0.7, 0.5, 0.3, 0.1, 0 purchase probability; the probability is 0 at too cheap and at too expensive, linear in
between and 0 outside. As in pricesensitivitymeter, "linear" is by position on the price grid
(``nms_interpolation="grid"``); ``"price"`` interpolates linearly in price instead. trial(p) = mean over
respondents (weighted), revenue(p) = p x trial(p); the optima are the first argmax on the grid.

Bayesian PSM (`VanWestendorpWTP`): each respondent's WTP is taken to lie between their "cheap" and
"expensive" answers (``wtp_bounds=("cheap", "expensive")``; ``("expensive", "too_expensive")`` is the other
reading: still acceptable at "expensive", not at "too expensive"), fitted with the interval-censored
hierarchical lognormal model of `pricing.wtp.stated`. In the same model each of the four answers gets its own
hierarchical lognormal per segment (exact amounts, same priors centred on the median log answer), and
`price_points` computes the four curves from each draw's lognormal CDFs and the four price points with
credible intervals.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pricing.dims import SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp import data as survey
from pricing.wtp.model import SAMPLER_DEFAULTS, OptionsError
from pricing.wtp.stated import (
    Intervals,
    IntervalWTPModel,
    _aggregate,
)

if TYPE_CHECKING:  # ArviZ takes seconds to import: not needed by the classic read-out
    import arviz as az

ANSWER_ROLES = ("too_cheap", "cheap", "expensive", "too_expensive")
ROLES = {
    "too_cheap": "too_cheap",
    "cheap": "cheap",
    "expensive": "expensive",
    "too_expensive": "too_expensive",
    "pi_cheap": None,
    "pi_expensive": None,
    "weight": None,
    "segment": None,
    "respondent": None,
}
PI_SCALE = (5, 4, 3, 2, 1)
PI_CALIBRATED = (0.7, 0.5, 0.3, 0.1, 0.0)
PI_LABELS = {
    "very likely": 5,
    "likely": 4,
    "neither likely nor unlikely": 3,
    "neutral": 3,
    "unlikely": 2,
    "very unlikely": 1,
}
PRICE_POINTS = ("pmc", "pme", "idp", "opp")
INTERSECTION_METHODS = ("min", "max", "mean", "median")
MAX_INTERPOLATED_PRICES = 10_000_000
ANSWER = "answer"  # dim of the four answers' distributions in a Bayesian PSM fit


@dataclass(frozen=True)
class PSMData:
    """Validated PSM answers (currency), one per respondent; `valid` marks strictly increasing answers."""

    too_cheap: np.ndarray
    cheap: np.ndarray
    expensive: np.ndarray
    too_expensive: np.ndarray
    weight: np.ndarray
    segment: np.ndarray
    respondent: np.ndarray
    pi_cheap: np.ndarray | None
    pi_expensive: np.ndarray | None

    @property
    def valid(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (
                (self.too_cheap < self.cheap)
                & (self.cheap < self.expensive)
                & (self.expensive < self.too_expensive)
            )


def read_psm(
    source: str | os.PathLike | pd.DataFrame,
    columns: dict[str, str | None] | None = None,
    pi_scale: Sequence[float] = PI_SCALE,
) -> tuple[PSMData, str, str, dict[str, str]]:
    """Read and check a PSM file: answers, a label for messages, the data's SHA-256 and the columns used.

    Price cells may be blank (the respondent is then invalid and dropped); text in them is an error naming
    the column and lines. Purchase likelihoods must be on `pi_scale` or one of the labels.
    """
    resolved = survey.resolve_columns(columns, ROLES)
    numbers = [resolved[role] for role in (*ANSWER_ROLES, "weight") if resolved[role]]
    frame, label, sha256 = survey.read_survey(source, numbers)
    if (resolved["pi_cheap"] is None) != (resolved["pi_expensive"] is None):
        raise PricingError("columns: give both pi_cheap and pi_expensive (purchase likelihoods) or neither")
    survey.require_columns(frame, resolved, label)
    prices = {
        role: survey.money_column(frame, resolved[role], label, allow_blank=True) for role in ANSWER_ROLES
    }
    n = len(frame)
    weight = survey.weight_column(frame, resolved["weight"], label) if resolved["weight"] else np.ones(n)
    scale = {f"{float(v):g}": float(v) for v in pi_scale}
    if tuple(pi_scale) == PI_SCALE:
        scale |= {k: float(v) for k, v in PI_LABELS.items()}
    pi = {
        role: survey.choice_column(frame, resolved[role], label, scale) if resolved[role] else None
        for role in ("pi_cheap", "pi_expensive")
    }
    respondent = frame[resolved["respondent"]].to_numpy() if resolved["respondent"] else np.arange(1, n + 1)
    answers = PSMData(
        **prices,
        weight=weight,
        segment=survey.label_column(frame, resolved["segment"], label),
        respondent=respondent,
        **pi,
    )
    if not answers.valid.any():
        raise DataError(
            f"{label}: no respondent has strictly increasing answers (too cheap < cheap < expensive < too "
            f"expensive) in columns {', '.join(repr(resolved[r]) for r in ANSWER_ROLES)}"
        )
    used = {role: name for role, name in resolved.items() if name is not None}
    return answers, label, sha256, used


# ---- classic PSM and NMS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PSMResult:
    """Classic Van Westendorp figures (currency) and, with purchase likelihoods, the NMS optima.

    ``curves``: price, too_cheap, cheap, expensive, too_expensive, not_cheap, not_expensive (shares);
    ``nms``: price, trial, revenue (None without purchase likelihoods).
    """

    pmc: float
    pme: float
    idp: float
    opp: float
    n_valid: int
    n_invalid: int
    curves: pd.DataFrame
    nms: pd.DataFrame | None
    trial_price: float | None
    revenue_price: float | None


def _share_at_or_below(values: np.ndarray, weight: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Weighted share of `values` at or below each grid price: R's ``ecdf(values)(grid)``.

    One sort and one binary search per grid price, O((n + grid) log n) time and O(n + grid) memory. With
    unit weights the shares are integer counts / n, bit for bit what R's ``ecdf`` returns.
    """
    if np.all(weight == weight[0]):  # unweighted: counts / n, R's ecdf exactly, and no argsort
        return np.searchsorted(np.sort(values), grid, side="right") / len(values)
    order = np.argsort(values)
    cumulative = np.concatenate([[0.0], np.cumsum(weight[order])])
    return cumulative[np.searchsorted(values[order], grid, side="right")] / cumulative[-1]


def _interpolation_grid(low: float, high: float, step: float) -> np.ndarray:
    """R's ``seq(low, high, by = step)``: low + k step for k = 0 .. floor((high - low) / step + 1e-10)."""
    if not (math.isfinite(step) and step > 0):
        raise PricingError(f"interpolation_steps: {step!r} must be a positive number (e.g. 0.01)")
    count = math.floor((high - low) / step + 1e-10) + 1
    if count > MAX_INTERPOLATED_PRICES:
        raise PricingError(
            f"interpolation_steps: {step:g} gives {count:,} prices between {low:g} and {high:g}; "
            f"at most {MAX_INTERPOLATED_PRICES:,} (use a larger step)"
        )
    return low + step * np.arange(count)


def psm_curves(
    answers: PSMData, interpolate: bool = False, interpolation_steps: float = 0.01
) -> pd.DataFrame:
    """The Van Westendorp curves from valid respondents only, as pricesensitivitymeter draws them.

    The grid is the sorted unique answers; too cheap and cheap are ``1 - ecdf`` (share of answers strictly
    above p), expensive and too expensive ``ecdf`` (share at or below p). With `interpolate`, the curves are
    interpolated linearly onto ``seq(min, max, by = interpolation_steps)`` (pricesensitivitymeter's
    ``interpolate = TRUE``). O(n log n) time and O(n + grid) memory.
    """
    valid = answers.valid
    weight = answers.weight[valid]
    tc, ch, ex, te = (getattr(answers, r)[valid] for r in ANSWER_ROLES)
    grid = np.unique(np.concatenate([tc, ch, ex, te]))
    share = {
        "too_cheap": 1 - _share_at_or_below(tc, weight, grid),
        "cheap": 1 - _share_at_or_below(ch, weight, grid),
        "expensive": _share_at_or_below(ex, weight, grid),
        "too_expensive": _share_at_or_below(te, weight, grid),
    }
    if interpolate:
        fine = _interpolation_grid(float(grid[0]), float(grid[-1]), interpolation_steps)
        share = {name: np.interp(fine, grid, curve) for name, curve in share.items()}
        grid = fine
    curves = pd.DataFrame({"price": grid, **share})
    curves["not_cheap"] = 1 - curves.cheap
    curves["not_expensive"] = 1 - curves.expensive
    return curves


def intersection(price: np.ndarray, first: np.ndarray, second: np.ndarray, method: str = "min") -> float:
    """Where curve `first` reaches curve `second`, as pricesensitivitymeter's ``identify_intersection``.

    The first grid price where ``first >= second``; every grid price where both curves take the same two
    values as there is an intersection too, and `method` (min, max, mean, median) picks among them. NaN when
    the curves never meet.
    """
    if method not in INTERSECTION_METHODS:
        raise PricingError(
            f"intersection_method: {method!r} is not one of {', '.join(map(repr, INTERSECTION_METHODS))}"
        )
    hits = np.flatnonzero(first >= second)
    if not hits.size:
        return float("nan")
    at = hits[0]
    prices = price[(first == first[at]) & (second == second[at])]
    return float({"min": np.min, "max": np.max, "mean": np.mean, "median": np.median}[method](prices))


def _calibrated(
    likelihood: np.ndarray, pi_scale: Sequence[float], pi_calibrated: Sequence[float]
) -> np.ndarray:
    """Purchase probability of each purchase-likelihood answer (each must be a value of `pi_scale`)."""
    scale = np.asarray(pi_scale, dtype=float)
    if len(scale) != len(pi_calibrated):
        raise PricingError("pi_calibrated: give one probability per value of pi_scale")
    off_scale = ~np.isin(likelihood, scale)
    if off_scale.any():
        raise PricingError(
            f"purchase likelihood {likelihood[off_scale][0]!r} is not on the scale {list(pi_scale)}"
        )
    order = np.argsort(scale)
    return np.asarray(pi_calibrated, dtype=float)[order][np.searchsorted(scale[order], likelihood)]


def nms_trial(
    answers: PSMData,
    grid: np.ndarray,
    pi_calibrated: Sequence[float] = PI_CALIBRATED,
    pi_scale: Sequence[float] = PI_SCALE,
    interpolation: str = "grid",
) -> pd.DataFrame:
    """NMS trial and revenue per grid price (price, trial, revenue), valid respondents only.

    Each respondent's purchase probability is 0 at too cheap, the calibrated likelihood at cheap and at
    expensive, 0 at too expensive, linear in between (by grid position, or by price with
    ``interpolation="price"``) and 0 outside. The sum over respondents of these piecewise-linear functions
    is built from their slope changes at the four answers (one pass, O(n + grid) memory) rather than a
    respondents x grid matrix.
    """
    if interpolation not in ("grid", "price"):
        raise PricingError(f"nms_interpolation: {interpolation!r} is not one of 'grid', 'price'")
    if answers.pi_cheap is None or answers.pi_expensive is None:
        raise PricingError("NMS needs purchase likelihood columns pi_cheap and pi_expensive")
    valid = answers.valid
    w = answers.weight[valid] / answers.weight[valid].sum()
    p_cheap = _calibrated(answers.pi_cheap[valid], pi_scale, pi_calibrated)
    p_expensive = _calibrated(answers.pi_expensive[valid], pi_scale, pi_calibrated)
    position = np.arange(len(grid), dtype=float) if interpolation == "grid" else np.asarray(grid, float)
    index = {r: np.searchsorted(grid, getattr(answers, r)[valid]) for r in ANSWER_ROLES}
    x = {r: position[i] for r, i in index.items()}
    # slopes of the four pieces (0 before too cheap and after too expensive), weighted per respondent
    rise = w * p_cheap / (x["cheap"] - x["too_cheap"])
    middle = w * (p_expensive - p_cheap) / (x["expensive"] - x["cheap"])
    fall = -w * p_expensive / (x["too_expensive"] - x["expensive"])
    slope_change = sum(
        np.bincount(index[role], weights=change, minlength=len(grid))
        for role, change in (
            ("too_cheap", rise),
            ("cheap", middle - rise),
            ("expensive", fall - middle),
            ("too_expensive", -fall),
        )
    )
    # trial(x_k) = sum over knots j <= k of change_j (x_k - x_j)
    trial = position * np.cumsum(slope_change) - np.cumsum(slope_change * position)
    trial = np.clip(trial, 0.0, None)  # rounding below 0 outside every respondent's range
    return pd.DataFrame({"price": grid, "trial": trial, "revenue": grid * trial})


def psm_analysis(
    source: str | os.PathLike | pd.DataFrame | PSMData,
    columns: dict[str, str | None] | None = None,
    *,
    intersection_method: str = "min",
    interpolate: bool = False,
    interpolation_steps: float = 0.01,
    pi_scale: Sequence[float] = PI_SCALE,
    pi_calibrated: Sequence[float] = PI_CALIBRATED,
    nms_interpolation: str = "grid",
) -> PSMResult:
    """Classic Van Westendorp analysis (and NMS when purchase likelihood columns are given).

    Parameters
    ----------
    source : path, DataFrame or PSMData
        The survey (one row per respondent).
    columns : dict, optional
        Role -> column: too_cheap, cheap, expensive, too_expensive (defaults: same names), pi_cheap,
        pi_expensive, weight, segment, respondent (default: not used).
    intersection_method : {"min", "max", "mean", "median"}
        Which price to report where two curves meet over several grid prices (pricesensitivitymeter's
        ``intersection_method``; default "min").
    interpolate, interpolation_steps : bool, float
        Interpolate the curves linearly on a grid of this step (currency) between the lowest and the
        highest answer before looking for the intersections (pricesensitivitymeter's ``interpolate``,
        ``interpolation_steps``; default off, 0.01).
    pi_scale, pi_calibrated : sequence of float
        Purchase likelihood scale and the purchase probability of each value (pricesensitivitymeter's
        defaults: 5..1 -> 0.7, 0.5, 0.3, 0.1, 0).
    nms_interpolation : {"grid", "price"}
        Interpolate NMS purchase probabilities by grid position (as pricesensitivitymeter) or by price.
    """
    answers = source if isinstance(source, PSMData) else read_psm(source, columns, pi_scale)[0]
    curves = psm_curves(answers, interpolate, interpolation_steps)
    price = curves.price.to_numpy()
    nms = trial_price = revenue_price = None
    if answers.pi_cheap is not None:
        # NMS runs on the grid of answers (before any interpolation of the curves)
        answer_grid = psm_curves(answers).price.to_numpy() if interpolate else price
        nms = nms_trial(answers, answer_grid, pi_calibrated, pi_scale, nms_interpolation)
        trial_price = float(nms.price.iloc[int(np.argmax(nms.trial.to_numpy()))])
        revenue_price = float(nms.price.iloc[int(np.argmax(nms.revenue.to_numpy()))])
    n_valid = int(answers.valid.sum())

    def meet(first: str, second: str) -> float:
        return intersection(price, curves[first].to_numpy(), curves[second].to_numpy(), intersection_method)

    return PSMResult(
        pmc=meet("not_cheap", "too_cheap"),
        pme=meet("too_expensive", "not_expensive"),
        idp=meet("expensive", "cheap"),
        opp=meet("too_expensive", "too_cheap"),
        n_valid=n_valid,
        n_invalid=int(len(answers.valid) - n_valid),
        curves=curves,
        nms=nms,
        trial_price=trial_price,
        revenue_price=revenue_price,
    )


# ---- Bayesian PSM --------------------------------------------------------------------------------------


class VanWestendorpWTP(IntervalWTPModel):
    """Bayesian PSM: WTP between two of each respondent's answers, and the four answers' distributions.

    Roles as in `psm_analysis` (purchase likelihoods are not used). Invalid respondents (answers not strictly
    increasing) are dropped and counted in ``data_notes``; weights scale each respondent's log-likelihood.
    Besides the contract variables, the posterior holds ``answer_log_median`` and ``answer_log_sd``
    (chain, draw, answer, segment): the lognormal of each answer (too_cheap, cheap, expensive,
    too_expensive) per segment, pooled across segments answer by answer.

    Parameters
    ----------
    model_config, sampler_config, columns : dict, optional
        See `IntervalWTPModel`.
    wtp_bounds : pair of str
        The answers bounding WTP: ("cheap", "expensive") (default) or ("expensive", "too_expensive").
    """

    model_type = "van_westendorp"
    roles = ROLES
    #: Smaller steps than the other models (0.95): the four answers' pooled lognormals left 2-3 divergent
    #: transitions in 2,000 draws on the bundled example at 0.95 (and at 0.95 with 2,000 tuning steps);
    #: at 0.99 none, R-hat 1.005, bulk ESS > 1,600 (seeds 1 and 2; tests/app/test_wtp_page.py checks it).
    default_sampler_config = {**SAMPLER_DEFAULTS, "target_accept": 0.99}

    def __init__(
        self,
        model_config=None,
        sampler_config=None,
        columns=None,
        wtp_bounds: Sequence[str] = ("cheap", "expensive"),
    ):
        super().__init__(model_config, sampler_config, columns)
        bounds = tuple(wtp_bounds)
        if bounds not in (("cheap", "expensive"), ("expensive", "too_expensive")):
            raise OptionsError(
                f"wtp_bounds: {bounds!r} is not ('cheap', 'expensive') or ('expensive', 'too_expensive')"
            )
        self.wtp_bounds = bounds

    def options(self) -> dict:
        return super().options() | {"wtp_bounds": list(self.wtp_bounds)}

    @classmethod
    def legacy_options(cls, info) -> dict:
        bounds = str((info.get("data_notes") or {}).get("wtp_bounds") or "cheap-expensive").split("-")
        return super().legacy_options(info) | {"wtp_bounds": bounds}

    def read(self, source):
        bounds = self.wtp_bounds
        answers, _, sha256, used = read_psm(source, self.columns)
        valid = answers.valid
        codes, names = survey.segment_codes(answers.segment[valid])
        self.answers = answers
        intervals = Intervals(
            segment=codes,
            segments=names,
            lower=getattr(answers, bounds[0])[valid],
            upper=getattr(answers, bounds[1])[valid],
            weight=answers.weight[valid] / answers.weight[valid].mean(),
            respondent=np.asarray(answers.respondent)[valid],
            notes={"dropped_invalid": int((~valid).sum()), "wtp_bounds": "-".join(bounds)},
        )
        return intervals, sha256, used

    def model_coords(self, intervals):
        return super().model_coords(intervals) | {ANSWER: list(ANSWER_ROLES)}

    def model_blocks(self, intervals, priors):
        """WTP's block, then one (answer, segment) block for the four answers: exact amounts only."""
        from pricing.wtp.interval_density import LognormalBlock

        valid = self.answers.valid
        stats = []
        for role in ANSWER_ROLES:
            amounts = getattr(self.answers, role)[valid]
            exact = Intervals(
                segment=intervals.segment,
                segments=intervals.segments,
                lower=amounts,
                upper=amounts,
                weight=intervals.weight,
                respondent=intervals.respondent,
            )
            stats.append(_aggregate(exact))
        parts = {key: np.stack([part[key] for part in stats]) for key in stats[0] if key.startswith("exact")}
        parts |= {key: np.zeros(0) for key in stats[0] if key.startswith("interval")}
        centres = np.array([np.median(np.log(getattr(self.answers, role)[valid])) for role in ANSWER_ROLES])
        answers = LognormalBlock("answer_", "answers_", (ANSWER, SEGMENT), centres, priors, parts)
        return [*super().model_blocks(intervals, priors), answers]

    def price_points(self, grid_size: int = 512) -> pd.DataFrame:
        """The four price points per segment with credible intervals (see `price_points`)."""
        return price_points(self.fitted(), grid_size)


def price_points(idata: az.InferenceData, grid_size: int = 512) -> pd.DataFrame:
    """PMC, PME, IDP and OPP per segment: posterior mean, 5/50/95% quantiles (currency).

    For each draw the curves are the answers' lognormal CDFs on a log-spaced grid of `grid_size` prices
    (too cheap(p) = 1 - F_too_cheap(p), cheap(p) = 1 - F_cheap(p), expensive(p) = F_expensive(p), too
    expensive(p) = F_too_expensive(p)), and each point is the lowest grid price meeting the classic rule.
    """
    posterior = idata.posterior
    if "answer_log_median" not in posterior:
        raise DataError("posterior has no answer_log_median: price points need a Van Westendorp fit")

    def flat(name, role):
        values = posterior[name].sel({ANSWER: role}).stack(sample=("chain", "draw"))
        return values.transpose("sample", SEGMENT).values

    mu = {r: flat("answer_log_median", r) for r in ANSWER_ROLES}
    sd = {r: flat("answer_log_sd", r) for r in ANSWER_ROLES}
    low = np.min(mu["too_cheap"] - 4 * sd["too_cheap"])
    high = np.max(mu["too_expensive"] + 4 * sd["too_expensive"])
    log_grid = np.linspace(low, high, grid_size)

    def cdf(role):
        return ndtr((log_grid[None, None, :] - mu[role][:, :, None]) / sd[role][:, :, None])

    too_cheap, cheap = 1 - cdf("too_cheap"), 1 - cdf("cheap")
    expensive, too_expensive = cdf("expensive"), cdf("too_expensive")
    conditions = {
        "pmc": (1 - cheap) >= too_cheap,
        "pme": too_expensive >= (1 - expensive),
        "idp": expensive >= cheap,
        "opp": too_expensive >= too_cheap,
    }
    prices = np.exp(log_grid)
    rows = []
    segments = [str(s) for s in posterior[SEGMENT].values]
    for name, condition in conditions.items():
        first = np.argmax(condition, axis=-1)
        point = np.where(condition.any(axis=-1), prices[first], np.nan)  # (sample, segment)
        for j, segment in enumerate(segments):
            values = point[:, j]
            rows.append(
                {
                    SEGMENT: segment,
                    "price_point": name,
                    "mean": float(np.nanmean(values)),
                    "q05": float(np.nanquantile(values, 0.05)),
                    "q50": float(np.nanquantile(values, 0.5)),
                    "q95": float(np.nanquantile(values, 0.95)),
                }
            )
    return pd.DataFrame(rows)
