"""Choice-based conjoint: multinomial and hierarchical Bayes mixed logit, WTP in money, share simulation.

Utility of alternative ``j`` in task ``t`` for respondent ``n`` (coefficients: `pricing.wtp.choice_data`)::

    U_ntj = sum_k beta_nk * x_tjk + e_ntj,     e ~ Gumbel (logit)
    P(j | t) = exp(V_ntj) / sum_i exp(V_nti)

The log-likelihood and its gradient are written by hand in numpy (`pricing.wtp.choice_likelihood`), over
a unit x slot x task array (padded slots get utility -1e10, padded tasks weight 0): ``sum(V of the chosen
slots) - sum over tasks of logsumexp over slots``; NUTS samples the same density compiled by numba
(`pricing.wtp.choice_kernel`).

- multinomial logit (``random=()``): ``beta_nk = beta_sk``, one coefficient vector per segment ``s``.
- hierarchical Bayes mixed logit: for the random coefficients ``beta_nk = mean_sk + sd_k * z_nk`` with
  ``z_nk ~ Normal(0, 1)`` (non-centred; independent across coefficients; one vector per respondent across
  all their tasks: panel structure); the other coefficients are fixed within a segment.

Priors (`DEFAULT_PRIORS`, overridable, stored with the fit) are stated per standard deviation of a numeric
column (numeric columns are divided by their sd inside the model; dummies and constants are not scaled)::

    segment coefficient (or mean) ~ Normal(coefficients.mu, coefficients.sigma)     default Normal(0, 5)
      (per coefficient name: by_coefficient[name] = {"mu": ..., "sigma": ...})
    sd of a random coefficient   ~ HalfNormal(random_sd.sigma)                     default HalfNormal(1)

Money (currency, per segment ``s`` and draw)::

    value_per_unit_sk = -beta_sk / beta_s,price           (WTP of one unit / of a level vs its reference)
    logit_scale_s     = 1 / |beta_s,price|
    w_n               = (beta_n . x_ref - beta_n,none) / -beta_n,price

``w_n`` is respondent n's money value of buying the reference offering (reference levels: each numeric
attribute at its median, each categorical attribute at its reference level, the reference alternative's
constant) rather than the none alternative. Across a segment's customers it is summarised as a lognormal
matched at the median and the upper quartile: ``wtp_log_median = log q50(w)``,
``wtp_log_sd = log(q75(w) / q50(w)) / 0.6745``. With a fixed price coefficient ``w`` is normal across
customers, so q50 and q75 are exact; with a random price they come from `WTP_CUSTOMERS` simulated
customers. A multinomial logit has no spread beyond the logit noise: its ``wtp_log_sd`` is `MIN_LOG_SD`.
Without a none alternative ``w`` is not identified and the two variables are left out.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import softmax
from threadpoolctl import threadpool_limits

from pricing.dims import ATTRIBUTE, CHAIN, DRAW, RESPONDENT, SEGMENT
from pricing.errors import DataError, PricingError, shown
from pricing.limits import check_sampling
from pricing.wtp.choice_data import (
    PAD_UTILITY,
    ChoiceArrays,
    ChoiceColumns,
    Design,
    alternative_shares,
    code_rows,
    learn_design,
)
from pricing.wtp.choice_likelihood import (
    COEFFICIENT,
    RANDOM_COEFFICIENT,
    ChoiceDensity,
    Parametrisation,
    Specification,
    marginal_log_likelihood,
    respondent_log_likelihood_draws,
    unit_panel,
)
from pricing.wtp.data import read_survey
from pricing.wtp.model import (
    SAMPLER_DEFAULTS,
    OptionsError,
    WTPModel,
    options_error,
    posterior_mode,
)
from pricing.wtp.model import sample_density as sample_compiled
from pricing.wtp.posterior import (
    DEFAULT_TIME_BUDGET,
    attach_metadata,
    diagnose,
    load_posterior,
    metadata,
    sample_until,
    save_posterior,
)
from pricing.wtp.priors import check_depth, prior_value

if TYPE_CHECKING:  # ArviZ is imported where it is used (`ChoiceFit.idata`): its import costs ~2 s
    import arviz as az

ALTERNATIVE = "alternative"

DEFAULT_PRIORS: dict[str, Any] = {
    "coefficients": {"mu": 0.0, "sigma": 5.0},
    "by_coefficient": {},
    "random_sd": {"sigma": 1.0},
    "price_scale": {"mu": 0.0, "sigma": 2.0},
}
MIN_LOG_SD = 1e-3
#: nutpie's low-rank mass matrix by default up to this many free parameters (larger: diagonal, measured
#: cheaper per effective draw on a 360-respondent panel with six random coefficients)
LOW_RANK_MAX = 200
#: default draws per chain of a mixed logit with NUTS: on the benchmark panel (360 x 12 x 4, six random
#: coefficients) 2 chains x 2500 reached bulk ESS >= 400 on every population mean and sd on one seed of
#: three (408, 265, 326); 2 x 4000 (after 500 tuning steps) gave 751, 991 and 410 on seeds 7, 8, 9 (410:
#: little margin)
MIXED_DRAWS = 4000
WTP_CUSTOMERS = 4096
_UPPER_QUARTILE_Z = 0.6744897501960817
_PREDICT_CHUNK = 64
#: posterior draws per block of `reference_wtp`'s simulated customers
_WTP_CHUNK = 128
#: posterior draws per block of `_respondent_coefficients`
_DERIVE_CHUNK = 64


@dataclass
class ChoiceFit:
    """A fitted choice model: the posterior (xarray Datasets, as ArviZ InferenceData on `idata`) and how to
    code data for it.

    ``groups`` maps the InferenceData's group names (``posterior`` first) to their Datasets; `idata` puts
    them in one ArviZ InferenceData when first asked for, and from then on is the one source (`posterior`
    and the group names read it). ArviZ's import costs about 2 s (it imports matplotlib and scipy.stats),
    more than a map fit itself, and the summaries below need only xarray.

    posterior variables, all in the data's units: ``theta`` (chain, draw, segment, coefficient) the model's
    own parameters per segment (`Parametrisation`: preference space the coefficients, a lognormal price as
    log(-beta_price); WTP space omega in money per unit and, at the price, log lambda; for random ones the
    segment mean); ``beta`` (same dims) the preference-space coefficients at ``theta`` (a lognormal's
    median); for mixed logit also ``sd`` (chain, draw, random_coefficient) of ``theta`` across respondents
    and ``beta_respondent`` (chain, draw, respondent, coefficient); the simulator contract
    ``value_per_unit`` (chain, draw, segment, attribute), ``logit_scale`` (chain, draw, segment) and, with a
    none alternative, ``wtp_log_median`` and ``wtp_log_sd`` (chain, draw, segment). With ``loo=True`` a
    ``log_likelihood`` group holds ``choice`` (chain, draw, respondent) for `loo`.
    """

    groups: dict[str, xr.Dataset]
    design: Design
    random: tuple[str, ...]
    method: str
    priors: dict[str, Any]
    diagnostics: dict[str, Any]
    log_likelihood: float | None = None
    mode: dict[str, np.ndarray] | None = field(default=None, repr=False)
    arrays: ChoiceArrays | None = field(default=None, repr=False)
    space: str = "preference"
    price_distribution: str = "normal"
    log_likelihood_info: dict[str, Any] = field(default_factory=dict)
    _idata: az.InferenceData | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of_idata(cls, idata: az.InferenceData, **kwargs: Any) -> ChoiceFit:
        """The fit whose groups are those of `idata` (kept: `idata` returns that same object)."""
        fit = cls(groups={g: idata[g] for g in idata.groups()}, **kwargs)
        fit._idata = idata
        return fit

    @property
    def idata(self) -> az.InferenceData:
        """The fit as ArviZ InferenceData (built from `groups` on first access, then kept)."""
        if self._idata is None:
            from arviz import InferenceData

            self._idata = InferenceData(**self.groups)
        return self._idata

    def group_names(self) -> list[str]:
        """The InferenceData's groups (without building it)."""
        return list(self._idata.groups()) if self._idata is not None else list(self.groups)

    def add_group(self, name: str, dataset: xr.Dataset) -> None:
        """Add a group (as `InferenceData.add_groups`, also once `idata` is built)."""
        if self._idata is not None:
            self._idata.add_groups({name: dataset})
        self.groups[name] = dataset

    @property
    def model(self) -> str:
        """``"mnl"`` or ``"mixed"``."""
        return "mixed" if self.random else "mnl"

    @property
    def posterior(self) -> xr.Dataset:
        return self._idata.posterior if self._idata is not None else self.groups["posterior"]

    @property
    def specification(self) -> Specification:
        return Specification(self.space, tuple(self.random), self.price_distribution)

    def loo(self):
        """PSIS-LOO over respondents (`arviz.loo`; ``elpd_loo``, its se, ``p_loo`` and Pareto k's): needs a
        fit made with ``loo=True``."""
        if "log_likelihood" not in self.group_names():
            raise DataError("PSIS-LOO: fit with loo=True (--loo): it needs the pointwise log-likelihood")
        import arviz as az

        with warnings.catch_warnings():  # ArviZ warns about high Pareto k; loo_summary reports them
            warnings.simplefilter("ignore")
            return az.loo(self.idata, var_name="choice")

    def loo_summary(self) -> dict[str, Any] | None:
        """``elpd_loo``, ``se``, ``p_loo`` and ``pareto_k_over_0_7`` (respondents whose estimate is
        unreliable), or None without a pointwise log-likelihood."""
        if "log_likelihood" not in self.group_names():
            return None
        result = self.loo()
        return {
            "elpd_loo": float(result["elpd_loo"]),
            "se": float(result["se"]),
            "p_loo": float(result["p_loo"]),
            "pareto_k_over_0_7": int((np.asarray(result["pareto_k"]) > 0.7).sum()),
            "respondents": int(np.asarray(result["pareto_k"]).size),
        }

    def native_summary(self) -> pd.DataFrame:
        """Posterior summary of ``theta``, the model's own parameters (in WTP space: omega in money per unit
        and log lambda at the price)."""
        return summarise(self.posterior["theta"], [SEGMENT, COEFFICIENT])

    def respondent_wtp(self) -> xr.DataArray:
        """WTP (currency) per respondent and attribute: -beta_nk / beta_n,price (chain, draw, respondent,
        attribute); for a multinomial logit every respondent has their segment's values."""
        if "beta_respondent" in self.posterior:
            beta = self.posterior["beta_respondent"]
        else:
            segment_of = self.posterior["respondent_segment"]
            beta = self.posterior["beta"].sel({SEGMENT: segment_of})
        return money_values(beta, self.design)

    def predict(
        self,
        data: str | Path | pd.DataFrame,
        *,
        asc_of: Mapping[str, str] | None = None,
        at_mode: bool = False,
    ) -> xr.DataArray:
        """Choice shares (chain, draw, alternative) for a data set, as mlogit's `predict`.

        Each task's logit probabilities are computed with the posterior draws (for mixed logit with each
        respondent's own coefficients: respondents must be in the fit) and averaged over tasks. The data
        needs the id, task, alternative, price and attribute columns (and segment, if fitted); the choice
        column is not used. `asc_of` maps a new alternative to the fitted alternative whose constant it takes.
        With `at_mode` (MAP fits only) the shares at the posterior mode, dims (alternative,): the
        maximum-likelihood plug-in prediction under flat priors.
        """
        frame, label, _ = read_survey(data)
        arrays = code_rows(frame, self.design, label, with_choice=False, asc_of=asc_of)
        alternatives = list(dict.fromkeys(a for a in arrays.alt.ravel() if a != ""))
        if at_mode:
            if self.mode is None:
                raise DataError("at_mode: this fit has no posterior mode; fit with method='map'")
            beta = self.mode["beta_respondent" if self.random else "beta"]
            shares, _ = self._shares(arrays, alternatives, beta[None, None])
            return xr.DataArray(
                shares[0], dims=(ALTERNATIVE,), coords={ALTERNATIVE: alternatives}, name="share"
            )
        shares, _ = self._shares(arrays, alternatives)
        chains, draws = self.posterior.sizes[CHAIN], self.posterior.sizes[DRAW]
        return xr.DataArray(
            shares.reshape(chains, draws, len(alternatives)),
            dims=(CHAIN, DRAW, ALTERNATIVE),
            coords={
                CHAIN: self.posterior[CHAIN].values,
                DRAW: self.posterior[DRAW].values,
                ALTERNATIVE: alternatives,
            },
            name="share",
        )

    def share_check(self, seed: int = 0) -> pd.DataFrame:
        """Posterior predictive check: observed vs predicted choice share of each alternative in the fit data.

        Columns: ``observed``, ``predicted`` (posterior mean of the mean logit probability), ``q05``, ``q95``
        (90% interval of the share in data sets replicated from the posterior, sampling noise included) and
        ``inside`` (observed within the interval).
        """
        if self.arrays is None:
            raise DataError(
                "share_check needs the fit's data, which this file does not carry (saved before the data "
                "were kept with the fit): refit it with `pricing fit choice ... --output FILE`"
            )
        arrays = self.arrays
        alternatives = list(self.design.alternatives)
        predicted, replicated = self._shares(arrays, alternatives, rng=np.random.default_rng(seed))
        observed_slots = np.zeros(arrays.present.shape)
        observed_slots[np.arange(len(arrays.chosen)), arrays.chosen] = 1.0
        observed = alternative_shares(arrays, observed_slots, alternatives)
        table = pd.DataFrame(
            {
                "observed": observed,
                "predicted": predicted.mean(axis=0),
                "q05": np.quantile(replicated, 0.05, axis=0),
                "q95": np.quantile(replicated, 0.95, axis=0),
            },
            index=pd.Index(alternatives, name=ALTERNATIVE),
        )
        table["inside"] = (table["observed"] >= table["q05"]) & (table["observed"] <= table["q95"])
        return table

    def _shares(
        self,
        arrays: ChoiceArrays,
        alternatives: Sequence[str],
        beta: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean logit probability of each alternative over tasks, per draw (draws flattened chain-major),
        and with `rng` the shares of choices drawn from those probabilities (a replicated data set per draw).

        `beta` replaces the posterior's coefficients: (chain, draw, segment or respondent, coefficient).
        """
        beta_units, unit_of_task = self._unit_coefficients(arrays, beta)
        total, (n_tasks, n_slots) = beta_units.shape[0], arrays.present.shape
        onehot = np.stack([arrays.alt == a for a in alternatives], axis=-1).astype(float)  # task, slot, alt
        pad = np.where(arrays.present, 0.0, PAD_UTILITY)
        shares = np.empty((total, len(alternatives)))
        replicated = np.empty((total, len(alternatives))) if rng is not None else None
        for start in range(0, total, _PREDICT_CHUNK):  # chunks of draws bound the (draw, task, coef) array
            chunk = slice(start, start + _PREDICT_CHUNK)
            utility = np.einsum("tsk,dtk->dts", arrays.x, beta_units[chunk][:, unit_of_task]) + pad
            probabilities = softmax(utility, axis=-1)
            shares[chunk] = np.einsum("dts,tsa->da", probabilities, onehot) / n_tasks
            if rng is not None:
                u = rng.random(probabilities.shape[:-1])[..., None]
                slot = (u > probabilities.cumsum(axis=-1)).sum(axis=-1).clip(max=n_slots - 1)
                replicated[chunk] = onehot[np.arange(n_tasks), slot].mean(axis=1)
        return shares, replicated

    def _unit_coefficients(
        self, arrays: ChoiceArrays, beta: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (flattened draw, unit, coefficient) of the respondents (mixed logit) or segments
        (multinomial logit), and the unit of each task."""
        posterior = self.posterior
        if "beta_respondent" in posterior:
            fitted = [str(r) for r in posterior[RESPONDENT].values]
            position = {r: i for i, r in enumerate(fitted)}
            unknown = [r for r in arrays.respondents if r not in position]
            if unknown:
                raise DataError(
                    f"column {self.design.columns.id!r}: respondent(s) {', '.join(map(repr, unknown[:5]))} "
                    f"are not in the mixed logit fit; shares use each respondent's own coefficients"
                )
            if beta is None:
                beta = posterior["beta_respondent"].transpose(CHAIN, DRAW, RESPONDENT, COEFFICIENT).values
            unit = np.array([position[r] for r in arrays.respondents])[arrays.respondent]
            return beta.reshape(-1, *beta.shape[2:]), unit
        fitted_segments = [str(s) for s in posterior[SEGMENT].values]
        missing = [s for s in arrays.segments if s not in fitted_segments]
        if missing:
            raise DataError(
                f"column {self.design.columns.segment!r}: segment(s) {', '.join(map(repr, missing))} "
                f"are not in the fit (segments: {', '.join(fitted_segments)})"
            )
        if beta is None:
            beta = posterior["beta"].transpose(CHAIN, DRAW, SEGMENT, COEFFICIENT).values
        segment_index = np.array([fitted_segments.index(s) for s in arrays.segments])
        unit = segment_index[arrays.respondent_segment[arrays.respondent]]
        return beta.reshape(-1, *beta.shape[2:]), unit

    # ---- summaries ----

    def coefficient_summary(self) -> pd.DataFrame:
        """Posterior mean, sd, 5% and 95% quantiles of each segment's coefficients (rows: segment x coef)."""
        return summarise(self.posterior["beta"], [SEGMENT, COEFFICIENT])

    def wtp_summary(self) -> pd.DataFrame:
        """Posterior median and 5/95% quantiles of each attribute's WTP (`value_per_unit`, currency) per
        segment: a ratio with the price coefficient, whose mean and sd need not exist (`WTP_STATS`)."""
        return summarise(self.posterior["value_per_unit"], [SEGMENT, ATTRIBUTE], WTP_STATS)

    def price_near_zero(self) -> pd.Series:
        """Per segment, the share of posterior draws in which the price coefficient is near zero
        (`near_zero_share`)."""
        price = self.design.coefficients[self.design.price_index]
        beta = self.posterior["beta"].sel({COEFFICIENT: price}).transpose(CHAIN, DRAW, SEGMENT).values
        share = near_zero_share(beta.reshape(-1, beta.shape[-1]))
        return pd.Series(
            share, index=pd.Index([str(s) for s in self.posterior[SEGMENT].values], name=SEGMENT)
        )

    def warnings(self) -> list[str]:
        """Plain-words warnings about the WTP figures: the price coefficient near zero in a visible share of
        the draws (at least `NEAR_ZERO_WARN`)."""
        messages = []
        if self.space == "wtp":  # WTP is estimated directly: nothing divides by the price coefficient
            return messages
        for segment, share in self.price_near_zero().items():
            if share >= NEAR_ZERO_WARN:
                where = f"segment {segment}: " if self.posterior.sizes[SEGMENT] > 1 else ""
                messages.append(
                    f"{where}in {share:.1%} of the posterior draws the price coefficient is close to zero "
                    "(less than a tenth of its median size, or of the other sign). WTP divides by it, so in "
                    "those draws WTP is more than ten times its usual size: WTP has no reliable mean or sd. "
                    "Use the medians and 5-95% ranges, and expect them to be wide."
                )
        return messages

    def sd_summary(self) -> pd.DataFrame:
        """Posterior summary of the sd across respondents of each random coefficient (empty for MNL)."""
        if "sd" not in self.posterior:
            return pd.DataFrame(columns=list(COEFFICIENT_STATS))
        return summarise(self.posterior["sd"], [RANDOM_COEFFICIENT])

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``: coefficients, wtp, sd, segments, diagnostics (+ model facts).

        ``coefficients`` map each name to ``{mean, sd, q05, q50, q95}`` when there is one segment, and to
        ``{segment: {...}}`` when there are several; ``wtp`` the same with ``{q05, q50, q95}`` (a ratio with
        the price coefficient: the median is the headline, its mean and sd need not exist); ``sd`` (random
        coefficients) maps each name to ``{mean, sd, q05, q50, q95}``; ``price_near_zero`` each segment to
        the share of draws with the price coefficient near zero, and ``warnings`` says so in words.
        """

        def table(frame: pd.DataFrame, single: bool) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for index, row in frame.iterrows():
                values = {k: float(v) for k, v in row.items()}
                if isinstance(index, tuple) and not single:
                    out.setdefault(str(index[1]), {})[str(index[0])] = values
                else:
                    out[str(index[-1] if isinstance(index, tuple) else index)] = values
            return out

        single = self.posterior.sizes[SEGMENT] == 1
        diagnostics = {
            k: self.diagnostics.get(k)
            for k in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ok", "problems")
        }
        return {
            "model": self.model,
            "method": self.method,
            "coefficients": table(self.coefficient_summary(), single),
            "wtp": table(self.wtp_summary(), single),
            "sd": table(self.sd_summary(), True),
            "segments": [str(s) for s in self.posterior[SEGMENT].values],
            "theta": table(self.native_summary(), single),
            "space": self.space,
            "price_distribution": self.price_distribution if self.random else None,
            "log_likelihood": self.log_likelihood,
            "log_likelihood_mc_error": self.log_likelihood_info.get("mc_error"),
            "log_likelihood_how": self.log_likelihood_info.get("how"),
            "loo": self.loo_summary(),
            "diagnostics": diagnostics,
            "price_near_zero": {k: float(v) for k, v in self.price_near_zero().items()},
            "warnings": self.warnings(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the fit as netCDF with `pricing.wtp.posterior.save_posterior` (design, settings in attrs)."""
        return save_posterior(self._idata if self._idata is not None else dict(self.groups), path)


# ---- fitting -------------------------------------------------------------------------------------------


def merge_priors(priors: Mapping[str, Any] | None) -> dict[str, Any]:
    """`DEFAULT_PRIORS` updated with the user's (nested dicts merged); unknown keys are errors."""
    check_depth(priors or {})
    merged = {k: dict(v) for k, v in DEFAULT_PRIORS.items()}
    for key, value in (priors or {}).items():
        if key not in merged:
            raise DataError(f"priors: unknown key {shown(key)} (known: {', '.join(DEFAULT_PRIORS)})")
        if not isinstance(value, Mapping):
            raise DataError(f"priors.{key}: must be a mapping (got {shown(value)})")
        merged[key].update(value)
    for key, settings in merged.items():
        for name, value in settings.items():
            if key == "by_coefficient":  # coefficient -> {mu, sigma}
                if not isinstance(value, Mapping):
                    raise DataError(f"priors.by_coefficient.{str(name)[:40]}: must be a mapping of mu, sigma")
                for inner, number in value.items():
                    prior_value(f"priors.by_coefficient.{str(name)[:40]}.{str(inner)[:20]}", number)
            else:
                prior_value(f"priors.{key}.{str(name)[:20]}", value)
    return merged


def _coefficient_priors(
    design: Design, priors: Mapping[str, Any], spec: Specification
) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and sd of each native (scaled) parameter: `coefficients` / `by_coefficient`, and for a
    log price entry (WTP space, lognormal price) `price_scale`."""
    mu = np.full(len(design.coefficients), float(priors["coefficients"]["mu"]))
    sigma = np.full(len(design.coefficients), float(priors["coefficients"]["sigma"]))
    for name, spec_k in priors["by_coefficient"].items():
        if name not in design.coefficients:
            raise DataError(
                f"priors.by_coefficient: unknown coefficient {name!r} "
                f"(coefficients: {', '.join(design.coefficients)})"
            )
        k = design.coefficients.index(name)
        mu[k] = float(spec_k.get("mu", mu[k]))
        sigma[k] = float(spec_k.get("sigma", sigma[k]))
    if spec.log_price(design):
        mu[design.price_index] = float(priors["price_scale"]["mu"])
        sigma[design.price_index] = float(priors["price_scale"]["sigma"])
    return mu, sigma


SPACES = ("preference", "wtp")
PRICE_DISTRIBUTIONS = ("normal", "lognormal")


def resolve_specification(
    design: Design,
    random: Sequence[str] | str | None,
    space: str = "preference",
    price_distribution: str | None = None,
) -> Specification:
    """Check the options: `DataError` naming the option when one is not understood."""
    if space not in SPACES:
        raise DataError(f"space {shown(space)}: use 'preference' or 'wtp'")
    if price_distribution is None:
        price_distribution = "lognormal" if space == "wtp" else "normal"
    if price_distribution not in PRICE_DISTRIBUTIONS:
        raise DataError(f"price distribution {shown(price_distribution)}: use 'normal' or 'lognormal'")
    if space == "wtp" and price_distribution != "lognormal":
        raise DataError(
            "price distribution 'normal' with space 'wtp': the price scale lambda must stay > 0, so a random "
            "price scale is lognormal in WTP space (as logitr's randScale = 'ln')"
        )
    return Specification(space, resolve_random(design, random), price_distribution)


def resolve_random(design: Design, random: Sequence[str] | str | None) -> tuple[str, ...]:
    """The random coefficients: names (a categorical attribute's name stands for all its level dummies),
    or ``"all"`` for every coefficient, price included (as mlogit, xlogit and gmnl mean it)."""
    if random is None or random == () or random == []:
        return ()
    if isinstance(random, str):
        random = [r.strip() for r in random.split(",") if r.strip()]
    if list(random) == ["all"]:
        return tuple(design.coefficients)
    chosen: list[str] = []
    for name in random:
        if name in design.coefficients:
            chosen.append(name)
        elif name in design.levels:
            chosen += [f"{name}={level}" for level in design.levels[name][1:]]
        else:
            raise DataError(
                f"--random {name}: not a coefficient or attribute "
                f"(coefficients: {', '.join(design.coefficients)})"
            )
    return tuple(c for c in design.coefficients if c in set(chosen))


def build_model(
    arrays: ChoiceArrays,
    design: Design,
    spec: Specification,
    priors: Mapping[str, Any],
    centred: bool = False,
):
    """The model stated in PyMC on scaled columns (free variables ``theta_scaled`` or ``mean_scaled``,
    ``sd_scaled``, ``z``, ``fixed_scaled``; see the module docstring). `centred` draws each respondent's
    random parameters as ``Normal(mean, sd)`` (variable ``theta_respondent``) instead of ``mean + sd * z``.

    Fits sample the same density written by hand (`choice_likelihood.ChoiceDensity`, compiled by numba in
    `choice_kernel.ChoiceKernel`); this statement is its reference (the tests compare value and gradient)."""
    import pymc as pm
    import pytensor.tensor as pt

    layout = Parametrisation.of(design, spec)
    x_scaled = arrays.x / np.array(design.scales)
    mu, sigma = _coefficient_priors(design, priors, spec)
    r_index, f_index = list(layout.random_index), list(layout.fixed_index)
    panel = unit_panel(arrays, x_scaled, arrays.respondent, len(arrays.respondents))
    coords = {
        SEGMENT: arrays.segments,
        COEFFICIENT: list(design.coefficients),
        RANDOM_COEFFICIENT: list(spec.random),
        "fixed_coefficient": [design.coefficients[k] for k in f_index],
        RESPONDENT: arrays.respondents,
    }
    with pm.Model(coords=coords) as model:
        if not spec.random:
            theta = pm.Normal("theta_scaled", mu=mu, sigma=sigma, dims=(SEGMENT, COEFFICIENT))
            theta_respondent = theta[arrays.respondent_segment]
        else:
            mean = pm.Normal(
                "mean_scaled", mu=mu[r_index], sigma=sigma[r_index], dims=(SEGMENT, RANDOM_COEFFICIENT)
            )
            sd = pm.HalfNormal(
                "sd_scaled", sigma=float(priors["random_sd"]["sigma"]), dims=RANDOM_COEFFICIENT
            )
            if centred:
                own = pm.Normal(
                    "theta_respondent",
                    mean[arrays.respondent_segment],
                    sd,
                    dims=(RESPONDENT, RANDOM_COEFFICIENT),
                )
            else:
                z = pm.Normal("z", 0.0, 1.0, dims=(RESPONDENT, RANDOM_COEFFICIENT))
                own = mean[arrays.respondent_segment] + z * sd
            parts = [own]
            if f_index:
                fixed = pm.Normal(
                    "fixed_scaled", mu=mu[f_index], sigma=sigma[f_index], dims=(SEGMENT, "fixed_coefficient")
                )
                parts.append(fixed[arrays.respondent_segment])
            theta_respondent = pt.concatenate(parts, axis=1)[:, layout.order]
        beta_respondent = theta_respondent
        if layout.log_price:
            mask = np.zeros(len(design.coefficients))
            mask[layout.price] = 1.0
            scale = pt.exp(theta_respondent[:, layout.price])[:, None]
            kept = theta_respondent * scale if spec.space == "wtp" else theta_respondent
            beta_respondent = kept * (1.0 - mask) - scale * mask
        # respondent x slot x task (`choice_likelihood.unit_panel`): each respondent's coefficients
        # broadcast over their own tasks
        units, slots, tasks = panel.pad.shape
        utility = (pt.as_tensor(panel.x) * beta_respondent[:, None, :]).sum(axis=-1)
        utility = utility.reshape((units, slots, tasks)) + panel.pad
        chosen_utility = (utility * panel.chosen).sum()
        pm.Potential("choice_loglik", chosen_utility - (pt.logsumexp(utility, axis=1) * panel.task).sum())
    return model


def _derive(free: Mapping[str, np.ndarray], design: Design, spec: Specification, arrays: ChoiceArrays):
    """Parameters in data units from the free variables (draw dims leading): ``theta`` (segment, native),
    ``beta`` (segment, preference coefficients at theta), and for mixed logit ``sd`` (native) and
    ``beta_respondent``."""
    layout = Parametrisation.of(design, spec)
    if not spec.random:
        theta = layout.data_units(free["theta_scaled"])
        return {"theta": theta, "beta": layout.preference(theta)}
    segment_parts = [free["mean_scaled"]] + ([free["fixed_scaled"]] if "fixed_scaled" in free else [])
    theta = layout.data_units(np.concatenate(segment_parts, axis=-1)[..., layout.order])
    return {
        "theta": theta,
        "beta": layout.preference(theta),
        "sd": layout.sd_data_units(free["sd_scaled"]),
        "beta_respondent": _respondent_coefficients(free, layout, arrays),
    }


def _respondent_coefficients(
    free: Mapping[str, np.ndarray], layout: Parametrisation, arrays: ChoiceArrays
) -> np.ndarray:
    """Each respondent's preference coefficients (draw dims..., respondent, coefficient) in data units.

    Written block by block of draws into one array: the whole-posterior temporaries (respondent parameters,
    segment values per respondent, the reordered and rescaled copies) would each be as large as the result,
    and allocating fresh memory costs more than the arithmetic; the numbers are the same."""
    lead = free["sd_scaled"].shape[:-1]
    flat = {name: value.reshape(-1, *value.shape[len(lead) :]) for name, value in free.items()}
    total = int(np.prod(lead, dtype=int))
    result = np.empty((total, len(arrays.respondent_segment), len(layout.to_data)))
    for start in range(0, total, _DERIVE_CHUNK):
        block = {name: value[start : start + _DERIVE_CHUNK] for name, value in flat.items()}
        parts = [_own_scaled(block, arrays)]
        if "fixed_scaled" in block:
            parts.append(block["fixed_scaled"][..., arrays.respondent_segment, :])
        own = layout.data_units(np.concatenate(parts, axis=-1)[..., layout.order])
        result[start : start + _DERIVE_CHUNK] = layout.preference(own)
    return result.reshape(*lead, *result.shape[1:])


def _own_scaled(free: Mapping[str, np.ndarray], arrays: ChoiceArrays) -> np.ndarray:
    """Each respondent's random parameters (scaled): sampled directly (centred) or mean + sd * z."""
    if "theta_respondent" in free:
        return free["theta_respondent"]
    return (
        free["mean_scaled"][..., arrays.respondent_segment, :] + free["z"] * free["sd_scaled"][..., None, :]
    )


def money_values(beta: xr.DataArray, design: Design) -> xr.DataArray:
    """-beta_k / beta_price of the attribute coefficients (currency per unit), on a dim `attribute`."""
    price = beta.sel({COEFFICIENT: design.coefficients[design.price_index]})
    values = -beta.sel({COEFFICIENT: design.attribute_coefficients}) / price
    return values.rename({COEFFICIENT: ATTRIBUTE})


def reference_vector(design: Design) -> np.ndarray:
    """x of the reference offering relative to none: numeric attributes at their reference, none = -1."""
    x = np.zeros(len(design.coefficients))
    for k, (name, kind) in enumerate(zip(design.coefficients, design.kinds, strict=True)):
        if kind == "numeric":
            x[k] = design.reference[name]
        elif kind == "none":
            x[k] = -1.0
    return x


def customer_money(theta: np.ndarray, layout: Parametrisation) -> tuple[np.ndarray, np.ndarray]:
    """Money per unit of every coefficient (..., coefficient; the price entry meaningless) and the price
    scale |beta_price| (...) of customers with native parameters `theta` (data units). In WTP space these
    are omega and lambda themselves; in preference space -beta / beta_price and |beta_price|."""
    if layout.space == "wtp":
        return theta, np.exp(theta[..., layout.price])
    beta = layout.preference(theta)
    price = beta[..., layout.price]
    return -beta / price[..., None], np.abs(price)


def reference_wtp(
    theta: np.ndarray,
    sd: np.ndarray | None,
    design: Design,
    spec: Specification | Sequence[str],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lognormal summary (log median, log sd) of customers' money value w of the reference offering vs none.

    theta : (..., coefficient) native segment parameters (data units); sd : (..., random_coefficient) or
    None; `spec` (or, for preference space with a normal price, just the random coefficients' names).
    Returns the two arrays (shape of theta less the last dim) and the share of draws whose median customer
    values the reference offering at <= 0 (clipped there; see `ChoiceFit` docs).
    """
    if not isinstance(spec, Specification):
        spec = Specification(random=tuple(spec))
    layout = Parametrisation.of(design, spec)
    x_ref = reference_vector(design)
    price = design.price_index
    r_index = list(layout.random_index)
    linear = spec.space == "wtp" or design.coefficients[price] not in spec.random
    if linear:  # w is linear in the random parameters: normal across customers, exact quartiles
        values, scale = customer_money(theta, layout)
        x_money = x_ref.copy()
        x_money[price] = 0.0
        q50 = values @ x_money
        spread = 0.0 if sd is None else np.sqrt(((sd * x_money[r_index]) ** 2).sum(axis=-1))
        if spec.space == "preference" and sd is not None:
            spread = spread / scale
        q75 = q50 + _UPPER_QUARTILE_Z * spread
    else:  # a random preference-space price: w is a ratio, its quartiles from simulated customers
        z = np.random.default_rng(seed).standard_normal((WTP_CUSTOMERS, len(r_index)))
        flat_theta, flat_sd = theta.reshape(-1, theta.shape[-1]), sd.reshape(-1, sd.shape[-1])
        q50, q75 = _ratio_quartiles(flat_theta, flat_sd, z, x_ref, layout)
        q50, q75 = q50.reshape(theta.shape[:-1]), q75.reshape(theta.shape[:-1])
    floor = 1e-6 * abs(design.reference[design.columns.price])
    clipped = float(np.mean(q50 <= floor))
    q50 = np.maximum(q50, floor)
    log_sd = np.log(np.maximum(q75, q50) / q50) / _UPPER_QUARTILE_Z
    return np.log(q50), np.maximum(log_sd, MIN_LOG_SD), clipped


def _ratio_quartiles(
    theta: np.ndarray, sd: np.ndarray, z: np.ndarray, x_ref: np.ndarray, layout: Parametrisation
) -> tuple[np.ndarray, np.ndarray]:
    """Median and upper quartile (np.quantile's linear rule) over simulated customers of
    ``w = beta . x_ref / -beta_price`` with a random price (normal, or lognormal: ``beta_price = -e^theta``).

    theta : (draw, coefficient) native parameters; sd : (draw, random_coefficient); z : (customer,
    random_coefficient) standard normal points; each customer's native parameters are ``theta + z * sd`` on
    the random coefficients. Returns two (draw,) arrays.

    Off the price every preference coefficient is its native parameter, so the numerator is
    ``theta . x + (sd * x_random) @ z`` (one matrix product per chunk of draws, no customer array), and
    the price enters the denominator alone: its share of ``beta . x_ref`` is added explicitly (``x_ref``
    has 0 there for the reference offering). The quartiles are order statistics (`_order_statistics`),
    interpolated as `np.quantile` interpolates; a row with a NaN gives NaN, as there.
    """
    price = layout.price
    random = list(layout.random_index)
    at = random.index(price)
    x_off = x_ref.copy()
    x_off[price] = 0.0
    n = z.shape[0]
    positions = [(n - 1) * q for q in (0.5, 0.75)]
    lower = [min(int(np.floor(v)), n - 1) for v in positions]
    upper = [min(i + 1, n - 1) for i in lower]
    ranks = sorted(set(lower + upper))
    z_price = z[:, at]
    quartiles = np.empty((2, theta.shape[0]))
    for start in range(0, theta.shape[0], _WTP_CHUNK):  # bounds the (draw, customer) arrays in memory
        chunk = slice(start, start + _WTP_CHUNK)
        price_native = theta[chunk, price, None] + z_price * sd[chunk, at, None]  # draw, customer
        if layout.log_price:
            beta_price = -np.exp(price_native)
        else:
            beta_price = price_native
        w = (sd[chunk] * x_off[random]) @ z.T
        w += (theta[chunk] @ x_off)[:, None]
        if x_ref[price] != 0.0:
            w += beta_price * x_ref[price]
        w /= -beta_price
        missing = np.isnan(w).any(axis=-1)
        ordered = _order_statistics(w, ranks)
        for row, (v, lo, hi) in enumerate(zip(positions, lower, upper, strict=True)):
            quartiles[row, chunk] = _lerp(ordered[lo], ordered[hi], v - lo)
        quartiles[:, chunk][:, missing] = np.nan
    return quartiles[0], quartiles[1]


def _order_statistics(values: np.ndarray, ranks: Sequence[int]) -> dict[int, np.ndarray]:
    """The `ranks` (ascending, 0 = smallest) of each row of `values` (rows, n), which is reordered in place.

    One single-rank `np.partition` per rank, each over what lies above the previous one: several times
    faster than one partition at all ranks (numpy selects those one after another over the whole row)."""
    found, base = {}, 0
    for rank in ranks:
        rest = values[:, base:]
        rest.partition(rank - base, axis=-1)
        found[rank] = rest[:, rank - base].copy()
        base = rank + 1
    return found


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """``a + (b - a) t`` as `np.quantile` evaluates it (from ``b`` when t >= 0.5), to the last bit."""
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def fit_choice(
    data: str | Path | pd.DataFrame,
    columns: ChoiceColumns,
    *,
    random: Sequence[str] | str | None = None,
    space: str = "preference",
    price_distribution: str | None = None,
    method: str = "nuts",
    priors: Mapping[str, Any] | None = None,
    draws: int | None = None,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    cores: int | None = None,
    target_ess: int | None = None,
    time_budget: float = DEFAULT_TIME_BUDGET,
    loo: bool = False,
    centred: bool = False,
    low_rank: bool | None = None,
    warn: bool = True,
) -> ChoiceFit:
    """Fit a multinomial logit (no `random`) or a hierarchical Bayes mixed logit to long-format choice data.

    Parameters
    ----------
    data : CSV path or frame, one row per respondent x task x alternative.
    columns : column roles and attribute coding (`ChoiceColumns`).
    random : coefficients (or categorical attribute names, or ``"all"``: every coefficient, price
        included) that vary across respondents.
    space : ``"preference"`` (utility = beta . x) or ``"wtp"`` (utility = lambda (omega . x - price),
        lambda > 0: WTP estimated directly, as logitr's ``modelSpace = "wtp"``).
    price_distribution : of a random price across respondents: ``"normal"`` (the default in preference
        space) or ``"lognormal"`` (sign-constrained; the only one in WTP space, where it is the default).
    method : ``"nuts"`` (nutpie's NUTS on the hand-written density `choice_likelihood.ChoiceDensity`,
        compiled by numba once per machine: `choice_kernel.ChoiceKernel`) or ``"map"`` (posterior mode
        by L-BFGS, polished with Newton steps, then the Laplace normal approximation: ``chains * draws``
        draws from Normal(mode, inverse Hessian of the negative log-posterior); `laplace_density`).
    priors : overrides of `DEFAULT_PRIORS`.
    draws, tune, chains, seed, cores : sampler settings; the same seed gives the same numbers. `draws`
        defaults to 1000 per chain, and to `MIXED_DRAWS` for a mixed logit fitted with NUTS (the sds of
        weakly identified random coefficients mix slowly: see the README's measurements).
    target_ess : keep sampling (more chains of `draws` each) until every population parameter has this bulk
        ESS, or `time_budget` seconds have passed (`pricing.wtp.posterior.sample_until`); the fit's
        diagnostics say which.
    loo : also compute PSIS-LOO over respondents (`ChoiceFit.loo`; pointwise log-likelihood per
        respondent, integrated over their random coefficients with Halton draws).
    centred, low_rank : sampler geometry (`build_model`'s centred parametrisation; nutpie's low-rank
        mass matrix, by default for models of at most `LOW_RANK_MAX` parameters); the defaults are the
        measured best (README, benchmarks/bench_choice.py --variants).
    warn : issue `SamplingWarning` when diagnostics fail (they are stored either way).
    """
    if method not in ("nuts", "map"):
        raise DataError(f"method {method!r}: use 'nuts' or 'map'")
    if draws is None:
        draws = MIXED_DRAWS if random and method == "nuts" else 1000
    check_sampling(draws, tune, chains, seed)
    if target_ess is not None and method == "map":
        raise DataError("target ESS: the Laplace approximation (method 'map') draws independently; use nuts")
    frame, label, sha256 = read_survey(data)
    design = learn_design(frame, columns, label)
    arrays = code_rows(frame, design, label)
    spec = resolve_specification(design, random, space, price_distribution)
    if method == "map" and spec.random:
        raise DataError(
            "method 'map' with random coefficients: the joint posterior mode of a hierarchical model is "
            "degenerate (the sds run off); use method 'nuts', or 'map' without --random for a quick look"
        )
    priors = merge_priors(priors)
    mu, sigma = _coefficient_priors(design, priors, spec)
    density = ChoiceDensity(arrays, design, spec, mu, sigma, float(priors["random_sd"]["sigma"]), centred)
    started = time.perf_counter()
    mode: dict[str, np.ndarray] = {}
    stopping: dict[str, Any] = {}
    # one BLAS thread: OpenBLAS' own threads spin on the density's small products (measured 10x slower
    # under load) and would compete with the chains for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        if method == "nuts":
            free_vars = ["theta_scaled"] if not spec.random else ["mean_scaled", "sd_scaled", "fixed_scaled"]

            def batch(index: int) -> az.InferenceData:
                return sample_density(density, draws, tune, chains, seed + 7919 * index, cores, low_rank)

            if target_ess is None:
                sampled = batch(0)
            else:
                sampled, stopping = sample_until(batch, free_vars, target_ess, time_budget)
            raw = sampled.posterior
        else:
            raw, mode = laplace_density(density, draws, chains, seed)
    elapsed = time.perf_counter() - started
    free = {n: raw[n].values for n in density.free_variables(np.zeros(density.size))}
    derived = _derive(free, design, spec, arrays)
    posterior = _contract_posterior(raw, derived, design, spec, arrays, seed, warn)
    groups = {"posterior": posterior}
    if method == "nuts":
        groups |= {g: sampled[g] for g in sampled.groups() if g == "sample_stats"}
    idata = None
    if method == "nuts" or loo:  # ArviZ computes the diagnostics and PSIS-LOO; a map fit needs neither
        import arviz as az

        idata = az.InferenceData(**groups)

    diagnostic_vars = ["theta"] + (["sd"] if spec.random else [])
    if method == "nuts":
        diagnostics = diagnose(idata, diagnostic_vars, warn=warn)
        diagnostics |= stopping
    else:
        diagnostics = {
            "rhat_max": None,
            "ess_bulk_min": None,
            "ess_tail_min": None,
            "divergences": 0,
            "chains": chains,
            "draws": draws,
            "ok": True,
            "problems": [],
            "note": "Laplace approximation: independent draws, no MCMC diagnostics",
        }
    diagnostics["seconds"] = round(elapsed, 3)
    if method == "nuts":
        point = {k: v.mean(axis=(0, 1)) for k, v in derived.items() if k in ("theta", "sd")}
    else:
        point = _derive(mode, design, spec, arrays)
    likelihood = marginal_log_likelihood(arrays, design, spec, point["theta"], point.get("sd"), seed)
    if not spec.random:
        at = "posterior mode" if method == "map" else "posterior mean"
        likelihood["how"] = f"exact log-likelihood at the {at} of the coefficients"
    if loo:
        idata.add_groups(
            log_likelihood={"choice": respondent_log_likelihood_draws(arrays, design, spec, posterior, seed)}
        )
    attach_metadata(
        posterior,
        method="choice",
        columns=columns.to_dict(),
        data_sha256=sha256,
        priors=priors,
        diagnostics=diagnostics,
        design=design.to_dict(),
        model="mixed" if spec.random else "mnl",
        random=list(spec.random),
        space=spec.space,
        price_distribution=spec.price_distribution,
        fit_method=method,
        seed=seed,
        log_likelihood=likelihood["value"],
        log_likelihood_info=likelihood,
        mode={k: v.tolist() for k, v in point.items()} if method == "map" else None,
    )
    made = {
        "design": design,
        "random": spec.random,
        "method": method,
        "priors": priors,
        "diagnostics": diagnostics,
        "log_likelihood": likelihood["value"],
        "mode": point if method == "map" else None,
        "arrays": arrays,
        "space": spec.space,
        "price_distribution": spec.price_distribution,
        "log_likelihood_info": likelihood,
    }
    return ChoiceFit(groups=groups, **made) if idata is None else ChoiceFit.of_idata(idata, **made)


def sample_density(
    density: ChoiceDensity,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    cores: int | None,
    low_rank: bool | None = None,
) -> az.InferenceData:
    """NUTS (nutpie) on the density compiled by numba (`choice_kernel.ChoiceKernel`: the chains call its C
    callbacks from their threads, without the GIL; `pricing.wtp.model.sample_density`); InferenceData of the
    free variables under `build_model`'s names, no warm-up draws."""
    from pricing.wtp.choice_kernel import ChoiceKernel

    # nutpie's low-rank mass matrix adapts to the strong correlation of constants with price-like columns
    # (Heating model B: 4x fewer gradient evaluations than a diagonal one); by default only for small
    # models, as its cost grows with the number of parameters.
    if low_rank is None:
        low_rank = density.size <= LOW_RANK_MAX
    config = {"draws": draws, "tune": tune, "chains": chains, "seed": seed, "cores": cores}
    return sample_compiled(ChoiceKernel(density), config, low_rank_modified_mass_matrix=bool(low_rank))


def laplace_density(
    density: ChoiceDensity, draws: int, chains: int, seed: int
) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """The posterior mode (`model.posterior_mode`) and ``chains x draws`` draws of the Laplace approximation
    Normal(mode, inverse Hessian): a Dataset of the free variables (chain, draw, ...) and their values at
    the mode."""
    mode, hessian = posterior_mode(density.logp_dlogp, density.initial_point())
    try:
        chol = np.linalg.cholesky(np.linalg.inv(hessian))
    except np.linalg.LinAlgError:
        raise DataError(
            "method 'map': the posterior has no proper mode here (its curvature is not positive); use 'nuts'"
        ) from None
    rng = np.random.default_rng(seed)
    points = mode + rng.standard_normal((chains, draws, mode.size)) @ chol.T
    posterior = xr.Dataset(
        {
            name: ((CHAIN, DRAW, *(f"{name}_dim_{i}" for i in range(v.ndim - 2))), v)
            for name, v in density.free_variables(points).items()
        },
        coords={CHAIN: np.arange(chains), DRAW: np.arange(draws)},
    )
    return posterior, density.free_variables(mode)


# PyMC's sampler and Laplace approximation of a PyMC model: used by `pricing.wtp.retention` only (the choice
# models sample `ChoiceDensity` with `sample_density` / `laplace_density` above)
def _sample_nuts(
    model,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    cores: int | None,
    nuts_sampler: str,
    low_rank: bool | None = None,
):
    import pymc as pm

    # nutpie's low-rank mass matrix adapts to the strong correlation of constants with price-like columns
    # (Heating model B: 4x fewer gradient evaluations than a diagonal one); by default only for small
    # models, as its cost grows with the number of parameters.
    if low_rank is None:
        low_rank = sum(int(np.size(value)) for value in model.initial_point().values()) <= LOW_RANK_MAX
    nuts_sampler_kwargs = (
        {"low_rank_modified_mass_matrix": True} if nuts_sampler == "nutpie" and low_rank else {}
    )
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Numba will use object mode.*")
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            nuts_sampler=nuts_sampler,
            nuts_sampler_kwargs=nuts_sampler_kwargs,
            progressbar=False,
            compute_convergence_checks=False,
        )


def _laplace(model, draws: int, chains: int, seed: int) -> tuple[az.InferenceData, dict[str, np.ndarray]]:
    """Laplace (normal) approximation draws in the unconstrained space, and the posterior mode."""
    import arviz as az
    import pymc as pm
    from pymc.blocking import DictToArrayBijection

    with model:
        start = pm.find_MAP(progressbar=False, seed=seed, include_transformed=True)
    value_vars = {v.name: v for v in model.value_vars}
    point = {name: np.asarray(start[name], dtype=float) for name in value_vars}
    logp = model.compile_logp()
    gradient = model.compile_dlogp()
    d2logp = model.compile_d2logp(negate_output=False)

    def hessian(p):  # of the negative log-posterior
        return -d2logp(p)

    raveled = DictToArrayBijection.map(point)
    x = raveled.data.copy()

    def as_point(vector):
        return DictToArrayBijection.rmap(raveled._replace(data=vector))

    current = logp(as_point(x))
    for _ in range(50):  # Newton polish: L-BFGS stops at a loose gradient tolerance
        h = hessian(as_point(x))
        step = np.linalg.solve(h, gradient(as_point(x)))
        scale = 1.0
        while scale > 1e-6:
            candidate = logp(as_point(x + scale * step))
            if candidate >= current - 1e-12 * abs(current):
                break
            scale /= 2
        x = x + scale * step
        current = logp(as_point(x))
        if np.max(np.abs(scale * step)) < 1e-12 * (1 + np.max(np.abs(x))):
            break
    h = hessian(as_point(x))
    covariance = np.linalg.inv(h)
    covariance = (covariance + covariance.T) / 2
    chol = np.linalg.cholesky(covariance)
    rng = np.random.default_rng(seed)
    samples = x + rng.standard_normal((chains * draws, x.size)) @ chol.T
    samples = np.vstack([x[None], samples])  # row 0: the mode itself

    posterior: dict[str, np.ndarray] = {}
    mode: dict[str, np.ndarray] = {}
    offset = 0
    for info in raveled.point_map_info:
        name, shape, size = info[0], info[1], int(np.prod(info[1], dtype=int))
        values = samples[:, offset : offset + size].reshape(-1, *shape)
        offset += size
        rv = model.values_to_rvs[value_vars[name]]
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            values = transform.backward(values, *rv.owner.inputs).eval()
        posterior[rv.name] = values[1:].reshape(chains, draws, *shape)
        mode[rv.name] = values[0]
    dims = {name: list(model.named_vars_to_dims.get(name, ())) for name in posterior}
    idata = az.from_dict(posterior=posterior, dims=dims, coords={k: list(v) for k, v in model.coords.items()})
    return idata, mode


def _contract_posterior(
    raw: xr.Dataset,
    derived: Mapping[str, np.ndarray],
    design: Design,
    spec: Specification,
    arrays: ChoiceArrays,
    seed: int,
    warn: bool,
) -> xr.Dataset:
    """The saved posterior: parameters in data units plus the simulator's contract variables."""
    layout = Parametrisation.of(design, spec)
    coords = {
        CHAIN: np.arange(raw.sizes[CHAIN]),
        DRAW: raw[DRAW].values,
        SEGMENT: arrays.segments,
        COEFFICIENT: list(design.coefficients),
        RESPONDENT: arrays.respondents,
    }
    data: dict[str, Any] = {
        "theta": ((CHAIN, DRAW, SEGMENT, COEFFICIENT), derived["theta"]),
        "beta": ((CHAIN, DRAW, SEGMENT, COEFFICIENT), derived["beta"]),
    }
    if spec.random:
        coords[RANDOM_COEFFICIENT] = list(spec.random)
        data["sd"] = ((CHAIN, DRAW, RANDOM_COEFFICIENT), derived["sd"])
        data["beta_respondent"] = ((CHAIN, DRAW, RESPONDENT, COEFFICIENT), derived["beta_respondent"])
    posterior = xr.Dataset(data, coords=coords)
    segment_of = np.array(arrays.segments, dtype=object)[arrays.respondent_segment].astype(str)
    posterior = posterior.assign_coords(respondent_segment=(RESPONDENT, segment_of))
    if spec.space == "wtp":  # omega and lambda are the model's own parameters: no ratio
        money = posterior["theta"].sel({COEFFICIENT: design.attribute_coefficients})
        posterior["value_per_unit"] = money.rename({COEFFICIENT: ATTRIBUTE}).transpose(
            CHAIN, DRAW, SEGMENT, ATTRIBUTE
        )
        price_scale = np.exp(
            posterior["theta"].sel({COEFFICIENT: design.coefficients[layout.price]}, drop=True)
        )
        posterior["logit_scale"] = 1.0 / price_scale
    else:
        posterior["value_per_unit"] = money_values(posterior["beta"], design).transpose(
            CHAIN, DRAW, SEGMENT, ATTRIBUTE
        )
        price = posterior["beta"].sel({COEFFICIENT: design.coefficients[layout.price]}, drop=True)
        if warn and bool((price >= 0).any()):
            share = float((price >= 0).mean())
            warnings.warn(
                f"the price coefficient is >= 0 in {share:.1%} of draws: WTP and logit_scale are not "
                "meaningful there",
                UserWarning,
                stacklevel=3,
            )
        posterior["logit_scale"] = 1.0 / np.abs(price)
    if design.columns.none_alt is not None:
        sd = derived.get("sd")
        sd_full = (
            None
            if sd is None
            else np.broadcast_to(sd[:, :, None, :], (*derived["theta"].shape[:3], sd.shape[-1]))
        )
        log_median, log_sd, clipped = reference_wtp(derived["theta"], sd_full, design, spec, seed)
        if clipped and warn:
            warnings.warn(
                f"in {clipped:.1%} of draws the median customer values the reference offering at <= 0 "
                f"against '{design.columns.none_alt}'; wtp_log_median is clipped there",
                UserWarning,
                stacklevel=3,
            )
        posterior["wtp_log_median"] = ((CHAIN, DRAW, SEGMENT), log_median)
        posterior["wtp_log_sd"] = ((CHAIN, DRAW, SEGMENT), log_sd)
    return posterior


COEFFICIENT_STATS = ("mean", "sd", "q05", "q50", "q95")
#: WTP is a ratio with the price coefficient below: its mean and sd need not exist, its quantiles do.
WTP_STATS = ("q05", "q50", "q95")
#: A price coefficient draw is "near zero" when it is smaller than this share of its posterior median's size
#: (or of the other sign): there the WTP ratio is more than 1 / NEAR_ZERO times its median size.
NEAR_ZERO = 0.1
#: Warn when at least this share of the draws is near zero: one draw in 200 already makes the WTP's mean and
#: sd meaningless (Train's Heating model with constants: 0.9% of the draws, WTP of oc mean -5.95, sd 47).
NEAR_ZERO_WARN = 0.005


def summarise(
    array: xr.DataArray, dims: Sequence[str], stats: Sequence[str] = COEFFICIENT_STATS
) -> pd.DataFrame:
    """Posterior `stats` (mean, sd, q05, q50, q95) over chain and draw, one row per combination of `dims`."""
    stacked = array.stack(sample=(CHAIN, DRAW))
    quantiles = {name: float(name[1:]) / 100 for name in stats if name.startswith("q")}
    values = {}
    if "mean" in stats:
        values["mean"] = stacked.mean("sample")
    if "sd" in stats:
        values["sd"] = stacked.std("sample")
    if quantiles:
        q = stacked.quantile(list(quantiles.values()), "sample")
        values |= {name: q.sel(quantile=level, drop=True) for name, level in quantiles.items()}
    table = xr.Dataset(values)
    return table.to_dataframe().reset_index().set_index(list(dims))[list(stats)]


def near_zero_share(beta_price: np.ndarray, axis: int = 0) -> np.ndarray:
    """Share of draws (along `axis`) in which a price coefficient is near zero: smaller than `NEAR_ZERO`
    times the size of its median, or of the other sign. WTP = -beta / beta_price is then unstable."""
    beta_price = np.asarray(beta_price, dtype=float)
    median = np.median(beta_price, axis=axis, keepdims=True)
    return np.mean(beta_price * np.sign(median) < NEAR_ZERO * np.abs(median), axis=axis)


def load_choice_fit(path: str | Path) -> ChoiceFit:
    """Read a saved choice fit (`ChoiceFit.save`; `ChoiceModel.load` gives the whole model)."""
    return choice_fit_from_idata(load_posterior(path), str(path))


def choice_fit_from_idata(idata: az.InferenceData, where: str = "fit") -> ChoiceFit:
    """The `ChoiceFit` of a choice fit's InferenceData: `predict` works, `share_check` needs the fit's data
    (saved by `ChoiceModel` in constant_data; restored by `ChoiceModel.load`)."""
    info = metadata(idata)
    if info.get("method") != "choice" or "design" not in info:
        raise DataError(f"{where}: not a choice-based conjoint posterior (method {info.get('method')!r})")
    if "theta" not in idata.posterior:  # files before WTP space: preference space, where theta is beta
        idata.posterior["theta"] = idata.posterior["beta"]
    return ChoiceFit.of_idata(
        idata,
        design=Design.from_dict(info["design"]),
        random=tuple(info.get("random") or ()),
        method=info.get("fit_method", "nuts"),
        priors=info.get("priors", {}),
        diagnostics=info.get("diagnostics", {}),
        log_likelihood=info.get("log_likelihood"),
        mode={k: np.asarray(v) for k, v in info["mode"].items()} if info.get("mode") else None,
        space=info.get("space", "preference"),
        price_distribution=info.get("price_distribution", "normal"),
        log_likelihood_info=info.get("log_likelihood_info") or {},
    )


# ---- the one WTP model API ------------------------------------------------------------------------------

#: the choice model's sampler settings: the common ones, and how long `target_ess` may keep sampling
CHOICE_SAMPLER_DEFAULTS = {k: v for k, v in SAMPLER_DEFAULTS.items() if k != "target_accept"} | {
    "time_budget": DEFAULT_TIME_BUDGET
}


class ChoiceModel(WTPModel):
    """Choice-based conjoint in the one WTP model API (`pricing.wtp.model.WTPModel`): multinomial logit or
    hierarchical Bayes mixed logit, preference or WTP space, fitted by `fit_choice`.

    ``model_config`` holds the priors (`DEFAULT_PRIORS`, nested settings merged), ``sampler_config`` the
    sampler settings (`CHOICE_SAMPLER_DEFAULTS`); the other options are `fit_choice`'s (``columns`` as a
    `ChoiceColumns` or its dict, ``random``, ``space``, ``price_distribution``, ``loo``, ``centred``,
    ``low_rank``). After `fit` (or `load`), ``result`` is the `ChoiceFit` (summaries, `share_check`,
    `predict`, the starter scenario); the coded data are in the InferenceData's ``constant_data``, so a
    loaded fit has them too.
    """

    model_type = "choice"
    default_model_config = DEFAULT_PRIORS
    default_sampler_config = CHOICE_SAMPLER_DEFAULTS

    def __init__(
        self,
        model_config: Mapping[str, Any] | None = None,
        sampler_config: Mapping[str, Any] | None = None,
        columns: ChoiceColumns | Mapping[str, Any] | None = None,
        random: Sequence[str] | str | None = None,
        space: str = "preference",
        price_distribution: str | None = None,
        loo: bool = False,
        centred: bool = False,
        low_rank: bool | None = None,
    ):
        if random:  # a mixed logit samples longer by default (`MIXED_DRAWS`, measured)
            self.default_sampler_config = CHOICE_SAMPLER_DEFAULTS | {"draws": MIXED_DRAWS}
        super().__init__(None, sampler_config)
        try:
            self.model_config = merge_priors(model_config)
        except PricingError as error:
            raise options_error(error) from None
        if columns is None:
            raise OptionsError("columns: a choice model needs its column roles (ChoiceColumns)")
        self.columns = columns if isinstance(columns, ChoiceColumns) else ChoiceColumns.from_dict(columns)
        self.random = random if isinstance(random, str) or random is None else tuple(random)
        if space not in ("preference", "wtp"):
            raise OptionsError(f"space: {shown(space)} is not one of preference, wtp")
        self.space, self.price_distribution = space, price_distribution
        self.loo, self.centred, self.low_rank = bool(loo), bool(centred), low_rank
        self.result: ChoiceFit | None = None

    def options(self) -> dict[str, Any]:
        return {
            "columns": self.columns.to_dict(),
            "random": list(self.random) if isinstance(self.random, tuple) else self.random,
            "space": self.space,
            "price_distribution": self.price_distribution,
            "loo": self.loo,
            "centred": self.centred,
            "low_rank": self.low_rank,
        }

    @classmethod
    def legacy_options(cls, info: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "columns": info.get("columns") or {},
            "random": list(info.get("random") or ()) or None,
            "space": info.get("space", "preference"),
            "price_distribution": info.get("price_distribution"),
        }

    @property
    def idata(self) -> az.InferenceData | None:
        """The fit's InferenceData (`ChoiceFit.idata`: built when first asked for, so that a map fit and its
        read-outs never wait for ArviZ's import), or None before `fit` or `load`."""
        return None if self.result is None else self.result.idata

    def _fit(self, data, fit_method: str, config: dict[str, Any]) -> None:
        """Fit and keep the `ChoiceFit` on `result` (the InferenceData is its `idata`)."""
        if fit_method == "map" and config["target_ess"] is not None:
            raise OptionsError(
                "target ESS: the Laplace approximation (fit_method 'map') draws independently; use nuts"
            )
        fit = fit_choice(
            data,
            self.columns,
            random=self.random,
            space=self.space,
            price_distribution=self.price_distribution,
            method=fit_method,
            priors=self.model_config,
            draws=config["draws"],
            tune=config["tune"],
            chains=config["chains"],
            seed=config["seed"],
            cores=config["cores"],
            target_ess=config["target_ess"],
            time_budget=config["time_budget"],
            loo=self.loo,
            centred=self.centred,
            low_rank=self.low_rank,
        )
        fit.add_group("constant_data", _arrays_data(fit.arrays, fit.design))
        self.record(fit.posterior, fit_method, fit.priors)
        self.result = fit

    def _restore(self, idata) -> None:
        fit = choice_fit_from_idata(idata, "fit")
        if "constant_data" in idata.groups() and "x" in idata.constant_data:
            fit.arrays = _arrays_from_data(idata.constant_data)
        self.result = fit

    def fitted_result(self) -> ChoiceFit:
        """The `ChoiceFit`, or `PricingError` when the model has not been fitted (or loaded)."""
        if self.result is None:
            self.fitted()  # raises
        return self.result

    def fitted_posterior(self) -> xr.Dataset:
        return self.fitted_result().posterior

    def save(self, path: str | Path) -> Path:
        return self.fitted_result().save(path)

    def report(self) -> str:
        from pricing.wtp.choice_report import format_summary

        return format_summary(self.fitted_result())

    def to_json(self) -> dict[str, Any]:
        return self.fitted_result().to_json()


def _arrays_data(arrays: ChoiceArrays, design: Design) -> xr.Dataset:
    """The coded data of a fit as a Dataset (its constant_data group): enough to rebuild `ChoiceArrays`."""
    return xr.Dataset(
        {
            "x": (("task", "slot", COEFFICIENT), arrays.x),
            "present": (("task", "slot"), arrays.present.astype(np.int8)),
            "chosen": ("task", arrays.chosen.astype(np.int64)),
            "alt": (("task", "slot"), np.asarray(arrays.alt).astype(str)),
            "task_respondent": ("task", arrays.respondent.astype(np.int64)),
            "respondent_segment_index": (RESPONDENT, arrays.respondent_segment.astype(np.int64)),
        },
        coords={
            COEFFICIENT: list(design.coefficients),
            RESPONDENT: [str(r) for r in arrays.respondents],
            SEGMENT: [str(s) for s in arrays.segments],
        },
    )


def _arrays_from_data(data: xr.Dataset) -> ChoiceArrays:
    return ChoiceArrays(
        x=data["x"].values.astype(float),
        present=data["present"].values.astype(bool),
        chosen=data["chosen"].values.astype(int),
        alt=data["alt"].values.astype(object),
        respondent=data["task_respondent"].values.astype(int),
        respondents=[str(r) for r in data[RESPONDENT].values],
        respondent_segment=data["respondent_segment_index"].values.astype(int),
        segments=[str(s) for s in data[SEGMENT].values],
    )


__all__ = [
    "DEFAULT_PRIORS",
    "ChoiceColumns",
    "ChoiceFit",
    "ChoiceModel",
    "build_model",
    "fit_choice",
    "load_choice_fit",
    "merge_priors",
    "money_values",
    "reference_wtp",
    "summarise",
]
