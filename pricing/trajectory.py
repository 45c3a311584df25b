"""Compiled kernel of `pricing.dynamics`: one block of draws through a range of periods, in one pass.

`advance` applies the state equations of `pricing.dynamics` (its module docstring) cell by cell, for each
draw and segment over the periods, with every flow of a period computed in the same pass over (class,
variant, price): numpy needed about nine passes over the whole state per period. Where a draw's
expectations drift, next period's shares are recomputed here too (`logit_shares`: the simulator's logit with
a none option, `pricing.simulate._choices`, with the purchase integral read off the draw's table,
`pricing.market.read_purchase`), so no per-period array of shares is ever built. Each draw's numbers depend
only on its own inputs, not on the draws run with it. Compiled with numba on first use and cached on disk
(`cache=True`); float64 throughout, so results equal numpy's up to round-off.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def asinh(x):  # pragma: no cover - compiled
    """asinh(x) = sign(x) log(|x| + sqrt(x^2 + 1)), to 1e-16 absolute (what reading a table needs), several
    times faster than libm's `math.asinh`."""
    a = abs(x)
    y = math.log(a) + math.log(2.0) if a > 1e150 else math.log(a + math.sqrt(a * a + 1.0))
    return y if x >= 0.0 else -y


@njit(cache=True, nogil=True)
def logit_shares(
    differentiation, scale, prices, offering_price, ours, table, row, share, none_share
):  # pragma: no cover - compiled
    """Shares (offering, variant, price) and the none option's (variant, price) of one draw and segment
    under logit with a none option, from the differentiation values (offering, variant); `table` is
    (linear, stretch, inverse, offset, low, high, size, c0, c1, c2, c3) of `market.PurchaseTable`."""
    linear, stretch, inverse, offset, low, high, size, c0, c1, c2, c3 = table
    n_off, n_var = differentiation.shape
    n_price = len(prices)
    lowest, highest, to_node, start = low[row], high[row], inverse[row], offset[row]
    spread = 1.0 if linear else stretch[row]
    first = row * size
    weight = np.zeros(n_off)
    for v in range(n_var):
        rival_inclusive = -np.inf
        if n_off > 1:  # the rivals' logsum does not depend on our price
            top = -np.inf
            for o in range(n_off):
                if o != ours:
                    top = max(top, differentiation[o, v] - offering_price[o])
            total = 0.0
            for o in range(n_off):
                if o != ours:
                    weight[o] = math.exp((differentiation[o, v] - offering_price[o] - top) / scale)
                    total += weight[o]
            rival_inclusive = top + scale * math.log(total)
            for o in range(n_off):
                weight[o] /= total
        for p in range(n_price):
            our_net = differentiation[ours, v] - prices[p]
            ours_given_buy, inclusive = 1.0, our_net
            if n_off > 1:  # logistic in our advantage over the rivals' logsum
                advantage = (our_net - rival_inclusive) / scale
                tail = math.exp(-abs(advantage))
                larger = 1.0 / (1.0 + tail)  # max(expit(a), expit(-a))
                ours_given_buy = larger if advantage >= 0.0 else tail * larger
                inclusive = rival_inclusive + scale * (max(advantage, 0.0) - math.log(larger))
            u = min(max(inclusive, lowest), highest)
            u = (u if linear else asinh(u * spread)) * to_node - start
            j = min(int(u), size - 2)
            u -= j
            at = first + j
            buy = min(max(((c3[at] * u + c2[at]) * u + c1[at]) * u + c0[at], 0.0), 1.0)
            rivals = buy * (1.0 - ours_given_buy)
            bought = 0.0
            for o in range(n_off):
                share[o, v, p] = rivals * weight[o]
                bought += share[o, v, p]
            share[ours, v, p] = buy * ours_given_buy
            bought += share[ours, v, p]
            none_share[v, p] = max(1.0 - bought, 0.0)


@njit(cache=True, nogil=True)
def advance(
    first,
    stop,
    horizon,
    state,
    satisfaction,
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
    satisfaction : (d, t, s, o, v) each period's; changed : (d, t) whether period t's expectations differ
        from the previous period's (its shares and satisfaction are then new).
    parameters : (theta (d, s, k), retention effect (d, s), referral rate (d, s), referral effect (d, s),
        entrants (d, s, k), entering (d, s), class weight (k,)).
    money : (margin (v, p), fixed cost (v,), discount (t,), prices (p,), ours).
    choices : (recompute, differentiation (d, t, s, o, v), scale (d, s), offering price (o,), table):
        with `recompute`, a period whose expectations changed gets its shares from `logit_shares`;
        without, the shares in `state` serve (the caller sets them, one period per call).
    out : (profit (d, v, p, t), clv (d, s, v, p)), accumulated.
    records : (per_period, active, acquired, referred, churned (d, s, o, v, p, t), revenue (d, s, v, p, t)).
    """
    active, idle, share, none_share, survival, market = state
    theta, k_ret, rho, k_ref, entrants, entering, weight = parameters
    margin, fixed_cost, discount, prices, ours = money
    recompute, differentiation, scale, offering_price, table = choices
    profit, clv = out
    per_period, rec_active, rec_acquired, rec_referred, rec_churned, rec_revenue = records
    n_draws, n_seg, n_cls, n_off, n_var, n_price = active.shape
    churn = np.empty((n_cls, n_off, n_var))
    referral = np.empty((n_off, n_var))
    pool = np.empty((n_cls, n_var, n_price))
    for d in range(n_draws):
        for s in range(n_seg):
            refers = rho[d, s] > 0.0  # else nobody is referred (skipped)
            for t in range(first, stop):
                if t == first or changed[d, t]:  # churn and referral follow this period's satisfaction
                    for o in range(n_off):
                        for v in range(n_var):
                            felt = satisfaction[d, t, s, o, v] / 100.0
                            for k in range(n_cls):  # `pricing.dynamics.churn_probability`
                                odds = theta[d, s, k] / (1.0 - theta[d, s, k]) * math.exp(-k_ret[d, s] * felt)
                                churn[k, o, v] = odds / (1.0 + odds)
                            referral[o, v] = min(1.0, rho[d, s] * math.exp(k_ref[d, s] * felt))
                # money of period t
                for v in range(n_var):
                    alive = 0.0
                    for k in range(n_cls):
                        alive += weight[k] * survival[d, s, k, v]
                    for p in range(n_price):
                        ours_active = 0.0
                        for k in range(n_cls):
                            ours_active += active[d, s, k, ours, v, p]
                        profit[d, v, p, t] += ours_active * margin[v, p]
                        clv[d, s, v, p] += margin[v, p] * alive * discount[t]
                        if per_period:
                            rec_revenue[d, s, v, p, t] = ours_active * prices[p]
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
                # leaving, referred and reconsidering customers: the pool choosing again next period
                market_size = max(market[d, s], 1e-300)
                for k in range(n_cls):
                    for v in range(n_var):
                        for p in range(n_price):
                            buying_nothing = idle[d, s, k, v, p]
                            share_idle = buying_nothing / market_size  # U_t / M_t
                            leaving, referred = 0.0, 0.0
                            for o in range(n_off):
                                customers = active[d, s, k, o, v, p]
                                churned = customers * churn[k, o, v]
                                leaving += churned
                                brought = 0.0
                                if refers:
                                    brought = customers * referral[o, v] * share_idle
                                    referred += brought
                                    if per_period:
                                        rec_referred[d, s, o, v, p, t + 1] += brought
                                if per_period:
                                    rec_churned[d, s, o, v, p, t + 1] += churned
                                active[d, s, k, o, v, p] = customers + brought - churned
                            buying_nothing -= referred
                            reconsider = theta[d, s, k] * buying_nothing
                            pool[k, v, p] = leaving + reconsider + entrants[d, s, k]
                            idle[d, s, k, v, p] = buying_nothing - reconsider
                market[d, s] += entering[d, s]
                if recompute and changed[d, t + 1]:
                    logit_shares(
                        differentiation[d, t + 1, s],
                        scale[d, s],
                        prices,
                        offering_price,
                        ours,
                        table,
                        d * n_seg + s,
                        share[d, s],
                        none_share[d, s],
                    )
                for k in range(n_cls):
                    for v in range(n_var):
                        for p in range(n_price):
                            for o in range(n_off):
                                acquired = share[d, s, o, v, p] * pool[k, v, p]
                                active[d, s, k, o, v, p] += acquired
                                if per_period:
                                    rec_acquired[d, s, o, v, p, t + 1] += acquired
                            idle[d, s, k, v, p] += none_share[d, s, v, p] * pool[k, v, p]
        for v in range(n_var):
            for p in range(n_price):
                for t in range(first, stop):
                    profit[d, v, p, t] -= fixed_cost[v]
