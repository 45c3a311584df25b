"""Choice-based conjoint: multinomial and hierarchical Bayes mixed logit, WTP in money, share simulation.

Utility of alternative ``j`` in task ``t`` for respondent ``n`` (coefficients: `pricing.wtp.choice_data`)::

    U_ntj = sum_k beta_nk * x_tjk + e_ntj,     e ~ Gumbel (logit)
    P(j | t) = exp(V_ntj) / sum_i exp(V_nti)

The log-likelihood is vectorised over a respondent x task x slot array (padded slots get utility -1e10,
padded tasks weight 0): ``sum(V of the chosen slots) - sum over tasks of logsumexp over slots``.

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
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import log_softmax, softmax

from pricing.dims import ATTRIBUTE, CHAIN, DRAW, RESPONDENT, SEGMENT
from pricing.errors import DataError, shown
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
from pricing.wtp.data import read_survey
from pricing.wtp.posterior import attach_metadata, diagnose, load_posterior, metadata, save_posterior
from pricing.wtp.priors import check_depth, prior_value

COEFFICIENT = "coefficient"
RANDOM_COEFFICIENT = "random_coefficient"
ALTERNATIVE = "alternative"

DEFAULT_PRIORS: dict[str, Any] = {
    "coefficients": {"mu": 0.0, "sigma": 5.0},
    "by_coefficient": {},
    "random_sd": {"sigma": 1.0},
}
MIN_LOG_SD = 1e-3
WTP_CUSTOMERS = 4096
_UPPER_QUARTILE_Z = 0.6744897501960817
_PREDICT_CHUNK = 64


@dataclass
class ChoiceFit:
    """A fitted choice model: the posterior (ArviZ InferenceData) and how to code data for it.

    posterior variables: ``beta`` (chain, draw, segment, coefficient) segment coefficients (for random ones
    the segment mean), in the data's units; for mixed logit also ``sd`` (chain, draw, random_coefficient) and
    ``beta_respondent`` (chain, draw, respondent, coefficient); the simulator contract ``value_per_unit``
    (chain, draw, segment, attribute), ``logit_scale`` (chain, draw, segment) and, with a none alternative,
    ``wtp_log_median`` and ``wtp_log_sd`` (chain, draw, segment).
    """

    idata: az.InferenceData
    design: Design
    random: tuple[str, ...]
    method: str
    priors: dict[str, Any]
    diagnostics: dict[str, Any]
    log_likelihood: float | None = None
    mode: dict[str, np.ndarray] | None = field(default=None, repr=False)
    arrays: ChoiceArrays | None = field(default=None, repr=False)

    @property
    def model(self) -> str:
        """``"mnl"`` or ``"mixed"``."""
        return "mixed" if self.random else "mnl"

    @property
    def posterior(self) -> xr.Dataset:
        return self.idata.posterior

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
            raise DataError("share_check needs the fit's data: use the fit returned by fit_choice")
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
        """Posterior summary of each attribute's WTP (`value_per_unit`, currency) per segment."""
        return summarise(self.posterior["value_per_unit"], [SEGMENT, ATTRIBUTE])

    def sd_summary(self) -> pd.DataFrame:
        """Posterior summary of the sd across respondents of each random coefficient (empty for MNL)."""
        if "sd" not in self.posterior:
            return pd.DataFrame(columns=["mean", "sd", "q05", "q95"])
        return summarise(self.posterior["sd"], [RANDOM_COEFFICIENT])

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``: coefficients, wtp, sd, segments, diagnostics (+ model facts).

        ``coefficients`` and ``wtp`` map each name to ``{mean, sd, q05, q95}`` when there is one segment, and
        to ``{segment: {mean, sd, q05, q95}}`` when there are several; ``sd`` (random coefficients) maps
        each name to ``{mean, sd, q05, q95}``.
        """

        def table(frame: pd.DataFrame, single: bool) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for index, row in frame.iterrows():
                values = {k: float(row[k]) for k in ("mean", "sd", "q05", "q95")}
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
            "log_likelihood": self.log_likelihood,
            "diagnostics": diagnostics,
        }

    def save(self, path: str | Path) -> Path:
        """Write the fit as netCDF with `pricing.wtp.posterior.save_posterior` (design, settings in attrs)."""
        return save_posterior(self.idata, path)


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


def _coefficient_priors(design: Design, priors: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    mu = np.full(len(design.coefficients), float(priors["coefficients"]["mu"]))
    sigma = np.full(len(design.coefficients), float(priors["coefficients"]["sigma"]))
    for name, spec in priors["by_coefficient"].items():
        if name not in design.coefficients:
            raise DataError(
                f"priors.by_coefficient: unknown coefficient {name!r} "
                f"(coefficients: {', '.join(design.coefficients)})"
            )
        k = design.coefficients.index(name)
        mu[k] = float(spec.get("mu", mu[k]))
        sigma[k] = float(spec.get("sigma", sigma[k]))
    return mu, sigma


def resolve_random(design: Design, random: Sequence[str] | str | None) -> tuple[str, ...]:
    """The random coefficients: names (a categorical attribute's name stands for all its level dummies),
    or ``"all"`` for every coefficient except price."""
    if random is None or random == () or random == []:
        return ()
    if isinstance(random, str):
        random = [r.strip() for r in random.split(",") if r.strip()]
    if list(random) == ["all"]:
        return tuple(c for c, k in zip(design.coefficients, design.kinds, strict=True) if k != "price")
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


def build_model(arrays: ChoiceArrays, design: Design, random: Sequence[str], priors: Mapping[str, Any]):
    """The PyMC model on scaled columns (free variables ``*_scaled`` and ``z``; see the module docstring)."""
    import pymc as pm
    import pytensor.tensor as pt

    scales = np.array(design.scales)
    x_scaled = arrays.x / scales
    mu, sigma = _coefficient_priors(design, priors)
    fixed = [c for c in design.coefficients if c not in random]
    order = np.argsort([design.coefficients.index(c) for c in (*random, *fixed)])
    panel = respondent_panel(arrays, x_scaled)
    coords = {
        SEGMENT: arrays.segments,
        COEFFICIENT: list(design.coefficients),
        RANDOM_COEFFICIENT: list(random),
        "fixed_coefficient": fixed,
        RESPONDENT: arrays.respondents,
    }
    with pm.Model(coords=coords) as model:
        if not random:
            beta = pm.Normal("beta_scaled", mu=mu, sigma=sigma, dims=(SEGMENT, COEFFICIENT))
            beta_respondent = beta[arrays.respondent_segment]
        else:
            r_index = [design.coefficients.index(c) for c in random]
            f_index = [design.coefficients.index(c) for c in fixed]
            mean = pm.Normal(
                "mean_scaled", mu=mu[r_index], sigma=sigma[r_index], dims=(SEGMENT, RANDOM_COEFFICIENT)
            )
            sd = pm.HalfNormal(
                "sd_scaled", sigma=float(priors["random_sd"]["sigma"]), dims=RANDOM_COEFFICIENT
            )
            z = pm.Normal("z", 0.0, 1.0, dims=(RESPONDENT, RANDOM_COEFFICIENT))
            parts = [mean[arrays.respondent_segment] + z * sd]
            if fixed:
                fixed_beta = pm.Normal(
                    "fixed_scaled", mu=mu[f_index], sigma=sigma[f_index], dims=(SEGMENT, "fixed_coefficient")
                )
                parts.append(fixed_beta[arrays.respondent_segment])
            beta_respondent = pt.concatenate(parts, axis=1)[:, order]
        # respondent x task x slot: broadcasting each respondent's coefficients over their own tasks needs
        # no gather over tasks, whose gradient (a scatter-add) dominated the cost of the first version
        utility = (pt.as_tensor(panel.x) * beta_respondent[:, None, None, :]).sum(axis=-1) + panel.pad
        chosen_utility = (utility * panel.chosen).sum()
        pm.Potential("choice_loglik", chosen_utility - (pt.logsumexp(utility, axis=-1) * panel.task).sum())
    return model


@dataclass(frozen=True)
class _Panel:
    x: np.ndarray  # respondent, task, slot, coefficient
    pad: np.ndarray  # respondent, task, slot: 0 or PAD_UTILITY
    chosen: np.ndarray  # respondent, task, slot: 1 for the chosen slot
    task: np.ndarray  # respondent, task: 1 for a real task, 0 for padding


def respondent_panel(arrays: ChoiceArrays, x: np.ndarray) -> _Panel:
    """The tasks of each respondent side by side, padded to the largest number of tasks."""
    n_respondents = len(arrays.respondents)
    position = pd.Series(arrays.respondent).groupby(arrays.respondent).cumcount().to_numpy()
    n_tasks = int(position.max()) + 1
    shape = (n_respondents, n_tasks, *arrays.present.shape[1:])
    panel_x = np.zeros((*shape, x.shape[-1]))
    panel_x[arrays.respondent, position] = x
    pad = np.full(shape, PAD_UTILITY)
    pad[arrays.respondent, position] = np.where(arrays.present, 0.0, PAD_UTILITY)
    chosen = np.zeros(shape)
    chosen[arrays.respondent, position, arrays.chosen] = 1.0
    task = np.zeros(shape[:2])
    task[arrays.respondent, position] = 1.0
    return _Panel(x=panel_x, pad=pad, chosen=chosen, task=task)


def _derive(free: Mapping[str, np.ndarray], design: Design, random: Sequence[str], arrays: ChoiceArrays):
    """Coefficients in data units from the free variables (draw dims leading): beta, sd, beta_respondent."""
    scales = np.array(design.scales)
    if not random:
        return {"beta": free["beta_scaled"] / scales}
    fixed = [c for c in design.coefficients if c not in random]
    order = np.argsort([design.coefficients.index(c) for c in (*random, *fixed)])
    segment_parts = [free["mean_scaled"]]
    respondent_parts = [
        free["mean_scaled"][..., arrays.respondent_segment, :] + free["z"] * free["sd_scaled"][..., None, :]
    ]
    if fixed:
        segment_parts.append(free["fixed_scaled"])
        respondent_parts.append(free["fixed_scaled"][..., arrays.respondent_segment, :])
    r_scales = scales[[design.coefficients.index(c) for c in random]]
    return {
        "beta": np.concatenate(segment_parts, axis=-1)[..., order] / scales,
        "sd": free["sd_scaled"] / r_scales,
        "beta_respondent": np.concatenate(respondent_parts, axis=-1)[..., order] / scales,
    }


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


def reference_wtp(
    beta: np.ndarray, sd: np.ndarray | None, design: Design, random: Sequence[str], seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lognormal summary (log median, log sd) of customers' money value w of the reference offering vs none.

    beta : (..., coefficient) segment coefficients; sd : (..., random_coefficient) or None.
    Returns the two arrays (shape of beta less the last dim) and the share of draws whose median customer
    values the reference offering at <= 0 (clipped there; see `ChoiceFit` docs).
    """
    x_ref = reference_vector(design)
    price = design.price_index
    utility = beta @ x_ref
    if sd is None:
        q50 = utility / -beta[..., price]
        q75 = q50
    elif design.coefficients[price] not in random:
        r_index = [design.coefficients.index(c) for c in random]
        spread = np.sqrt(((sd * x_ref[r_index]) ** 2).sum(axis=-1))
        q50 = utility / -beta[..., price]
        q75 = (utility + _UPPER_QUARTILE_Z * spread) / -beta[..., price]
    else:
        z = np.random.default_rng(seed).standard_normal((WTP_CUSTOMERS, len(random)))
        r_index = [design.coefficients.index(c) for c in random]
        flat_beta, flat_sd = beta.reshape(-1, beta.shape[-1]), sd.reshape(-1, sd.shape[-1])
        quartiles = np.empty((2, flat_beta.shape[0]))
        for start in range(0, flat_beta.shape[0], _PREDICT_CHUNK):  # bounds (draw, customer, coef) in memory
            chunk = slice(start, start + _PREDICT_CHUNK)
            customers = np.repeat(flat_beta[chunk, None, :], WTP_CUSTOMERS, axis=1)
            customers[..., r_index] += z * flat_sd[chunk, None, :]
            w = (customers @ x_ref) / -customers[..., price]
            quartiles[:, chunk] = np.quantile(w, [0.5, 0.75], axis=-1)
        q50, q75 = quartiles.reshape(2, *beta.shape[:-1])
    floor = 1e-6 * abs(design.reference[design.columns.price])
    clipped = float(np.mean(q50 <= floor))
    q50 = np.maximum(q50, floor)
    log_sd = np.log(np.maximum(q75, q50) / q50) / _UPPER_QUARTILE_Z
    return np.log(q50), np.maximum(log_sd, MIN_LOG_SD), clipped


def fit_choice(
    data: str | Path | pd.DataFrame,
    columns: ChoiceColumns,
    *,
    random: Sequence[str] | str | None = None,
    method: str = "nuts",
    priors: Mapping[str, Any] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    cores: int | None = None,
    nuts_sampler: str = "nutpie",
    warn: bool = True,
) -> ChoiceFit:
    """Fit a multinomial logit (no `random`) or a hierarchical Bayes mixed logit to long-format choice data.

    Parameters
    ----------
    data : CSV path or frame, one row per respondent x task x alternative.
    columns : column roles and attribute coding (`ChoiceColumns`).
    random : coefficients (or categorical attribute names, or ``"all"``) that vary across respondents.
    method : ``"nuts"`` (PyMC with `nuts_sampler`, default nutpie) or ``"map"`` (posterior mode by
        `pymc.find_MAP`, polished with Newton steps on the exact Hessian, then the Laplace normal
        approximation: ``chains * draws`` draws from Normal(mode, inverse Hessian of the negative
        log-posterior) in the unconstrained space, mapped back through the variables' transforms).
    priors : overrides of `DEFAULT_PRIORS`.
    draws, tune, chains, seed, cores : sampler settings; the same seed gives the same numbers.
    warn : issue `SamplingWarning` when diagnostics fail (they are stored either way).
    """
    if method not in ("nuts", "map"):
        raise DataError(f"method {method!r}: use 'nuts' or 'map'")
    check_sampling(draws, tune, chains, seed)
    frame, label, sha256 = read_survey(data)
    design = learn_design(frame, columns, label)
    arrays = code_rows(frame, design, label)
    random = resolve_random(design, random)
    if method == "map" and random:
        raise DataError(
            "method 'map' with random coefficients: the joint posterior mode of a hierarchical model is "
            "degenerate (the sds run off); use method 'nuts', or 'map' without --random for a quick look"
        )
    priors = merge_priors(priors)
    model = build_model(arrays, design, random, priors)
    started = time.perf_counter()
    mode: dict[str, np.ndarray] = {}
    if method == "nuts":
        idata = _sample_nuts(model, draws, tune, chains, seed, cores, nuts_sampler)
    else:
        idata, mode = _laplace(model, draws, chains, seed)
    elapsed = time.perf_counter() - started
    free_names = ["beta_scaled"] if not random else ["mean_scaled", "sd_scaled", "z", "fixed_scaled"]
    free = {n: idata.posterior[n].values for n in free_names if n in idata.posterior}
    derived = _derive(free, design, random, arrays)
    posterior = _contract_posterior(idata.posterior, derived, design, random, arrays, seed, warn)
    idata = az.InferenceData(
        posterior=posterior, **{g: idata[g] for g in idata.groups() if g == "sample_stats"}
    )

    diagnostic_vars = ["beta"] + (["sd"] if random else [])
    if method == "nuts":
        diagnostics = diagnose(idata, diagnostic_vars, warn=warn)
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
        point = {k: v.mean(axis=(0, 1)) for k, v in derived.items()}
    else:
        point = _derive({n: mode[n] for n in free}, design, random, arrays)
    log_likelihood = float(_log_likelihood(arrays, point, random))
    attach_metadata(
        idata,
        method="choice",
        columns=columns.to_dict(),
        data_sha256=sha256,
        priors=priors,
        diagnostics=diagnostics,
        design=design.to_dict(),
        model="mixed" if random else "mnl",
        random=list(random),
        fit_method=method,
        seed=seed,
        log_likelihood=log_likelihood,
        mode={k: v.tolist() for k, v in point.items()} if method == "map" else None,
    )
    return ChoiceFit(
        idata=idata,
        design=design,
        random=random,
        method=method,
        priors=priors,
        diagnostics=diagnostics,
        log_likelihood=log_likelihood,
        mode=point if method == "map" else None,
        arrays=arrays,
    )


def _log_likelihood(arrays: ChoiceArrays, point: Mapping[str, np.ndarray], random: Sequence[str]) -> float:
    """Log-likelihood of the observed choices at one coefficient point (data units)."""
    if random:
        beta_task = point["beta_respondent"][arrays.respondent]
    else:
        beta_task = point["beta"][arrays.respondent_segment[arrays.respondent]]
    utility = np.einsum("tsk,tk->ts", arrays.x, beta_task) + np.where(arrays.present, 0.0, PAD_UTILITY)
    return float(log_softmax(utility, axis=-1)[np.arange(len(arrays.chosen)), arrays.chosen].sum())


def _sample_nuts(model, draws: int, tune: int, chains: int, seed: int, cores: int | None, nuts_sampler: str):
    import pymc as pm

    # nutpie's low-rank mass matrix adapts to the strong correlation of constants with price-like columns
    # (Heating model B: 4x fewer gradient evaluations than a diagonal one); only for small models, as its
    # cost grows with the number of parameters.
    small = sum(int(np.size(value)) for value in model.initial_point().values()) <= 200
    nuts_sampler_kwargs = (
        {"low_rank_modified_mass_matrix": True} if nuts_sampler == "nutpie" and small else {}
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
    random: Sequence[str],
    arrays: ChoiceArrays,
    seed: int,
    warn: bool,
) -> xr.Dataset:
    """The saved posterior: coefficients in data units plus the simulator's contract variables."""
    coords = {
        CHAIN: raw[CHAIN].values,
        DRAW: raw[DRAW].values,
        SEGMENT: arrays.segments,
        COEFFICIENT: list(design.coefficients),
    }
    data: dict[str, Any] = {"beta": ((CHAIN, DRAW, SEGMENT, COEFFICIENT), derived["beta"])}
    if random:
        coords[RANDOM_COEFFICIENT] = list(random)
        coords[RESPONDENT] = arrays.respondents
        data["sd"] = ((CHAIN, DRAW, RANDOM_COEFFICIENT), derived["sd"])
        data["beta_respondent"] = ((CHAIN, DRAW, RESPONDENT, COEFFICIENT), derived["beta_respondent"])
    else:
        coords[RESPONDENT] = arrays.respondents
    posterior = xr.Dataset(data, coords=coords)
    segment_of = np.array(arrays.segments, dtype=object)[arrays.respondent_segment].astype(str)
    posterior = posterior.assign_coords(respondent_segment=(RESPONDENT, segment_of))
    posterior["value_per_unit"] = money_values(posterior["beta"], design).transpose(
        CHAIN, DRAW, SEGMENT, ATTRIBUTE
    )
    price = posterior["beta"].sel({COEFFICIENT: design.coefficients[design.price_index]}, drop=True)
    if warn and bool((price >= 0).any()):
        share = float((price >= 0).mean())
        warnings.warn(
            f"the price coefficient is >= 0 in {share:.1%} of draws: WTP and logit_scale are not meaningful "
            "there",
            UserWarning,
            stacklevel=3,
        )
    posterior["logit_scale"] = 1.0 / np.abs(price)
    if design.columns.none_alt is not None:
        sd = derived.get("sd")
        sd_full = (
            None
            if sd is None
            else np.broadcast_to(sd[:, :, None, :], (*derived["beta"].shape[:3], sd.shape[-1]))
        )
        log_median, log_sd, clipped = reference_wtp(derived["beta"], sd_full, design, random, seed)
        if clipped and warn:
            warnings.warn(
                f"in {clipped:.1%} of draws the median customer values the reference offering at <= 0 "
                f"against "
                f"'{design.columns.none_alt}'; wtp_log_median is clipped there",
                UserWarning,
                stacklevel=3,
            )
        posterior["wtp_log_median"] = ((CHAIN, DRAW, SEGMENT), log_median)
        posterior["wtp_log_sd"] = ((CHAIN, DRAW, SEGMENT), log_sd)
    return posterior


def summarise(array: xr.DataArray, dims: Sequence[str]) -> pd.DataFrame:
    """mean, sd, q05, q95 over chain and draw, one row per combination of `dims`."""
    stacked = array.stack(sample=(CHAIN, DRAW))
    table = xr.Dataset(
        {
            "mean": stacked.mean("sample"),
            "sd": stacked.std("sample"),
            "q05": stacked.quantile(0.05, "sample").drop_vars("quantile"),
            "q95": stacked.quantile(0.95, "sample").drop_vars("quantile"),
        }
    )
    return table.to_dataframe().reset_index().set_index(list(dims))[["mean", "sd", "q05", "q95"]]


def load_choice_fit(path: str | Path) -> ChoiceFit:
    """Read a saved choice fit (`ChoiceFit.save`): `predict` works, `share_check` needs the fit's data."""
    idata = load_posterior(path)
    info = metadata(idata)
    if info.get("method") != "choice" or "design" not in info:
        raise DataError(f"{path}: not a choice-based conjoint posterior (method {info.get('method')!r})")
    return ChoiceFit(
        idata=idata,
        design=Design.from_dict(info["design"]),
        random=tuple(info.get("random") or ()),
        method=info.get("fit_method", "nuts"),
        priors=info.get("priors", {}),
        diagnostics=info.get("diagnostics", {}),
        log_likelihood=info.get("log_likelihood"),
        mode={k: np.asarray(v) for k, v in info["mode"].items()} if info.get("mode") else None,
    )


__all__ = [
    "DEFAULT_PRIORS",
    "ChoiceColumns",
    "ChoiceFit",
    "build_model",
    "fit_choice",
    "load_choice_fit",
    "merge_priors",
    "money_values",
    "reference_wtp",
    "summarise",
]
