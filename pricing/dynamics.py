"""Value over time: retention, referral, market entry and expectation drift over a horizon of periods.

Every posterior draw runs its own trajectory, vectorised over (draw, segment, offering, price, variant): the
periods of a block of draws run in compiled kernels (`pricing.trajectory`, numba). Each period's choices are
the one-period simulator's (`pricing.simulate.simulate`, the scenario's choice rule with its none option)
with that period's expectations; our price and every offering's price stay fixed over the horizon.

State of a segment in period t (per draw, price of ours and variant):

- ``N_t(o, k)`` customers of offering o, ``U_t(k)`` customers buying nothing, ``M_t = sum N + sum U`` the
  segment's market. ``k`` are loyalty classes: with elicited churn there is one class; with a fitted
  shifted-beta-geometric posterior, customers' churn probabilities ``theta ~ Beta(alpha, beta)`` are
  represented by `LOYALTY_CLASSES` quantiles of the Beta (Gauss-Legendre nodes on the probability scale,
  weights ``w_k``), and a customer keeps their class whichever offering they buy.
- ``q_t(o)`` the simulator's share of a chooser buying o in period t, ``q_t(none) = 1 - sum_o q_t(o)``;
  ``S_t(o)`` the segment's satisfaction with o (-100..100, `pricing.value.satisfaction_index`).

Period 0 is today's market: ``N_0(o, k) = w_k q_0(o) M_0``, ``U_0(k) = w_k q_0(none) M_0`` with ``M_0`` the
segment's size. From period t to t + 1::

    churn_t(o, k)  = c / (1 + c),  c = theta_k / (1 - theta_k) * exp(-k_ret * S_t(o) / 100)
    churned(o, k)  = N_t(o, k) churn_t(o, k)
    referred(o, k) = min(1, rho * exp(k_ref * S_t(o) / 100)) * N_t(o, k) * U_t(k) / M_t
    U'(k)          = U_t(k) - sum_o referred(o, k)
    pool(k)        = sum_o churned(o, k) + theta_k U'(k) + w_k * entry * M_0
    N_t+1(o, k)    = N_t(o, k) - churned(o, k) + referred(o, k) + q_t+1(o) pool(k)
    U_t+1(k)       = U'(k) (1 - theta_k) + q_t+1(none) pool(k)

so customers who leave an offering choose again among all offerings (and none) with next period's shares,
non-buyers reconsider at the baseline churn rate, referrals come from non-buyers (the Bass model's imitation
term), and entrants (``entry`` times the segment's size per period) choose like everyone else. With no
satisfaction effect, no referral, no entry and no drift, ``N_t(o) = q_0(o) M_0`` in every period: the
one-period simulator. Expectations drift toward the best level offered so far::

    best_t(a)      = max(best_t-1(a), max_o level_o(a))   (an unlisted level meets the expectation)
    E_t+1(a)       = E_t(a) + rate_a (best_t(a) - E_t(a))

so an excess everyone gets stops delighting and a shortfall against a now-expected level hurts.

Money, per draw, price ``p`` of ours and variant v (margin ``m = p - unit cost``, fixed cost F per period,
discount rate d per period, cash at the start of each period, so period t is discounted by (1 + d)^t)::

    profit_t = sum_s N_t(ours) m - F             NPV = sum_{t < H} profit_t / (1 + d)^t
    CLV_s    = sum_{t < H} m sum_k w_k prod_{u < t} (1 - churn_u(ours, k)) / (1 + d)^t

CLV is the value of one customer of ours in period 0 over the horizon H while they stay (a customer who
leaves and comes back is counted again only in NPV). With constant retention r = 1 - churn and H -> infinity
it is ``m (1 + d) / (1 + d - r)``. Flows of period t are those arriving in it: ``active_t = active_t-1 -
churned_t + referred_t + acquired_t``; in period 0 every customer is acquired.

Random inputs: the WTP draws are those of `pricing.simulate.segment_parameters` with the scenario's seed (so
period 0 is exactly the one-period simulation); the dynamics' own ranges are drawn uniformly, one value per
draw (and segment), from a second generator seeded with ``[seed, 11]``.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import betaincinv

from pricing import value
from pricing.dims import ATTRIBUTE, DRAW, OFFERING, PERIOD, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError, ScenarioError
from pricing.market import purchase_table
from pricing.scenario import Dynamics, Scenario, scenario_file_fields, scenario_hash
from pricing.simulate import (
    MAX_CELLS,
    MAX_THREADS,
    NOT_PER_DRAW,
    check_finite,
    check_parameters,
    differentiation_over_time,
    offering_levels,
    one_period_shares,
    segment_expectations,
    segment_parameters,
    shares_alone,
    simulate,
    tabulated_logit,
)

#: State cells (draw x segment x class x offering x variant x price) per block of draws run at once.
DYNAMICS_BLOCK_CELLS = 1 << 16  # 512 KiB per state array: best of 2^14..2^18 measured
#: Points (draw x segment x period x variant x price) of drifting choices computed at once: a few draws, so
#: their arrays stay in cache until the state update reads them.
CHOICE_POINTS = 1 << 16
#: Quantile classes representing a shifted-beta-geometric segment's spread of churn probabilities.
LOYALTY_CLASSES = 12
#: Stream of the dynamics' own random draws (the WTP draws use the scenario's seed alone).
RNG_STREAM = 11
#: Per-period variables kept by `simulate_dynamics` (the rest are totals over the horizon).
PER_PERIOD = (
    "active",
    "acquired",
    "referred",
    "churned",
    "revenue",
    "profit",
    "satisfaction",
    "expectations",
)


def draw_uncertain(value: float | tuple[float, float], shape: tuple[int, ...], rng: np.random.Generator):
    """Draws of a scenario number (constant) or range ``[low, high]`` (uniform), shaped `shape`."""
    if isinstance(value, tuple):
        return rng.uniform(value[0], value[1], size=shape)
    return np.full(shape, float(value))


def loyalty_classes(alpha: np.ndarray, beta: np.ndarray, classes: int = LOYALTY_CLASSES):
    """Churn probabilities ``theta`` (..., class) at Gauss-Legendre quantiles of Beta(alpha, beta), and the
    classes' weights (class,), summing to 1: E[f(theta)] ~ sum_k w_k f(theta_k)."""
    x, weight = np.polynomial.legendre.leggauss(classes)
    u = (x + 1) / 2
    theta = betaincinv(np.asarray(alpha)[..., None], np.asarray(beta)[..., None], u)
    return np.clip(theta, 0.0, 1.0 - 1e-12), weight / 2


def churn_probability(theta: np.ndarray, effect: np.ndarray, satisfaction: np.ndarray) -> np.ndarray:
    """Churn per period of a customer with baseline churn `theta` and satisfaction (-100..100) with their
    offering: the churn odds times ``exp(-effect * satisfaction / 100)`` (arrays broadcast together)."""
    odds = theta / (1.0 - theta) * np.exp(-effect * satisfaction / 100.0)
    return odds / (1.0 + odds)


def dynamics_parameters(scenario: Scenario, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-draw parameters of the dynamics.

    Returns ``churn`` (draw, segment, class): each loyalty class's baseline churn probability per period;
    ``class_weight`` (class,); ``retention_effect``, ``referral_rate``, ``referral_effect`` and ``entry_rate``
    (draw, segment); ``adaptation`` (draw, attribute). Ranges are drawn per draw; a retention posterior and
    numbers pointing to a satisfaction fit take the files' draws through `pricing.wtp.posterior_parameters`
    (one set of draw indices per file, so a fit's segments and its churn and effects stay joint).
    """
    from pricing.scenario import PosteriorRef

    dynamics = scenario.dynamics or Dynamics()
    n_seg = len(scenario.segments)
    specs = [dynamics.for_segment(s.name) for s in scenario.segments]
    fitted = [retention.posterior is not None for retention, _, _ in specs]
    classes = LOYALTY_CLASSES if any(fitted) else 1

    def drawn(value, shape):  # a number from a fit: filled in by `posterior_parameters`
        return draw_uncertain(0.0 if isinstance(value, PosteriorRef) else value, shape, rng)

    names = ("baseline_churn", "retention_alpha", "retention_beta", "retention_effect")
    columns = {k: np.ones((draws, n_seg)) for k in (*names, "referral_rate", "referral_effect", "entry_rate")}
    for i, (retention, referral, entry) in enumerate(specs):
        if retention.posterior is None:
            columns["baseline_churn"][:, i] = drawn(retention.churn, (draws, 1))[:, 0]
        columns["retention_effect"][:, i] = drawn(retention.satisfaction_effect, (draws,))
        columns["referral_rate"][:, i] = drawn(referral.rate, (draws,))
        columns["referral_effect"][:, i] = drawn(referral.satisfaction_effect, (draws,))
        columns["entry_rate"][:, i] = drawn(entry, (draws,))
    if any(field.startswith("dynamics.") for field, _ in scenario_file_fields(scenario)):
        from pricing.wtp.parameters import posterior_parameters, posterior_requests  # ArviZ only if needed

        columns = posterior_parameters(scenario, columns, rng, posterior_requests(scenario, "dynamics"))
    churn = np.repeat(columns.pop("baseline_churn")[:, :, None], classes, axis=2)
    alpha, beta = columns.pop("retention_alpha"), columns.pop("retention_beta")
    weight = np.full(classes, 1 / classes)
    for i in np.flatnonzero(fitted):
        churn[:, i], weight = loyalty_classes(alpha[:, i], beta[:, i], classes)
    adaptation = np.zeros((draws, len(scenario.attributes)))
    for a, name in enumerate(scenario.attribute_names):
        if name in dynamics.adaptation:
            adaptation[:, a] = draw_uncertain(dynamics.adaptation[name], (draws,), rng)
    return {"churn": churn, "class_weight": weight, "adaptation": adaptation, **columns}


#: `dynamics_parameters`' arrays: their dims after the draw, and the range each number must lie in
DYNAMICS_PARAMETERS = {
    "churn": (("segment", "class"), 0.0, 1.0),
    "class_weight": (None, 0.0, 1.0),
    "adaptation": (("attribute",), 0.0, 1.0),
    "retention_effect": (("segment",), -math.inf, math.inf),
    "referral_rate": (("segment",), 0.0, math.inf),
    "referral_effect": (("segment",), -math.inf, math.inf),
    "entry_rate": (("segment",), 0.0, math.inf),
}


def check_dynamics_parameters(scenario: Scenario, dynamics: dict[str, np.ndarray], draws: int) -> None:
    """`PricingError` naming the parameter when caller-supplied `dynamics` (`dynamics_parameters`' shape)
    miss one, are shaped for other draws or another scenario, or hold a number that is not finite or out of
    its range (a probability outside 0..1, a negative rate): they would run to NaN customers silently."""
    sizes = {"segment": len(scenario.segments), "attribute": len(scenario.attributes)}
    missing = [name for name in DYNAMICS_PARAMETERS if name not in dynamics]
    if missing:
        raise PricingError(f"dynamics: missing {', '.join(missing)} (see dynamics_parameters)")
    classes = np.shape(dynamics["class_weight"])
    for name, (dims, low, high) in DYNAMICS_PARAMETERS.items():
        values = np.asarray(dynamics[name])
        if not np.issubdtype(values.dtype, np.number):
            raise PricingError(f"dynamics[{name!r}]: not numbers (dtype {values.dtype})")
        if dims is not None:
            shape = (draws, *(sizes.get(d, classes[0] if classes else 0) for d in dims))
            if values.shape != shape:
                expected = f"{shape} (draw, {', '.join(dims)})"
                raise PricingError(f"dynamics[{name!r}]: shape {values.shape}, expected {expected}")
        elif values.ndim != 1 or not values.size:
            raise PricingError(f"dynamics[{name!r}]: shape {values.shape}, expected (class,)")
        if not np.isfinite(values).all():
            raise PricingError(f"dynamics[{name!r}]: holds NaN or infinite values")
        if not ((values >= low) & (values <= high)).all():
            raise PricingError(f"dynamics[{name!r}]: every value must lie in [{low:g}, {high:g}]")
    if not math.isclose(float(np.sum(dynamics["class_weight"])), 1.0, rel_tol=1e-9):
        raise PricingError("dynamics['class_weight']: the loyalty classes' weights must sum to 1")


def _draws(arrays: tuple[np.ndarray, ...], rows: slice) -> tuple[np.ndarray, ...]:
    return tuple(x[rows] for x in arrays)


def _check_size(draws: int, scenario: Scenario, prices: int, horizon: int, per_period: bool) -> None:
    sizes = {
        "draws": draws,
        "segments": len(scenario.segments),
        "offerings": len(scenario.offerings),
        "prices": prices,
        "variants": len(scenario.variants),
    }
    if per_period:
        sizes["periods"] = horizon
    cells = math.prod(sizes.values())
    if cells > MAX_CELLS:
        shown = " x ".join(f"{n:,} {name}" for name, n in sizes.items())
        raise ScenarioError(
            f"dynamics: {shown} need {cells:,} values per array, more than the {MAX_CELLS:,} that fit in "
            "memory; use fewer draws, prices or periods"
        )


def simulate_dynamics(
    scenario: Scenario,
    horizon: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
    prices: list[float] | np.ndarray | None = None,
    parameters: dict[str, np.ndarray] | None = None,
    dynamics: dict[str, np.ndarray] | None = None,
    per_period: bool = True,
) -> xr.Dataset:
    """Simulate the market over `horizon` periods (see the module docstring for the state equations).

    Parameters
    ----------
    scenario : the validated scenario; its `dynamics` section (or none: no churn, referral, entry or drift).
    horizon : periods (default the section's `horizon`).
    draws, seed : override the scenario's `market.draws` and `seed`.
    prices : our prices (currency); default the scenario's price grid.
    parameters, dynamics : per-draw WTP parameters (`segment_parameters`) and dynamics parameters
        (`dynamics_parameters`); drawn from the scenario when omitted.
    per_period : keep the per-period variables (`PER_PERIOD`), not only the totals over the horizon.

    Returns
    -------
    xarray.Dataset with ``npv`` (draw, price, variant), ``one_period_profit`` (draw, price, variant: period 0,
    the one-period simulator's profit), ``clv``, ``customers_start`` and ``customers_end`` (draw, segment,
    price, variant: ours in periods 0 and H - 1)
    and, with `per_period`, ``active``, ``acquired``, ``referred``, ``churned`` (draw, segment, offering,
    price, variant, period), ``revenue`` (draw, segment, price, variant, period: ours), ``profit`` (draw,
    price, variant, period: ours after fixed cost), ``satisfaction`` (draw, segment, offering, variant,
    period) and ``expectations`` (draw, segment, variant, attribute, period). Money in the scenario's
    currency per `scenario.period`.
    """
    section = scenario.dynamics or Dynamics()
    horizon = section.horizon if horizon is None else horizon
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    if horizon < 1:
        raise ScenarioError(f"dynamics.horizon: need at least 1 period (got {horizon})")
    if parameters is None:
        parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    else:
        check_parameters(scenario, parameters)
    draws = len(parameters["wtp_log_median"])
    if dynamics is None:
        dynamics = dynamics_parameters(scenario, draws, np.random.default_rng([seed, RNG_STREAM]))
    else:
        check_dynamics_parameters(scenario, dynamics, draws)
    prices = np.array(scenario.price_grid() if prices is None else prices, dtype=float)
    _check_size(draws, scenario, len(prices), horizon, per_period)

    ours = next(i for i, o in enumerate(scenario.offerings) if o.owner == "us")
    n_seg, n_off, n_var = len(scenario.segments), len(scenario.offerings), len(scenario.variants)
    size = np.array([s.size for s in scenario.segments])
    unit_cost = scenario.our_offering.median_unit_cost + np.array(
        [v.extra_unit_cost for v in scenario.variants]
    )
    fixed_cost = np.array([v.fixed_cost for v in scenario.variants])
    margin = (prices[:, None] - unit_cost[None, :]).T  # variant, price
    discount = (1.0 + section.discount_rate) ** -np.arange(horizon)

    # The state is laid out (draw, segment, class, offering, variant, price); `pricing.trajectory.advance`
    # runs the periods of a block of draws in one compiled pass.
    def per_draw(values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values, dtype=float)

    weight = per_draw(dynamics["class_weight"])  # k
    theta = per_draw(dynamics["churn"])  # d, s, k
    k_ret, rho, k_ref = (
        per_draw(dynamics[n]) for n in ("retention_effect", "referral_rate", "referral_effect")
    )
    entering = per_draw(dynamics["entry_rate"] * size)  # d, s: customers entering the market per period
    entrants = entering[:, :, None] * weight  # d, s, k
    segment_size = size[:, None, None, None] * weight[:, None, None]  # s, k, 1, 1

    levels = offering_levels(scenario)  # o, v, a (NaN: meets the expectation)
    # The best level offered of each attribute: the offerings' highest, or the expectation itself where an
    # offering leaves the attribute unlisted (it meets the expectation).
    unlisted = np.isnan(levels).any(axis=0)  # v, a
    top_level = per_draw(np.where(np.isnan(levels), -np.inf, levels).max(axis=0))  # v, a
    expectations = per_draw(segment_expectations(scenario))  # s, a
    adaptation = per_draw(dynamics["adaptation"])  # d, a

    # Period 0 is the one-period simulator itself. A draw's later periods, once its expectations drift, get
    # their shares from the compiled kernel reading one purchase table per (draw, segment) over every
    # inclusive value (only perceived values change), or from the simulator rerun where that does not apply.
    if shares_alone(scenario, parameters):  # the simulator's shares without its surplus and money
        share_0, differentiation_0 = one_period_shares(scenario, parameters, prices)
        reference_wtp = np.exp(parameters["wtp_log_median"])[:, :, None, None]
        satisfaction_0 = value.satisfaction_index(differentiation_0, reference_wtp)  # d, s, o, v
        del differentiation_0
        segments = [segment.name for segment in scenario.segments]
        check_finite("share", share_0, segments)
        check_finite("satisfaction", satisfaction_0, segments)
    else:
        today = simulate(scenario, seed=seed, parameters=parameters, prices=prices)
        share_0, satisfaction_0 = today["share"].values, today["satisfaction"].values
        del today
    tabulated = tabulated_logit(scenario, parameters)
    differentiate = differentiation_over_time(scenario)
    offering_price = np.array([o.price for o in scenario.offerings], dtype=float)
    money = (np.ascontiguousarray(margin), fixed_cost.astype(float), discount, prices, ours)
    nothing_5 = np.zeros((1,) * 5)

    customers_start = np.empty((draws, n_seg, n_var, len(prices)))
    customers_end = np.empty_like(customers_start)
    record = {}
    if per_period:
        flows = ("active", "acquired", "referred", "churned")
        record = {name: np.zeros((draws, n_seg, n_off, n_var, len(prices), horizon)) for name in flows}
        record["revenue"] = np.zeros((draws, n_seg, n_var, len(prices), horizon))
        record["satisfaction"] = np.zeros((draws, n_seg, n_off, n_var, horizon))
        record["expectations"] = np.zeros((draws, n_seg, n_var, len(scenario.attributes), horizon))
    # Per period, every period's profit; otherwise each block's, summed into NPV by the block: no array over
    # every draw and period (fresh memory costs more here than the arithmetic on it).
    profit = np.zeros((draws, n_var, len(prices), horizon)) if per_period else None
    npv = np.empty((draws, n_var, len(prices)))
    profit_0 = np.empty_like(npv)
    clv = np.zeros((draws, n_seg, n_var, len(prices)))

    threads = threading.local()  # each thread's reused arrays

    def run(b: slice) -> None:
        """Every period of draws `b` (their numbers do not depend on the other draws run with them)."""
        from pricing.trajectory import Scratch, advance, drifting_choices, expectation_path  # numba: cached

        own = {n: v if n in NOT_PER_DRAW else v[b] for n, v in parameters.items()}
        n_b = len(own["wtp_log_median"])
        # expectations follow the levels offered, not the customers: every period's up front
        path = np.empty((n_b, horizon, n_seg, n_var, expectations.shape[-1]))
        changed = np.empty((n_b, horizon), dtype=bool)
        expectation_path(expectations, top_level, unlisted, adaptation[b], path, changed)
        share = np.ascontiguousarray(share_0[b].transpose(0, 1, 2, 4, 3))  # d, s, o, v, p
        none_share = np.clip(1.0 - share.sum(axis=2), 0.0, None)  # d, s, v, p
        # each period's satisfaction: the last period's unless the expectations changed
        satisfaction = np.empty((n_b, horizon, n_seg, n_off, n_var))
        drifts = bool(changed.any())
        if drifts:
            reference = np.exp(own["wtp_log_median"])[:, None, :, None, None]
            differentiation = differentiate(own, path)
            fresh = value.satisfaction_index(differentiation, reference)
            fresh[:, 0] = satisfaction_0[b]
            if changed[:, 1:].all():
                satisfaction = fresh
            else:
                latest = np.maximum.accumulate(np.where(changed, np.arange(horizon), 0), axis=1)
                satisfaction[...] = np.take_along_axis(fresh, latest[:, :, None, None, None], axis=1)
        else:
            satisfaction[...] = satisfaction_0[b][:, None]
        choices = (False, nothing_5, nothing_5, nothing_5)
        recompute = tabulated and drifts
        if recompute:  # one table per (draw, segment) for every period: mu, sigma and the logit scale stay
            wide = purchase_table(
                own["wtp_log_median"].ravel(),
                own["wtp_log_sd"].ravel(),
                own["logit_scale"].ravel(),
                scenario.market.integration_nodes,
                surplus=False,  # the dynamics read only the purchase probability
            )
            linear = wide.stretch is None
            edges = (wide.inverse if linear else wide.stretch, wide.inverse, wide.offset, wide.low, wide.high)
            edges = tuple(per_draw(x.ravel()) for x in edges)  # (draw x segment,) each
            scale = per_draw(own["logit_scale"])
        active = share[:, :, None] * segment_size[:, :, None]  # d, s, k, o, v, p
        idle = none_share[:, :, None] * segment_size  # d, s, k, v, p
        customers_start[b] = active[:, :, :, ours].sum(axis=2)
        empty = np.zeros((0,) * 6)
        records = (False, empty, empty, empty, empty, np.zeros((0,) * 5))
        if per_period:
            rec = {name: values[b] for name, values in record.items()}
            rec["acquired"][..., 0] = active.sum(axis=2)  # in period 0 every customer is acquired
            rec["satisfaction"][...] = satisfaction.transpose(0, 2, 3, 4, 1)
            rec["expectations"][...] = path.transpose(0, 2, 3, 4, 1)
            records = (True, *(rec[n] for n in ("active", "acquired", "referred", "churned", "revenue")))
        state = (
            active,
            idle,
            share,
            none_share,
            np.ones((n_b, n_seg, len(weight), n_var)),  # survival of our customers since period 0
            np.array(np.broadcast_to(size, (n_b, n_seg)), dtype=float),  # the markets' sizes M_t
        )
        inputs = (theta[b], entrants[b], entering[b], weight)
        felt = satisfaction[:, :, :, None]  # d, t, s, 1, o, v
        churn = churn_probability(
            theta[b][:, None, :, :, None, None], k_ret[b][:, None, :, None, None, None], felt
        )
        referral = np.minimum(
            1.0,
            rho[b][:, None, :, None, None] * np.exp(k_ref[b][:, None, :, None, None] * satisfaction / 100),
        )
        rates = (churn, referral)
        profits = profit[b] if per_period else np.zeros((n_b, n_var, len(prices), horizon))
        out = (profits, clv[b])
        if recompute:  # a few draws at a time, so the choices' arrays stay in cache for the state update
            scratch = threads.__dict__.setdefault("scratch", Scratch())
            step = max(1, CHOICE_POINTS // (n_seg * horizon * n_var * len(prices)))
            for start in range(0, n_b, step):
                c = slice(start, start + step)
                rows, nodes = (
                    slice(c.start * n_seg, c.stop * n_seg),
                    slice(c.start * n_seg * wide.size, c.stop * n_seg * wide.size),
                )
                table = (linear, *(x[rows] for x in edges), wide.size, *(x[nodes] for x in wide.prob))
                differences = differentiation[c]
                choices = (
                    True,
                    *drifting_choices(differences, scale[c], prices, offering_price, ours, table, scratch),
                )
                advance(
                    0,
                    horizon,
                    horizon,
                    _draws(state, c),
                    _draws(rates, c),
                    changed[c],
                    (*_draws(inputs[:3], c), weight),
                    money,
                    choices,
                    _draws(out, c),
                    (records[0], *_draws(records[1:], c)),
                )
        elif not drifts:
            advance(0, horizon, horizon, state, rates, changed, inputs, money, choices, out, records)
        else:  # another choice rule: the simulator rerun for each period whose expectations changed
            for t in range(horizon):
                if t + 1 < horizon and changed[:, t + 1].any():
                    own["expectations"] = path[:, t + 1]
                    market = simulate(scenario, seed=seed, parameters=own, prices=prices)
                    fresh = market["share"].values.transpose(0, 1, 2, 4, 3)
                    moved = changed[:, t + 1]  # draws whose expectations stay keep their shares
                    share[moved] = fresh[moved]
                    none_share[moved] = np.clip(1.0 - fresh[moved].sum(axis=2), 0.0, None)
                advance(t, t + 1, horizon, state, rates, changed, inputs, money, choices, out, records)
        customers_end[b] = active[:, :, :, ours].sum(axis=2)
        npv[b] = (profits * discount).sum(axis=-1)
        profit_0[b] = profits[..., 0]

    # Blocks of draws in threads (the kernel releases the GIL); the simulator's random first choice draws
    # its trips per block of rows, so it runs as one block.
    block = draws if not tabulated else max(1, DYNAMICS_BLOCK_CELLS // share_0[0].size)
    starts = range(0, draws, block)
    workers = min(len(starts), os.cpu_count() or 1, MAX_THREADS)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda start: run(slice(start, start + block)), starts))
    else:
        for start in starts:
            run(slice(start, start + block))

    npv, profit_0 = npv.transpose(0, 2, 1), profit_0.transpose(0, 2, 1)  # d, p, v
    to_price_variant = (0, 1, 3, 2)  # (d, s, v, p) -> (d, s, p, v)
    clv, customers_start, customers_end = (
        x.transpose(to_price_variant) for x in (clv, customers_start, customers_end)
    )
    for name in ("active", "acquired", "referred", "churned"):
        if name in record:
            record[name] = record[name].transpose(0, 1, 2, 4, 3, 5)
    if per_period:
        record["revenue"] = record["revenue"].transpose(0, 1, 3, 2, 4)
    coords = {
        DRAW: np.arange(draws),
        SEGMENT: [s.name for s in scenario.segments],
        OFFERING: [o.name for o in scenario.offerings],
        PRICE: prices,
        VARIANT: [v.name for v in scenario.variants],
        PERIOD: np.arange(horizon),
        ATTRIBUTE: scenario.attribute_names,
        "owner": (OFFERING, [o.owner for o in scenario.offerings]),
    }
    data = {
        "npv": ((DRAW, PRICE, VARIANT), npv),
        "one_period_profit": ((DRAW, PRICE, VARIANT), profit_0),
        "clv": ((DRAW, SEGMENT, PRICE, VARIANT), clv),
        "customers_start": ((DRAW, SEGMENT, PRICE, VARIANT), customers_start),
        "customers_end": ((DRAW, SEGMENT, PRICE, VARIANT), customers_end),
    }
    if per_period:
        for name in ("active", "acquired", "referred", "churned"):
            data[name] = ((DRAW, SEGMENT, OFFERING, PRICE, VARIANT, PERIOD), record[name])
        data["revenue"] = ((DRAW, SEGMENT, PRICE, VARIANT, PERIOD), record["revenue"])
        data["profit"] = ((DRAW, PRICE, VARIANT, PERIOD), profit.transpose(0, 2, 1, 3))
        data["satisfaction"] = ((DRAW, SEGMENT, OFFERING, VARIANT, PERIOD), record["satisfaction"])
        data["expectations"] = ((DRAW, SEGMENT, VARIANT, ATTRIBUTE, PERIOD), record["expectations"])
    else:
        for name in (PERIOD, ATTRIBUTE, OFFERING, "owner"):
            coords.pop(name)
    # one sum each: nothing non-finite reaches a user; variables by segment first, to name the segment
    for name, (dims, values) in sorted(data.items(), key=lambda item: SEGMENT not in item[1][0]):
        check_finite(name, values, coords[SEGMENT], dims.index(SEGMENT) if SEGMENT in dims else None)
    return xr.Dataset(
        data,
        coords=coords,
        attrs={
            "scenario": scenario.name,
            "scenario_hash": scenario_hash(scenario),
            "currency": scenario.currency,
            "period": scenario.period,
            "horizon": horizon,
            "discount_rate": section.discount_rate,
            "our_offering": scenario.our_offering.name,
            "current_price": scenario.our_offering.price,
            "seed": seed,
        },
    )


# ---- decisions over the horizon: NPV against one period's profit ----------------------------------------


def value_over_time(
    scenario: Scenario, horizon: int | None = None, draws: int | None = None, seed: int | None = None
) -> tuple[xr.Dataset, xr.Dataset]:
    """Totals over our whole price grid, then every period at the prices that matter.

    Returns ``(totals, periods)``: `simulate_dynamics` without per-period variables over the price grid,
    and with them at our current price and each variant's NPV-best and one-period-best prices
    (`decision_prices`), both from the same draws.
    """
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    dynamics = dynamics_parameters(scenario, draws, np.random.default_rng([seed, RNG_STREAM]))
    common = {"horizon": horizon, "seed": seed, "parameters": parameters, "dynamics": dynamics}
    totals = simulate_dynamics(scenario, per_period=False, **common)
    periods = simulate_dynamics(scenario, prices=decision_prices(totals), **common)
    return totals, periods


def decision_prices(totals: xr.Dataset) -> list[float]:
    """Our current price and every variant's expected-NPV-best and expected-one-period-best prices."""
    best = [totals[name].mean(DRAW).idxmax(PRICE).values for name in ("npv", "one_period_profit")]
    current = totals.attrs["current_price"]
    return sorted({float(p) for p in np.concatenate(best)} | {float(current)})


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    q05, q95 = np.quantile(values, (0.05, 0.95))
    return float(values.mean()), float(q05), float(q95)


def npv_summary(totals: xr.Dataset) -> pd.DataFrame:
    """One row per variant: the NPV-best price (expected NPV; 90% interval of the per-draw optimum), NPV,
    customer lifetime value (mean over our period-0 customers) and our customers at the end, each at that
    price with its 90% interval; the one-period-best price, its one-period profit and NPV; and the
    probabilities of the highest NPV and of the highest one-period profit (each variant at its best price
    in each draw). Columns ``<metric>_mean``, ``_q05``, ``_q95``."""
    rows = []
    npv = totals.npv.transpose(DRAW, PRICE, VARIANT).values
    one = totals.one_period_profit.transpose(DRAW, PRICE, VARIANT).values
    prices = totals[PRICE].values
    wins_npv = np.bincount(npv.max(axis=1).argmax(axis=1), minlength=npv.shape[2]) / npv.shape[0]
    wins_one = np.bincount(one.max(axis=1).argmax(axis=1), minlength=one.shape[2]) / one.shape[0]
    for v, variant in enumerate(totals[VARIANT].values):
        best = int(npv[:, :, v].mean(axis=0).argmax())
        best_one = int(one[:, :, v].mean(axis=0).argmax())
        at = totals.isel({PRICE: best, VARIANT: v})
        start = at.customers_start.values
        clv = (at.clv.values * start).sum(axis=1) / np.maximum(start.sum(axis=1), 1e-300)
        row = {
            VARIANT: str(variant),
            "npv_best_price": float(prices[best]),
            "npv_best_price_q05": float(np.quantile(prices[npv[:, :, v].argmax(axis=1)], 0.05)),
            "npv_best_price_q95": float(np.quantile(prices[npv[:, :, v].argmax(axis=1)], 0.95)),
            "one_period_best_price": float(prices[best_one]),
            "p_highest_npv": float(wins_npv[v]),
            "p_most_profitable_one_period": float(wins_one[v]),
        }
        figures = {
            "npv": npv[:, best, v],
            "clv": clv,
            "customers_end": at.customers_end.values.sum(axis=1),
            "one_period_profit": one[:, best_one, v],
            "npv_at_one_period_best": npv[:, best_one, v],
        }
        for name, values in figures.items():
            row |= dict(zip((f"{name}_mean", f"{name}_q05", f"{name}_q95"), _quantiles(values), strict=True))
        rows.append(row)
    return pd.DataFrame(rows)


def clv_table(totals: xr.Dataset, summary: pd.DataFrame) -> pd.DataFrame:
    """Customer lifetime value per variant and segment at the variant's NPV-best price, with 90% intervals."""
    rows = []
    for row in summary.itertuples():
        at = totals.clv.sel({VARIANT: row.variant, PRICE: row.npv_best_price})
        for segment in totals[SEGMENT].values:
            mean, q05, q95 = _quantiles(at.sel({SEGMENT: segment}).values)
            rows.append(
                {VARIANT: row.variant, SEGMENT: str(segment), PRICE: row.npv_best_price}
                | {"clv_mean": mean, "clv_q05": q05, "clv_q95": q95}
            )
    return pd.DataFrame(rows)


def decision_sentence(summary: pd.DataFrame, horizon: int, period: str) -> str:
    """One sentence: the best variant and price by NPV and by one period's profit, and why they differ."""
    by_npv = summary.loc[summary.npv_mean.idxmax()]
    by_one = summary.loc[summary.one_period_profit_mean.idxmax()]
    plural = f"{horizon} {period}{'s' if horizon != 1 else ''}"
    if by_npv.variant == by_one.variant and by_npv.npv_best_price == by_one.one_period_best_price:
        return (
            f"NPV over {plural} and one {period}'s profit agree: {by_npv.variant!r} at "
            f"{by_npv.npv_best_price:,.2f}."
        )
    if by_npv.variant == by_one.variant:
        return (
            f"NPV over {plural} and one {period}'s profit both pick {by_npv.variant!r}; NPV prices it at "
            f"{by_npv.npv_best_price:,.2f}, one {period}'s profit at {by_one.one_period_best_price:,.2f}."
        )
    clv_one = summary.loc[summary.variant == by_one.variant, "clv_mean"].iloc[0]
    why = (
        f"its customers are worth {by_npv.clv_mean:,.0f} each over the horizon, against {clv_one:,.0f}: they "
        "stay longer and bring others, which one period's profit does not count"
        if by_npv.clv_mean >= clv_one
        else "expectations drift and retention change what pays over time"
    )
    return (
        f"By NPV over {plural} the best is {by_npv.variant!r} at {by_npv.npv_best_price:,.2f} "
        f"(P(highest NPV) {by_npv.p_highest_npv:.0%}); by one {period}'s profit it is {by_one.variant!r} at "
        f"{by_one.one_period_best_price:,.2f}: {why}."
    )


def per_period_table(periods: xr.Dataset) -> pd.DataFrame:
    """Tidy per-period summary: variant, segment (and ``all``), offering, price, period, metric, mean, q05,
    q95 for active, acquired, referred and churned customers, our revenue, profit and cumulative discounted
    profit (``npv_to_date``), and satisfaction."""
    from pricing.analysis import ALL, interval

    ours = periods.attrs["our_offering"]
    discount = (1.0 + periods.attrs["discount_rate"]) ** -periods[PERIOD]
    frames = []

    def add(metric: str, values: xr.DataArray) -> None:
        for dim, fill in ((SEGMENT, ALL), (OFFERING, ours)):
            if dim not in values.dims:
                values = values.expand_dims({dim: [fill]})
        if PRICE not in values.dims:
            values = values.expand_dims({PRICE: periods[PRICE].values})
        stats = interval(values).to_dataframe().reset_index()
        stats["metric"] = metric
        frames.append(stats)

    for name in ("active", "acquired", "referred", "churned"):
        values = periods[name]
        add(name, xr.concat([values, values.sum(SEGMENT).expand_dims({SEGMENT: ["all"]})], dim=SEGMENT))
    revenue = periods.revenue
    add("revenue", xr.concat([revenue, revenue.sum(SEGMENT).expand_dims({SEGMENT: ["all"]})], dim=SEGMENT))
    add("profit", periods.profit)
    add("npv_to_date", (periods.profit * discount).cumsum(PERIOD))
    add("satisfaction", periods.satisfaction)
    table = pd.concat(frames, ignore_index=True)
    columns = [VARIANT, SEGMENT, OFFERING, PRICE, PERIOD, "metric", "mean", "q05", "q95"]
    return table[columns]


def write_over_time(totals: xr.Dataset, periods: xr.Dataset, path) -> None:
    """Write results over time atomically: ``.csv`` the tidy per-period table (`per_period_table`), ``.nc``
    every draw: the per-period variables, and the totals over the whole price grid (dim ``grid_price``)."""
    from pricing.analysis import check_output_path
    from pricing.errors import PricingError
    from pricing.io import atomic_write_bytes, atomic_write_text, csv_text, netcdf_bytes

    path = check_output_path(path)
    try:
        if path.suffix.lower() == ".csv":
            atomic_write_text(path, csv_text(per_period_table(periods)))
            return
        grid = totals.rename({PRICE: "grid_price"}).rename({n: f"{n}_by_price" for n in totals.data_vars})
        atomic_write_bytes(path, netcdf_bytes(xr.merge([periods, grid], combine_attrs="override")))
    except OSError as error:
        raise PricingError(f"output {path}: cannot write ({error.strerror or error})") from None


def trajectories(periods: xr.Dataset, summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per variant at its NPV-best price, over the periods: our customers (all segments) and cumulative
    discounted profit, each with mean, q05 and q95 (columns period, variant, mean, q05, q95)."""
    from pricing.analysis import interval

    ours = periods.attrs["our_offering"]
    discount = (1.0 + periods.attrs["discount_rate"]) ** -periods[PERIOD]
    frames: dict[str, list[pd.DataFrame]] = {"customers": [], "npv_to_date": []}
    for row in summary.itertuples():
        at = periods.sel({VARIANT: row.variant, PRICE: row.npv_best_price})
        values = {
            "customers": at.active.sel({OFFERING: ours}).sum(SEGMENT),
            "npv_to_date": (at.profit * discount).cumsum(PERIOD),
        }
        for name, data in values.items():
            frame = interval(data).to_dataframe().reset_index()[[PERIOD, "mean", "q05", "q95"]]
            frames[name].append(frame.assign(variant=row.variant))
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
