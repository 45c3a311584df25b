"""The choice models' likelihood: what is estimated (`Specification`, `Parametrisation`), the posterior
density the sampler sees with its gradient by hand (`ChoiceDensity`), the marginal (simulated)
log-likelihood the reference packages report, and the pointwise one for PSIS-LOO.

Numpy only: no PyMC graph is built or compiled, so a fit pays no compile time. The density is the one
`pricing.wtp.choice.build_model` states in PyMC (the tests check value and gradient against it to 1e-9),
on numeric columns divided by their sd, as a function of one flat vector of free parameters::

    multinomial logit    theta (segment, coefficient)
    mixed, non-centred   mean (segment, random), log sd (random), z (respondent, random), fixed (segment,
                         fixed)
    mixed, centred       mean (segment, random), log sd (random), theta_n (respondent, random), fixed

``sd = exp(log sd)`` (with its Jacobian, as PyMC's log transform); each respondent's native parameters
are ``mean + sd * z`` (or ``theta_n``) on the random coefficients and their segment's fixed values on the
others, and their preference coefficients ``beta = Parametrisation.preference(theta)``. The choices enter
through a unit x slot x task panel (unit: the respondent for a mixed logit, the segment for a multinomial
logit; padded tasks and slots weigh nothing)::

    log L = sum_(u,t) [ V_u,chosen,t - logsumexp_s V_ust ],    V_ust = x_ust . beta_u
    d log L / d beta_u = sum_(s,t) (y_ust - P_ust) x_ust
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp

from pricing.dims import CHAIN, DRAW, RESPONDENT, SEGMENT
from pricing.wtp.choice_data import PAD_UTILITY, ChoiceArrays, Design

COEFFICIENT = "coefficient"
RANDOM_COEFFICIENT = "random_coefficient"
_LOG_2PI = float(np.log(2 * np.pi))
_LOG_HALF_NORMAL = float(np.log(2.0) - 0.5 * np.log(2 * np.pi))


@dataclass(frozen=True)
class Specification:
    """What is estimated (stored with the fit).

    space : ``"preference"`` (utility = beta . x) or ``"wtp"`` (utility = lambda (omega . x - price),
        lambda > 0; logitr's ``modelSpace = "wtp"``).
    random : coefficients that vary across respondents (the price's name included when it does).
    price_distribution : of a random price coefficient across respondents: ``"normal"`` (mlogit's,
        xlogit's and gmnl's default) or ``"lognormal"`` (beta_price = -exp(normal): always negative). In
        WTP space the price scale lambda is always lognormal (lambda > 0).
    """

    space: str = "preference"
    random: tuple[str, ...] = ()
    price_distribution: str = "normal"

    def log_price(self, design: Design) -> bool:
        """True when the model's price parameter is log |beta_price| (or log lambda), not beta_price."""
        price = design.coefficients[design.price_index]
        return self.space == "wtp" or (price in self.random and self.price_distribution == "lognormal")

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "random": list(self.random),
            "price_distribution": self.price_distribution,
        }


@dataclass(frozen=True)
class Parametrisation:
    """Where each native parameter sits, and how the sampler's scaled units become the data's.

    Native parameters ``theta`` (one per coefficient, in design order): preference space: the coefficients,
    except a lognormal price: log(-beta_price); WTP space: omega (money per unit) and, at the price, log
    lambda. Inside the model numeric columns are divided by their sd, so
    ``theta_data = theta_scaled * to_data`` (and ``- log(sd of price)`` at a log price entry).
    """

    space: str
    price: int
    log_price: bool
    random_index: tuple[int, ...]
    fixed_index: tuple[int, ...]
    to_data: np.ndarray
    log_offset: float

    @classmethod
    def of(cls, design: Design, spec: Specification) -> Parametrisation:
        scales = np.array(design.scales)
        price = design.price_index
        to_data = 1.0 / scales
        if spec.space == "wtp":
            to_data = scales[price] / scales
        log_price = spec.log_price(design)
        if log_price:
            to_data[price] = 1.0
        random_index = tuple(design.coefficients.index(c) for c in spec.random)
        fixed_index = tuple(k for k in range(len(design.coefficients)) if k not in random_index)
        return cls(
            space=spec.space,
            price=price,
            log_price=log_price,
            random_index=random_index,
            fixed_index=fixed_index,
            to_data=to_data,
            log_offset=float(np.log(scales[price])) if log_price else 0.0,
        )

    @property
    def order(self) -> np.ndarray:
        """Positions that put (random..., fixed...) back in design order."""
        return np.argsort([*self.random_index, *self.fixed_index])

    def data_units(self, theta: np.ndarray) -> np.ndarray:
        """Native parameters (..., coefficient) from scaled to data units."""
        theta = theta * self.to_data
        if self.log_price:
            theta[..., self.price] -= self.log_offset
        return theta

    def sd_data_units(self, sd: np.ndarray) -> np.ndarray:
        """Sds across respondents (..., random_coefficient) from scaled to data units (a log entry's sd is
        the same in both)."""
        return sd * self.to_data[list(self.random_index)]

    def preference(self, theta: np.ndarray) -> np.ndarray:
        """Preference-space coefficients (..., coefficient) from native parameters (either units)."""
        if not self.log_price:
            return theta
        mask = np.zeros(theta.shape[-1])
        mask[self.price] = 1.0
        scale = np.exp(theta[..., self.price])[..., None]
        kept = theta * scale if self.space == "wtp" else theta
        return kept * (1.0 - mask) - scale * mask


@dataclass(frozen=True)
class Panel:
    """The tasks of each unit (respondent or segment) side by side, padded to the largest number of tasks.

    x : (unit, slot * task, coefficient), slot-major; pad : (unit, slot, task) 0 or `PAD_UTILITY`;
    chosen : (unit, slot, task) 1 at the chosen slot; task : (unit, task) 1 for a real task."""

    x: np.ndarray
    pad: np.ndarray
    chosen: np.ndarray
    task: np.ndarray


def unit_panel(arrays: ChoiceArrays, x: np.ndarray, unit_of_task: np.ndarray, units: int) -> Panel:
    """The `Panel` of the tasks grouped by `unit_of_task` (``x``: task, slot, coefficient)."""
    position = pd.Series(unit_of_task).groupby(unit_of_task).cumcount().to_numpy()
    n_tasks = int(position.max()) + 1 if len(position) else 1
    n_slots, k = arrays.present.shape[1], x.shape[-1]
    panel_x = np.zeros((units, n_tasks, n_slots, k))
    panel_x[unit_of_task, position] = x
    pad = np.full((units, n_tasks, n_slots), PAD_UTILITY)
    pad[unit_of_task, position] = np.where(arrays.present, 0.0, PAD_UTILITY)
    chosen = np.zeros((units, n_tasks, n_slots))
    chosen[unit_of_task, position, arrays.chosen] = 1.0
    task = np.zeros((units, n_tasks))
    task[unit_of_task, position] = 1.0
    slot_major = np.ascontiguousarray(panel_x.transpose(0, 2, 1, 3)).reshape(units, n_slots * n_tasks, k)
    return Panel(
        x=slot_major,
        pad=np.ascontiguousarray(pad.transpose(0, 2, 1)),
        chosen=np.ascontiguousarray(chosen.transpose(0, 2, 1)),
        task=task,
    )


class ChoiceDensity:
    """Log posterior density of a choice model and its gradient, in the flat free vector (module docstring).

    mu, sigma : prior mean and sd of each native (scaled) parameter; sd_sigma : the HalfNormal prior scale
    of the random sds; centred : sample each respondent's random parameters directly instead of ``z``.
    `logp_dlogp` works in buffers of its own (one thread at a time). The definition of the density: NUTS
    samples the same density compiled by numba (`pricing.wtp.choice_kernel.ChoiceKernel`, held to this one
    to 1e-9 in the tests); `fit_method="map"` uses this one.
    """

    def __init__(
        self,
        arrays: ChoiceArrays,
        design: Design,
        spec: Specification,
        mu: np.ndarray,
        sigma: np.ndarray,
        sd_sigma: float,
        centred: bool = False,
    ):
        self.layout = layout = Parametrisation.of(design, spec)
        self.random, self.fixed = list(layout.random_index), list(layout.fixed_index)
        self.centred = bool(centred) and bool(self.random)
        self.mu, self.sigma, self.sd_sigma = np.asarray(mu, float), np.asarray(sigma, float), float(sd_sigma)
        self.segment_of = np.asarray(arrays.respondent_segment)
        self.n_segments, self.n_respondents = len(arrays.segments), len(arrays.respondents)
        self._by_segment = (self.segment_of[None, :] == np.arange(self.n_segments)[:, None]).astype(float)
        self.arrays = arrays
        self.x_scaled = x_scaled = arrays.x / np.array(design.scales)
        self.n_coefficients = x_scaled.shape[-1]
        if self.random:  # one unit per respondent
            self.panel = unit_panel(arrays, x_scaled, arrays.respondent, self.n_respondents)
        else:  # one unit per segment
            unit = self.segment_of[arrays.respondent]
            self.panel = unit_panel(arrays, x_scaled, unit, self.n_segments)
        r, f = len(self.random), len(self.fixed)
        if self.random:
            own = "theta_n" if self.centred else "z"
            sizes = [("mean", (self.n_segments, r)), ("log_sd", (r,)), (own, (self.n_respondents, r))]
            if f:
                sizes.append(("fixed", (self.n_segments, f)))
        else:
            sizes = [("theta", (self.n_segments, self.n_coefficients))]
        self.blocks: list[tuple[str, tuple[int, ...], slice]] = []
        offset = 0
        for name, shape in sizes:
            size = int(np.prod(shape))
            self.blocks.append((name, shape, slice(offset, offset + size)))
            offset += size
        self.size = offset
        self._buffers()

    def _buffers(self) -> None:
        units, slots, tasks = self.panel.pad.shape
        self._utility = np.empty((units, slots * tasks, 1))
        self._exp = np.empty((units, slots, tasks))
        self._top = np.empty((units, tasks))
        self._total = np.empty((units, tasks))
        self._gradient = np.empty((units, 1, self.n_coefficients))

    # -- the free vector
    def unpack(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The free blocks of a flat vector (or of a (..., size) array of them)."""
        x = np.asarray(x, dtype=float)
        return {name: x[..., where].reshape(*x.shape[:-1], *shape) for name, shape, where in self.blocks}

    def free_variables(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The blocks of a (..., size) array of free vectors under `build_model`'s variable names:
        ``theta_scaled``, or ``mean_scaled``, ``sd_scaled``, ``z`` or ``theta_respondent``, and
        ``fixed_scaled``."""
        blocks = self.unpack(x)
        if not self.random:
            return {"theta_scaled": blocks["theta"]}
        free = {"mean_scaled": blocks["mean"], "sd_scaled": np.exp(blocks["log_sd"])}
        if self.centred:
            free["theta_respondent"] = blocks["theta_n"]
        else:
            free["z"] = blocks["z"]
        if "fixed" in blocks:
            free["fixed_scaled"] = blocks["fixed"]
        return free

    def initial_point(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Prior means, log sd 0 and z 0 (respondents at their segment's mean); with `rng` jittered
        uniformly in (-1, 1), as nutpie and PyMC jitter their starting points."""
        values = {
            "theta": np.broadcast_to(self.mu, (self.n_segments, self.n_coefficients)),
            "mean": np.broadcast_to(self.mu[self.random], (self.n_segments, len(self.random))),
            "log_sd": np.zeros(len(self.random)),
            "z": np.zeros((self.n_respondents, len(self.random))),
            "theta_n": np.broadcast_to(self.mu[self.random], (self.n_respondents, len(self.random))),
            "fixed": np.broadcast_to(self.mu[self.fixed], (self.n_segments, len(self.fixed))),
        }
        x = np.concatenate([np.ravel(values[name]) for name, _, _ in self.blocks])
        return x if rng is None else x + rng.uniform(-1.0, 1.0, x.size)

    # -- the density
    def _native(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """Each unit's native parameters (unit, coefficient)."""
        if not self.random:
            return blocks["theta"]
        theta = np.empty((self.n_respondents, self.n_coefficients))
        if self.centred:
            theta[:, self.random] = blocks["theta_n"]
        else:
            theta[:, self.random] = blocks["mean"][self.segment_of] + blocks["z"] * np.exp(blocks["log_sd"])
        if self.fixed:
            theta[:, self.fixed] = blocks["fixed"][self.segment_of]
        return theta

    def log_likelihood(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        """log L and its gradient in the units' preference coefficients `beta` (unit, coefficient)."""
        panel = self.panel
        units, slots, tasks = panel.pad.shape
        np.matmul(panel.x, beta[:, :, None], out=self._utility)
        utility = self._utility.reshape(units, slots, tasks)
        utility += panel.pad
        top, total, expu = self._top, self._total, self._exp
        # over the few slots one by one: numpy reduces a short middle axis several times slower
        np.copyto(top, utility[:, 0])
        for s in range(1, slots):
            np.maximum(top, utility[:, s], out=top)
        np.subtract(utility, top[:, None, :], out=expu)
        np.exp(expu, out=expu)
        np.copyto(total, expu[:, 0])
        for s in range(1, slots):
            np.add(total, expu[:, s], out=total)
        value = float(np.einsum("ust,ust->", utility, panel.chosen))
        value -= float(np.einsum("ut,ut->", np.log(total) + top, panel.task))
        np.divide(panel.task, total, out=total)
        np.multiply(expu, total[:, None, :], out=expu)
        np.subtract(panel.chosen, expu, out=expu)
        np.matmul(expu.reshape(units, 1, slots * tasks), panel.x, out=self._gradient)
        return value, self._gradient[:, 0, :].copy()

    def logp_dlogp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log posterior density (with every normalising constant, as PyMC's) and its gradient at `x`."""
        blocks = self.unpack(x)
        theta = self._native(blocks)
        layout = self.layout
        beta = layout.preference(theta)
        value, g_theta = self.log_likelihood(beta)
        if (
            layout.log_price
        ):  # through preference(): WTP space beta_k = theta_k e^theta_p; beta_p = -e^theta_p
            p = layout.price
            g_price = (g_theta * beta).sum(axis=1) if layout.space == "wtp" else g_theta[:, p] * beta[:, p]
            if layout.space == "wtp":
                g_theta *= np.exp(theta[:, p])[:, None]
            g_theta[:, p] = g_price
        gradient = np.empty(self.size)
        where = {name: slc for name, _, slc in self.blocks}
        if not self.random:
            t = blocks["theta"]
            value += _normal(t, self.mu, self.sigma)
            gradient[where["theta"]] = (g_theta - (t - self.mu) / self.sigma**2).ravel()
            return value, gradient
        mean, log_sd = blocks["mean"], blocks["log_sd"]
        sd = np.exp(log_sd)
        mu_r, sigma_r = self.mu[self.random], self.sigma[self.random]
        g_own = g_theta[:, self.random]  # respondent, random
        value += _normal(mean, mu_r, sigma_r)
        # HalfNormal(sd_sigma) on sd through log sd: log p = log(2 / sqrt(2 pi) / s) - sd^2 / (2 s^2) + log sd
        ratio = sd / self.sd_sigma
        value += float((_LOG_HALF_NORMAL - np.log(self.sd_sigma) - 0.5 * ratio**2 + log_sd).sum())
        g_mean = -(mean - mu_r) / sigma_r**2
        g_log_sd = 1.0 - ratio**2
        if self.centred:
            own = blocks["theta_n"]
            standard = (own - mean[self.segment_of]) / sd
            value += float((-0.5 * standard**2 - log_sd - 0.5 * _LOG_2PI).sum())
            g_mean += self._by_segment @ (standard / sd)
            g_log_sd += (standard**2 - 1.0).sum(axis=0)
            gradient[where["theta_n"]] = (g_own - standard / sd).ravel()
        else:
            z = blocks["z"]
            value += float(-0.5 * np.einsum("nr,nr->", z, z) - 0.5 * _LOG_2PI * z.size)
            g_mean += self._by_segment @ g_own
            g_log_sd += (g_own * z).sum(axis=0) * sd
            gradient[where["z"]] = (g_own * sd - z).ravel()
        gradient[where["mean"]] = g_mean.ravel()
        gradient[where["log_sd"]] = g_log_sd
        if self.fixed:
            fixed = blocks["fixed"]
            mu_f, sigma_f = self.mu[self.fixed], self.sigma[self.fixed]
            value += _normal(fixed, mu_f, sigma_f)
            g_fixed = -(fixed - mu_f) / sigma_f**2
            g_fixed += self._by_segment @ g_theta[:, self.fixed]
            gradient[where["fixed"]] = g_fixed.ravel()
        return value, gradient


def _normal(value: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
    """Sum of Normal(mu, sigma) log densities."""
    return float((-0.5 * ((value - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * _LOG_2PI).sum())


#: Halton draws per respondent of one randomised replicate of the marginal log-likelihood, the number of
#: replicates (their spread estimates the Monte Carlo error) and the most draws per respondent tried.
LL_DRAWS, LL_REPLICATES, LL_MAX_DRAWS, LL_MAX_ERROR = 250, 8, 4000, 0.5
#: Halton draws per respondent and posterior draws used for PSIS-LOO's pointwise log-likelihood.
LOO_DRAWS, LOO_POSTERIOR_DRAWS = 100, 1000


def respondent_log_likelihood(
    arrays: ChoiceArrays,
    layout: Parametrisation,
    theta: np.ndarray,
    sd: np.ndarray | None,
    z: np.ndarray,
) -> np.ndarray:
    """Log of each respondent's probability of their observed choices, integrated over the random
    parameters by simulation: ``log mean_r prod_t P(y_nt | theta_segment + sd * z_nr)``.

    theta : (S, segment, coefficient) native parameters (data units) of S posterior points; sd : (S,
    random_coefficient) or None; z : (respondent, R, random_coefficient) standard normal points (for a
    multinomial logit R = 1 and no random dims). Returns (S, respondent).
    """
    n_respondents, n_points = z.shape[0], z.shape[1]
    r_index = list(layout.random_index)
    # each respondent's tasks side by side (respondent, slot x task, coefficient): one batched product per
    # posterior point gives every utility of every Halton point, with no (task, point, coefficient) array
    panel = unit_panel(arrays, arrays.x, arrays.respondent, n_respondents)
    _, n_slots, n_tasks = panel.pad.shape
    chosen_slot = panel.chosen.argmax(axis=1)[:, None, :, None]  # respondent, 1, task, 1
    pad = panel.pad[..., None]
    task = panel.task[..., None]  # respondent, task, 1: 0 on padding
    result = np.empty((theta.shape[0], n_respondents))
    for s in range(theta.shape[0]):  # one posterior point at a time bounds the (respondent, ..., point) array
        own = np.repeat(theta[s][arrays.respondent_segment][:, None, :], n_points, axis=1)
        if r_index:
            own[..., r_index] += z * sd[s]
        beta = layout.preference(own)  # respondent, point, coefficient
        utility = np.matmul(panel.x, beta.transpose(0, 2, 1)).reshape(n_respondents, n_slots, n_tasks, -1)
        utility += pad
        # log P(chosen) = (V_chosen - max) - log sum exp(V - max), over the few slots one by one
        top = utility[:, 0].copy()
        for slot in range(1, n_slots):
            np.maximum(top, utility[:, slot], out=top)
        total = np.exp(utility[:, 0] - top)
        for slot in range(1, n_slots):
            total += np.exp(utility[:, slot] - top)
        chosen = np.take_along_axis(utility, chosen_slot, axis=1)[:, 0]  # respondent, task, point
        chosen -= top
        chosen -= np.log(total)
        chosen *= task
        result[s] = logsumexp(chosen.sum(axis=1), axis=1) - np.log(n_points)
    return result


def _halton_normal(respondents: int, points: int, dims: int, seed: int) -> np.ndarray:
    """(respondent, points, dims) standard normal points: consecutive stretches of one scrambled Halton
    sequence per respondent (Train 2009, ch. 9), the same for the same seed."""
    from pricing.customers import quasi_random_normal

    if dims == 0:
        return np.zeros((respondents, 1, 0))
    return quasi_random_normal(respondents * points, dims, "halton", seed).reshape(respondents, points, dims)


def marginal_log_likelihood(
    arrays: ChoiceArrays,
    design: Design,
    spec: Specification,
    theta: np.ndarray,
    sd: np.ndarray | None,
    seed: int,
) -> dict[str, Any]:
    """The log-likelihood the reference packages report, at one point of the population parameters.

    Multinomial logit: the exact log-likelihood. Mixed logit: the marginal (simulated) log-likelihood
    ``sum_n log mean_r prod_t P(y_nt | theta_n(z_nr))`` over `LL_REPLICATES` independently scrambled Halton
    sequences of R draws per respondent (all pooled for the value); the replicates' spread estimates the
    Monte Carlo error (sd / sqrt(replicates)), and R doubles from `LL_DRAWS` until that error is below
    `LL_MAX_ERROR` (or R reaches `LL_MAX_DRAWS`). Returns value, mc_error, draws (per respondent, pooled),
    and how (in words).
    """
    layout = Parametrisation.of(design, spec)
    n_respondents, dims = len(arrays.respondents), len(spec.random)
    if not dims:
        value = float(
            respondent_log_likelihood(
                arrays, layout, theta[None], None, np.zeros((n_respondents, 1, 0))
            ).sum()
        )
        return {
            "value": value,
            "mc_error": 0.0,
            "draws": 0,
            "how": "exact log-likelihood (no random coefficients)",
        }
    points = LL_DRAWS
    while True:
        pointwise = np.stack(
            [
                respondent_log_likelihood(
                    arrays,
                    layout,
                    theta[None],
                    sd[None],
                    _halton_normal(n_respondents, points, dims, seed + rep),
                )[0]
                for rep in range(LL_REPLICATES)
            ]
        )  # replicate, respondent
        replicates = pointwise.sum(axis=1)
        error = float(replicates.std(ddof=1) / np.sqrt(LL_REPLICATES))
        if error < LL_MAX_ERROR or points * 2 > LL_MAX_DRAWS:
            break
        points *= 2
    pooled = float((logsumexp(pointwise, axis=0) - np.log(LL_REPLICATES)).sum())
    how = (
        "marginal simulated log-likelihood at the posterior mean of the population parameters (segment "
        f"means, sds, fixed coefficients): each respondent's probability of their choices averaged over "
        f"{points * LL_REPLICATES:,} scrambled Halton draws of their random coefficients ({LL_REPLICATES} "
        f"independent sequences of {points:,}; Monte Carlo error {error:.2f}, from their spread)"
    )
    return {"value": pooled, "mc_error": error, "draws": points * LL_REPLICATES, "how": how}


def respondent_log_likelihood_draws(
    arrays: ChoiceArrays, design: Design, spec: Specification, posterior: xr.Dataset, seed: int
) -> xr.DataArray:
    """Pointwise log-likelihood per respondent (chain, draw, respondent) for PSIS-LOO: each posterior
    draw's population parameters, each respondent's choices integrated over their random coefficients with
    `LOO_DRAWS` Halton draws (leave-one-respondent-out: a new respondent's coefficients are unknown). Draws
    are thinned evenly to at most `LOO_POSTERIOR_DRAWS`."""
    layout = Parametrisation.of(design, spec)
    chains, draws = posterior.sizes[CHAIN], posterior.sizes[DRAW]
    step = max(1, int(np.ceil(chains * draws / LOO_POSTERIOR_DRAWS)))
    kept = posterior.isel({DRAW: slice(None, None, step)})
    theta = kept["theta"].transpose(CHAIN, DRAW, SEGMENT, COEFFICIENT).values
    flat_theta = theta.reshape(-1, *theta.shape[2:])
    flat_sd = None
    dims = len(spec.random)
    if dims:
        flat_sd = kept["sd"].transpose(CHAIN, DRAW, RANDOM_COEFFICIENT).values.reshape(len(flat_theta), dims)
    z = _halton_normal(len(arrays.respondents), LOO_DRAWS if dims else 1, dims, seed)
    values = respondent_log_likelihood(arrays, layout, flat_theta, flat_sd, z)
    return xr.DataArray(
        values.reshape(theta.shape[0], theta.shape[1], -1),
        dims=(CHAIN, DRAW, RESPONDENT),
        coords={CHAIN: kept[CHAIN].values, DRAW: kept[DRAW].values, RESPONDENT: arrays.respondents},
        name="choice",
    )
