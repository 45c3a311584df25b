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
the integrand stays smooth in both regimes (a sharp logit or a narrow WTP spread). The result is tabulated
on `TABLE_NODES` values of ``I`` per row and read off with cubic Hermite interpolation using the exact
derivatives, which makes the cost independent of the number of prices and variants.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import expit, ndtr, ndtri

TABLE_NODES = 32
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
    threshold: np.ndarray, mu: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For log w ~ Normal(mu, sigma): P(w > t), the density at t and E[max(w - t, 0)], in closed form.

    Thresholds t <= 0 give 1, 0 and E[w] - t. One pass shares the logarithm and the normal CDF.
    """
    log_t = np.log(np.maximum(threshold, 1e-300))  # t <= 0 -> d = +inf in effect: survival 1, density 0
    d = (mu - log_t) / sigma
    survival = ndtr(d)
    density = np.exp(-0.5 * d * d - log_t) / (sigma * np.sqrt(2 * np.pi))
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
    inclusive: np.ndarray, mu: np.ndarray, sigma: np.ndarray, scale: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchase probability, its derivative in `inclusive`, and surplus; rows (R,), points (R, N)."""
    z, weight = probability_nodes(nodes)
    mu, sigma, scale = mu[:, None], sigma[:, None], scale[:, None]
    prob = np.empty_like(inclusive)
    slope = np.empty_like(inclusive)
    surplus = np.empty_like(inclusive)

    # The narrowest feature of a skewed lognormal is below its median, so its width there decides.
    wtp_width = np.exp(mu) * -np.expm1(-sigma)
    over_wtp = (wtp_width <= WTP_NODES_UP_TO * scale)[:, 0]
    if over_wtp.any():  # nodes over the customers' WTP; the logit's noise in closed form
        r = over_wtp
        wtp = np.exp(mu[r] + sigma[r] * z)[:, None, :]
        y = (wtp + inclusive[r][:, :, None]) / scale[r][:, :, None]
        p = expit(y)
        prob[r] = p @ weight
        slope[r] = (p * (1 - p)) @ weight / scale[r]
        # scale x softplus(y) = max(w + I, 0) + scale x log1p(exp(-|y|)): the first part's mean in closed
        # form (nodes on probabilities would cut off the lognormal's upper tail), the bounded rest by nodes.
        _, _, excess = lognormal_tail(-inclusive[r], mu[r], sigma[r])
        surplus[r] = excess + scale[r] * (np.log1p(np.exp(-np.abs(y))) @ weight)
    # Nodes over the logit's noise, the customers' WTP in closed form. The logistic images of Gauss-Hermite
    # nodes are accurate to about 1e-6 for a moderate WTP spread but not for a wide, skewed one (up to
    # 3e-3 at 16 nodes), where nodes on the probability scale keep errors near 5e-4.
    hermite = sigma[:, 0] < HERMITE_BELOW_SIGMA
    for r, (normal, weights) in (
        (~over_wtp & hermite, gauss_hermite(nodes)),
        (~over_wtp & ~hermite, (z, weight)),
    ):
        if r.any():
            noise = np.log(ndtr(normal)) - np.log(ndtr(-normal))  # logistic quantiles, same probabilities
            threshold = -inclusive[r][:, :, None] - scale[r][:, :, None] * noise
            tail = lognormal_tail(threshold, mu[r][:, :, None], sigma[r][:, :, None])
            prob[r], slope[r], surplus[r] = (t @ weights for t in tail)
    return prob, slope, surplus


def logit_purchase(
    inclusive: np.ndarray, mu: np.ndarray, sigma: np.ndarray, scale: np.ndarray, nodes: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Purchase probability and expected surplus per customer under logit with a none option.

    Parameters
    ----------
    inclusive : (R, N) inclusive values ``I`` (currency) for R rows (draw x segment) and N points each.
    mu, sigma : (R,) log-median and log-sd of the customers' reference WTP.
    scale : (R,) logit scale (currency).
    nodes : quadrature nodes (`probability_nodes`); 1 evaluates at the median customer only (no spread
        integrated).
    """
    if nodes == 1 or inclusive.shape[1] <= TABLE_NODES:
        if nodes == 1:
            y = (np.exp(mu)[:, None] + inclusive) / scale[:, None]
            return expit(y), scale[:, None] * np.logaddexp(0.0, y)
        prob, _, surplus = _logit_purchase_exact(inclusive, mu, sigma, scale, nodes)
        return prob, surplus
    # Tabulate only where the purchase probability moves: beyond the 6e-8 tails of the WTP and of the logit
    # noise it is 0 or 1 and the surplus is linear in I with that slope. A table spread over the whole range
    # of I would be too coarse when a narrow WTP spread and a sharp logit make the probability a steep step.
    edge_low = -np.exp(mu + 5.3 * sigma) - 16.6 * scale
    edge_high = -np.exp(mu - 5.3 * sigma) + 16.6 * scale
    low = np.clip(inclusive.min(axis=1), edge_low, edge_high)
    high = np.clip(inclusive.max(axis=1), edge_low, edge_high)
    step = (high - low) / (TABLE_NODES - 1)
    step = np.where(step > 0, step, 1.0)
    table = low[:, None] + step[:, None] * np.arange(TABLE_NODES)
    prob_t, slope_t, surplus_t = _logit_purchase_exact(table, mu, sigma, scale, nodes)
    clipped = np.clip(inclusive, low[:, None], high[:, None])
    position = clipped - low[:, None]  # >= 0, so truncation below is the floor
    position /= step[:, None]
    index = np.minimum(position.astype(np.intp), TABLE_NODES - 2)
    fraction = position - index
    index += (np.arange(len(index)) * TABLE_NODES)[:, None]  # flat positions in the (R, TABLE_NODES) tables
    h = step[:, None]

    def read(values: np.ndarray, slopes: np.ndarray) -> np.ndarray:
        # Cubic Hermite interpolation written as one cubic in `fraction` per table interval: its four
        # coefficients are computed on the small table, then each point costs 4 reads and 6 in-place
        # operations (Horner) instead of some 20 passes over the large array.
        v0, v1, m0, m1 = values[:, :-1], values[:, 1:], h * slopes[:, :-1], h * slopes[:, 1:]
        coefficients = (v0, m0, 3 * (v1 - v0) - 2 * m0 - m1, 2 * (v0 - v1) + m0 + m1)
        c0, c1, c2, c3 = (np.pad(c, ((0, 0), (0, 1))).ravel() for c in coefficients)  # flat, TABLE_NODES wide
        out = c3.take(index)
        out *= fraction
        out += c2.take(index)
        out *= fraction
        out += c1.take(index)
        out *= fraction
        out += c0.take(index)
        return out

    prob = read(prob_t, slope_t)
    np.clip(prob, 0.0, 1.0, out=prob)
    surplus = read(surplus_t, prob_t)
    clipped -= inclusive  # beyond the table, the surplus grows with slope prob (0 or 1)
    clipped *= prob
    surplus -= clipped
    return prob, surplus


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
    prob, slope, _ = _logit_purchase_exact(inclusive, mu, sigma, scale, nodes)
    return prob, slope
