"""The choice models' log posterior density and gradient, compiled by numba: what NUTS samples.

The same density as `pricing.wtp.choice_likelihood.ChoiceDensity` (the definition: free vector, blocks,
priors and their constants are documented there; the tests hold this kernel to it to 1e-9 in every
specification, and to central differences). Why a second implementation: ChoiceDensity is numpy, about
270 us per gradient on the bench_choice panel (360 x 12 x 4, six random coefficients; this kernel: 95 us,
load ~1), and through ``nutpie.from_pyfunc`` the GIL lets only one chain run at a time; this kernel is
called by nutpie's Rust threads through C callbacks (`ChoiceKernel.nutpie_model`,
`pricing.wtp.model.sample_density`), without Python or the GIL, and compiled once per machine (numba's
disk cache) for every choice model.

Its loops run over the respondents innermost (for a multinomial logit too: each respondent then has their
segment's coefficients), one task and slot at a time, so that LLVM vectorises them; the exp is a
polynomial in such a loop (`_exp_into`), and the log of the tasks' sums is taken once per respondent.
Compiling it (once per machine, on a model's first fit) is part of that fit's time: the code is plain loops
over scalars, without numpy's slice assignments, ``.sum()``, ``**`` or ``.view`` whose implementations numba
compiles with it (a slice assignment's error message alone took 2 s of the 7 s the kernel took; then 3.7 s,
load ~2, the issue 8 §5 measurements in the README). The log density is one function, the C callback itself:
numba makes a jitted function's machine code in its own library and again, linked in, in every function that
calls it (optimised and emitted once per caller), so the likelihood and the log density as helpers of the
callback were compiled three times over (4.3-4.7 s for the callbacks; one function: 2.9-3.2 s, load ~1.5).

The model's flat description (one float64 array: the C callbacks get only a pointer): a header of
`_HEADER` values (the ``_AT_*`` names), then x (task, slot, coefficient, respondent) scaled, pad (task,
slot, respondent) 0 or `PAD_UTILITY`, chosen (task, slot, respondent) 1 at the chosen slot, real (task,
respondent) 1 for a real task (each respondent's tasks first, padded to the most tasks), each respondent's
segment, the random and the fixed coefficients' positions, and the prior means and sds (coefficient).
"""

from __future__ import annotations

import ctypes
import functools
import math

import llvmlite.ir
import numba
import numba.extending
import numpy as np

from pricing.wtp.choice_likelihood import ChoiceDensity, unit_panel
from pricing.wtp.interval_density import _EXPAND_SIGNATURE, _LOGP_SIGNATURE, _model_data

_LOG_2PI = math.log(2 * math.pi)
_LOG_HALF_NORMAL = math.log(2.0) - 0.5 * math.log(2 * math.pi)

# kinds of model: multinomial logit (unit = segment), mixed non-centred (z), mixed centred (theta_n)
_MNL, _NON_CENTRED, _CENTRED = 0, 1, 2
# header slots
(
    _AT_LENGTH,
    _AT_KIND,
    _AT_RESPONDENTS,
    _AT_TASKS,
    _AT_SLOTS,
    _AT_COEFFICIENTS,
    _AT_SEGMENTS,
    _AT_RANDOM,
    _AT_FIXED,
    _AT_LOG_PRICE,
    _AT_WTP,
    _AT_PRICE,
    _AT_SD_SIGMA,
    _AT_X,
    _AT_PAD,
    _AT_REAL,
    _AT_CHOSEN,
    _AT_SEGMENT_OF,
    _AT_RANDOM_INDEX,
    _AT_FIXED_INDEX,
    _AT_PRIORS,
    _AT_PRIOR,
    _AT_BLOCK_THETA,
    _AT_BLOCK_MEAN,
    _AT_BLOCK_LOG_SD,
    _AT_BLOCK_OWN,
    _AT_BLOCK_FIXED,
    _AT_SIZE,
) = range(28)
_HEADER = 28


# exp by Cody and Waite's reduction and a Taylor polynomial, in loops LLVM vectorises (libm's exp, one
# call per value, took half the kernel's time): exp(v) = 2^k exp(r), k = round(v / log 2), |r| <= log(2) / 2,
# where the degree-13 polynomial's error (r^14 / 14! < 5e-18) is below a double's rounding
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of log 2: k * _LN2_HI is exact for |k| < 2^21
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: v / log 2 + _SHIFTER holds round(v / log 2) in its low bits
_SHIFTER_BITS = 0x4338000000000000
_EXP_MIN = -708.0  # below: 0 (exp(-708) = 3e-308, nothing next to the 1 of the task's best slot)
_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))


@numba.extending.intrinsic
def _bits_of(typingctx, value):
    """The int64 whose bits are the float64 `value`'s (a bitcast, in registers)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvmlite.ir.IntType(64))

    return numba.types.int64(numba.types.float64), codegen


@numba.extending.intrinsic
def _float_of(typingctx, bits):
    """The float64 whose bits are the int64 `bits`."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvmlite.ir.DoubleType())

    return numba.types.float64(numba.types.int64), codegen


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)
def _exp_into(values, out, n) -> None:
    """out[:n] = exp(values[:n]) (to a double's precision; 0 below `_EXP_MIN`)."""
    c = _TAYLOR
    for i in range(n):
        v = values[i]
        v = _EXP_MIN if v < _EXP_MIN else v
        t = v * _LOG2E + _SHIFTER
        k = t - _SHIFTER
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = c[13]
        p = p * r + c[12]
        p = p * r + c[11]
        p = p * r + c[10]
        p = p * r + c[9]
        p = p * r + c[8]
        p = p * r + c[7]
        p = p * r + c[6]
        p = p * r + c[5]
        p = p * r + c[4]
        p = p * r + c[3]
        p = p * r + c[2]
        p = p * r + c[1]
        p = p * r + c[0]
        scale = _float_of((_bits_of(t) - _SHIFTER_BITS + 1023) << 52)  # 2^k: k + 1023 in the exponent
        out[i] = 0.0 if values[i] < _EXP_MIN else p * scale


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)
def _expand(x, out, data) -> None:
    """The traced variables at `x` (the free vector with ``sd = exp(log sd)``), flat, into `out`."""
    for j in range(x.shape[0]):
        out[j] = x[j]
    if int(data[_AT_KIND]) != _MNL:
        first = int(data[_AT_BLOCK_LOG_SD])
        for r in range(int(data[_AT_RANDOM])):
            out[first + r] = math.exp(x[first + r])


def _logp_callback(dim, x_, gradient_, logp_, data_):  # nutpie's C signature; 0 = ok
    """The log density at x (`data_`: the module docstring) into logp_, its gradient into gradient_; 4 if
    the value is not finite, 3 if the gradient is not. One function (no jitted helper but `_exp_into`):
    each helper's machine code was made again in every function calling it (module docstring)."""
    x = numba.carray(x_, (dim,))
    gradient = numba.carray(gradient_, (dim,))
    data = _model_data(data_)
    kind = int(data[_AT_KIND])
    n_respondents, n_tasks, n_slots = (
        int(data[_AT_RESPONDENTS]),
        int(data[_AT_TASKS]),
        int(data[_AT_SLOTS]),
    )
    k_all = int(data[_AT_COEFFICIENTS])
    n_random, n_fixed = int(data[_AT_RANDOM]), int(data[_AT_FIXED])
    log_price, wtp, price = (
        data[_AT_LOG_PRICE] > 0,
        data[_AT_WTP] > 0,
        int(data[_AT_PRICE]),
    )
    sd_sigma = data[_AT_SD_SIGMA]
    at_x, at_pad, at_chosen = (
        int(data[_AT_X]),
        int(data[_AT_PAD]),
        int(data[_AT_CHOSEN]),
    )
    at_real = int(data[_AT_REAL])
    at_segment = int(data[_AT_SEGMENT_OF])
    at_random, at_fixed = int(data[_AT_RANDOM_INDEX]), int(data[_AT_FIXED_INDEX])
    b_theta, b_mean = int(data[_AT_BLOCK_THETA]), int(data[_AT_BLOCK_MEAN])
    b_log_sd, b_own, b_fixed = (
        int(data[_AT_BLOCK_LOG_SD]),
        int(data[_AT_BLOCK_OWN]),
        int(data[_AT_BLOCK_FIXED]),
    )
    cells = n_tasks * n_slots * n_respondents
    panel_x = data[at_x : at_x + cells * k_all].reshape((n_tasks, n_slots, k_all, n_respondents))
    pad = data[at_pad : at_pad + cells].reshape((n_tasks, n_slots, n_respondents))
    chosen = data[at_chosen : at_chosen + cells].reshape((n_tasks, n_slots, n_respondents))
    real = data[at_real : at_real + n_tasks * n_respondents].reshape((n_tasks, n_respondents))

    for j in range(gradient.shape[0]):
        gradient[j] = 0.0
    total = 0.0
    # the population parameters' Normal priors (the table of `model_data`: position in x, mean, sd)
    at_prior = int(data[_AT_PRIOR])
    for j in range(int(data[_AT_PRIORS])):
        at, mu, sigma = int(data[at_prior + 3 * j]), data[at_prior + 3 * j + 1], data[at_prior + 3 * j + 2]
        d = x[at] - mu
        total += -0.5 * (d / sigma) * (d / sigma) - math.log(sigma) - 0.5 * _LOG_2PI
        gradient[at] = -d / (sigma * sigma)
    if kind != _MNL:
        for r in range(n_random):  # HalfNormal(sd_sigma) on sd, through log sd (with its Jacobian)
            log_sd = x[b_log_sd + r]
            ratio = math.exp(log_sd) / sd_sigma
            total += _LOG_HALF_NORMAL - math.log(sd_sigma) - 0.5 * ratio * ratio + log_sd
            gradient[b_log_sd + r] = 1.0 - ratio * ratio

    sd = np.empty(n_random)
    for r in range(n_random):
        sd[r] = math.exp(x[b_log_sd + r])
    # each respondent's native parameters theta, then their preference coefficients beta (coefficient,
    # respondent); a multinomial logit's respondents have their segment's
    theta = np.empty((k_all, n_respondents))
    for u in range(n_respondents):
        segment = int(data[at_segment + u])
        if kind == _MNL:
            for k in range(k_all):
                theta[k, u] = x[b_theta + segment * k_all + k]
            continue
        for r in range(n_random):
            k = int(data[at_random + r])
            own = x[b_own + u * n_random + r]
            if kind == _CENTRED:
                theta[k, u] = own
            else:
                theta[k, u] = x[b_mean + segment * n_random + r] + own * sd[r]
        for f in range(n_fixed):
            theta[int(data[at_fixed + f]), u] = x[b_fixed + segment * n_fixed + f]
    # Parametrisation.preference
    beta, scale = np.empty((k_all, n_respondents)), np.empty(n_respondents)
    for u in range(n_respondents):
        scale[u] = math.exp(theta[price, u]) if log_price else 1.0
        for k in range(k_all):
            beta[k, u] = theta[k, u] * scale[u] if wtp else theta[k, u]
        if log_price:
            beta[price, u] = -scale[u]
    g_beta = np.empty((k_all, n_respondents))
    # log L of every respondent's tasks at beta, its gradient in beta into g_beta
    utility = np.empty((n_slots, n_respondents))  # V, then V - max, then the weights y - P
    expu = np.empty((n_slots, n_respondents))
    top, inverse = np.empty(n_respondents), np.empty(n_respondents)
    value, product = np.empty(n_respondents), np.empty(n_respondents)
    for lane in range(n_respondents):
        value[lane], product[lane] = 0.0, 1.0
    for k in range(k_all):
        g_row = g_beta[k]
        for lane in range(n_respondents):
            g_row[lane] = 0.0
    # a product of sums in [1, slots] stays finite for 900 / log2(slots) tasks
    flush = n_tasks if n_slots < 2 else max(1, int(900.0 / math.log2(n_slots)))
    for t in range(n_tasks):
        for s in range(n_slots):
            v, p = utility[s], pad[t, s]
            for lane in range(n_respondents):
                v[lane] = p[lane]
            for k in range(k_all):
                row, b = panel_x[t, s, k], beta[k]
                for lane in range(n_respondents):
                    v[lane] += row[lane] * b[lane]
        v = utility[0]
        for lane in range(n_respondents):
            top[lane] = v[lane]
        for s in range(1, n_slots):
            v = utility[s]
            for lane in range(n_respondents):
                top[lane] = v[lane] if v[lane] > top[lane] else top[lane]
        for s in range(n_slots):
            v, y = utility[s], chosen[t, s]
            for lane in range(n_respondents):
                v[lane] -= top[lane]
                value[lane] += y[lane] * v[lane]
        for s in range(n_slots):
            _exp_into(utility[s], expu[s], n_respondents)
        e = expu[0]
        for lane in range(n_respondents):
            inverse[lane] = e[lane]
        for s in range(1, n_slots):
            e = expu[s]
            for lane in range(n_respondents):
                inverse[lane] += e[lane]
        real_row = real[t]
        for lane in range(n_respondents):  # a padded task (real 0) adds nothing
            product[lane] *= real_row[lane] * inverse[lane] + (1.0 - real_row[lane])
            inverse[lane] = real_row[lane] / inverse[lane]
        for s in range(n_slots):
            w, e, y = utility[s], expu[s], chosen[t, s]
            for lane in range(n_respondents):
                w[lane] = y[lane] - e[lane] * inverse[lane]
            for k in range(k_all):
                row, g_row = panel_x[t, s, k], g_beta[k]
                for lane in range(n_respondents):
                    g_row[lane] += w[lane] * row[lane]
        if (t + 1) % flush == 0 or t == n_tasks - 1:
            for lane in range(n_respondents):
                value[lane] -= math.log(product[lane])
                product[lane] = 1.0
    log_likelihood = 0.0
    for lane in range(n_respondents):
        log_likelihood += value[lane]
    total += log_likelihood
    for u in range(n_respondents):
        # through preference(): WTP space beta_k = theta_k e^theta_p; beta_p = -e^theta_p
        if log_price:
            if wtp:
                g_price = 0.0
                for k in range(k_all):
                    g_price += g_beta[k, u] * beta[k, u]
                for k in range(k_all):
                    g_beta[k, u] *= scale[u]
                g_beta[price, u] = g_price
            else:
                g_beta[price, u] *= beta[price, u]
        # into the free blocks (g_beta now holds the gradient in theta)
        segment = int(data[at_segment + u])
        if kind == _MNL:
            for k in range(k_all):
                gradient[b_theta + segment * k_all + k] += g_beta[k, u]
            continue
        for r in range(n_random):
            g = g_beta[int(data[at_random + r]), u]
            own_at = b_own + u * n_random + r
            mean_at = b_mean + segment * n_random + r
            if kind == _CENTRED:
                standard = (x[own_at] - x[mean_at]) / sd[r]
                total += -0.5 * standard * standard - x[b_log_sd + r] - 0.5 * _LOG_2PI
                gradient[mean_at] += standard / sd[r]
                gradient[b_log_sd + r] += standard * standard - 1.0
                gradient[own_at] = g - standard / sd[r]
            else:
                z = x[own_at]
                total += -0.5 * z * z - 0.5 * _LOG_2PI
                gradient[mean_at] += g
                gradient[b_log_sd + r] += g * z * sd[r]
                gradient[own_at] = g * sd[r] - z
        for f in range(n_fixed):
            gradient[b_fixed + segment * n_fixed + f] += g_beta[int(data[at_fixed + f]), u]
    logp_[0] = total
    if not math.isfinite(total):
        return 4
    for j in range(dim):
        if not math.isfinite(gradient[j]):
            return 3
    return 0


def _expand_callback(dim, expanded, x_, out_, data_):
    _expand(numba.carray(x_, (dim,)), numba.carray(out_, (expanded,)), _model_data(data_))
    return 0


def _pointer(array: np.ndarray):
    """A C double pointer to `array`'s data (float64, contiguous) for the callbacks' ctypes interface."""
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


@functools.cache
def _callbacks():
    """The two C callbacks, compiled on first use (numba caches them on disk)."""
    return (
        numba.cfunc(_LOGP_SIGNATURE, cache=True, nogil=True, error_model="numpy")(_logp_callback),
        numba.cfunc(_EXPAND_SIGNATURE, cache=True, nogil=True, error_model="numpy")(_expand_callback),
    )


def _prior_table(density: ChoiceDensity) -> np.ndarray:
    """(position in the free vector, prior mean, prior sd) of every Normal-prior parameter, segment by
    segment: a multinomial logit's coefficients (block theta), a mixed logit's random coefficients' means
    (block mean), then its fixed coefficients (block fixed); (n, 3)."""
    mu = np.broadcast_to(density.mu, (density.n_coefficients,))
    sigma = np.broadcast_to(density.sigma, (density.n_coefficients,))
    where = {name: slc.start for name, _, slc in density.blocks}
    if density.random:
        blocks = [("mean", density.random), ("fixed", density.fixed)]
    else:
        blocks = [("theta", list(range(density.n_coefficients)))]
    rows = [
        (where[name] + segment * len(index) + j, mu[k], sigma[k])
        for segment in range(density.n_segments)
        for name, index in blocks
        for j, k in enumerate(index)
    ]
    return np.array(rows, dtype=float).reshape(-1, 3)


def model_data(density: ChoiceDensity) -> np.ndarray:
    """The flat description of `density`'s model (module docstring), read only."""
    arrays = density.arrays
    panel = unit_panel(arrays, density.x_scaled, arrays.respondent, density.n_respondents)
    respondents, slots, tasks = panel.pad.shape
    k_all = density.n_coefficients
    x = panel.x.reshape(respondents, slots, tasks, k_all).transpose(
        2, 1, 3, 0
    )  # task, slot, coefficient, resp.
    pad = panel.pad.transpose(2, 1, 0)
    chosen = panel.chosen.transpose(2, 1, 0)
    real = panel.task.T
    layout = density.layout
    if not density.random:
        kind = _MNL
    else:
        kind = _CENTRED if density.centred else _NON_CENTRED
    where = {name: slc.start for name, _, slc in density.blocks}
    parts = [
        x,
        pad,
        chosen,
        real,
        density.segment_of,
        density.random,
        density.fixed,
        _prior_table(density),
    ]
    flat = [np.ravel(np.asarray(part, dtype=float)) for part in parts]
    header = np.zeros(_HEADER)
    offsets = np.cumsum([_HEADER] + [part.size for part in flat])
    header[_AT_KIND] = kind
    header[_AT_RESPONDENTS], header[_AT_TASKS], header[_AT_SLOTS] = (
        respondents,
        tasks,
        slots,
    )
    header[_AT_COEFFICIENTS], header[_AT_SEGMENTS] = k_all, density.n_segments
    header[_AT_PRIORS] = flat[-1].size // 3
    header[_AT_RANDOM], header[_AT_FIXED] = len(density.random), len(density.fixed)
    header[_AT_LOG_PRICE], header[_AT_WTP] = layout.log_price, layout.space == "wtp"
    header[_AT_PRICE], header[_AT_SD_SIGMA] = layout.price, density.sd_sigma
    slots_of_parts = (
        _AT_X,
        _AT_PAD,
        _AT_CHOSEN,
        _AT_REAL,
        _AT_SEGMENT_OF,
        _AT_RANDOM_INDEX,
        _AT_FIXED_INDEX,
        _AT_PRIOR,
    )
    for slot, offset in zip(slots_of_parts, offsets[:-1], strict=True):
        header[slot] = offset
    for slot, name in (
        (_AT_BLOCK_THETA, "theta"),
        (_AT_BLOCK_MEAN, "mean"),
        (_AT_BLOCK_LOG_SD, "log_sd"),
        (_AT_BLOCK_OWN, "theta_n" if density.centred else "z"),
        (_AT_BLOCK_FIXED, "fixed"),
    ):
        header[slot] = where.get(name, -1)
    header[_AT_SIZE] = density.size
    data = np.concatenate([header, *flat])
    data[_AT_LENGTH] = data.size
    data.flags.writeable = False
    return data


class ChoiceKernel:
    """`ChoiceDensity`'s model compiled: ``logp_dlogp(x)`` -> (log density, gradient), ``expand(x)`` -> the
    free variables under `build_model`'s names (`ChoiceDensity.free_variables`), ``initial_point(seed)``
    (`ChoiceDensity.initial_point` from ``default_rng(seed)``) and ``nutpie_model()``: what
    `pricing.wtp.model.sample_density` samples. Stateless: any thread may call it."""

    def __init__(self, density: ChoiceDensity):
        self.density = density
        self.data = model_data(density)
        self.n_dim = density.size
        example = density.free_variables(np.zeros(density.size))
        self.traced = list(example)
        self.shapes = [tuple(v.shape) for v in example.values()]
        # no named dims: nutpie names them ``{name}_dim_{i}`` (only the values are read)
        self.dims: dict[str, tuple[str, ...]] = {}
        self.coords: dict[str, list] = {}

    def logp_dlogp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=float)
        gradient, value = np.empty(self.n_dim), np.empty(1)
        logp, _ = _callbacks()  # what nutpie calls (no second compile of the kernel for Python's types)
        logp.ctypes(self.n_dim, _pointer(x), _pointer(gradient), _pointer(value), self.data.ctypes.data)
        return float(value[0]), gradient

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        x, out = np.ascontiguousarray(x, dtype=float), np.empty(self.n_dim)
        _, expand = _callbacks()
        expand.ctypes(self.n_dim, self.n_dim, _pointer(x), _pointer(out), self.data.ctypes.data)
        return {
            name: out[where].reshape(shape)
            for name, (_, shape, where) in zip(self.traced, self.density.blocks, strict=True)
        }

    def initial_point(self, seed: int) -> np.ndarray:
        return self.density.initial_point(np.random.default_rng(int(seed) % 2**32))

    def nutpie_model(self):
        """This density as nutpie's compiled model: the sampler calls the C callbacks from its threads,
        without Python or the GIL."""
        from nutpie.compile_pymc import CompiledPyMCModel

        logp, expand = _callbacks()
        return CompiledPyMCModel(
            _n_dim=self.n_dim,
            dims=dict(self.dims),
            _coords=self.coords,
            _shapes=dict(zip(self.traced, self.shapes, strict=True)),
            compiled_logp_func=logp,
            compiled_expand_func=expand,
            initial_point_func=self.initial_point,
            shared_data={},
            user_data=self.data,
            n_expanded=self.n_dim,
            shape_info=(list(self.traced), None, list(self.shapes)),
            logp_func=None,
            expand_func=None,
        )
