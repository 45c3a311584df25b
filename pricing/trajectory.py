"""Compiled kernels of `pricing.dynamics`: one block of draws through a range of periods, in one pass.

`advance` applies the state equations of `pricing.dynamics` (its module docstring) cell by cell, for each
draw and segment over the periods, every flow of a period computed in the same pass over (class, variant,
price): numpy needed about nine passes over the whole state per period. Where a draw's expectations drift,
`drifting_choices` first computes what every later period's shares need (they follow the expectations,
which follow the levels offered, not the customers), and `advance` forms each period's shares from them
as it goes, so no per-period array of shares is ever built; the caller runs the two a few draws at a
time, into the same reused arrays (`Scratch`), so what the first writes is still in cache when the second
reads it. Each draw's numbers depend only on its own inputs, not on the draws run with it. Compiled with
numba on first use and cached on disk (`cache=True`); float64 throughout, so results equal numpy's up to
round-off.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def expectation_path(expectations, top_level, unlisted, adaptation, path, changed):  # pragma: no cover
    """Each draw's expectations over the periods (into `path`, d, t, s, v, a) and whether each period's
    differ from the previous period's (into `changed`, d, t): toward the best level offered so far
    (`top_level` (v, a), or the expectation itself where an offering leaves the attribute `unlisted`), at
    the draw's `adaptation` (d, a) per period, from the segments' `expectations` (s, a)."""
    n_draws, horizon, n_seg, n_var, n_attr = path.shape
    for d in range(n_draws):
        changed[d, 0] = False
        for t in range(1, horizon):
            changed[d, t] = False
        for s in range(n_seg):
            for v in range(n_var):
                for a in range(n_attr):
                    expected, best, rate = expectations[s, a], -np.inf, adaptation[d, a]
                    path[d, 0, s, v, a] = expected
                    for t in range(1, horizon):
                        offered = max(top_level[v, a], expected) if unlisted[v, a] else top_level[v, a]
                        best = max(best, offered)
                        drifted = expected + rate * (best - expected)
                        if drifted != expected:
                            changed[d, t] = True
                        expected = drifted
                        path[d, t, s, v, a] = expected


@njit(cache=True, nogil=True, error_model="numpy")
def kano_differentiation(
    levels, expectations, unit_value, weights, columns, attributes, out
):  # pragma: no cover - compiled
    """Each offering's differentiation value over its numeric attributes (into `out`, d, t, s, o, v) under
    expectations that change over the periods: `pricing.value.differentiation_value`'s sum, term by term
    in the same order (the same numbers, bit for bit), without its temporaries over attributes.

    levels (o, v, i) of the numeric attributes (NaN: meets the expectation); expectations (d, t, s, v, a);
    unit_value (d, s, value column); weights (d, s, a, 2) shortfall and excess; columns and attributes (i,)
    the numeric attributes' value columns and positions among the attributes.
    """
    n_draws, n_periods, n_seg, n_off, n_var = out.shape
    n_attr = len(columns)
    unit, short, excess = np.empty(n_attr), np.empty(n_attr), np.empty(n_attr)
    for d in range(n_draws):
        for s in range(n_seg):
            for i in range(n_attr):
                a = attributes[i]
                unit[i], short[i], excess[i] = (
                    unit_value[d, s, columns[i]],
                    weights[d, s, a, 0],
                    weights[d, s, a, 1],
                )
            for t in range(n_periods):
                for o in range(n_off):
                    for v in range(n_var):
                        total = 0.0
                        for i in range(n_attr):
                            level = levels[o, v, i]
                            gap = 0.0 if np.isnan(level) else level - expectations[d, t, s, v, attributes[i]]
                            total += unit[i] * ((short[i] if gap < 0 else excess[i]) * gap)
                        out[d, t, s, o, v] = total


class Scratch:
    """Arrays one thread reuses call after call, by name: the drifting choices' temporaries span megabytes
    per block of draws, and fresh memory (page faults, cache misses) costs more than the arithmetic on it."""

    def __init__(self):
        self._held: dict[str, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised float64 array shaped `shape`, the same memory as the last call for `name`."""
        size = math.prod(shape)
        held = self._held.get(name)
        if held is None or held.size < size:
            held = self._held[name] = np.empty(size)
        return held[:size].reshape(shape)


def drifting_choices(differentiation, scale, prices, offering_price, ours, table, scratch=None):
    """What each period's shares need under logit with a none option, for a block of draws whose
    expectations drift: the purchase probability ``buy`` and our share of purchases ``ours_given_buy``
    (d, s, t, v, p), and the rivals' shares of the rest ``rival_weight`` (d, s, t, o, v), from the
    differentiation values (d, t, s, o, v) and the logit scale (d, s).

    The simulator's rule (`pricing.simulate._choices`): our share is logistic in our advantage over the
    rivals' logsum, the purchase probability is read at the inclusive value off the draw and segment's
    `market.PurchaseTable` (`table`: linear, stretch, inverse, offset, low, high (rows,), size, c0..c3).
    Compiled passes do the arithmetic; the exponentials and logarithms run between them as numpy's
    vectorised functions (several times faster than the scalar ones in a compiled loop). Every array comes
    from `scratch` (a `Scratch`; fresh arrays without): the results are valid until its next call.
    """
    scratch = scratch or Scratch()
    n_draws, n_periods, n_seg, n_off, n_var = differentiation.shape
    points = (n_draws, n_seg, n_periods, n_var, len(prices))
    advantage, tail, softplus = scratch("advantage", points), scratch("tail", points), scratch("buy", points)
    rival_inclusive = scratch("rival_inclusive", points[:-1])
    rival_weight = scratch("rival_weight", (n_draws, n_seg, n_periods, n_off, n_var))
    _advantage(
        differentiation, scale, prices, offering_price, ours, advantage, tail, rival_inclusive, rival_weight
    )
    np.exp(tail, out=tail)  # exp(-|a|)
    np.log1p(tail, out=softplus)  # softplus(a) - max(a, 0)
    ours_given_buy, point = scratch("ours_given_buy", points), scratch("point", points)
    _inclusive_point(
        advantage, tail, softplus, rival_inclusive, scale, n_off > 1, table, ours_given_buy, point
    )
    if not table[0]:
        np.arcsinh(point, out=point)
    _read_table(point, table, softplus)
    return softplus, ours_given_buy, rival_weight


@njit(cache=True, nogil=True, error_model="numpy")
def _advantage(
    differentiation, scale, prices, offering_price, ours, advantage, negative, rival_inclusive, rival_weight
):  # pragma: no cover - compiled
    """Our advantage over the rivals' logsum in logit scales (d, s, t, v, p) and its negative magnitude
    ``-|a|`` (into `negative`), the logsum (d, s, t, v) and the rivals' shares of a purchase that is not
    ours (d, s, t, o, v)."""
    n_draws, n_periods, n_seg, n_off, n_var = differentiation.shape
    for d in range(n_draws):
        for s in range(n_seg):
            lam = scale[d, s]
            for t in range(n_periods):
                for v in range(n_var):
                    ours_net = differentiation[d, t, s, ours, v]
                    top, total = -np.inf, 0.0
                    for o in range(n_off):
                        if o != ours:
                            top = max(top, differentiation[d, t, s, o, v] - offering_price[o])
                    for o in range(n_off):
                        w = 0.0
                        if o != ours:
                            w = math.exp((differentiation[d, t, s, o, v] - offering_price[o] - top) / lam)
                        rival_weight[d, s, t, o, v] = w
                        total += w
                    logsum = top + lam * math.log(total) if n_off > 1 else 0.0
                    rival_inclusive[d, s, t, v] = logsum
                    for o in range(n_off):
                        rival_weight[d, s, t, o, v] /= max(total, 1e-300)
                    for p in range(len(prices)):
                        a = (ours_net - prices[p] - logsum) / lam
                        advantage[d, s, t, v, p] = a
                        negative[d, s, t, v, p] = -abs(a)


@njit(cache=True, nogil=True, error_model="numpy")
def _inclusive_point(
    advantage, tail, softplus, rival_inclusive, scale, rivals, table, ours_given_buy, point
):  # pragma: no cover - compiled
    """Our share of purchases (into `ours_given_buy`) and the inclusive value, clipped to the table and
    scaled to its coordinate before the asinh (into `point`, d, s, t, v, p)."""
    linear, stretch, inverse, offset, low, high, size, c0, c1, c2, c3 = table
    n_draws, n_seg, n_periods, n_var, n_price = advantage.shape
    for d in range(n_draws):
        for s in range(n_seg):
            row = d * n_seg + s
            lam, lowest, highest = scale[d, s], low[row], high[row]
            spread = inverse[row] if linear else stretch[row]
            for t in range(n_periods):
                for v in range(n_var):
                    logsum = rival_inclusive[d, s, t, v]
                    for p in range(n_price):
                        a = advantage[d, s, t, v, p]
                        if rivals:  # logistic in our advantage over the rivals' logsum
                            e = tail[d, s, t, v, p]
                            larger = 1.0 / (1.0 + e)  # max(expit(a), expit(-a))
                            ours_given_buy[d, s, t, v, p] = larger if a >= 0.0 else e * larger
                            inclusive = logsum + lam * (max(a, 0.0) + softplus[d, s, t, v, p])
                        else:  # ours is the only offering: its net value (a is it over the scale)
                            ours_given_buy[d, s, t, v, p] = 1.0
                            inclusive = a * lam
                        point[d, s, t, v, p] = min(max(inclusive, lowest), highest) * spread


@njit(cache=True, nogil=True, error_model="numpy")
def _read_table(point, table, buy):  # pragma: no cover - compiled
    """The purchase probability at each point (in the table's coordinate before its scaling, d, s, t, v, p)
    into `buy`: one Hermite cubic per interval (`pricing.market.read_purchase`)."""
    linear, stretch, inverse, offset, low, high, size, c0, c1, c2, c3 = table
    n_draws, n_seg, n_periods, n_var, n_price = point.shape
    for d in range(n_draws):
        for s in range(n_seg):
            row = d * n_seg + s
            to_node = 1.0 if linear else inverse[row]
            start, first = offset[row], row * size
            for t in range(n_periods):
                for v in range(n_var):
                    for p in range(n_price):
                        u = point[d, s, t, v, p] * to_node - start
                        j = min(int(u), size - 2)
                        u -= j
                        at = first + j
                        value = ((c3[at] * u + c2[at]) * u + c1[at]) * u + c0[at]
                        buy[d, s, t, v, p] = min(max(value, 0.0), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def advance(
    first,
    stop,
    horizon,
    state,
    rates,
    changed,
    parameters,
    money,
    choices,
    out,
    records,
):  # pragma: no cover - compiled
    """Periods ``first .. stop - 1`` of a block of draws, in place (see `pricing.dynamics.simulate_dynamics`).

    state : (active (d, s, k, o, v, p), idle (d, s, k, v, p), share (d, s, o, v, p), none_share (d, s, v, p),
        survival (d, s, k, v), market (d, s)): customers, the shares acquiring next period's customers, our
        customers' survival since period 0 and the markets' sizes; updated.
    rates : (churn (d, t, s, k, o, v), referral (d, t, s, o, v)) each period's, from its satisfaction;
        changed : (d, t) whether period t's expectations differ from the previous period's (its shares are
        then new).
    parameters : (theta (d, s, k), entrants (d, s, k), entering (d, s), class weight (k,)).
    money : (margin (v, p), fixed cost (v,), discount (t,), prices (p,), ours).
    choices : (recompute, buy, ours_given_buy, rival_weight) of `drifting_choices`: with `recompute`, a
        period whose expectations changed gets its shares from them; without, the shares in `state` serve
        (the caller sets them, one period per call).
    out : (profit (d, v, p, t), clv (d, s, v, p)), accumulated.
    records : (per_period, active, acquired, referred, churned (d, s, o, v, p, t), revenue (d, s, v, p, t)).
    """
    active, idle, share, none_share, survival, market = state
    churn_rate, referral_rate = rates
    theta, entrants, entering, weight = parameters
    margin, fixed_cost, discount, prices, ours = money
    recompute, buy, ours_given_buy, rival_weight = choices
    profit, clv = out
    per_period, rec_active, rec_acquired, rec_referred, rec_churned, rec_revenue = records
    n_draws, n_seg, n_cls, n_off, n_var, n_price = active.shape
    pool = np.empty((n_cls, n_var, n_price))
    share_idle, leaving, referred = np.empty(n_price), np.empty(n_price), np.empty(n_price)
    rivals, bought, ours_active = np.empty(n_price), np.empty(n_price), np.empty(n_price)
    for d in range(n_draws):
        for s in range(n_seg):
            for t in range(first, stop):
                churn, referral = churn_rate[d, t, s], referral_rate[d, t, s]
                # money of period t (each sum over classes in their order, our prices innermost)
                for v in range(n_var):
                    alive = 0.0
                    for k in range(n_cls):
                        alive += weight[k] * survival[d, s, k, v]
                    for p in range(n_price):
                        clv[d, s, v, p] += margin[v, p] * alive * discount[t]
                        ours_active[p] = 0.0
                    for k in range(n_cls):
                        for p in range(n_price):
                            ours_active[p] += active[d, s, k, ours, v, p]
                    for p in range(n_price):
                        profit[d, v, p, t] += ours_active[p] * margin[v, p]
                    if per_period:
                        for p in range(n_price):
                            rec_revenue[d, s, v, p, t] = ours_active[p] * prices[p]
                    for k in range(n_cls):
                        survival[d, s, k, v] *= 1.0 - churn[k, ours, v]
                if per_period:
                    for o in range(n_off):
                        for v in range(n_var):
                            for p in range(n_price):
                                total = 0.0
                                for k in range(n_cls):
                                    total += active[d, s, k, o, v, p]
                                rec_active[d, s, o, v, p, t] = total
                if t == horizon - 1:
                    break
                # leaving, referred and reconsidering customers: the pool choosing again next period (our
                # prices innermost, so the compiler vectorises over them)
                market_size = max(market[d, s], 1e-300)
                for k in range(n_cls):
                    for v in range(n_var):
                        for p in range(n_price):
                            share_idle[p] = idle[d, s, k, v, p] / market_size  # U_t / M_t
                            leaving[p] = 0.0
                            referred[p] = 0.0
                        for o in range(n_off):
                            leave, refer = churn[k, o, v], referral[o, v]  # refer 0: nobody referred
                            customers = active[d, s, k, o, v]
                            if per_period:  # the same products as below, recorded
                                for p in range(n_price):
                                    rec_churned[d, s, o, v, p, t + 1] += customers[p] * leave
                                    rec_referred[d, s, o, v, p, t + 1] += customers[p] * refer * share_idle[p]
                            for p in range(n_price):
                                churned = customers[p] * leave
                                brought = customers[p] * refer * share_idle[p]
                                leaving[p] += churned
                                referred[p] += brought
                                customers[p] = customers[p] + brought - churned
                        for p in range(n_price):
                            buying_nothing = idle[d, s, k, v, p] - referred[p]
                            reconsider = theta[d, s, k] * buying_nothing
                            pool[k, v, p] = leaving[p] + reconsider + entrants[d, s, k]
                            idle[d, s, k, v, p] = buying_nothing - reconsider
                market[d, s] += entering[d, s]
                if recompute and changed[d, t + 1]:  # next period's shares from its choices, each sum
                    u = t + 1  # over offerings in their order, our prices innermost (vectorised)
                    for v in range(n_var):
                        for p in range(n_price):
                            rivals[p] = buy[d, s, u, v, p] * (1.0 - ours_given_buy[d, s, u, v, p])
                            bought[p] = 0.0
                        for o in range(n_off):
                            if o == ours:
                                for p in range(n_price):
                                    taken = buy[d, s, u, v, p] * ours_given_buy[d, s, u, v, p]
                                    share[d, s, o, v, p] = taken
                                    bought[p] += taken
                            else:
                                weight_o = rival_weight[d, s, u, o, v]
                                for p in range(n_price):
                                    taken = rivals[p] * weight_o
                                    share[d, s, o, v, p] = taken
                                    bought[p] += taken
                        for p in range(n_price):
                            none_share[d, s, v, p] = max(1.0 - bought[p], 0.0)
                for k in range(n_cls):
                    for v in range(n_var):
                        gained = pool[k, v]
                        for o in range(n_off):
                            customers, chosen = active[d, s, k, o, v], share[d, s, o, v]
                            if per_period:
                                for p in range(n_price):
                                    rec_acquired[d, s, o, v, p, t + 1] += chosen[p] * gained[p]
                            for p in range(n_price):
                                customers[p] += chosen[p] * gained[p]
                        for p in range(n_price):
                            idle[d, s, k, v, p] += none_share[d, s, v, p] * gained[p]
        for v in range(n_var):
            for p in range(n_price):
                for t in range(first, stop):
                    profit[d, v, p, t] -= fixed_cost[v]
