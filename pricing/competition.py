"""Competitors that react: Bertrand-Nash prices per draw, leader (Stackelberg) pricing, reaction rules.

Demand is the simulator's own (`pricing.simulate`, `pricing.market`): in a segment, offering ``j`` with
net value ``V_j = differentiation_j - p_j`` has the share ``S_j = q_j B(I)``, where
``q_j = softmax(V / lambda)_j`` is its logit share given a purchase, ``I = lambda log sum_k exp(V_k /
lambda)`` the inclusive value and ``B(I)`` the purchase probability integrated over the segment's WTP
spread (the none option; ``B = 1`` without it). Units are ``D_j = sum_segments size S_j``. Since
``dV_k/dp_k = -1`` and ``dI/dp_k = -q_k``, the price derivatives are analytic, with ``B'`` from the same
integral (`pricing.market.logit_purchase_slope`)::

    dS_j/dp_k = -(1/lambda) q_j (delta_jk - q_k) B - q_j q_k B'  =  -Lambda_j delta_jk + Gamma_jk
    Lambda_j = S_j / lambda,   Gamma_jk = q_j q_k (B / lambda - B')     (each summed over segments, by size)

the decomposition of Morrow & Skerlos (2011) that pyblp's ``compute_prices`` iterates on. Firm ``f`` sets
the prices of its reacting (best-responding) offerings to maximise ``sum_{j in f} (p_j - c_j) D_j``; with
``O_jk = 1`` when ``j`` and ``k`` have the same firm, the first-order conditions
``D_j - Lambda_j m_j + sum_k O_jk Gamma_kj m_k = 0`` (``m = p - c``) give the zeta-markup fixed point::

    p <- c + zeta(p),   zeta_j = (D_j + sum_k O_kj Gamma_kj m_k) / Lambda_j

It converges where the naive markup iteration ``p <- c + lambda / (1 - s)`` oscillates (any single-product
share above one half). Segments with different price sensitivities can still make it cycle, so each
problem's step towards ``c + zeta`` is halved whenever its residual grows (down to `MIN_STEP`). Every draw
is an independent problem, all solved together as a batch; one converges when no price moves by more than
`TOLERANCE` (relative) and no firm earns more by moving its markups to any of `DEVIATIONS` times theirs
(the FOCs also hold at profit minima, and a segmented market's profit curve can have several peaks).
Problems that fail either test, hit `MAX_ITERATIONS` or a non-finite price are reported as not converged
and left out of every summary (never averaged in).

Offerings with ``reacts: false`` hold their current price; reaction ``match`` / ``undercut`` set a rival's
price from ours (our price, or less `undercut` percent), re-applied at each step. First-choice demand is a
step function of price (a customer switches at a tie), so no pure-strategy price equilibrium is meaningful:
it is refused.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from pricing import market
from pricing.dims import DRAW, OFFERING, PRICE, VARIANT
from pricing.errors import ScenarioError
from pricing.scenario import OURS, Scenario
from pricing.simulate import differentiation_values, segment_parameters

TOLERANCE = 1e-9
#: Evaluations of the zeta map per problem before it is reported as not converged.
MAX_ITERATIONS = 500
#: Largest SQUAREM step length (in steps of the map).
MAX_EXTRAPOLATION = 64.0
#: Problems (draw x our price x variant) solved at once: blocks that stay in the CPU cache.
BLOCK = 1000
#: Threads solving blocks at once (at most the number of cores).
MAX_THREADS = 8


def unit_cost_draws(scenario: Scenario, draws: int, seed: int) -> np.ndarray:
    """Unit cost of every offering in every draw (draw, offering; currency): lognormal around the median with
    the elicited uncertainty, exactly the median where it is certain. Its own random stream, so that the
    WTP draws stay those of `pricing.simulate.simulate` with the same seed."""
    rng = np.random.default_rng([seed, 12])
    normal = rng.standard_normal((draws, len(scenario.offerings)))
    log_median = np.array([o.cost_log_median for o in scenario.offerings])
    log_sd = np.array([o.cost_log_sd for o in scenario.offerings])
    certain = np.array([o.unit_cost for o in scenario.offerings])
    with np.errstate(invalid="ignore"):  # -inf * 0 where the cost is 0, and certain
        uncertain = np.exp(log_median + log_sd * normal)
    return np.where(log_sd > 0, uncertain, certain)


@dataclass(frozen=True)
class MarketDraws:
    """Everything the solver needs, per draw: the demand side and every offering's cost.

    differentiation (draw, segment, offering, variant), mu, sigma, scale (draw, segment) as in
    `pricing.simulate`; cost (draw, offering, variant) with our variant's extra unit cost; size (segment,).
    """

    scenario: Scenario
    parameters: dict[str, np.ndarray]
    differentiation: np.ndarray
    cost: np.ndarray
    size: np.ndarray
    firm: np.ndarray
    best_response: np.ndarray
    follows: np.ndarray
    cut: np.ndarray
    ours: int
    price: np.ndarray

    @property
    def draws(self) -> int:
        return self.differentiation.shape[0]


def market_draws(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
) -> MarketDraws:
    """The scenario's market per draw (the same WTP draws as `simulate` with the same seed), or raise
    `ScenarioError` for first-choice demand."""
    if scenario.market.choice_rule == "first_choice":
        raise ScenarioError(
            "market.choice_rule: first_choice demand jumps at every price tie, so there is no meaningful "
            "pure-strategy price equilibrium; use logit to let competitors react"
        )
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    if parameters is None:
        parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    n_draws = len(parameters["wtp_log_median"])
    offerings = scenario.offerings
    ours = next(i for i, o in enumerate(offerings) if o.owner == OURS)
    cost = np.repeat(unit_cost_draws(scenario, n_draws, seed)[:, :, None], len(scenario.variants), axis=2)
    cost[:, ours] += np.array([v.extra_unit_cost for v in scenario.variants])
    firms = scenario.firms
    return MarketDraws(
        scenario=scenario,
        parameters=parameters,
        differentiation=differentiation_values(scenario, parameters),
        cost=cost,
        size=np.array([s.size for s in scenario.segments], dtype=float),
        firm=np.array([firms.index(f) for f in firms]),
        best_response=np.array([o.reacts and o.reaction == "best_response" for o in offerings]),
        follows=np.array([o.reacts and o.reaction != "best_response" for o in offerings]),
        cut=np.array([o.undercut / 100 for o in offerings]),
        ours=ours,
        price=np.array([o.price for o in offerings]),
    )


# ---- demand and its price derivatives --------------------------------------------------------------------


def demand(
    net_value: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    size: np.ndarray,
    nodes: int = 16,
    none_option: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Units and their price derivatives under the simulator's logit demand (see the module docstring).

    Parameters
    ----------
    net_value : (B, S, J) differentiation - price of each offering for each segment (currency).
    mu, sigma, scale : (B, S) log-median and log-sd of WTP, logit scale (currency).
    size : (S,) customers per segment.

    Returns
    -------
    units (B, J), lambda_ (B, J), gamma (B, J, J) with ``dunits_j/dp_k = -lambda_j delta_jk + gamma_jk``, and
    share (B, S, J), each segment's share of its customers.
    """
    given_buy, inclusive = _choice_given_purchase(net_value, scale[:, :, None])
    lam = scale[:, :, None]
    if none_option:
        buy, slope = market.logit_purchase_slope(
            inclusive.reshape(-1, 1), mu.ravel(), sigma.ravel(), scale.ravel(), nodes
        )
        buy, slope = buy.reshape(mu.shape), slope.reshape(mu.shape)
    else:
        buy, slope = np.ones_like(mu), np.zeros_like(mu)
    share = given_buy * buy[:, :, None]
    units = np.einsum("bsj,s->bj", share, size)
    lambda_ = np.einsum("bsj,s->bj", share / lam, size)
    gamma = np.einsum("bsj,bsk,bs->bjk", given_buy, given_buy, (buy / scale - slope) * size)
    return units, lambda_, gamma, share


def units_at(
    net_value: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    size: np.ndarray,
    nodes: int = 16,
    none_option: bool = True,
) -> np.ndarray:
    """Units (B, N, J) at N price points per problem: `net_value` (B, S, N, J), the rest as in `demand`.
    The purchase integral is `pricing.market.logit_purchase`, as the simulator evaluates it."""
    lam = scale[:, :, None, None]
    given_buy, inclusive = _choice_given_purchase(net_value, lam)
    if none_option:
        n_rows, n_points = mu.size, net_value.shape[2]
        flat = inclusive.reshape(n_rows, n_points)
        buy = market.logit_purchase(flat, mu.ravel(), sigma.ravel(), scale.ravel(), nodes)[0]
        buy = buy.reshape(inclusive.shape)
    else:
        buy = np.ones(inclusive.shape)
    return np.einsum("bsnj,bsn,s->bnj", given_buy, buy, size)


def _choice_given_purchase(net_value: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit shares given a purchase over the last axis, and the inclusive value (currency), computed from
    the largest net value so that nothing overflows."""
    top = net_value.max(axis=-1, keepdims=True)
    weight = np.exp((net_value - top) / lam)
    total = weight.sum(axis=-1, keepdims=True)
    return weight / total, (top + lam * np.log(total))[..., 0]


# ---- the fixed point --------------------------------------------------------------------------------------


def solve_prices(
    net_of_price: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    size: np.ndarray,
    cost: np.ndarray,
    start: np.ndarray,
    firm: np.ndarray,
    best_response: np.ndarray,
    follows: np.ndarray,
    cut: np.ndarray,
    ours: int,
    nodes: int = 16,
    none_option: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equilibrium prices of a batch of independent markets by the zeta-markup fixed point.

    `net_of_price` (B, S, J) is the differentiation value (net value at price 0); cost and start (B, J);
    firm (J,) the firm index of each offering; best_response (J,) the offerings whose firm sets their price;
    follows (J,) those priced at ``start[ours] * (1 - cut)`` (match, undercut); the rest hold `start`.
    Returns prices (B, J), converged (B,) and iterations (B,).
    """
    same_firm = (firm[:, None] == firm[None, :]).astype(float)

    def follow(prices: np.ndarray) -> np.ndarray:
        if follows.any():
            prices[:, follows] = prices[:, [ours]] * (1 - cut[follows])
        return prices

    def zeta_map(rows: np.ndarray, price: np.ndarray) -> np.ndarray:
        """c + zeta(p) for the best-responding offerings; the others hold or follow."""
        c = cost[rows]
        units, lambda_, gamma, _ = demand(
            net_of_price[rows] - price[:, None, :],
            mu[rows],
            sigma[rows],
            scale[rows],
            size,
            nodes,
            none_option,
        )
        markup = np.einsum("bkj,kj,bk->bj", gamma, same_firm, price - c) + units
        markup /= np.maximum(lambda_, 1e-300)  # pyblp bounds Lambda away from 0 against underflow
        return follow(np.where(best_response, c + markup, price))

    prices = follow(start.astype(float).copy())
    converged = np.full(len(prices), not best_response.any())
    iterations = np.zeros(len(prices), dtype=int)
    active = np.arange(len(prices)) if best_response.any() else np.arange(0)
    while active.size and iterations[active[0]] < MAX_ITERATIONS:
        # one SQUAREM cycle (Varadhan & Roland 2008, scheme 3, as pyblp's Iteration('squarem')): two
        # steps of the map, then an extrapolation along them; the next cycle's first step stabilises it
        x0 = prices[active]
        f0 = zeta_map(active, x0)
        r = f0 - x0
        alive = np.isfinite(f0).all(axis=1)
        done = alive & (np.abs(r).max(axis=1) <= TOLERANCE * (1 + np.abs(x0).max(axis=1)))
        prices[active[done]] = f0[done]
        converged[active[done]] = True
        iterations[active] += 1
        keep = alive & ~done
        active, x0, f0, r = active[keep], x0[keep], f0[keep], r[keep]
        if not active.size:
            break
        f1 = zeta_map(active, f0)
        iterations[active] += 1
        v = f1 - f0 - r
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = -np.sqrt((r * r).sum(axis=1) / (v * v).sum(axis=1))
        alpha = np.clip(np.nan_to_num(alpha, nan=-1.0), -MAX_EXTRAPOLATION, -1.0)[:, None]
        x = follow(x0 - 2 * alpha * r + alpha * alpha * v)
        bad = ~np.isfinite(x).all(axis=1) | (x[:, best_response] <= 0).any(axis=1)
        x[bad] = f1[bad]  # alpha = -1 is two plain steps
        alive = np.isfinite(x).all(axis=1)
        prices[active[alive]] = x[alive]
        active = active[alive]
    solved = np.flatnonzero(converged) if best_response.any() else np.arange(0)
    if solved.size:  # a stationary point of the FOCs is an equilibrium only if no firm gains by moving
        problem = (net_of_price[solved], mu[solved], sigma[solved], scale[solved], size)
        gains = _profitable_deviation(
            problem, cost[solved], prices[solved], firm, best_response, nodes, none_option
        )
        converged[solved[gains]] = False
    return prices, converged, iterations


#: Markup multiples a firm's reacting offerings are moved to, jointly, to check an equilibrium is one.
DEVIATIONS = np.array([0.25, 0.5, 0.8, 1.25, 2.0, 4.0])
#: Relative profit gain that counts as a profitable deviation (above the purchase table's error).
DEVIATION_TOLERANCE = 1e-6


def _profitable_deviation(
    problem: tuple,
    cost: np.ndarray,
    prices: np.ndarray,
    firm: np.ndarray,
    best_response: np.ndarray,
    nodes: int,
    none_option: bool,
) -> np.ndarray:
    """Whether some firm earns more (by `DEVIATION_TOLERANCE`) by scaling the markups of all its reacting
    offerings by one of `DEVIATIONS`, the others' prices held: the FOCs also hold at profit minima and
    saddles, and a segmented market's profit curve can have several peaks. (B,) bool."""
    net_of_price, *demand_args = problem
    markup = np.maximum(prices - cost, 1e-9 * (1 + np.abs(prices)))
    firms = np.unique(firm[best_response])
    # points: the equilibrium, then each firm's reacting offerings at each multiple of their markups
    moved = (firm[None, :] == firms[:, None]) & best_response  # firm, offering
    multiple = np.where(moved[:, None, :], DEVIATIONS[None, :, None], 1.0).reshape(-1, len(firm))
    trial = np.concatenate([prices[:, None, :], cost[:, None, :] + multiple * markup[:, None, :]], axis=1)
    trial = np.where(
        np.concatenate([np.zeros((1, len(firm)), bool), multiple != 1.0]), trial, prices[:, None]
    )
    units = units_at(net_of_price[:, :, None, :] - trial[:, None], *demand_args, nodes, none_option)
    profit = (trial - cost[:, None, :]) * units  # problem, point, offering
    own = (firm[None, :] == firms[:, None]).astype(float)  # firm, offering
    at_equilibrium = profit[:, 0] @ own.T  # problem, firm
    deviating = np.einsum("bfmj,fj->bfm", profit[:, 1:].reshape(len(prices), len(firms), -1, len(firm)), own)
    best = deviating.max(axis=2)
    return (best > at_equilibrium + DEVIATION_TOLERANCE * np.abs(at_equilibrium) + 1e-12).any(axis=1)


def _solve(
    draws: MarketDraws,
    batch_draw: np.ndarray,
    variant: np.ndarray,
    start: np.ndarray,
    best_response: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the problems (draw index, variant index, start prices) in blocks of `BLOCK` on up to
    `MAX_THREADS` threads (numpy releases the GIL; each block's numbers do not depend on the thread);
    returns prices, converged, iterations and units (problem, offering)."""
    rule = draws.scenario.market
    p = draws.parameters

    def block(begin: int) -> tuple[np.ndarray, ...]:
        d, v = batch_draw[begin : begin + BLOCK], variant[begin : begin + BLOCK]
        args = (p["wtp_log_median"][d], p["wtp_log_sd"][d], p["logit_scale"][d], draws.size)
        net = draws.differentiation[d, :, :, v]  # (b, S, J): numpy puts the advanced indices' dim first
        cost = draws.cost[d, :, v]
        prices, converged, iterations = solve_prices(
            net,
            *args,
            cost,
            start[begin : begin + BLOCK],
            draws.firm,
            best_response,
            draws.follows,
            draws.cut,
            draws.ours,
            rule.integration_nodes,
            rule.none_option,
        )
        units = demand(net - prices[:, None, :], *args, rule.integration_nodes, rule.none_option)[0]
        return prices, converged, iterations, units

    starts = range(0, len(batch_draw), BLOCK)
    threads = min(len(starts), os.cpu_count() or 1, MAX_THREADS)
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(begin) for begin in starts]
    return tuple(np.concatenate(part) for part in zip(*parts, strict=True))


def equilibrium(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
    market_data: MarketDraws | None = None,
) -> xr.Dataset:
    """Bertrand-Nash equilibrium for every draw and variant of ours: every firm prices its reacting
    offerings to maximise its own profit given the others' prices.

    Returns a Dataset with price, share (of all the market's customers), units and profit (price - unit cost
    times units; ours also less the variant's fixed cost) per (draw, variant, offering), and converged,
    iterations per (draw, variant). Summaries must use converged draws only (`converged_summary`).
    """
    data = market_draws(scenario, draws, seed, parameters) if market_data is None else market_data
    n_draws, n_variants = data.draws, len(scenario.variants)
    batch_draw = np.repeat(np.arange(n_draws), n_variants)
    variant = np.tile(np.arange(n_variants), n_draws)
    start = np.broadcast_to(data.price, (len(batch_draw), len(data.price)))
    prices, converged, iterations, units = _solve(data, batch_draw, variant, start, data.best_response)
    cost = data.cost[batch_draw, :, variant]
    profit = (prices - cost) * units
    fixed = np.array([v.fixed_cost for v in scenario.variants])
    profit[:, data.ours] -= fixed[variant]
    shape = (n_draws, n_variants, len(data.price))
    return xr.Dataset(
        {
            "price": ((DRAW, VARIANT, OFFERING), prices.reshape(shape)),
            "share": ((DRAW, VARIANT, OFFERING), (units / data.size.sum()).reshape(shape)),
            "units": ((DRAW, VARIANT, OFFERING), units.reshape(shape)),
            "profit": ((DRAW, VARIANT, OFFERING), profit.reshape(shape)),
            "converged": ((DRAW, VARIANT), converged.reshape(shape[:2])),
            "iterations": ((DRAW, VARIANT), iterations.reshape(shape[:2])),
        },
        coords=_coords(scenario, n_draws),
        attrs={"currency": scenario.currency, "our_offering": scenario.our_offering.name},
    )


def leader_pricing(
    scenario: Scenario,
    prices: list[float] | np.ndarray | None = None,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
    market_data: MarketDraws | None = None,
) -> xr.Dataset:
    """Our price chosen knowing that reacting rivals then move (Stackelberg leader), at each of our `prices`
    (default the scenario's price grid) and variants.

    With reaction, rivals that best-respond reach their equilibrium among themselves given our price, rule
    followers match or undercut it, and the others hold; without, every rival keeps today's price. Returns
    per (draw, price, variant): profit and share (ours, with and without reaction; share of the market's
    customers), converged, and the rivals' prices (with an offering dim).
    """
    data = market_draws(scenario, draws, seed, parameters) if market_data is None else market_data
    grid = np.asarray(scenario.price_grid() if prices is None else prices, dtype=float)
    n_draws, n_prices, n_variants, n_offerings = (
        data.draws,
        len(grid),
        len(scenario.variants),
        len(data.price),
    )
    d = np.repeat(np.arange(n_draws), n_variants)
    v = np.tile(np.arange(n_variants), n_draws)
    rivals_respond = data.best_response.copy()
    rivals_respond[data.ours] = False
    hold = MarketDraws(**{**data.__dict__, "follows": np.zeros_like(data.follows)})
    # our prices in ascending order, each solve starting from the rivals' answer to the previous price
    # (a few steps instead of a cold start); results go back to the order of `prices`
    reacting = np.empty((n_prices, len(d), n_offerings))
    converged = np.empty((n_prices, len(d)), dtype=bool)
    units, units_held = np.empty_like(reacting), np.empty_like(reacting)
    start = np.broadcast_to(data.price, (len(d), n_offerings)).copy()
    for i in np.argsort(grid, kind="stable"):
        start[:, data.ours] = grid[i]
        reacting[i], converged[i], _, units[i] = _solve(data, d, v, start, rivals_respond)
        units_held[i] = _solve(hold, d, v, _with_ours(data, grid[i], len(d)), np.zeros_like(rivals_respond))[
            3
        ]
        start = np.where(converged[i][:, None], reacting[i], start)
    # (price, draw x variant) -> (draw x price x variant) problems
    reacting, units, units_held = (
        np.swapaxes(x.reshape(n_prices, n_draws, n_variants, n_offerings), 0, 1).reshape(-1, n_offerings)
        for x in (reacting, units, units_held)
    )
    converged = np.swapaxes(converged.reshape(n_prices, n_draws, n_variants), 0, 1).ravel()
    d = np.repeat(np.arange(n_draws), n_prices * n_variants)
    p = np.tile(np.repeat(np.arange(n_prices), n_variants), n_draws)
    v = np.tile(np.arange(n_variants), n_draws * n_prices)
    margin = grid[p] - data.cost[d, data.ours, v]
    fixed = np.array([x.fixed_cost for x in scenario.variants])[v]
    shape = (n_draws, n_prices, n_variants)
    total = data.size.sum()
    coords = _coords(scenario, n_draws) | {PRICE: grid}
    return xr.Dataset(
        {
            "profit": ((DRAW, PRICE, VARIANT), (margin * units[:, data.ours] - fixed).reshape(shape)),
            "profit_without_reaction": (
                (DRAW, PRICE, VARIANT),
                (margin * units_held[:, data.ours] - fixed).reshape(shape),
            ),
            "share": ((DRAW, PRICE, VARIANT), (units[:, data.ours] / total).reshape(shape)),
            "share_without_reaction": (
                (DRAW, PRICE, VARIANT),
                (units_held[:, data.ours] / total).reshape(shape),
            ),
            "converged": ((DRAW, PRICE, VARIANT), converged.reshape(shape)),
            "rival_price": ((DRAW, PRICE, VARIANT, OFFERING), reacting.reshape((*shape, n_offerings))),
        },
        coords=coords,
        attrs={"currency": scenario.currency, "our_offering": scenario.our_offering.name},
    )


def _with_ours(data: MarketDraws, price: float, n: int) -> np.ndarray:
    """Today's prices with ours at `price`, for n problems."""
    prices = np.broadcast_to(data.price, (n, len(data.price))).copy()
    prices[:, data.ours] = price
    return prices


def _coords(scenario: Scenario, n_draws: int) -> dict:
    return {
        DRAW: np.arange(n_draws),
        VARIANT: [v.name for v in scenario.variants],
        OFFERING: [o.name for o in scenario.offerings],
        "firm": (OFFERING, scenario.firms),
    }


def converged_summary(values: xr.DataArray, converged: xr.DataArray) -> xr.Dataset:
    """Mean and 5/50/95% quantiles over the converged draws only (NaN where no draw converged)."""
    kept = values.where(converged)
    with warnings.catch_warnings():  # where no draw converged the summary is NaN, as documented
        warnings.simplefilter("ignore", RuntimeWarning)
        q = kept.quantile((0.05, 0.5, 0.95), dim=DRAW)
    return xr.Dataset(
        {
            "mean": kept.mean(DRAW),
            "q05": q.sel(quantile=0.05, drop=True),
            "q50": q.sel(quantile=0.5, drop=True),
            "q95": q.sel(quantile=0.95, drop=True),
        }
    )


def equilibrium_summary(result: xr.Dataset, variant: str) -> dict:
    """One variant's equilibrium as plain data: `prices`, `shares` and `profits` map each offering to
    ``{mean, q05, q50, q95}`` over the converged draws (None where none converged); `converged` is the
    share of draws that converged, `draws` their number."""
    variants = [str(v) for v in result[VARIANT].values]
    if variant not in variants:
        raise ScenarioError(f"--variant {variant!r}: unknown variant (known: {', '.join(variants)})")
    one = result.sel({VARIANT: variant})
    report: dict = {}
    for key, name in (("prices", "price"), ("shares", "share"), ("profits", "profit")):
        stats = converged_summary(one[name], one.converged)
        report[key] = {
            str(o): {k: _number(stats[k].sel({OFFERING: o})) for k in ("mean", "q05", "q50", "q95")}
            for o in one[OFFERING].values
        }
    report["converged"] = float(one.converged.mean())
    report["draws"] = int(one.sizes[DRAW])
    return report


def _number(value: xr.DataArray) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def profit_curves(leader: xr.Dataset) -> pd.DataFrame:
    """Our expected profit over our price (index) for the first variant of `leader_pricing`'s result:
    columns ``with reaction`` and ``without reaction``, over the draws that reached an equilibrium at every
    price (the same draws for both, so that the curves compare)."""
    one = leader.isel({VARIANT: 0})
    kept = one.converged.all(PRICE)
    return pd.DataFrame(
        {
            "with reaction": one.profit.where(kept).mean(DRAW).values,
            "without reaction": one.profit_without_reaction.where(kept).mean(DRAW).values,
        },
        index=pd.Index(one[PRICE].values, name=PRICE),
    )


def rival_answers(leader: xr.Dataset, price: float) -> pd.DataFrame:
    """Each rival's price in answer to our `price` (the nearest of `leader_pricing`'s prices), first variant:
    columns offering, today (its current price), mean, q05, q95 over the draws that reached an equilibrium."""
    nearest = int(np.abs(leader[PRICE].values - price).argmin())
    one = leader.isel({VARIANT: 0, PRICE: nearest})
    ours = str(leader.attrs["our_offering"])
    stats = converged_summary(one.rival_price, one.converged)
    rivals = [str(o) for o in leader[OFFERING].values if str(o) != ours]
    return pd.DataFrame(
        {
            OFFERING: rivals,
            "answer_to": float(one[PRICE]),
            **{k: [float(stats[k].sel({OFFERING: o})) for o in rivals] for k in ("mean", "q05", "q95")},
        }
    )
