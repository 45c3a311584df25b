"""Numpy kernels: how a segment of customers with lognormal WTP chooses among offerings.

A customer with reference WTP ``w`` (lognormal: log w ~ Normal(mu, sigma)) values offering ``o`` at
``w + V_o``, where ``V_o = differentiation_o - price_o`` (currency). Because ``w`` is common to every
offering it cancels out of the choice *between* offerings and only decides *whether* to buy:

- logit with a none option: with the inclusive value ``I = lambda * log(sum_o exp(V_o / lambda))``, the
  customer buys with probability ``logistic((w + I) / lambda)`` and picks ``o`` with probability
  ``exp((V_o - I) / lambda)`` given a purchase; the expected consumer surplus is
  ``lambda * softplus((w + I) / lambda)`` (the logsum, relative to buying nothing).
- first choice: the customer buys the offering with the largest ``V_o`` if ``w + max V > 0``.

Shares therefore need one integral over the segment's WTP spread per (draw, segment, price, variant), not
per offering. The integral ``E_w[logistic((w + I) / lambda)]`` is the probability that ``w + lambda * L``
exceeds ``-I`` for a standard logistic ``L``; it is computed with Gauss-Legendre nodes on the probability
scale (`probability_nodes`) of whichever of ``w`` and ``lambda * L`` is the narrower, taking the other's
distribution function in closed form, so that
the integrand stays smooth in both regimes (a sharp logit or a narrow WTP spread). Beyond a few points per
row the result is tabulated (`purchase_table`) and read off with cubic Hermite interpolation using the exact
derivatives, which makes the cost independent of the number of prices and variants. The nodes are uniform
in an asinh of the purchase threshold when a price grid reaches far beyond the WTP (dense where the
probability moves, sparse in the lognormal's long tail: a uniform grid over a wide range was 2e-3 off), and
the surplus is the table's probability integrated from where everybody buys (blended, where few buy, with
the quadrature's own surplus, which keeps the lognormal's far tail), so the two stay consistent. Where the
nodes are over the WTP, thresholds far up its long upper tail (where those nodes lie many logit scales
apart) blend into nodes over the logit's noise (`_far_tail_over_noise`).
A table over every inclusive value where the probability moves serves any points (`pricing.dynamics`
reuses one per draw and segment while expectations drift). Accuracy against brute-force integration over
customers, at the default 16 nodes: about 1e-3 in probability for a log-sd of WTP up to about 1, up to
8e-3 for a log-sd near 2 (the quadrature's own error; the table follows the quadrature to 4e-4 in 99% of
rows, 3e-3 at worst, wherever the grid reaches).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit, ndtr, ndtri

TABLE_NODES = 32
#: Nodes of a table over every inclusive value where the purchase probability moves (`purchase_table`).
WIDE_TABLE_NODES = 48
#: Tabulation coordinate: nodes uniform in asinh(TABLE_STRETCH * sigma * t / scale) (`PurchaseTable`).
TABLE_STRETCH = 0.5
#: Nodes uniform in the threshold when they are at most this many widths of the probability's step apart.
LINEAR_UP_TO = 0.5
#: Integrate over the WTP when its width below the median is at most this many logit scales.
WTP_NODES_UP_TO = 1.5
#: Over the logit's noise, Gauss-Hermite images are the more accurate nodes for log-sd of WTP below this.
HERMITE_BELOW_SIGMA = 0.7


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.flags.writeable = False
    return arrays


@lru_cache(maxsize=64)  # cached (read-only): an equilibrium solver asks for them at every step
def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) for expectations over a standard normal."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return _read_only(z, w / w.sum())


@lru_cache(maxsize=64)
def probability_nodes(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on probabilities u in (0, 1), returned as standard normal quantiles z = Phi^-1(u),
    and weights summing to 1: expectations of bounded functions of a normal or a logistic variable.

    Integrating over the WTP, the integrand is bounded and step-like in u when the logit's noise is narrow;
    Gauss-Hermite nodes in z miss such steps: with 16 nodes the purchase probability was up to 0.037 off
    where the WTP spread and the logit's noise are comparable, against 0.0012 with these nodes.
    """
    x, w = np.polynomial.legendre.leggauss(nodes)
    return _read_only(ndtri((x + 1) / 2), w / 2)


def lognormal_tail(
    threshold: np.ndarray, mu: np.ndarray, sigma: np.ndarray, excess: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For log w ~ Normal(mu, sigma): P(w > t), the density at t and E[max(w - t, 0)] (None without
    `excess`), in closed form.

    Thresholds t <= 0 give 1, 0 and E[w] - t. One pass shares the logarithm and the normal CDF.
    """
    # Thresholds beyond 9 sds of log w (and t <= 0) are read at 9 sds: survival 0 or 1 to 1e-19, density
    # near 0; this also keeps exp and ndtr off far-out arguments, where they are several times slower.
    log_t = np.log(np.clip(threshold, np.exp(mu - 9.0 * sigma), np.exp(mu + 9.0 * sigma)))
    d = (mu - log_t) / sigma
    survival = ndtr(d)
    density = np.exp(-0.5 * d * d - log_t) / (sigma * np.sqrt(2 * np.pi))
    if not excess:
        return survival, density, None
    excess = np.exp(mu + 0.5 * sigma * sigma) * ndtr(d + sigma) - threshold * survival
    return survival, density, excess


def first_choice_purchase(
    best_value: np.ndarray, mu: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Purchase probability and expected surplus per customer when each buys the best value if positive.

    `best_value` is max over offerings of (differentiation - price); mu, sigma broadcast against it.
    """
    survival, _, excess = lognormal_tail(-best_value, mu, sigma)
    return survival, excess


def _logit_purchase_exact(
    inclusive: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    nodes: int,
    with_surplus: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Purchase probability, its derivative in `inclusive`, and surplus (None without `with_surplus`: the
    same probability and derivative, bit for bit, for less work); rows (R,), points (R, N)."""
    z, weight = probability_nodes(nodes)
    mu, sigma, scale = mu[:, None], sigma[:, None], scale[:, None]
    prob = np.empty_like(inclusive)
    slope = np.empty_like(inclusive)
    surplus = np.empty_like(inclusive) if with_surplus else None

    # The narrowest feature of a skewed lognormal is below its median, so its width there decides.
    wtp_width = np.exp(mu) * -np.expm1(-sigma)
    over_wtp = (wtp_width <= WTP_NODES_UP_TO * scale)[:, 0]
    if over_wtp.any():  # nodes over the customers' WTP; the logit's noise in closed form
        r = over_wtp
        wtp = np.exp(mu[r] + sigma[r] * z)[:, None, :]
        y = (wtp + inclusive[r][:, :, None]) / scale[r][:, :, None]
        np.clip(y, -40.0, 40.0, out=y)  # expit is 0 or 1 to 4e-18 beyond; far-out values are slow
        p = expit(y)
        prob[r] = p @ weight
        slope[r] = (p * (1 - p)) @ weight / scale[r]
        if with_surplus:
            # scale x softplus(y) = max(w + I, 0) + scale x log1p(exp(-|y|)): the first part's mean in
            # closed form (nodes on probabilities would cut off the lognormal's upper tail), the bounded
            # rest by nodes.
            _, _, excess = lognormal_tail(-inclusive[r], mu[r], sigma[r])
            surplus[r] = excess + scale[r] * (np.log1p(np.exp(-np.abs(y))) @ weight)
        _far_tail_over_noise(inclusive, mu, sigma, scale, nodes, r, prob, slope, surplus)
    # Nodes over the logit's noise, the customers' WTP in closed form.
    rows = ~over_wtp
    if rows.any():
        noise = _over_noise(-inclusive[rows], mu[rows], sigma[rows], scale[rows], nodes, with_surplus)
        prob[rows], slope[rows] = noise[:2]
        if with_surplus:
            surplus[rows] = noise[2]
    return prob, slope, surplus


def _over_noise(
    threshold: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    nodes: int,
    with_surplus: bool = True,
) -> tuple[np.ndarray, ...]:
    """Purchase probability, its derivative in the inclusive value and surplus at purchase thresholds
    (..., N) with nodes over the logit's noise and the lognormal WTP in closed form (mu, sigma, scale
    broadcast against `threshold`). The logistic images of Gauss-Hermite nodes are accurate to about 1e-6
    for a moderate WTP spread but not for a wide, skewed one (up to 3e-3 at 16 nodes), where nodes on the
    probability scale keep errors near 5e-4. Without `with_surplus`, only the first two."""
    hermite = sigma < HERMITE_BELOW_SIGMA
    out = [np.empty(np.broadcast_shapes(threshold.shape, mu.shape)) for _ in range(3 if with_surplus else 2)]
    for rows, (normal, weights) in ((hermite, gauss_hermite(nodes)), (~hermite, probability_nodes(nodes))):
        rows = np.broadcast_to(rows, out[0].shape)
        if rows.any():
            noise = np.log(ndtr(normal)) - np.log(ndtr(-normal))  # logistic quantiles, same probabilities
            shifted = np.broadcast_to(threshold, rows.shape)[rows][:, None] - (
                np.broadcast_to(scale, rows.shape)[rows][:, None] * noise
            )
            tail = lognormal_tail(
                shifted,
                np.broadcast_to(mu, rows.shape)[rows][:, None],
                np.broadcast_to(sigma, rows.shape)[rows][:, None],
                excess=with_surplus,
            )
            for target, values in zip(out, tail[: len(out)], strict=True):
                target[rows] = values @ weights
    return tuple(out)


#: Where the lognormal's local width at the purchase threshold is FAR_TAIL_WIDTHS[0] logit scales or
#: more, nodes over the WTP are blended into nodes over the logit's noise, fully from FAR_TAIL_WIDTHS[1].
FAR_TAIL_WIDTHS = (2.0, 64.0)


def _far_tail_over_noise(inclusive, mu, sigma, scale, nodes, rows, prob, slope, surplus) -> None:
    """Mend, in place, the points of WTP-node `rows` whose purchase threshold lies in the WTP's long tail.

    Nodes over the WTP resolve a narrow WTP against a wide logit in the body, but in a long upper tail they
    lie many logit scales apart and miss mass (a lognormal of log-sd 1.25 at 27x its median: 1.2e-4 for a
    true 4.3e-3; up to 1.7e-2 off for a log-sd of 2). There the lognormal varies slowly over the logit's
    noise, which nodes over the noise then integrate well. The blend weight is a smoothstep in the log of
    the local width ``h = t sigma / max(1, |z|)`` (``z`` the threshold's WTP quantile) over
    `FAR_TAIL_WIDTHS` logit scales; the slope includes the weight's own derivative. Against brute force over
    log-sds 0.1-2 this takes the largest error of these rows from 1.7e-2 to 3.1e-3; a narrower band
    (4 to 16) was more accurate (2.7e-3) but its steeper blend let our share rise 1e-6 with our price.
    A `surplus` of None is left alone (probabilities and slopes only).
    """
    threshold = -inclusive[rows]
    mu, sigma, scale = mu[rows], sigma[rows], scale[rows]
    positive = np.maximum(threshold, 1e-300)
    z = (np.log(positive) - mu) / sigma
    width = positive * sigma / np.maximum(1.0, np.abs(z))
    low, high = np.log(FAR_TAIL_WIDTHS)
    x = (np.log(width / scale) - low) / (high - low)
    blend = (threshold > 0) & (x > 0)
    if not blend.any():
        return
    x = np.clip(x[blend], 0.0, 1.0)
    alpha = x * x * (3 - 2 * x)
    t, zb = threshold[blend], z[blend]
    # d alpha / d inclusive = -(d alpha / dx)(dx / d log width)(d log width / dt)
    dlog_width = (1 - np.where(np.abs(zb) > 1, 1 / (zb * np.broadcast_to(sigma, z.shape)[blend]), 0.0)) / t
    dalpha = -6 * x * (1 - x) / (high - low) * dlog_width * ((x > 0) & (x < 1))
    shape = threshold.shape
    noise = _over_noise(
        t,
        np.broadcast_to(mu, shape)[blend],
        np.broadcast_to(sigma, shape)[blend],
        np.broadcast_to(scale, shape)[blend],
        nodes,
        surplus is not None,
    )
    noise_prob, noise_slope = noise[:2]
    p, d = prob[rows], slope[rows]
    p_old = p[blend]
    d[blend] = (1 - alpha) * d[blend] + alpha * noise_slope + dalpha * (noise_prob - p_old)
    p[blend] = (1 - alpha) * p_old + alpha * noise_prob
    prob[rows], slope[rows] = p, d
    if surplus is not None:
        v = surplus[rows]
        v[blend] = (1 - alpha) * v[blend] + alpha * noise[2]
        surplus[rows] = v


class PurchaseTable(NamedTuple):
    """`logit_purchase` tabulated per row (draw x segment) over the inclusive values where it moves.

    Nodes ``j = 0 .. size - 1`` are uniform in ``u = (asinh(g t / scale) / g - s_low) / step`` of
    the purchase threshold ``t = -I`` (``g = TABLE_STRETCH * sigma``): about a logit scale apart where the
    threshold is near zero and a fixed fraction of sigma apart in log t further out, i.e. dense where the
    customers' WTP and the logit's noise make the purchase probability move and sparse in the lognormal's
    long tail. Each node holds the probability, the surplus and their exact derivatives in ``u``, so each
    interval is one cubic (Hermite) in ``u``'s fraction. A table over the whole range (no `span`) depends
    only on the row's (mu, sigma, scale), not on the points read off it, so one table serves every price,
    variant and period (`pricing.dynamics` reuses it while expectations drift).
    """

    size: int  #: nodes per row

    stretch: np.ndarray | None  #: (rows, 1) -g / scale (t = -I); None: nodes uniform in t (`LINEAR_UP_TO`)
    inverse: np.ndarray  #: (rows, 1) 1 / (g step), or -1 / step
    offset: np.ndarray  #: (rows, 1) s_low / step
    low: np.ndarray  #: (rows, 1) the inclusive values covered (beyond: probability 0 or 1)
    high: np.ndarray
    prob: tuple[np.ndarray, ...]  #: four flat cubic coefficients, (rows * size,) each
    surplus: tuple[np.ndarray, ...]  #: empty for a table of the probability only (`purchase_table`)


def purchase_table(
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    nodes: int = 16,
    span: tuple[np.ndarray, np.ndarray] | None = None,
    size: int = WIDE_TABLE_NODES,
    surplus: bool = True,
) -> PurchaseTable:
    """The `PurchaseTable` of rows (R,) of log-median, log-sd and logit scale (quadrature `nodes` >= 2),
    with `size` nodes over the inclusive values from `span` = (low, high) (R,) each or, without, all.
    Without `surplus`, of the purchase probability only (the same cubics, bit for bit, for about half the
    work; `read_purchase` with ``surplus=False``)."""
    mu, sigma, scale = (np.asarray(x, dtype=float).reshape(-1, 1) for x in (mu, sigma, scale))
    # Beyond the 6e-8 tails of the WTP and of the logit noise the probability is 0 or 1 and the surplus is
    # linear in I with that slope.
    t_low = np.exp(mu - 5.3 * sigma) - 16.6 * scale
    t_high = np.exp(mu + 5.3 * sigma) + 16.6 * scale
    if span is not None:
        low, high = (np.asarray(x, dtype=float).reshape(-1, 1) for x in span)
        t_low, t_high = np.clip(-high, t_low, t_high), np.clip(-low, t_low, t_high)
        t_high = np.where(t_high > t_low, t_high, t_low + scale)  # one point: any width
    width = np.hypot(scale, np.exp(mu) * -np.expm1(-sigma))  # of the step in probability, at its narrowest
    if np.all(t_high - t_low <= LINEAR_UP_TO * (size - 1) * width):  # uniform nodes are fine: no asinh
        g, stretch, s_low = None, None, t_low
        step = (t_high - t_low) / (size - 1)
        threshold = t_low + step * np.arange(size)
    else:
        g = np.maximum(TABLE_STRETCH * sigma, 1e-3)
        stretch = g / scale
        s_low, s_high = np.arcsinh(stretch * t_low) / g, np.arcsinh(stretch * t_high) / g
        step = (s_high - s_low) / (size - 1)
        threshold = np.sinh(g * (s_low + step * np.arange(size))) / stretch
    threshold[:, 0], threshold[:, -1] = t_low[:, 0], t_high[:, 0]  # exactly the edges
    with_surplus = surplus
    prob, slope, surplus = _logit_purchase_exact(
        -threshold, mu[:, 0], sigma[:, 0], scale[:, 0], nodes, with_surplus
    )

    def dt_du(u: np.ndarray) -> np.ndarray:  # dI/du = -dt/du
        if g is None:
            return np.broadcast_to(step, (len(step), np.size(u)))
        return step * scale * np.cosh(g * (s_low + step * u))

    prob_cubic = _hermite(prob, -slope * dt_du(np.arange(size)))
    flat_prob = tuple(np.pad(c, ((0, 0), (0, 1))).ravel() for c in prob_cubic)
    if not with_surplus:
        return _table(size, g, stretch, step, s_low, t_low, t_high, flat_prob, ())
    # The surplus is the integral of the probability over I (dS/dI = B): integrating the probability's
    # cubics exactly keeps the two consistent, where the quadrature's own surplus (a kink in each node's
    # integrand) wobbles by about 1e-3 of the median WTP. From the near end, where everybody buys and the
    # surplus is E[w] + I in closed form (the quadrature's probability misses the lognormal's far tail).
    x, w = np.polynomial.legendre.leggauss(4)
    x, w = (x + 1) / 2, w / 2
    c0, c1, c2, c3 = prob_cubic
    gained = sum(
        wm * (((c3 * xm + c2) * xm + c1) * xm + c0) * dt_du(np.arange(size - 1) + xm)
        for xm, wm in zip(x, w, strict=True)
    )  # (R, size - 1): the surplus lost from each node to the next
    integrated = surplus[:, :1] - np.pad(np.cumsum(gained, axis=1), ((0, 0), (1, 0)))
    surplus = prob * integrated + (1 - prob) * surplus
    surplus_cubic = _hermite(surplus, -prob * dt_du(np.arange(size)))
    flat_surplus = tuple(np.pad(c, ((0, 0), (0, 1))).ravel() for c in surplus_cubic)
    return _table(size, g, stretch, step, s_low, t_low, t_high, flat_prob, flat_surplus)


def _table(size, g, stretch, step, s_low, t_low, t_high, prob, surplus) -> PurchaseTable:
    if g is None:
        return PurchaseTable(size, None, -1.0 / step, s_low / step, -t_high, -t_low, prob, surplus)
    return PurchaseTable(size, -stretch, 1.0 / (g * step), s_low / step, -t_high, -t_low, prob, surplus)


def _hermite(values: np.ndarray, slopes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Coefficients (c0, c1, c2, c3) of the cubic on each unit interval between nodes with these values and
    derivatives: (R, nodes - 1) each."""
    v0, v1, m0, m1 = values[:, :-1], values[:, 1:], slopes[:, :-1], slopes[:, 1:]
    return v0, m0, 3 * (v1 - v0) - 2 * m0 - m1, 2 * (v0 - v1) + m0 + m1


def read_purchase(
    table: PurchaseTable, inclusive: np.ndarray, surplus: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Purchase probability and surplus per customer (None without `surplus`) at inclusive values (R, N)
    off a `PurchaseTable`."""
    clipped = np.clip(inclusive, table.low, table.high)
    if table.stretch is None:
        u = np.multiply(clipped, table.inverse)
    else:
        u = np.multiply(clipped, table.stretch)
        np.arcsinh(u, out=u)
        u *= table.inverse
    u -= table.offset  # in [0, size - 1] up to rounding (a fraction of -1e-15 is harmless)
    index = np.minimum(u.astype(np.intp), table.size - 2)
    u -= index  # the fraction within the interval
    index += (np.arange(len(index)) * table.size)[:, None]  # flat positions in the (R, size) tables

    def read(c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, c3: np.ndarray) -> np.ndarray:
        # One cubic in the fraction per interval (Horner): 4 reads and 6 in-place operations per point.
        out = c3.take(index)
        out *= u
        out += c2.take(index)
        out *= u
        out += c1.take(index)
        out *= u
        out += c0.take(index)
        return out

    prob = read(*table.prob)
    np.clip(prob, 0.0, 1.0, out=prob)
    if not surplus:
        return prob, None
    surplus = read(*table.surplus)
    clipped -= inclusive  # beyond the table the surplus grows with slope prob (0 or 1)
    clipped *= prob
    surplus -= clipped
    return prob, surplus


def logit_purchase(
    inclusive: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    nodes: int = 16,
    surplus: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Purchase probability and expected surplus per customer under logit with a none option.

    Parameters
    ----------
    inclusive : (R, N) inclusive values ``I`` (currency) for R rows (draw x segment) and N points each.
    mu, sigma : (R,) log-median and log-sd of the customers' reference WTP.
    scale : (R,) logit scale (currency).
    nodes : quadrature nodes (`probability_nodes`); 1 evaluates at the median customer only (no spread
        integrated).

    surplus : without it the surplus is None and the probability the same, bit for bit, for about half the
        work.

    Up to `TABLE_NODES` points per row are integrated directly, more are read off a `purchase_table` of
    `TABLE_NODES` nodes over the points' range.
    """
    if nodes == 1:
        y = (np.exp(mu)[:, None] + inclusive) / scale[:, None]
        return expit(y), scale[:, None] * np.logaddexp(0.0, y) if surplus else None
    if inclusive.shape[1] <= TABLE_NODES:
        prob, _, excess = _logit_purchase_exact(inclusive, mu, sigma, scale, nodes, surplus)
        return prob, excess
    span = inclusive.min(axis=1), inclusive.max(axis=1)
    table = purchase_table(mu, sigma, scale, nodes, span, TABLE_NODES, surplus)
    return read_purchase(table, inclusive, surplus)


def logit_purchase_slope(
    inclusive: np.ndarray, mu: np.ndarray, sigma: np.ndarray, scale: np.ndarray, nodes: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Purchase probability ``B(I)`` under logit with a none option and its exact derivative ``dB/dI``.

    The same integral over the WTP spread as `logit_purchase` (without its table: for a few points per
    row, as an equilibrium solver evaluates); shapes as there. Price derivatives of demand follow from it,
    since every offering's share is ``B(I)`` times its logit share given a purchase.
    """
    if nodes == 1:
        prob = expit((np.exp(mu)[:, None] + inclusive) / scale[:, None])
        return prob, prob * (1 - prob) / scale[:, None]
    prob, slope, _ = _logit_purchase_exact(inclusive, mu, sigma, scale, nodes, with_surplus=False)
    return prob, slope
