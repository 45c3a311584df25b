"""Equilibrium prices: the simulator's demand and its derivatives, closed forms (single-product and
multi-product logit markups, Lambert W), a brute-force best-response grid, hard cases, leader pricing."""

import copy

import numpy as np
import pytest
from conftest import small_scenario_dict
from scipy.optimize import brentq
from scipy.special import lambertw

from pricing import competition
from pricing.errors import ScenarioError
from pricing.scenario import scenario_from_dict, with_changes
from pricing.simulate import simulate

REFERENCE_WTP = 10.0


def plain_logit(quality, cost, firm, scale=2.0, size=1.0):
    """Arrays for `solve_prices` under plain logit (one segment, no WTP spread: nodes=1): offering j's
    utility is (quality_j - p_j) / scale against 0 for buying nothing."""
    quality = np.asarray(quality, float)
    n = len(quality)
    return dict(
        net_of_price=(quality - REFERENCE_WTP)[None, None, :],
        mu=np.log([[REFERENCE_WTP]]),
        sigma=np.array([[0.3]]),
        scale=np.array([[scale]]),
        size=np.array([size]),
        cost=np.asarray(cost, float)[None, :],
        start=np.asarray(cost, float)[None, :] + 1.0,
        firm=np.asarray(firm),
        best_response=np.ones(n, bool),
        follows=np.zeros(n, bool),
        cut=np.zeros(n),
        ours=0,
        nodes=1,
    )


def logit_shares(quality, prices, scale):
    weight = np.exp((np.asarray(quality) - prices) / scale)
    return weight / (1 + weight.sum())


def test_single_product_monopoly_markup_is_lambert_w():
    # p - c = scale (1 + W(exp((a - c) / scale - 1))) and, equivalently, 1 / (alpha (1 - s))
    problem = plain_logit([14.0], [3.0], [0])
    prices, converged, _ = competition.solve_prices(**problem)
    assert converged.all()
    closed = 3.0 + 2.0 * (1 + lambertw(np.exp((14.0 - 3.0) / 2.0 - 1)).real)
    assert prices[0, 0] == pytest.approx(closed, rel=1e-7)
    share = logit_shares([14.0], prices[0], 2.0)
    assert prices[0, 0] - 3.0 == pytest.approx(2.0 / (1 - share[0]), rel=1e-7)


def test_single_product_rivals_each_set_the_logit_markup():
    quality, cost = [14.0, 11.0, 16.0], [3.0, 2.0, 6.0]
    prices, converged, _ = competition.solve_prices(**plain_logit(quality, cost, [0, 1, 2], scale=1.5))
    assert converged.all()
    share = logit_shares(quality, prices[0], 1.5)
    np.testing.assert_allclose(prices[0] - cost, 1.5 / (1 - share), rtol=1e-7)


def test_a_multi_product_firm_sets_one_common_markup():
    # a firm owning several products: every markup is 1 / (alpha (1 - S_f)), S_f its total share
    quality, cost = [14.0, 12.0, 17.0, 13.0], [3.0, 2.0, 7.0, 4.0]
    prices, converged, _ = competition.solve_prices(**plain_logit(quality, cost, [0, 0, 0, 1], scale=2.0))
    assert converged.all()
    share = logit_shares(quality, prices[0], 2.0)
    markup = prices[0] - cost
    np.testing.assert_allclose(markup[:3], 2.0 / (1 - share[:3].sum()), rtol=1e-7)
    assert markup[3] == pytest.approx(2.0 / (1 - share[3]), rel=1e-7)


def test_symmetric_duopoly_prices():
    # Bertrand: with u = alpha (p - c) and x = exp(A - u), A = alpha (a - c), the FOC u = (1 + 2x) / (1 + x)
    # reduces to t e^t = (1 - t) e^(A - 1) for t = u - 1: a scalar root. The same two products under one
    # owner (a merger) price at u = 1 + W(2 e^(A - 1)), Lambert W's closed form.
    a, c, scale = 15.0, 4.0, 2.5
    big_a = (a - c) / scale
    t = brentq(lambda t: t * np.exp(t) - (1 - t) * np.exp(big_a - 1), 0, 1, xtol=1e-15)
    bertrand, converged, _ = competition.solve_prices(**plain_logit([a, a], [c, c], [0, 1], scale=scale))
    assert converged.all()
    np.testing.assert_allclose(bertrand[0], c + scale * (1 + t), rtol=1e-7)
    merged, converged, _ = competition.solve_prices(**plain_logit([a, a], [c, c], [0, 0], scale=scale))
    assert converged.all()
    np.testing.assert_allclose(merged[0], c + scale * (1 + lambertw(2 * np.exp(big_a - 1)).real), rtol=1e-7)
    assert (merged > bertrand + 0.5).all()  # a merger raises prices


def naive_markup_iteration(quality, cost, scale, iterations):
    prices = np.asarray(cost, float) + 1.0
    for _ in range(iterations):
        prices = np.asarray(cost) + scale / (1 - logit_shares(quality, prices, scale))
    return prices


def test_the_zeta_iteration_converges_where_the_naive_markup_iteration_diverges():
    # an asymmetric duopoly: one product takes most of the market; p <- c + 1 / (alpha (1 - s)) oscillates
    quality, cost = [30.0, 12.0], [2.0, 2.0]
    prices, converged, iterations = competition.solve_prices(**plain_logit(quality, cost, [0, 1], scale=2.0))
    assert converged.all() and iterations[0] < 100
    share = logit_shares(quality, prices[0], 2.0)
    assert share[0] > 0.5
    np.testing.assert_allclose(prices[0] - cost, 2.0 / (1 - share), rtol=1e-7)
    naive = [naive_markup_iteration(quality, cost, 2.0, n) for n in (200, 201)]
    assert np.abs(naive[1] - naive[0]).max() > 1.0  # still jumping after 200 steps


def market_scenario(**market):
    """Three firms, one of them with two products, two segments with a WTP spread and uncertain costs."""
    data = small_scenario_dict()
    data["offerings"] = [
        {"name": "Ours", "owner": "us", "price": 45.0, "unit_cost": 20.0, "levels": {"speed": 6}},
        {"name": "A1", "owner": "Acme", "price": 40.0, "unit_cost": 15.0, "unit_cost_uncertainty": 0.1},
        {"name": "A2", "owner": "Acme", "price": 60.0, "unit_cost_low": 20, "unit_cost_high": 30,
         "levels": {"speed": 8, "warranty": 2}},
        {"name": "Solo", "price": 38.0, "unit_cost": 12.0, "levels": {"speed": 4}},
    ]  # fmt: skip
    data["market"] = {"draws": 6, **market}
    return scenario_from_dict(data)


def test_demand_is_the_simulators():
    scenario = with_changes(market_scenario(), {"market.price_grid": {"min": 30, "max": 60, "steps": 7}})
    results = simulate(scenario)
    data = competition.market_draws(scenario)
    p = data.parameters
    for i, price in enumerate(results.price.values):
        for v in range(len(scenario.variants)):
            prices = data.price.copy()
            prices[0] = price
            net = data.differentiation[:, :, :, v] - prices
            args = (p["wtp_log_median"], p["wtp_log_sd"], p["logit_scale"], data.size)
            share = competition.demand(net, *args)[3]
            expected = results.share.isel(price=i, variant=v).transpose("draw", "segment", "offering")
            np.testing.assert_allclose(share, expected.values, rtol=1e-12, atol=1e-15)


def test_price_derivatives_match_finite_differences():
    data = competition.market_draws(market_scenario(none_option=True))
    p = data.parameters
    args = (p["wtp_log_median"], p["wtp_log_sd"], p["logit_scale"], data.size)
    net = data.differentiation[:, :, :, 0] - data.price
    _, lambda_, gamma, _ = competition.demand(net, *args)
    jacobian = gamma - lambda_[:, :, None] * np.eye(len(data.price))
    h = 1e-5
    for k in range(len(data.price)):
        bump = np.zeros(len(data.price))
        bump[k] = h
        up = competition.demand(net - bump, *args)[0]
        down = competition.demand(net + bump, *args)[0]
        np.testing.assert_allclose(jacobian[:, :, k], (up - down) / (2 * h), rtol=1e-6, atol=1e-6)


def firm_profit(data, prices, draw, variant, offerings):
    """Profit of `offerings` at a batch of full price vectors (B, J), one draw and variant, exact demand."""
    p = data.parameters
    n = len(prices)
    args = [np.repeat(p[k][[draw]], n, axis=0) for k in ("wtp_log_median", "wtp_log_sd", "logit_scale")]
    net = data.differentiation[draw, :, :, variant][None] - prices[:, None, :]
    units = competition.demand(net, *args, data.size)[0]
    return ((prices - data.cost[draw, :, variant]) * units)[:, offerings].sum(axis=1)


def test_equilibrium_against_a_brute_force_best_response_grid():
    scenario = market_scenario()
    data = competition.market_draws(scenario)
    result = competition.equilibrium(scenario, market_data=data)
    assert result.converged.all()
    for draw in (0, 3):
        for variant in (0, 1):
            eq = result.price.isel(draw=draw, variant=variant).values
            for offerings in ([0], [3]):  # single-product firms: a fine 1-D grid of own prices
                grid = np.linspace(eq[offerings[0]] * 0.5, eq[offerings[0]] * 1.5, 2001)
                trial = np.repeat(eq[None], len(grid), axis=0)
                trial[:, offerings[0]] = grid
                best = grid[firm_profit(data, trial, draw, variant, offerings).argmax()]
                assert best == pytest.approx(eq[offerings[0]], abs=grid[1] - grid[0])
            # Acme prices two products jointly: a 2-D grid
            g1 = np.linspace(eq[1] - 4, eq[1] + 4, 161)
            g2 = np.linspace(eq[2] - 4, eq[2] + 4, 161)
            trial = np.repeat(eq[None], g1.size * g2.size, axis=0)
            trial[:, 1], trial[:, 2] = np.repeat(g1, g2.size), np.tile(g2, g1.size)
            best = trial[firm_profit(data, trial, draw, variant, [1, 2]).argmax()]
            np.testing.assert_allclose(best[1:3], eq[1:3], atol=0.05 + 1e-9)


def test_equilibrium_dataset_and_reaction_rules():
    data = market_scenario()
    held = data.model_copy(
        update={
            "offerings": (
                data.offerings[0],
                *[o.model_copy(update={"reacts": False}) for o in data.offerings[1:]],
            )
        }
    )
    result = competition.equilibrium(held)
    assert result.converged.all()
    # rivals hold their prices; ours is our best response to them
    np.testing.assert_allclose(
        result.price.isel(offering=[1, 2, 3]).values, np.broadcast_to([40, 60, 38], (6, 2, 3))
    )
    raw = copy.deepcopy(small_scenario_dict())
    raw["offerings"][1] |= {"reaction": "undercut", "undercut": 10}
    undercut = competition.equilibrium(scenario_from_dict(raw))
    prices = undercut.price.values
    np.testing.assert_allclose(prices[:, :, 1], 0.9 * prices[:, :, 0], rtol=1e-12)
    assert undercut.converged.all()


def test_profit_minimum_is_not_reported_as_an_equilibrium(monkeypatch):
    # a monopoly selling to a mass segment (WTP 10) and a smaller, richer niche (WTP 60): from today's price
    # the FOCs are met at the mass-market peak, but the niche price earns more; that is no equilibrium
    problem = dict(
        net_of_price=np.zeros((1, 2, 1)),
        mu=np.log([[10.0, 60.0]]),
        sigma=np.array([[0.05, 0.05]]),
        scale=np.array([[1.0, 1.0]]),
        size=np.array([1000.0, 300.0]),
        cost=np.array([[0.0]]),
        start=np.array([[8.0]]),
        firm=np.array([0]),
        best_response=np.array([True]),
        follows=np.array([False]),
        cut=np.zeros(1),
        ours=0,
    )
    prices, converged, _ = competition.solve_prices(**problem)
    assert prices[0, 0] < 12 and not converged[0]
    prices, converged, _ = competition.solve_prices(**(problem | {"start": np.array([[55.0]])}))
    assert prices[0, 0] > 50 and converged[0]


def test_non_converged_draws_are_counted_and_left_out(monkeypatch):
    monkeypatch.setattr(competition, "MAX_ITERATIONS", 2)
    result = competition.equilibrium(market_scenario())
    assert not result.converged.any()
    summary = competition.converged_summary(result.price, result.converged)
    assert np.isnan(summary["mean"]).all()


def test_first_choice_is_refused_in_one_line():
    with pytest.raises(ScenarioError) as error:
        competition.equilibrium(market_scenario(choice_rule="first_choice"))
    assert "\n" not in str(error.value) and "first_choice" in str(error.value)


def test_leader_pricing_with_and_without_reaction():
    scenario = with_changes(market_scenario(), {"market.price_grid": {"min": 30, "max": 70, "steps": 9}})
    leader = competition.leader_pricing(scenario)
    assert leader.converged.all()
    # without reaction: the simulator's own profit (rivals at today's prices, our median cost)
    results = simulate(scenario)
    np.testing.assert_allclose(
        leader.profit_without_reaction, results.profit.transpose(*leader.profit.dims), rtol=1e-10
    )
    # leading at the Nash price of ours gives the Nash outcome back; the leader's best price is higher
    # (prices are strategic complements under logit) and earns at least the Nash profit
    data = competition.market_draws(scenario)
    eq = competition.equilibrium(scenario, market_data=data).isel(draw=0, variant=0)
    nash = float(eq.price[0])
    grid = np.append(np.linspace(nash - 5, nash + 15, 201), nash)
    full = competition.leader_pricing(scenario, prices=grid, market_data=data)
    lead = full.isel(draw=0, variant=0)
    at_nash = lead.isel(price=-1)
    np.testing.assert_allclose(at_nash.rival_price, eq.price, rtol=1e-7)
    assert float(at_nash.profit) == pytest.approx(float(eq.profit[0]), rel=1e-7)
    answers = competition.rival_answers(full.isel(draw=[0]), nash + 0.001)
    assert answers.answer_to[0] == pytest.approx(nash, abs=1e-9) and list(answers.offering) == [
        "A1",
        "A2",
        "Solo",
    ]
    np.testing.assert_allclose(answers["mean"], eq.price.values[1:], rtol=1e-7)
    best = int(np.argmax(lead.profit.values))
    assert grid[best] > nash + 0.1 and lead.profit[best] > at_nash.profit


def test_uncertain_costs_are_drawn_around_the_median():
    scenario = market_scenario(draws=4000)
    costs = competition.unit_cost_draws(scenario, 4000, 1)
    assert (costs[:, 0] == 20.0).all() and (costs[:, 3] == 12.0).all()
    assert np.median(costs[:, 1]) == pytest.approx(15.0, rel=0.01)
    assert np.std(np.log(costs[:, 1])) == pytest.approx(0.1, rel=0.05)
    inside = ((costs[:, 2] > 20) & (costs[:, 2] < 30)).mean()
    assert inside == pytest.approx(0.8, abs=0.02)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit_cost_low": 10.0}, "unit_cost_low and unit_cost_high go together"),
        ({"unit_cost_low": 30.0, "unit_cost_high": 20.0}, "must be below unit_cost_high"),
        ({"unit_cost": 5.0, "unit_cost_low": 3.0, "unit_cost_high": 8.0}, "not both"),
        ({"unit_cost": 0.0, "unit_cost_uncertainty": 0.1}, "needs a unit_cost above 0"),
        ({"reacts": False, "reaction": "match"}, "needs reacts: true"),
        ({"undercut": 5.0}, "undercut goes with reaction: undercut"),
        ({"owner": "x" * 81}, "owner"),
    ],
)
def test_offering_cost_and_reaction_fields_are_checked(change, message):
    data = small_scenario_dict()
    data["offerings"][1] |= change
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data)


def test_owners_name_firms():
    scenario = market_scenario()
    assert scenario.firms == ["us", "Acme", "Acme", "Solo"]
    data = small_scenario_dict()
    data["offerings"][0] |= {"reaction": "match"}
    with pytest.raises(ScenarioError, match="cannot match or undercut itself"):
        scenario_from_dict(data)
    range_cost = scenario.offerings[2]
    assert range_cost.median_unit_cost == pytest.approx(np.sqrt(20 * 30))
