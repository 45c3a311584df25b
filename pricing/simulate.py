"""The posterior simulator: a scenario -> shares, volume, revenue, profit, surplus and satisfaction per draw.

Each posterior draw fixes every segment's parameters (log-median and log-sd of reference WTP, value per unit
of each attribute, logit scale); `segment_parameters` makes them from the scenario. `simulate` then computes,
vectorised over (draw, segment, offering, price, variant), the choices of each segment's customers,
integrating over the spread of WTP within the segment (see `pricing.market`), and returns an
`xarray.Dataset`:

=================  ====================================  ==========================================
variable           dims                                  meaning
=================  ====================================  ==========================================
share              draw, segment, offering, price, variant  share of the segment's customers buying it
volume             draw, segment, price, variant         our units sold (share x segment size)
revenue            draw, segment, price, variant         our revenue (volume x price)
contribution       draw, segment, price, variant         volume x (price - unit cost)
profit             draw, price, variant                  sum of contributions - the variant's fixed cost
surplus            draw, segment, price, variant         consumer surplus of the segment's customers
satisfaction       draw, segment, offering, variant      expectation-disconfirmation index, -100..100
perceived_value    draw, segment, offering, variant      median customer's perceived value (currency)
=================  ====================================  ==========================================

`price` is our offering's price; competitors keep theirs. Money is in the scenario's currency.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr
from scipy.special import expit

from pricing import __version__, market, value
from pricing.dims import ATTRIBUTE, DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import ScenarioError
from pricing.scenario import Market, Scenario, scenario_hash

#: (segment, price, variant) cells computed at once: blocks of draws that stay in the CPU cache.
BLOCK_CELLS = 1 << 18
#: Largest array the simulator builds (values): 200M float64 shares are 1.6 GB.
MAX_CELLS = 200_000_000
#: Threads computing blocks at once (at most the number of cores).
MAX_THREADS = 8


def segment_parameters(scenario: Scenario, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-draw parameters of every segment: the simulator's only input from WTP.

    Returns arrays `wtp_log_median` (draw, segment), `wtp_log_sd` (draw, segment), `value_per_unit`
    (draw, segment, attribute; currency per unit) and `logit_scale` (draw, segment; currency). Elicited WTP
    is drawn around the stated median and spread with the stated uncertainty; WTP pointing to a saved
    posterior or survey data takes that posterior's draws (`pricing.wtp.fitted_segment_draws`).
    """
    names = scenario.attribute_names
    segments = scenario.segments
    n_seg, n_attr = len(segments), len(names)
    elicited = [s.wtp.source == "elicited" for s in segments]
    median = np.array([s.wtp.log_median if e else 0.0 for s, e in zip(segments, elicited, strict=True)])
    spread = np.array([s.wtp.log_sd if e else 1.0 for s, e in zip(segments, elicited, strict=True)])
    median_sd = np.array([s.wtp.uncertainty for s in segments])
    spread_sd = np.array([s.wtp.spread_uncertainty for s in segments])
    unit_value = np.array([[s.value_per_unit.get(a, 0.0) for a in names] for s in segments]).reshape(
        n_seg, n_attr
    )
    value_sd = np.array([s.value_uncertainty for s in segments])
    parameters = {
        "wtp_log_median": median + median_sd * rng.standard_normal((draws, n_seg)),
        "wtp_log_sd": spread * np.exp(spread_sd * rng.standard_normal((draws, n_seg))),
        "value_per_unit": unit_value
        * np.exp(value_sd[:, None] * rng.standard_normal((draws, n_seg, n_attr))),
        "logit_scale": np.broadcast_to(np.array([s.logit_scale for s in segments]), (draws, n_seg)).copy(),
    }
    for i, segment in enumerate(segments):
        if not elicited[i]:
            from pricing.wtp import fitted_segment_draws  # ArviZ (and PyMC to fit on load) only when needed

            fitted = fitted_segment_draws(
                segment.wtp, segment.name, scenario.base_dir, scenario.seed, draws, rng, names
            )
            for name, values in fitted.items():
                known = ~np.isnan(values)  # attributes a conjoint fit does not know keep the scenario's
                parameters[name][:, i][known] = values[known]
    return parameters


def segment_expectations(scenario: Scenario) -> np.ndarray:
    """Each segment's expected level of each attribute (segment, attribute); unlisted ones are 0."""
    names = scenario.attribute_names
    return np.array([[s.expectations.get(a, 0.0) for a in names] for s in scenario.segments]).reshape(
        len(scenario.segments), len(names)
    )


def offering_levels(scenario: Scenario) -> np.ndarray:
    """Attribute levels (offering, variant, attribute); NaN where the level meets the expectation."""
    names = scenario.attribute_names
    levels = np.full((len(scenario.offerings), len(scenario.variants), len(names)), np.nan)
    for o, offering in enumerate(scenario.offerings):
        for v, variant in enumerate(scenario.variants):
            merged = dict(offering.levels)
            if offering.owner == "us":
                merged |= variant.levels
            for a, name in enumerate(names):
                if name in merged:
                    levels[o, v, a] = merged[name]
    return levels


def differentiation_values(scenario: Scenario, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """Differentiation value (currency) of each offering to each segment: (draw, segment, offering, variant),
    from the per-draw parameters of `segment_parameters` (values per unit; expectations if they carry them,
    see `simulate`)."""
    expectations = parameters.get("expectations")
    if expectations is None:
        expectations = segment_expectations(scenario)[None, :, None]  # draw, segment, variant, attribute
    return value.differentiation_value(
        offering_levels(scenario)[None, None],
        expectations[:, :, None],
        parameters["value_per_unit"][:, :, None, None],
        [a.kano for a in scenario.attributes],
    )


def simulate(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
    prices: list[float] | np.ndarray | None = None,
) -> xr.Dataset:
    """Simulate the market for every draw, segment, offering, price of ours and variant.

    Parameters
    ----------
    scenario : the validated scenario.
    draws, seed : override the scenario's `market.draws` and `seed`.
    parameters : per-draw segment parameters as returned by `segment_parameters` (e.g. from a fitted
        posterior); drawn from the scenario when omitted. An optional ``expectations`` entry (draw, segment,
        variant, attribute) replaces the segments' expectations (`pricing.dynamics` lets them drift).
    prices : our prices to simulate (currency); default the scenario's `price_grid`.
    """
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    _check_size(scenario, draws if parameters is None else len(parameters["wtp_log_median"]))
    if parameters is None:
        parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    mu, sigma = parameters["wtp_log_median"], parameters["wtp_log_sd"]
    unit_value, scale = parameters["value_per_unit"], parameters["logit_scale"]
    n_draws, n_seg = mu.shape

    ours = next(i for i, o in enumerate(scenario.offerings) if o.owner == "us")
    prices = np.array(scenario.price_grid() if prices is None else prices, dtype=float)
    offering_price = np.array([o.price for o in scenario.offerings])
    differentiation = differentiation_values(scenario, parameters)
    reference_wtp = np.exp(mu)[:, :, None, None]
    rule = scenario.market
    share = np.empty((n_draws, n_seg, len(scenario.offerings), len(prices), len(scenario.variants)))
    surplus = np.empty((n_draws, n_seg, len(prices), len(scenario.variants)))
    block = max(1, BLOCK_CELLS // share[0, :, 0].size)  # blocks of draws small enough to stay in cache

    segment_size = np.array([s.size for s in scenario.segments])
    size = segment_size[None, :, None, None]
    unit_cost = scenario.our_offering.median_unit_cost + np.array(
        [v.extra_unit_cost for v in scenario.variants]
    )
    fixed_cost = np.array([v.fixed_cost for v in scenario.variants])
    margin = prices[:, None] - unit_cost[None, :]  # price, variant
    volume, revenue, contribution = (np.empty_like(surplus) for _ in range(3))

    def fill(start: int) -> None:
        b = slice(start, start + block)
        _choices(
            differentiation[b],
            mu[b],
            sigma[b],
            scale[b],
            prices,
            offering_price,
            ours,
            rule,
            share[b],
            surplus[b],
        )
        # money while the block's shares are still in cache
        np.multiply(share[b, :, ours], size, out=volume[b])
        np.multiply(volume[b], prices[:, None], out=revenue[b])
        np.multiply(volume[b], margin, out=contribution[b])
        surplus[b] *= size

    # Blocks write disjoint slices and numpy releases the GIL in its loops, so threads use every core;
    # each block's numbers do not depend on which thread computes it.
    starts = range(0, n_draws, block)
    threads = min(len(starts), os.cpu_count() or 1, MAX_THREADS)
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, starts))
    else:
        for start in starts:
            fill(start)

    dims4 = (DRAW, SEGMENT, PRICE, VARIANT)
    by_offering = (DRAW, SEGMENT, OFFERING, VARIANT)
    return xr.Dataset(
        {
            "share": ((DRAW, SEGMENT, OFFERING, PRICE, VARIANT), share),
            "volume": (dims4, volume),
            "revenue": (dims4, revenue),
            "contribution": (dims4, contribution),
            "profit": ((DRAW, PRICE, VARIANT), contribution.sum(axis=1) - fixed_cost),
            "surplus": (dims4, surplus),
            "satisfaction": (by_offering, value.satisfaction_index(differentiation, reference_wtp)),
            "perceived_value": (by_offering, reference_wtp + differentiation),
            "value_per_unit": ((DRAW, SEGMENT, ATTRIBUTE), unit_value),
            "segment_size": (SEGMENT, segment_size),
            "offering_price": (OFFERING, offering_price),
            "unit_cost": (VARIANT, unit_cost),
            "fixed_cost": (VARIANT, fixed_cost),
        },
        coords={
            DRAW: np.arange(n_draws),
            SEGMENT: [s.name for s in scenario.segments],
            OFFERING: [o.name for o in scenario.offerings],
            PRICE: prices,
            VARIANT: [v.name for v in scenario.variants],
            ATTRIBUTE: scenario.attribute_names,
            "owner": (OFFERING, [o.owner for o in scenario.offerings]),
        },
        attrs={
            "scenario": scenario.name,
            "scenario_hash": scenario_hash(scenario),
            "currency": scenario.currency,
            "our_offering": scenario.our_offering.name,
            "current_price": scenario.our_offering.price,
            "seed": seed,
            "choice_rule": rule.choice_rule,
            "none_option": int(rule.none_option),
            "pricing_version": __version__,
        },
    )


def _check_size(scenario: Scenario, draws: int) -> None:
    """Refuse a simulation without draws, or whose arrays would not fit in memory (naming the sizes)."""
    if draws < 1:
        raise ScenarioError(f"market.draws: need at least 1 draw (got {draws})")
    sizes = {
        "draws": draws,
        "segments": len(scenario.segments),
        "offerings": len(scenario.offerings),
        "prices": len(scenario.price_grid()),
        "variants": len(scenario.variants),
    }
    cells = math.prod(sizes.values())
    # (draw, segment, offering, variant, attribute) is the largest array besides the shares
    cells = max(cells, cells // sizes["prices"] * len(scenario.attributes))
    if cells > MAX_CELLS:
        shown = " x ".join(f"{n:,} {name}" for name, n in sizes.items())
        raise ScenarioError(
            f"market.draws: {shown} (and {len(scenario.attributes)} attributes) need {cells:,} values per "
            f"array, more than the {MAX_CELLS:,} that fit in memory; use fewer draws, prices or variants"
        )


def _choices(
    differentiation: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    prices: np.ndarray,
    offering_price: np.ndarray,
    ours: int,
    rule: Market,
    share: np.ndarray,
    surplus_out: np.ndarray,
) -> None:
    """Fill `share` (draw, segment, offering, price, variant) and `surplus_out`, the surplus per customer
    (draw, segment, price, variant), for a block of draws; `differentiation` is (draw, segment, offering,
    variant)."""
    # Net value (differentiation - price): competitors' do not depend on our price; ours has a price axis.
    their_net = (differentiation - offering_price[None, None, :, None])[:, :, :, None, :]  # d,s,o,1,v
    our_net = differentiation[:, :, ours, None, :] - prices[None, None, :, None]  # d,s,p,v
    n_draws, n_seg, n_offerings, n_variants = differentiation.shape
    shape = (n_draws, n_seg, len(prices), n_variants)

    if rule.choice_rule == "first_choice":
        net = np.broadcast_to(their_net, (n_draws, n_seg, n_offerings, *shape[2:])).copy()
        net[:, :, ours] = our_net
        best = net.max(axis=2)
        is_best = net == best[:, :, None]
        if rule.none_option:
            buy, surplus = market.first_choice_purchase(best, mu[:, :, None, None], sigma[:, :, None, None])
        else:
            buy = np.ones(shape)
            surplus = np.exp(mu + sigma**2 / 2)[:, :, None, None] + best
        np.multiply(is_best, (buy / is_best.sum(axis=2))[:, :, None], out=share)  # ties split evenly
    else:
        lam = scale[:, :, None, None]
        # The rivals' logsum does not depend on our price; shares are then logistic in our advantage over
        # it, which stays finite however far our price moves (one shared maximum would underflow to 0/0).
        if n_offerings > 1:
            rival_net = their_net.copy()
            rival_net[:, :, ours] = -np.inf  # weight 0 (and no overflow when ours is far ahead)
            rival_top = rival_net.max(axis=2)  # d,s,1,v
            rival_weight = np.exp((rival_net - rival_top[:, :, None]) / lam[:, :, None])  # d,s,o,1,v
            rival_total = rival_weight.sum(axis=2)  # >= 1
            rival_inclusive = rival_top + lam * np.log(rival_total)
            advantage = (our_net - rival_inclusive) / lam  # d,s,p,v
            our_given_buy = expit(advantage)
            rivals_given_buy = 1.0 - our_given_buy  # absolute error < 1e-16, one expit less
            # softplus(a) = max(a, 0) - log(max(expit(a), expit(-a))): the log's argument stays in [0.5, 1],
            # so this is as exact as np.logaddexp(0, a) and several times cheaper.
            softplus = np.log(np.maximum(our_given_buy, rivals_given_buy))
            np.subtract(np.maximum(advantage, 0.0), softplus, out=softplus)
            inclusive = rival_inclusive + lam * softplus
            rival_weight /= rival_total[:, :, None]
        else:
            our_given_buy, rivals_given_buy = np.ones(shape), np.zeros(shape)
            inclusive, rival_weight = our_net, np.zeros_like(their_net)
        if rule.none_option:
            flat = inclusive.reshape(n_draws * n_seg, -1)
            buy, surplus = market.logit_purchase(
                flat, mu.ravel(), sigma.ravel(), scale.ravel(), rule.integration_nodes
            )
            buy, surplus = buy.reshape(shape), surplus.reshape(shape)
        else:
            buy = np.ones(shape)
            surplus = np.exp(mu + sigma**2 / 2)[:, :, None, None] + inclusive
        np.multiply((buy * rivals_given_buy)[:, :, None], rival_weight, out=share)
        share[:, :, ours] = buy * our_given_buy

    surplus_out[...] = surplus
