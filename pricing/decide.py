"""Decisions under uncertainty: our price and variant by an objective under constraints, with the probability
that each candidate is the best, its expected regret, and the value of better information.

A candidate is one (price, variant) of ours; its profit in each posterior draw comes from the simulator with
the rivals at today's prices, or, with reaction, from leader pricing (`pricing.competition`: reacting
rivals move to their best responses or follow their rules). Every profit uses the draw's unit cost (costs
may be uncertain). Objectives:

- ``expected``: mean profit over draws (the default);
- ``cvar:A``: mean profit in the worst ``A`` share of draws (risk-averse, e.g. ``cvar:0.1``);
- ``quantile:Q``: the ``Q`` quantile of profit (e.g. ``quantile:0.1``);
- ``p_beat_today``: the probability of earning more than today (our current price, first variant, rivals
  at today's prices) in the same draw.

P(best) counts, per draw, the candidates with the highest profit and gives each ``1/k`` when ``k`` tie. The
regret of a candidate is its expected shortfall against the best candidate of each draw. The expected value
of perfect information is ``EVPI = E[max_d profit_d] - max_d E[profit_d]``. The expected value of partial
perfect information of a group of inputs ``X`` (a segment's WTP, the value of an attribute, the rivals'
costs, our cost) is ``E_X[max_d E[profit_d | X]] - max_d E[profit_d]``, estimated as Strong, Oakley &
Brennan (2014, Med Decis Making 34:311) do: regress each candidate's profit on the group's inputs (here a
polynomial with interactions, `evppi_regression`), then take the mean over draws of the largest fitted
value less the largest mean. All values of information are in money per period and use the expected
profit, whatever objective picks the choice. With a `dynamics` section (and rivals holding), a candidate's
profit is its net present value over the horizon (`pricing.dynamics`) and the retention parameters are one
more input group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pricing import competition
from pricing.dims import DRAW, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError
from pricing.scenario import Scenario
from pricing.simulate import segment_parameters, simulate

OBJECTIVE_PATTERN = re.compile(r"^(expected|p_beat_today|cvar:(0?\.\d+|1(\.0*)?)|quantile:(0?\.\d+|0|1))$")
#: Largest number of candidate prices (after endings and typed prices are added).
MAX_CANDIDATE_PRICES = 2000


@dataclass(frozen=True)
class Constraints:
    """What a manager rules out: a minimum expected market share (0..1), a price floor and ceiling, a price
    ending (e.g. 0.99: only prices like 49.99) and extra candidate prices typed in."""

    min_share: float | None = None
    price_floor: float | None = None
    price_ceiling: float | None = None
    ending: float | None = None
    prices: tuple[float, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The choice and its evidence: one row per feasible candidate (price, variant, objective,
    expected_profit, share, p_best, regret); the choice's and today's profit per draw (currency)."""

    objective: str
    react: bool
    choice: dict
    candidates: pd.DataFrame
    evpi: float
    evppi: dict[str, float]
    choice_profit: np.ndarray
    today_profit: np.ndarray
    draws_used: int
    draws_dropped: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """Plain data: `choice` (price, variant), `candidates` ({price, variant, objective, p_best, regret}),
        `evpi`, `evppi` (input group -> money) and `converged` (share of draws used)."""
        rows = self.candidates[["price", "variant", "objective", "p_best", "regret"]].to_dict("records")
        return {
            "choice": self.choice,
            "candidates": [{k: v if isinstance(v, str) else float(v) for k, v in r.items()} for r in rows],
            "evpi": float(self.evpi),
            "evppi": {k: float(v) for k, v in self.evppi.items()},
            "converged": self.converged,
        }

    @property
    def converged(self) -> float:
        """Share of draws whose market reached an equilibrium at every candidate (1 without reaction)."""
        total = self.draws_used + self.draws_dropped
        return self.draws_used / total if total else 0.0


def check_objective(objective: str) -> str:
    """The objective if valid, else `PricingError` naming the valid ones."""
    if not OBJECTIVE_PATTERN.match(objective) or objective.endswith(":0"):
        raise PricingError(
            f"objective {objective!r}: use expected, cvar:A (0 < A <= 1, e.g. cvar:0.1), quantile:Q "
            "(0 <= Q <= 1) or p_beat_today"
        )
    return objective


def candidate_prices(scenario: Scenario, constraints: Constraints) -> np.ndarray:
    """Our candidate prices: the scenario's price grid (or, with an `ending`, every price with that ending
    in the grid's range), plus typed prices, within the floor and ceiling."""
    grid = np.array(scenario.price_grid())
    low = max(grid[0], constraints.price_floor or 0.0)
    high = min(grid[-1], constraints.price_ceiling or math.inf)
    if constraints.ending is not None:
        if not 0 <= constraints.ending < 1:
            raise PricingError(f"ending {constraints.ending:g}: give the cents a price ends in, e.g. 0.99")
        whole = np.arange(math.floor(low), math.floor(high) + 1)
        if len(whole) > MAX_CANDIDATE_PRICES:
            raise PricingError(f"ending: {len(whole):,} candidate prices; narrow the floor and ceiling")
        grid = np.round(whole + constraints.ending, 10)
    prices = np.union1d(grid, np.array(constraints.prices, dtype=float))
    floor, ceiling = constraints.price_floor or 0.0, constraints.price_ceiling or math.inf
    if constraints.ending is None:
        prices = prices[(prices >= floor) & (prices <= ceiling) & (prices > 0)]
    else:
        typed = np.isin(prices, np.array(constraints.prices, dtype=float))
        prices = prices[((prices >= low) | typed) & ((prices <= high) | typed) & (prices > 0)]
    if not len(prices):
        raise PricingError(
            f"no candidate price between the floor {floor:g} and the ceiling {ceiling:g} "
            f"(the price grid runs {grid[0]:g}..{grid[-1]:g})"
        )
    return prices


def outcomes(
    scenario: Scenario,
    prices: np.ndarray,
    react: bool = False,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Our profit and market share per (draw, price, variant), with rivals at today's prices or reacting;
    `converged` (draw,) whether every candidate's market reached an equilibrium; `today` (draw,) today's
    profit; `inputs`, the uncertain inputs per draw by group."""
    seed = scenario.seed if seed is None else seed
    draws = scenario.market.draws if draws is None else draws
    if parameters is None:
        parameters = segment_parameters(scenario, draws, np.random.default_rng(seed))
    n_draws = len(parameters["wtp_log_median"])
    costs = competition.unit_cost_draws(scenario, n_draws, seed)
    ours = [o.owner for o in scenario.offerings].index("us")
    extra = np.array([v.extra_unit_cost for v in scenario.variants])
    fixed = np.array([v.fixed_cost for v in scenario.variants])

    def static(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        results = simulate(scenario, parameters=parameters, prices=at)
        volume = results.volume.sum(SEGMENT).transpose(DRAW, PRICE, VARIANT).values
        margin = at[None, :, None] - costs[:, ours, None, None] - extra[None, None, :]
        return volume * margin - fixed, volume / results.segment_size.values.sum()

    current = scenario.our_offering.price
    today = static(np.array([current]))[0][:, 0, 0]
    inputs = input_groups(scenario, parameters, costs)
    notes = []
    if scenario.dynamics is not None and react:
        notes.append("with reaction the decision is over one period (the dynamics are not simulated)")
    elif scenario.dynamics is not None:
        return _over_time(scenario, prices, parameters, seed, static(prices)[1], inputs)
    if react:
        data = competition.market_draws(scenario, parameters=parameters, seed=seed)
        leader = competition.leader_pricing(scenario, prices=prices, market_data=data)
        profit = leader.profit.transpose(DRAW, PRICE, VARIANT).values
        share = leader.share.transpose(DRAW, PRICE, VARIANT).values
        converged = leader.converged.all((PRICE, VARIANT)).values
    else:
        profit, share = static(prices)
        converged = np.ones(n_draws, dtype=bool)
    return {
        "profit": profit,
        "share": share,
        "converged": converged,
        "today": today,
        "inputs": inputs,
        "notes": notes,
    }


def _over_time(
    scenario: Scenario, prices: np.ndarray, parameters: dict, seed: int, share: np.ndarray, inputs: dict
) -> dict[str, np.ndarray]:
    """Outcomes with a `dynamics` section: each candidate's profit is its NPV over the horizon
    (`pricing.dynamics`, our median unit cost), and the retention parameters are one more input group."""
    from pricing import dynamics

    n_draws = len(parameters["wtp_log_median"])
    drawn = dynamics.dynamics_parameters(
        scenario, n_draws, np.random.default_rng([seed, dynamics.RNG_STREAM])
    )

    def npv(at: np.ndarray) -> np.ndarray:
        run = dynamics.simulate_dynamics(
            scenario, prices=at, seed=seed, parameters=parameters, dynamics=drawn, per_period=False
        )
        return run.npv.transpose(DRAW, PRICE, VARIANT).values

    retention = np.concatenate([drawn["churn"].reshape(n_draws, -1), drawn["retention_effect"]], axis=1)
    horizon = scenario.dynamics.horizon
    return {
        "profit": npv(prices),
        "share": share,
        "converged": np.ones(n_draws, dtype=bool),
        "today": npv(np.array([scenario.our_offering.price]))[:, 0, 0],
        "inputs": inputs | {"retention": retention},
        "notes": [
            f"profit is the net present value over {horizon} periods (dynamics), at our median unit cost"
        ],
    }


def input_groups(
    scenario: Scenario, parameters: dict[str, np.ndarray], costs: np.ndarray
) -> dict[str, np.ndarray]:
    """The uncertain inputs per draw (draw, column) by group: each segment's WTP (log median, log spread,
    logit scale), each attribute's value per unit (one column per segment), the rivals' unit costs, ours."""
    groups = {}
    for s, segment in enumerate(scenario.segments):
        columns = [parameters[k][:, s] for k in ("wtp_log_median", "wtp_log_sd", "logit_scale")]
        groups[f"WTP: {segment.name}"] = np.stack(columns, axis=1)
    for a, attribute in enumerate(scenario.attribute_names):
        groups[f"value of {attribute}"] = parameters["value_per_unit"][:, :, a]
    ours = [o.owner for o in scenario.offerings].index("us")
    rivals = [i for i in range(len(scenario.offerings)) if i != ours]
    if rivals:
        groups["competitor costs"] = costs[:, rivals]
    groups["our unit cost"] = costs[:, [ours]]
    return groups


def evppi_regression(net_benefit: np.ndarray, inputs: np.ndarray) -> float:
    """EVPPI by the regression method of Strong, Oakley & Brennan (2014): fit ``E[net_benefit_d | inputs]``
    for every decision d (net_benefit: draw, decision) by least squares on a polynomial in the standardised
    inputs (draw, column): every column to the third power and, for up to 6 columns, every pairwise product;
    then ``mean(max_d fitted) - max_d mean(fitted)``, at least 0. Inputs that do not vary carry no
    information (EVPPI 0)."""
    varying = inputs[:, inputs.std(axis=0) > 1e-12 * (1 + np.abs(inputs).max(axis=0))]
    if not varying.shape[1]:
        return 0.0
    z = (varying - varying.mean(axis=0)) / varying.std(axis=0)
    columns = [np.ones(len(z)), *z.T, *(z**2).T, *(z**3).T]
    if z.shape[1] <= 6:
        columns += [z[:, i] * z[:, j] for i in range(z.shape[1]) for j in range(i + 1, z.shape[1])]
    basis = np.stack(columns, axis=1)
    if basis.shape[1] >= len(z) // 2:
        basis = basis[:, : 1 + z.shape[1]]  # too few draws for the polynomial: linear only
    coefficients = np.linalg.lstsq(basis, net_benefit, rcond=None)[0]
    fitted = basis @ coefficients
    value = float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max())
    return value if value > 1e-9 * np.abs(net_benefit).mean() else 0.0  # below rounding: no information


def objective_values(profit: np.ndarray, today: np.ndarray, objective: str) -> np.ndarray:
    """The objective of every candidate (profit: draw, candidate; today: draw)."""
    if objective == "expected":
        return profit.mean(axis=0)
    if objective == "p_beat_today":
        return (profit > today[:, None] + 1e-9 * np.maximum(1.0, np.abs(today[:, None]))).mean(axis=0)
    kind, level = objective.split(":")
    level = float(level)
    if kind == "quantile":
        return np.quantile(profit, level, axis=0)
    worst = max(1, math.ceil(level * len(profit)))
    return np.sort(profit, axis=0)[:worst].mean(axis=0)


def probability_best(profit: np.ndarray) -> np.ndarray:
    """Share of draws in which each candidate earns the most (profit: draw, candidate); k candidates tied
    in a draw get 1/k each, so the shares add up to 1."""
    top = profit.max(axis=1, keepdims=True)
    best = profit >= top - 1e-9 * np.maximum(1.0, np.abs(top))
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)


def expected_regret(profit: np.ndarray) -> np.ndarray:
    """Each candidate's expected shortfall against the best candidate of each draw (currency)."""
    return (profit.max(axis=1, keepdims=True) - profit).mean(axis=0)


def expected_value_of_perfect_information(profit: np.ndarray) -> float:
    """EVPI = E[max over candidates] - max over candidates of E[profit] (currency)."""
    return float(profit.max(axis=1).mean() - profit.mean(axis=0).max())


def decide(
    scenario: Scenario,
    objective: str = "expected",
    react: bool = False,
    constraints: Constraints | None = None,
    draws: int | None = None,
    seed: int | None = None,
    parameters: dict[str, np.ndarray] | None = None,
) -> Decision:
    """Choose our price and variant (see the module docstring)."""
    check_objective(objective)
    constraints = constraints or Constraints()
    prices = candidate_prices(scenario, constraints)
    result = outcomes(scenario, prices, react, draws, seed, parameters)
    kept = result["converged"]
    if not kept.any():
        raise PricingError("no draw reached a price equilibrium at every candidate; see pricing equilibrium")
    variants = [v.name for v in scenario.variants]
    n_prices, n_variants = len(prices), len(variants)
    profit = result["profit"][kept].reshape(kept.sum(), n_prices * n_variants)
    share = result["share"][kept].reshape(kept.sum(), n_prices * n_variants).mean(axis=0)
    today = result["today"][kept]
    feasible = np.ones(n_prices * n_variants, dtype=bool)
    if constraints.min_share is not None:
        feasible &= share >= constraints.min_share
        if not feasible.any():
            raise PricingError(
                f"min share {constraints.min_share:.1%}: no candidate reaches it (the largest expected share "
                f"is {share.max():.1%})"
            )
    profit, share = profit[:, feasible], share[feasible]
    values = objective_values(profit, today, objective)
    chosen = int(np.lexsort((-profit.mean(axis=0), -values))[0])  # ties: the higher expected profit
    index = np.flatnonzero(feasible)
    candidates = pd.DataFrame(
        {
            "price": prices[index // n_variants],
            "variant": [variants[i % n_variants] for i in index],
            "objective": values,
            "expected_profit": profit.mean(axis=0),
            "share": share,
            "p_best": probability_best(profit),
            "regret": expected_regret(profit),
        }
    )
    inputs = {name: columns[kept] for name, columns in result["inputs"].items()}
    notes = list(result["notes"])
    if (~kept).any():
        notes.append(
            f"{int((~kept).sum())} of {len(kept)} draws left out: their market reached no equilibrium at "
            "some candidate price"
        )
    return Decision(
        objective=objective,
        react=react,
        choice={"price": float(candidates.price[chosen]), "variant": str(candidates.variant[chosen])},
        candidates=candidates,
        evpi=expected_value_of_perfect_information(profit),
        evppi={name: evppi_regression(profit, columns) for name, columns in inputs.items()},
        choice_profit=profit[:, chosen],
        today_profit=today,
        draws_used=int(kept.sum()),
        draws_dropped=int((~kept).sum()),
        notes=notes,
    )
