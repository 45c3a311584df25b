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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr
from scipy.special import expit

from pricing import __version__, market, value
from pricing.customers import customer_parameters
from pricing.dims import ATTRIBUTE, DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError, ScenarioError
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
    (draw, segment, value column: `Scenario.value_columns`; currency per unit, or per level of a categorical
    attribute) and `logit_scale` (draw, segment; currency). Elicited numbers are drawn around their stated
    values with the stated uncertainty; every parameter the scenario points to a posterior (a saved fit or
    survey data) takes that posterior's draws, through `pricing.wtp.posterior_parameters` (the one path from
    posteriors into the simulation). With `market.heterogeneity` also the simulated customers
    (`customer_parameters`).
    """
    from pricing.scenario import PosteriorRef

    names = scenario.value_columns()
    segments = scenario.segments
    n_seg, n_attr = len(segments), len(names)

    def number(value, default: float) -> float:
        return default if isinstance(value, PosteriorRef) else value

    elicited = [s.wtp.source == "elicited" for s in segments]
    median = np.array([s.wtp.log_median if e else 0.0 for s, e in zip(segments, elicited, strict=True)])
    spread = np.array([s.wtp.log_sd if e else 1.0 for s, e in zip(segments, elicited, strict=True)])
    median_sd = np.array([s.wtp.uncertainty if e else 0.0 for s, e in zip(segments, elicited, strict=True)])
    spread_sd = np.array(
        [s.wtp.spread_uncertainty if e else 0.0 for s, e in zip(segments, elicited, strict=True)]
    )
    unit_value = np.array([_segment_values(scenario, s) for s in segments]).reshape(n_seg, n_attr)
    value_sd = np.array([s.value_uncertainty for s in segments])
    parameters = {
        "wtp_log_median": median + median_sd * rng.standard_normal((draws, n_seg)),
        "wtp_log_sd": spread * np.exp(spread_sd * rng.standard_normal((draws, n_seg))),
        "value_per_unit": unit_value
        * np.exp(value_sd[:, None] * rng.standard_normal((draws, n_seg, n_attr))),
        "logit_scale": np.broadcast_to(
            np.array([number(s.logit_scale, 1.0) for s in segments]), (draws, n_seg)
        ).copy(),
    }
    if any(not isinstance(a.kano, str) for a in scenario.attributes):  # a Kano fit's weights per draw
        parameters["kano_weights"] = np.broadcast_to(
            kano_category_weights(scenario), (draws, n_seg, len(scenario.attributes), 2)
        ).copy()
    if any(s.posterior_files() for s in segments) or "kano_weights" in parameters:
        from pricing.wtp.parameters import posterior_parameters  # ArviZ (PyMC to fit on load) only if needed

        parameters = posterior_parameters(scenario, parameters, rng)
    if scenario.market.heterogeneity is not None:
        parameters |= customer_parameters(scenario, parameters, rng)
    parameters.pop("fitted_customers", None)  # now in the customers' arrays
    return parameters


#: Per-draw parameters of `segment_parameters` that are not indexed by draw first.
NOT_PER_DRAW = ("customer_weight",)
#: parameters every simulation needs, with the trailing dims after (draw, segment) and whether > 0
REQUIRED_PARAMETERS = {
    "wtp_log_median": (0, False),
    "wtp_log_sd": (0, True),
    "value_per_unit": (1, False),
    "logit_scale": (0, True),
}


def check_parameters(scenario: Scenario, parameters: dict[str, np.ndarray]) -> None:
    """`PricingError` naming the parameter when caller-supplied `parameters` (`segment_parameters`' shape) are
    missing, shaped for another scenario, not finite, or not positive where a spread or scale must be: a NaN
    would otherwise surface far away (as an index out of range in `pricing.market`)."""
    missing = [name for name in REQUIRED_PARAMETERS if name not in parameters]
    if missing:
        raise PricingError(f"parameters: missing {', '.join(missing)} (see segment_parameters)")
    draws = np.shape(parameters["wtp_log_median"])[0] if np.ndim(parameters["wtp_log_median"]) else 0
    expected = {
        "wtp_log_median": (draws, len(scenario.segments)),
        "value_per_unit": (draws, len(scenario.segments), len(scenario.value_columns())),
    }
    for name, array in parameters.items():
        if name == "fitted_customers":  # read into the customers' arrays by segment_parameters
            continue
        values = np.asarray(array)
        if not np.issubdtype(values.dtype, np.number):
            raise PricingError(f"parameters[{name!r}]: not numbers (dtype {values.dtype})")
        shape = expected.get(name, expected["wtp_log_median"] if name in REQUIRED_PARAMETERS else None)
        if shape is not None and values.shape != shape:
            raise PricingError(
                f"parameters[{name!r}]: shape {values.shape}, expected {shape} (draw, segment"
                f"{', value column' if len(shape) == 3 else ''}) for this scenario"
            )
        if name not in NOT_PER_DRAW and (values.ndim == 0 or values.shape[0] != draws):
            raise PricingError(f"parameters[{name!r}]: {values.shape[:1]} draws, expected {draws}")
        if not np.isfinite(values).all():
            raise PricingError(f"parameters[{name!r}]: holds NaN or infinite values")
        if REQUIRED_PARAMETERS.get(name, (0, False))[1] and not (values > 0).all():
            raise PricingError(f"parameters[{name!r}]: every value must be > 0 (a spread or scale)")


def _segment_values(scenario: Scenario, segment) -> list[float]:
    """A segment's money value of each value column (unlisted or from a posterior: 0)."""
    from pricing.scenario import PosteriorRef

    def number(value) -> float:  # a value taken from a posterior is filled in by `posterior_parameters`
        return 0.0 if isinstance(value, PosteriorRef) else float(value)

    values = []
    for attribute in scenario.attributes:
        given = segment.value_per_unit.get(attribute.name, {} if attribute.levels else 0.0)
        if attribute.levels is None:
            values.append(number(given))
        else:
            values += [number(given.get(level, 0.0)) for level in attribute.levels]
    return values


def kano_category_weights(scenario: Scenario) -> np.ndarray:
    """(segment, attribute, 2) shortfall and excess weights of each segment's Kano category of each attribute
    (its own, else the attribute's); an attribute taking a Kano fit's weights has (1, 1) here, and the fit's
    draws in ``parameters["kano_weights"]`` (`segment_parameters`)."""

    def weights(kano) -> tuple[float, float]:
        return value.KANO_WEIGHTS[kano] if isinstance(kano, str) else value.KANO_WEIGHTS["one_dimensional"]

    return np.array(
        [[weights(s.kano.get(a.name, a.kano)) for a in scenario.attributes] for s in scenario.segments]
    ).reshape(len(scenario.segments), len(scenario.attributes), 2)


class _LevelDesign:
    """How offerings' levels meet segments' expectations, per value column (built once per scenario)."""

    def __init__(self, scenario: Scenario):
        columns = scenario.value_columns()
        self.numeric = [columns.index(a.name) for a in scenario.attributes if a.levels is None]
        self.numeric_attributes = [i for i, a in enumerate(scenario.attributes) if a.levels is None]
        numeric = [a for a in scenario.attributes if a.levels is None]
        #: (segment, attribute, 2) shortfall and excess weights of each segment's Kano categories; a Kano
        #: fit's per-draw weights (parameters["kano_weights"]) replace them (`differentiation`)
        self.weights = kano_category_weights(scenario)
        all_levels = offering_levels(scenario)
        is_numeric = [a.levels is None for a in scenario.attributes]
        self.levels = all_levels[:, :, is_numeric]  # offering, variant, numeric attribute
        self.expectations = np.array(
            [[s.expectations.get(a.name, 0.0) for a in numeric] for s in scenario.segments]
        ).reshape(len(scenario.segments), len(numeric))
        # categorical attributes: (columns, offered one-hot (o, v, L) NaN when unlisted, expected one-hot
        # (s, L), kano); keys (s, o, v): the level each offering effectively has, for shared RFC errors
        self.categorical = []
        self.keys = []
        for a, attribute in enumerate(scenario.attributes):
            if attribute.levels is None:
                level = np.where(
                    np.isnan(all_levels[:, :, a])[None],
                    self.expectations_of(a, scenario),
                    all_levels[None, :, :, a],
                )
                _, key = np.unique(level, return_inverse=True)
                self.keys.append(key.reshape(level.shape))
                continue
            n = len(attribute.levels)
            first = columns.index(f"{attribute.name}={attribute.levels[0]}")
            index = all_levels[:, :, a]
            offered = np.full((*index.shape, n), np.nan)
            listed = ~np.isnan(index)
            offered[listed] = np.eye(n)[index[listed].astype(int)]
            expected_index = np.array(
                [
                    attribute.levels.index(s.expectations.get(attribute.name, attribute.levels[0]))
                    for s in scenario.segments
                ]
            )
            expected = np.eye(n)[expected_index]
            self.categorical.append((slice(first, first + n), offered, expected, a))
            key = np.where(listed[None], index[None], expected_index[:, None, None])
            self.keys.append(key.astype(np.intp))

    @staticmethod
    def expectations_of(a: int, scenario: Scenario) -> np.ndarray:
        name = scenario.attributes[a].name
        return np.array([s.expectations.get(name, 0.0) for s in scenario.segments])[:, None, None]

    def differentiation(
        self,
        unit_value: np.ndarray,
        expectations: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """(..., segment, offering, variant) money value of each offering's levels against each segment's
        expectations, from values (..., segment, value column); `expectations` of the numeric attributes
        broadcasting as (..., segment, 1, variant, attribute) replace the scenario's, and Kano `weights`
        broadcasting as (..., segment, attribute, 2) the segments' categories."""
        numeric = unit_value[..., self.numeric]
        if expectations is None:
            expectations = self.expectations[:, None, None, :]
        weights = self.weights if weights is None else weights
        total = value.differentiation_value(
            self.levels,
            expectations,
            numeric[..., :, None, None, :],
            weights=weights[..., self.numeric_attributes, :][..., :, None, None, :, :],
        )
        return self.with_categorical(total, unit_value, weights)

    def with_categorical(self, total: np.ndarray, unit_value: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """`total`, the numeric attributes' differentiation (..., segment, offering, variant), plus the
        categorical attributes' (values and weights as `differentiation` takes them)."""
        for columns, offered, expected, a in self.categorical:
            total = total + value.level_differentiation(
                offered,
                expected[:, None, None, :],
                unit_value[..., :, None, None, columns],
                weights=weights[..., a, :][..., :, None, None, :],
            )
        return total


def segment_expectations(scenario: Scenario) -> np.ndarray:
    """Each segment's expected level of each attribute (segment, attribute); unlisted ones are 0 (a
    categorical attribute's: the position of its expected level in `levels`, unlisted the first)."""
    rows = []
    for segment in scenario.segments:
        row = []
        for attribute in scenario.attributes:
            expected = segment.expectations.get(attribute.name)
            if attribute.levels is None:
                row.append(0.0 if expected is None else float(expected))
            else:
                row.append(float(attribute.levels.index(expected)) if expected is not None else 0.0)
        rows.append(row)
    return np.array(rows).reshape(len(scenario.segments), len(scenario.attributes))


def offering_levels(scenario: Scenario) -> np.ndarray:
    """Attribute levels (offering, variant, attribute); NaN where the level meets the expectation. A
    categorical attribute's level is given by its position in the attribute's `levels`."""
    names = scenario.attribute_names
    position = {a.name: {lv: i for i, lv in enumerate(a.levels or ())} for a in scenario.attributes}
    levels = np.full((len(scenario.offerings), len(scenario.variants), len(names)), np.nan)
    for o, offering in enumerate(scenario.offerings):
        for v, variant in enumerate(scenario.variants):
            merged = dict(offering.levels)
            if offering.owner == "us":
                merged |= variant.levels
            for a, name in enumerate(names):
                if name in merged:
                    level = merged[name]
                    levels[o, v, a] = position[name][level] if isinstance(level, str) else level
    return levels


def differentiation_values(scenario: Scenario, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """Differentiation value (currency) of each offering to each segment: (draw, segment, offering, variant),
    from the per-draw parameters of `segment_parameters` (values per unit; expectations if they carry them,
    see `simulate`)."""
    design = _LevelDesign(scenario)
    return design.differentiation(
        parameters["value_per_unit"],
        _numeric_expectations(design, parameters),
        parameters.get("kano_weights"),
    )


def _numeric_expectations(design: _LevelDesign, parameters: dict[str, np.ndarray]) -> np.ndarray | None:
    """Drifting expectations (`pricing.dynamics`) of the numeric attributes as (draw, segment, 1, variant,
    attribute), or None; categorical attributes keep the segments' expected levels."""
    expectations = parameters.get("expectations")  # draw, segment, variant, attribute
    return None if expectations is None else expectations[..., design.numeric_attributes][:, :, None]


def simulate(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
    prices: Sequence[float] | np.ndarray | None = None,
) -> xr.Dataset:
    """Simulate the market for every draw, segment, offering, price of ours and variant.

    Parameters
    ----------
    scenario : the validated scenario.
    draws, seed : override the scenario's `market.draws` and `seed`.
    parameters : per-draw segment parameters as returned by `segment_parameters` (e.g. from a fitted
        posterior); drawn from the scenario when omitted. An optional ``expectations`` entry (draw, segment,
        variant, attribute) replaces the segments' expectations (`pricing.dynamics` lets them drift).
    prices : our prices to simulate (currency) instead of the scenario's `price_grid` (e.g. one typed price).
        Each price's numbers do not depend on the others simulated with it: the same seed gives the same
        column (within the purchase table's accuracy, `pricing.market`: a few prices are integrated
        directly, more are read off a table over their range).
    """
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    if parameters is not None:
        check_parameters(scenario, parameters)
    _check_size(scenario, draws if parameters is None else len(parameters["wtp_log_median"]))
    if parameters is None:
        parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    mu, sigma = parameters["wtp_log_median"], parameters["wtp_log_sd"]
    unit_value, scale = parameters["value_per_unit"], parameters["logit_scale"]
    n_draws, n_seg = mu.shape

    ours = next(i for i, o in enumerate(scenario.offerings) if o.owner == "us")
    if prices is not None:
        prices = [float(p) for p in np.ravel(prices)]  # in the order given (pricing.dynamics relies on it)
        if not prices or not all(math.isfinite(p) and p > 0 for p in prices):
            raise ScenarioError("prices: give at least one price, each a positive number")
    prices = np.array(scenario.price_grid() if prices is None else prices, dtype=float)
    offering_price = np.array([o.price for o in scenario.offerings])
    design = _LevelDesign(scenario)
    numeric_expectations = _numeric_expectations(design, parameters)
    # (draw, segment, offering, variant): differentiation value of each offering to each segment.
    kano_weights = parameters.get("kano_weights")  # draw, segment, attribute, 2: from a Kano fit
    differentiation = design.differentiation(unit_value, numeric_expectations, kano_weights)
    reference_wtp = np.exp(mu)[:, :, None, None]
    rule = scenario.market
    share = np.empty((n_draws, n_seg, len(scenario.offerings), len(prices), len(scenario.variants)))
    surplus = np.empty((n_draws, n_seg, len(prices), len(scenario.variants)))
    customers = _customers(parameters)
    per_draw = share[0, :, 0].size * (1 if customers is None else customers["weight"].shape[0])
    if rule.choice_rule == "randomized_first_choice":
        per_draw *= rule.rfc.repetitions
    block = max(1, BLOCK_CELLS // per_draw)  # blocks of draws small enough to stay in cache

    segment_size = np.array([s.size for s in scenario.segments])
    size = segment_size[None, :, None, None]
    unit_cost = scenario.our_offering.median_unit_cost + np.array(
        [v.extra_unit_cost for v in scenario.variants]
    )
    fixed_cost = np.array([v.fixed_cost for v in scenario.variants])
    margin = prices[:, None] - unit_cost[None, :]  # price, variant
    volume, revenue, contribution = (np.empty_like(surplus) for _ in range(3))

    def choose(rows: slice | None, d, m, sd, lam, share_out, surplus_out) -> None:
        if rule.choice_rule == "randomized_first_choice":
            first = 0 if rows is None else rows.start
            _randomized_first_choice(
                d,
                m,
                sd,
                lam,
                prices,
                offering_price,
                ours,
                rule,
                design.keys,
                seed,
                first,
                share_out,
                surplus_out,
            )
        else:
            _choices(d, m, sd, lam, prices, offering_price, ours, rule, share_out, surplus_out)

    def fill(start: int) -> None:
        b = slice(start, start + block)
        if customers is None:
            choose(b, differentiation[b], mu[b], sigma[b], scale[b], share[b], surplus[b])
        else:
            drifted = None if numeric_expectations is None else numeric_expectations[b][:, None]
            weights = None if kano_weights is None else kano_weights[b][:, None]
            _choose_customers(b, customers, design, drifted, weights, choose, share[b], surplus[b])
        # money while the block's shares are still in cache
        np.multiply(share[b, :, ours], size, out=volume[b])
        np.multiply(volume[b], prices[:, None], out=revenue[b])
        np.multiply(volume[b], margin, out=contribution[b])
        surplus[b] *= size

    _in_threads(fill, range(0, n_draws, block))

    dims4 = (DRAW, SEGMENT, PRICE, VARIANT)
    by_offering = (DRAW, SEGMENT, OFFERING, VARIANT)
    results = xr.Dataset(
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
            ATTRIBUTE: scenario.value_columns(),
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
    _check_finite(results)
    return results


def one_period_shares(
    scenario: Scenario, parameters: dict[str, np.ndarray], prices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The shares `simulate` computes (draw, segment, offering, price, variant), bit for bit, and the
    differentiation values (draw, segment, offering, variant), without the surplus and money: the
    dynamics' first period (`pricing.dynamics`). For logit and first choice without simulated customers
    (`shares_alone`); the same blocks of draws as `simulate` (a block's purchase tables share their
    node placement, `pricing.market.purchase_table`)."""
    design = _LevelDesign(scenario)
    differentiation = design.differentiation(
        parameters["value_per_unit"],
        _numeric_expectations(design, parameters),
        parameters.get("kano_weights"),
    )
    mu, sigma, scale = parameters["wtp_log_median"], parameters["wtp_log_sd"], parameters["logit_scale"]
    offering_price = np.array([o.price for o in scenario.offerings])
    ours = next(i for i, o in enumerate(scenario.offerings) if o.owner == "us")
    n_draws, n_seg = mu.shape
    share = np.empty((n_draws, n_seg, len(scenario.offerings), len(prices), len(scenario.variants)))
    block = max(1, BLOCK_CELLS // share[0, :, 0].size)

    def fill(start: int) -> None:
        b = slice(start, start + block)
        args = (differentiation[b], mu[b], sigma[b], scale[b], prices, offering_price, ours)
        _choices(*args, scenario.market, share[b], None)

    _in_threads(fill, range(0, n_draws, block))
    return share, differentiation


def shares_alone(scenario: Scenario, parameters: dict[str, np.ndarray]) -> bool:
    """Whether `one_period_shares` applies: a choice rule without random draws or simulated customers."""
    return scenario.market.choice_rule != "randomized_first_choice" and _customers(parameters) is None


def _in_threads(fill, starts: range) -> None:
    """`fill(start)` for each start, in threads: blocks write disjoint slices and numpy releases the GIL in
    its loops, so threads use every core; each block's numbers do not depend on which thread computes it."""
    threads = min(len(starts), os.cpu_count() or 1, MAX_THREADS)
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, starts))
    else:
        for start in starts:
            fill(start)


def tabulated_logit(scenario: Scenario, parameters: dict[str, np.ndarray]) -> bool:
    """Whether this scenario's choices are logit with a none option, the WTP spread integrated and no
    simulated customers: the rule `pricing.trajectory.drifting_choices` computes off a purchase table."""
    rule = scenario.market
    return (
        rule.choice_rule == "logit"
        and rule.none_option
        and rule.integration_nodes > 1
        and _customers(parameters) is None
    )


def differentiation_over_time(scenario: Scenario):
    """A function ``(parameters, expectations) -> differentiation``: each offering's differentiation value
    (draw, period, segment, offering, variant) to each segment from per-draw `parameters` (draw, segment,
    ...) under `expectations` (draw, period, segment, variant, attribute) that change over the periods
    (`pricing.dynamics`); the level design is built once. The numbers `simulate` computes with each
    period's expectations."""
    design = _LevelDesign(scenario)
    columns, attributes = (np.array(x, dtype=np.intp) for x in (design.numeric, design.numeric_attributes))
    shape = (len(scenario.offerings), len(scenario.variants))

    from pricing.trajectory import kano_differentiation  # numba: compiled (cached) when dynamics need it

    def differentiate(parameters: dict[str, np.ndarray], expectations: np.ndarray) -> np.ndarray:
        unit_value, weights = parameters["value_per_unit"], parameters.get("kano_weights")
        if weights is None:
            weights = np.broadcast_to(design.weights, (len(unit_value), *design.weights.shape))
        total = np.empty((*expectations.shape[:3], *shape))
        kano_differentiation(design.levels, expectations, unit_value, weights, columns, attributes, total)
        return design.with_categorical(total, unit_value[:, None], weights[:, None])

    return differentiate


def _check_finite(results: xr.Dataset) -> None:
    """`PricingError` when a result is not a finite number: it would be printed or written as one."""
    for name, values in results.data_vars.items():
        at = values.dims.index(SEGMENT) if SEGMENT in values.dims else None
        check_finite(name, values.values, results[SEGMENT].values, at)


def check_finite(name: str, values: np.ndarray, segments, segment_axis: int | None = 1) -> None:
    """`PricingError` naming the segments (on `segment_axis`; None: no segment axis) where the simulation's
    `name` holds a NaN or an infinity: it would be printed or written as a number."""
    if np.isfinite(values.sum()):  # a NaN or an infinity makes the sum one: one pass, no mask
        return
    finite = np.isfinite(values)
    if finite.all():  # the sum of finite numbers overflowed
        return
    where = ""
    if segment_axis is not None:
        bad = (~finite).any(axis=tuple(i for i in range(values.ndim) if i != segment_axis))
        where = f" for segment(s) {', '.join(map(str, np.asarray(segments)[bad][:5]))}"
    raise PricingError(
        f"the simulation's {name} is not finite{where}: the WTP, values or sizes are beyond what float64 "
        "arithmetic carries; narrow the WTP spread or its uncertainty"
    )


def _customers(parameters: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The simulated customers' arrays (draw, customer, segment, ...), or None without heterogeneity."""
    if "customer_value_per_unit" not in parameters:
        return None
    values = parameters["customer_value_per_unit"]
    count = values.shape[1]

    def own(name: str) -> np.ndarray:
        given = parameters.get(f"customer_{name}")
        return given if given is not None else np.repeat(parameters[name][:, None], count, axis=1)

    return {
        "value_per_unit": values,
        "weight": parameters["customer_weight"],
        "wtp_log_median": own("wtp_log_median"),
        "wtp_log_sd": own("wtp_log_sd"),
        "logit_scale": own("logit_scale"),
        "value_offset": parameters.get("customer_value_offset"),
    }


def _choose_customers(
    b: slice, customers, design: _LevelDesign, expectations, weights, choose, share_out, surplus_out
) -> None:
    """Shares and surplus of a block of draws as the weighted mean over each segment's simulated customers:
    the customers of a draw are rows of their own, then averaged with the customers' weights."""
    values = customers["value_per_unit"][b]
    n_draws, count, n_seg = values.shape[:3]
    rows = n_draws * count
    differentiation = design.differentiation(values, expectations, weights)
    if customers["value_offset"] is not None:
        differentiation = differentiation + customers["value_offset"][b][..., None, None]
    differentiation = differentiation.reshape(rows, *differentiation.shape[2:])
    names = ("wtp_log_median", "wtp_log_sd", "logit_scale")
    flat = [customers[name][b].reshape(rows, n_seg) for name in names]
    share = np.empty((rows, *share_out.shape[1:]))
    surplus = np.empty((rows, *surplus_out.shape[1:]))
    first = slice(b.start * count, b.start * count + rows)
    choose(first, differentiation, *flat, share, surplus)
    weight = customers["weight"]  # customer, segment
    np.einsum("dcsopv,cs->dsopv", share.reshape(n_draws, count, *share.shape[1:]), weight, out=share_out)
    np.einsum("dcspv,cs->dspv", surplus.reshape(n_draws, count, *surplus.shape[1:]), weight, out=surplus_out)


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
    surplus_out: np.ndarray | None,
) -> None:
    """Fill `share` (draw, segment, offering, price, variant) and `surplus_out`, the surplus per customer
    (draw, segment, price, variant; None: shares only, the same numbers for less work), for a block of
    draws; `differentiation` is (draw, segment, offering, variant). `pricing.trajectory.drifting_choices`
    repeats the logit rule for the dynamics' drifting periods."""
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
            nodes, with_surplus = rule.integration_nodes, surplus_out is not None
            buy, surplus = market.logit_purchase(
                flat, mu.ravel(), sigma.ravel(), scale.ravel(), nodes, with_surplus
            )
            buy = buy.reshape(shape)
            surplus = None if surplus is None else surplus.reshape(shape)
        else:
            buy = np.ones(shape)
            surplus = np.exp(mu + sigma**2 / 2)[:, :, None, None] + inclusive
        np.multiply((buy * rivals_given_buy)[:, :, None], rival_weight, out=share)
        share[:, :, ours] = buy * our_given_buy

    if surplus_out is not None:
        surplus_out[...] = surplus


#: Relative tolerance under which our utility equals a rival's (a product identical to ours at our price).
TIE_TOLERANCE = 1e-9


def _randomized_first_choice(
    differentiation: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    scale: np.ndarray,
    prices: np.ndarray,
    offering_price: np.ndarray,
    ours: int,
    rule: Market,
    keys: list[np.ndarray],
    seed: int,
    first_row: int,
    share: np.ndarray,
    surplus_out: np.ndarray,
) -> None:
    """Randomized first choice (Sawtooth) for a block of rows (draws, or draws x customers): fill `share`
    (row, segment, offering, price, variant) and `surplus_out` (row, segment, price, variant).

    Each row's customers are `rule.rfc.repetitions` shopping trips. A trip draws the customer's reference
    WTP from the segment's lognormal, a Gumbel error (mean 0, scale attribute_error x logit scale) on the
    value of every level of every attribute, shared by the products that have that level (`keys`: the
    level each offering effectively has per segment), and a Gumbel error (scale product_error x logit
    scale) on each product's utility and the none option's. The customer buys the product of highest
    utility (money) if it beats none; ties split evenly. The trip's errors do not depend on our price, so
    our product wins at every price below a threshold: all prices are read off one set of trips.
    """
    settings = rule.rfc
    n_rows, n_seg, n_off, n_var = differentiation.shape
    trips = settings.repetitions
    rng = np.random.default_rng([seed, 14, first_row])  # the rows' own stream: same numbers per block
    lam = scale[:, :, None]  # row, segment, trip
    wtp = np.exp(mu[:, :, None] + sigma[:, :, None] * rng.standard_normal((n_rows, n_seg, trips)))
    utility = differentiation[:, :, None] - offering_price[:, None] + wtp[..., None, None]  # r,s,t,o,v
    if settings.attribute_error > 0:
        for key in keys:  # key: (segment, offering, variant) -> level
            levels = int(key.max()) + 1
            error = rng.gumbel(-np.euler_gamma, 1.0, (n_rows, n_seg, trips, levels))
            error *= settings.attribute_error * lam[..., None]
            index = np.broadcast_to(key.reshape(1, n_seg, 1, -1), (n_rows, n_seg, trips, key[0].size))
            utility += np.take_along_axis(error, index, axis=-1).reshape(utility.shape)
    none = np.full((n_rows, n_seg, trips), -np.inf)
    if settings.product_error > 0:
        product = rng.gumbel(0.0, 1.0, (n_rows, n_seg, trips, n_off + 1)) * (
            settings.product_error * lam[..., None]
        )
        utility += product[..., :n_off, None]
        if rule.none_option:
            none = product[..., n_off]
    elif rule.none_option:
        none = np.zeros((n_rows, n_seg, trips))
    base = utility[:, :, :, ours] + offering_price[ours]  # our utility before our price: r,s,t,v
    utility[:, :, :, ours] = -np.inf
    options = np.concatenate(
        [utility, np.broadcast_to(none[..., None, None], (*none.shape, 1, n_var))], axis=3
    )
    best = options.max(axis=3)  # the best alternative to ours (a rival or none): r,s,t,v
    is_best = (options == best[:, :, :, None]) & np.isfinite(best)[:, :, :, None]
    tied = is_best.sum(axis=3)  # rivals (and none) sharing the best utility
    pick = is_best / np.maximum(tied, 1)[:, :, :, None]  # r,s,t,option,v
    threshold = base - best  # we win at prices below it
    tolerance = TIE_TOLERANCE * (1.0 + np.abs(np.where(np.isfinite(threshold), threshold, 0.0)))
    gap = threshold[..., None] - prices  # r,s,t,v,p
    win = gap > tolerance[..., None]
    tie = np.abs(gap) <= tolerance[..., None]
    ours_weight = win + tie / (tied[..., None] + 1.0)
    rival_weight = 1.0 - ours_weight  # trips in which the best alternative to ours is chosen
    share[:, :, ours] = ours_weight.mean(axis=2).transpose(0, 1, 3, 2)
    chosen = np.einsum("rstov,rstvp->rsopv", pick, rival_weight) / trips
    others = [o for o in range(n_off) if o != ours]
    share[:, :, others] = chosen[:, :, others]
    value = np.maximum(base[..., None] - prices, best[..., None])  # r,s,t,v,p
    surplus = value.mean(axis=2).transpose(0, 1, 3, 2)
    if rule.none_option:
        surplus -= none.mean(axis=2)[:, :, None, None]
    surplus_out[...] = surplus
