"""The interval-censored hierarchical lognormal models' log-density and gradient, compiled by numba.

What NUTS samples for the stated, Gabor-Granger and Van Westendorp fits. The model itself is defined once,
by its blocks (`LognormalBlock`: one hierarchical lognormal per segment, and the data it explains), from
which `pricing.wtp.stated.pymc_model` builds the PyMC model (the definition the tests hold this density to:
equal log-density to 1e-8, the exact gradient, at random points) and `IntervalDensity` this density.

Why a second implementation: for these small models (8 to 40 parameters) building and compiling the PyMC
model costs more than sampling it. PyTensor's graph rewrites take about 4 s and its C module cache about
2 s at start and again at exit, and a fresh machine compiles C code for every Op; nutpie's numba backend
compiles 12 s per process. This density is one numba kernel over a flat description of the model,
compiled once per machine (numba's disk cache) for every model of the family; nutpie's Rust NUTS calls it
through two C callbacks from its own threads (`IntervalDensity.nutpie_model`,
`pricing.wtp.model.sample_density`), 3-5 us per gradient, no PyMC import.

Parameters (the unconstrained vector ``x``), per block, in this order: the segment log-medians
(rows x segments), the log of their between-segment sd, the segment log log-sds, the log of their
between-segment sd; the sds' Gamma priors are on the sd, with the log transform's Jacobian, as PyMC does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

_LOG_2PI = math.log(2 * math.pi)
_LOG2 = math.log(2.0)
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class LognormalBlock:
    """A hierarchical lognormal per segment (`pricing.wtp.stated._hierarchical_lognormal`) and its data.

    ``prefix`` names the variables (``wtp_``, ``answer_``), ``data_prefix`` the data containers and the
    likelihood; ``dims`` is (segment,) or (rows, segment); ``median_center`` (one per row) the log-median
    prior centre; ``priors`` the hyper-parameters; ``parts`` the aggregated data of `_aggregate` (exact
    statistics with the block's shape, interval terms for one-row blocks only).
    """

    prefix: str
    data_prefix: str
    dims: tuple[str, ...]
    median_center: np.ndarray
    priors: Mapping[str, float]
    parts: Mapping[str, np.ndarray]

    @property
    def pooled(self) -> tuple[tuple[str, np.ndarray, float, float], ...]:
        """(name, centre per row, centre sd, between-segment sd scale) of the two pooled quantities."""
        rows = np.shape(self.median_center)
        p = self.priors
        return (
            (
                f"{self.prefix}log_median",
                np.asarray(self.median_center, float),
                p["log_wtp_center_sd"],
                p["segment_median_sd"],
            ),
            (
                f"{self.prefix}log_log_sd",
                np.full(rows, math.log(p["wtp_sd_center"])),
                p["log_wtp_sd_center_sd"],
                p["segment_sd_sd"],
            ),
        )


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _log_ndtr(z: float) -> float:
    """log Phi(z), accurate in both tails (as scipy.special.log_ndtr)."""
    if z > 0.0:
        return math.log1p(-0.5 * math.erfc(z / _SQRT2))
    if z > -37.0:
        return math.log(0.5 * math.erfc(-z / _SQRT2))
    # asymptotic series of the Mills ratio: erfc underflows below z = -37
    r = 1.0 / (z * z)
    series = 1.0 - r * (
        1.0 - 3.0 * r * (1.0 - 5.0 * r * (1.0 - 7.0 * r * (1.0 - 9.0 * r * (1.0 - 11.0 * r))))
    )
    return -0.5 * z * z - math.log(-z) - 0.5 * _LOG_2PI + math.log(series)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _log1mexp(x: float) -> float:
    """log(1 - exp(x)) for x <= 0, as PyTensor computes it (accurate on both sides of -log 2)."""
    if x < -_LOG2:
        return math.log1p(-math.exp(x))
    return math.log(-math.expm1(x))


# The model's flat description, one float64 array (the C callbacks get only a pointer): a header
# [length, G, C, I, E, constant], then G pooled groups (first value, segments, index of log tau, centre,
# centre variance b, Gamma rate), C cells (index of mu, of log sigma, exact answers' weight, weighted mean
# and sum of squares of log amounts), I intervals (cell, log lower, log upper, weight) and E traced
# pieces (first index in x, size, 1 = exp of it, 0 = as is).
_HEADER, _POOLED, _CELL, _INTERVAL, _TRACED = 6, 6, 5, 4, 3


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _logp_dlogp(x, gradient, data) -> float:
    """The log density at `x`; its gradient is written into `gradient` (`data`: see above)."""
    n_pooled, n_cells, n_intervals = int(data[1]), int(data[2]), int(data[3])
    total = data[5]
    gradient[:] = 0.0
    at = _HEADER
    for _ in range(n_pooled):  # segment values ~ N(centre, a I + b J), a = tau^2; tau ~ Gamma(2, beta)
        first, n, t = int(data[at]), int(data[at + 1]), int(data[at + 2])
        center, b, beta = data[at + 3], data[at + 4], data[at + 5]
        at += _POOLED
        tau = math.exp(x[t])
        a = tau * tau
        k = a + n * b
        s1 = 0.0
        s2 = 0.0
        for j in range(first, first + n):
            d = x[j] - center
            s1 += d
            s2 += d * d
        total -= 0.5 * (n * _LOG_2PI + (n - 1) * math.log(a) + math.log(k) + (s2 - b * s1 * s1 / k) / a)
        for j in range(first, first + n):
            gradient[j] -= (x[j] - center - b * s1 / k) / a
        grad_a = -0.5 * ((n - 1) / a + 1 / k - s2 / (a * a) + b * s1 * s1 * (2 * a + n * b) / (a * k) ** 2)
        total += (
            2 * math.log(beta) + 2 * x[t] - beta * tau
        )  # Gamma(2, beta) density, log transform's Jacobian
        gradient[t] += grad_a * 2 * a + 2 - beta * tau
    cells = at
    for _ in range(n_cells):  # exact amounts, by their weighted sufficient statistics
        weight = data[at + 2]
        if weight > 0:
            i, j = int(data[at]), int(data[at + 1])
            mu, log_sigma = x[i], x[j]
            variance = math.exp(2 * log_sigma)
            spread = data[at + 4] + weight * (data[at + 3] - mu) ** 2
            total += -weight * (log_sigma + 0.5 * _LOG_2PI) - spread / (2 * variance)
            gradient[i] += weight * (data[at + 3] - mu) / variance
            gradient[j] += spread / variance - weight
        at += _CELL
    for _ in range(n_intervals):  # intervals: log(Phi(z_high) - Phi(z_low))
        cell = cells + _CELL * int(data[at])
        i, j = int(data[cell]), int(data[cell + 1])
        mu, sigma = x[i], math.exp(x[j])
        z_low = (data[at + 1] - mu) / sigma
        z_high = (data[at + 2] - mu) / sigma
        w = data[at + 3]
        at += _INTERVAL
        if z_low + z_high > 0:  # Phi(b) - Phi(a) = Phi(-a) - Phi(-b): the middle in the left tail
            log_right, log_left = _log_ndtr(-z_low), _log_ndtr(-z_high)
        else:
            log_right, log_left = _log_ndtr(z_high), _log_ndtr(z_low)
        term = log_right + _log1mexp(log_left - log_right)
        total += w * term
        # d term / dz = phi(z) / (Phi(z_high) - Phi(z_low)), in logs
        g_high = math.exp(-0.5 * z_high * z_high - 0.5 * _LOG_2PI - term)
        g_low = -math.exp(-0.5 * z_low * z_low - 0.5 * _LOG_2PI - term)
        gradient[i] -= w * (g_high + g_low) / sigma
        gradient[j] -= w * (g_high * z_high + g_low * z_low)
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _expand(x, out, data) -> None:
    """The traced variables at `x`, flat, into `out`."""
    at = _HEADER + _POOLED * int(data[1]) + _CELL * int(data[2]) + _INTERVAL * int(data[3])
    k = 0
    for _ in range(int(data[4])):
        first, size, exp = int(data[at]), int(data[at + 1]), data[at + 2] > 0
        at += _TRACED
        for j in range(first, first + size):
            out[k] = math.exp(x[j]) if exp else x[j]
            k += 1


_LOGP_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_EXPAND_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _model_data(pointer):
    """The flat description behind the callbacks' user-data pointer (its first value is its length)."""
    size = int(numba.carray(pointer, (1,), np.float64)[0])
    return numba.carray(pointer, (size,), np.float64)


def _logp_callback(dim, x_, gradient_, logp_, data_):  # nutpie's C signature; 0 = ok
    x = numba.carray(x_, (dim,))
    gradient = numba.carray(gradient_, (dim,))
    value = _logp_dlogp(x, gradient, _model_data(data_))
    logp_[0] = value
    if not math.isfinite(value):
        return 4
    for j in range(dim):
        if not math.isfinite(gradient[j]):
            return 3
    return 0


def _expand_callback(dim, expanded, x_, out_, data_):
    _expand(numba.carray(x_, (dim,)), numba.carray(out_, (expanded,)), _model_data(data_))
    return 0


@functools.cache
def _callbacks():
    """The two C callbacks, compiled on first use (numba caches them on disk)."""
    return (
        numba.cfunc(_LOGP_SIGNATURE, cache=True, nogil=True, error_model="numpy")(_logp_callback),
        numba.cfunc(_EXPAND_SIGNATURE, cache=True, nogil=True, error_model="numpy")(_expand_callback),
    )


class IntervalDensity:
    """Log-density and gradient of the blocks' model on the unconstrained vector (see the module docstring).

    ``logp_dlogp(x)`` -> (log density, gradient); ``expand(x)`` -> the traced variables (the names, order
    and dims of the PyMC model's posterior without the ``*_log__`` copies); ``initial_point(seed)``: PyMC's
    initial point (prior centres, Gamma means) jittered by Uniform(-1, 1), as PyMC jitters it;
    ``nutpie_model()``: the model as nutpie's compiled model (C callbacks, no Python in the sampler).
    """

    def __init__(self, blocks: list[LognormalBlock], coords: Mapping[str, list]):
        self.blocks = blocks
        self.coords = {name: list(values) for name, values in coords.items()}
        where: dict[str, tuple[int, tuple[int, ...]]] = {}  # name -> (first index in x, shape)
        offset = 0
        for block in blocks:
            shape = tuple(len(self.coords[d]) for d in block.dims)
            for name, *_ in block.pooled:
                for part, part_shape in ((name, shape), (f"{name}_segment_sd_log__", shape[:-1])):
                    where[part] = (offset, part_shape)
                    offset += math.prod(part_shape)
        self.where, self.n_dim = where, offset
        names = [n for block in blocks for n, *_ in block.pooled]
        sds = [f"{b.prefix}log_sd" for b in blocks]
        self.traced = names + [f"{n}_segment_sd" for n in names] + sds
        self.dims = {n: tuple(b.dims) for b in blocks for n, *_ in b.pooled}
        self.dims |= {f"{n}_segment_sd": tuple(b.dims[:-1]) for b in blocks for n, *_ in b.pooled}
        self.dims |= {f"{b.prefix}log_sd": tuple(b.dims) for b in blocks}
        sources = {n: (n, 0) for n in names} | {
            f"{n}_segment_sd": (f"{n}_segment_sd_log__", 1) for n in names
        }
        sources |= {f"{b.prefix}log_sd": (f"{b.prefix}log_log_sd", 1) for b in blocks}
        self.shapes = [where[sources[n][0]][1] for n in self.traced]

        pooled, cells, intervals, constant = [], [], [], 0.0
        for block in blocks:
            for name, center, center_sd, scale in block.pooled:
                first, shape = where[name]
                tau_first = where[f"{name}_segment_sd_log__"][0]
                for row, c in enumerate(np.ravel(center)):
                    pooled.append(
                        (first + row * shape[-1], shape[-1], tau_first + row, c, center_sd**2, 2 / scale)
                    )
            (mu, shape), (log_sigma, _) = (where[n] for n, *_ in block.pooled)
            size, p = math.prod(shape), block.parts
            stats = (np.ravel(p[k]) for k in ("exact_weight", "exact_mean", "exact_squares"))
            first_cell = len(cells)
            cells += zip(range(mu, mu + size), range(log_sigma, log_sigma + size), *stats, strict=True)
            constant -= float(np.sum(p["exact_log_sum"]))
            interval_cells = first_cell + np.asarray(p["interval_segment"], dtype=int)
            intervals += zip(
                interval_cells,
                p["interval_log_lower"],
                p["interval_log_upper"],
                p["interval_weight"],
                strict=True,
            )
        traced = [
            (where[sources[n][0]][0], math.prod(s), sources[n][1])
            for n, s in zip(self.traced, self.shapes, strict=True)
        ]
        header = [0.0, len(pooled), len(cells), len(intervals), len(traced), constant]
        data = np.concatenate(
            [np.ravel(np.asarray(part, dtype=float)) for part in (header, pooled, cells, intervals, traced)]
        )
        data[0] = len(data)
        data.flags.writeable = False
        self.data = data
        self.n_traced = sum(math.prod(s) for s in self.shapes)

    def split(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The named parts of the unconstrained vector `x` (views)."""
        return {
            name: x[first : first + math.prod(shape)].reshape(shape)
            for name, (first, shape) in self.where.items()
        }

    def logp_dlogp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        gradient = np.empty(self.n_dim)
        return _logp_dlogp(np.ascontiguousarray(x, dtype=float), gradient, self.data), gradient

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out = np.empty(self.n_traced)
        _expand(np.ascontiguousarray(x, dtype=float), out, self.data)
        sizes = np.cumsum([0] + [math.prod(s) for s in self.shapes])
        return {
            n: out[a:b].reshape(s)
            for n, s, a, b in zip(self.traced, self.shapes, sizes[:-1], sizes[1:], strict=True)
        }

    def start(self) -> np.ndarray:
        """PyMC's unjittered initial point: prior centres and the Gamma priors' means (log)."""
        x = np.empty(self.n_dim)
        parts = self.split(x)
        for block in self.blocks:
            for name, center, _, scale in block.pooled:
                parts[name][...] = center[..., None]
                parts[f"{name}_segment_sd_log__"][...] = math.log(scale)
        return x

    def initial_point(self, seed: int) -> np.ndarray:
        return self.start() + np.random.default_rng(seed).uniform(-1, 1, self.n_dim)

    def nutpie_model(self):
        """This density as nutpie's compiled model: the sampler calls the C callbacks from its threads,
        without Python or the GIL (as nutpie's numba backend does, but compiled once, cached on disk)."""
        from nutpie.compile_pymc import CompiledPyMCModel

        names = list(self.traced)
        logp, expand = _callbacks()
        return CompiledPyMCModel(
            _n_dim=self.n_dim,
            dims={n: tuple(d) for n, d in self.dims.items()},
            _coords=self.coords,
            _shapes=dict(zip(names, self.shapes, strict=True)),
            compiled_logp_func=logp,
            compiled_expand_func=expand,
            initial_point_func=lambda seed: self.initial_point(int(seed)),
            shared_data={},
            user_data=self.data,
            n_expanded=self.n_traced,
            shape_info=(names, None, list(self.shapes)),
            logp_func=None,
            expand_func=None,
        )
