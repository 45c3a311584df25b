"""Decisions under uncertainty: objectives, constraints, P(best) with ties, regret, EVPI and EVPPI against
closed forms, and the choice on a scenario against the simulator's own optimum."""

import numpy as np
import pytest
from conftest import small_scenario_dict
from scipy.stats import norm

from pricing import analysis, decide
from pricing.errors import PricingError
from pricing.scenario import scenario_from_dict
from pricing.simulate import simulate


def test_probability_best_splits_ties_evenly():
    rng = np.random.default_rng(0)
    worse = rng.normal(0, 1, 1000)
    best = worse + 5.0
    profit = np.stack([best, worse, best, best], axis=1)  # three identical best candidates
    np.testing.assert_allclose(decide.probability_best(profit), [1 / 3, 0, 1 / 3, 1 / 3])
    half = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(decide.probability_best(half), [0.5, 0.5])


def test_regret_and_objectives_by_hand():
    profit = np.array([[10.0, 12.0], [20.0, 8.0], [0.0, 5.0], [30.0, 9.0]])
    np.testing.assert_allclose(decide.expected_regret(profit), [(2 + 0 + 5 + 0) / 4, (0 + 12 + 0 + 21) / 4])
    today = np.array([11.0, 11.0, 11.0, 11.0])
    assert decide.objective_values(profit, today, "expected").tolist() == [15.0, 8.5]
    assert decide.objective_values(profit, today, "cvar:0.5").tolist() == [5.0, 6.5]  # the worst 2 draws
    assert decide.objective_values(profit, today, "cvar:0.1").tolist() == [0.0, 5.0]  # at least one draw
    assert decide.objective_values(profit, today, "p_beat_today").tolist() == [0.5, 0.25]
    np.testing.assert_allclose(decide.objective_values(profit, today, "quantile:0.5"), [15.0, 8.5])
    assert decide.expected_value_of_perfect_information(profit) == pytest.approx((12 + 20 + 5 + 30) / 4 - 15)


@pytest.mark.parametrize("bad", ["mean", "cvar:0", "cvar:1.5", "quantile:2", "cvar:"])
def test_bad_objectives_are_refused(bad):
    with pytest.raises(PricingError, match="expected, cvar:A"):
        decide.check_objective(bad)


def expected_positive_part(mean, sd):
    """E[max(0, N(mean, sd^2))]."""
    return sd * norm.pdf(mean / sd) + mean * norm.cdf(mean / sd)


def test_evpi_and_evppi_against_the_normal_closed_form():
    # two decisions: 0, or X + Y with X ~ N(mu, sx^2), Y ~ N(0, sy^2) independent. E[max] is the normal's
    # positive part: EVPI uses sd sqrt(sx^2 + sy^2); EVPPI(X) uses sd sx (E[X + Y | X] = X), EVPPI(Y) sd sy.
    rng = np.random.default_rng(3)
    n, mu, sx, sy = 40_000, 0.5, 2.0, 1.0
    x, y = rng.normal(mu, sx, n), rng.normal(0, sy, n)
    profit = np.stack([np.zeros(n), x + y], axis=1)
    evpi = expected_positive_part(mu, np.hypot(sx, sy)) - mu
    assert decide.expected_value_of_perfect_information(profit) == pytest.approx(evpi, rel=0.03)
    assert decide.evppi_regression(profit, x[:, None]) == pytest.approx(
        expected_positive_part(mu, sx) - mu, rel=0.03
    )
    assert decide.evppi_regression(profit, y[:, None]) == pytest.approx(
        expected_positive_part(mu, sy) - mu, rel=0.05
    )
    # a nonlinear link is what the polynomial is for: X^2 still carries the information of X here
    profit = np.stack([np.zeros(n), x**2 - 4 + y], axis=1)
    exact = np.maximum(x**2 - 4, 0).mean() - max(0.0, (x**2 - 4 + y).mean())
    assert decide.evppi_regression(profit, x[:, None]) == pytest.approx(exact, rel=0.03)
    assert decide.evppi_regression(profit, np.ones((n, 1))) == 0.0  # a certain input: worth nothing


def scenario(**market):
    data = small_scenario_dict()
    data["offerings"][1] |= {"unit_cost": 15.0, "unit_cost_uncertainty": 0.2}
    data["market"] = {"draws": 400, "price_grid": {"min": 30, "max": 70, "steps": 41}, **market}
    return scenario_from_dict(data)


def test_expected_profit_choice_is_the_simulators_optimum():
    s = scenario()
    decision = decide.decide(s)
    results = simulate(s)
    mean = results.profit.mean("draw")
    best = mean.where(mean == mean.max(), drop=True)
    assert decision.choice == {"price": float(best.price[0]), "variant": str(best.variant.values[0])}
    row = decision.candidates.set_index(["price", "variant"]).loc[
        (decision.choice["price"], decision.choice["variant"])
    ]
    assert row.expected_profit == pytest.approx(float(mean.max()), rel=1e-12)
    assert decision.candidates.p_best.sum() == pytest.approx(1.0)
    assert (decision.candidates.regret >= 0).all() and row.regret == pytest.approx(decision.evpi, rel=1e-9)
    assert (
        decision.evppi["competitor costs"] == 0.0 or decision.evppi["competitor costs"] < 0.01 * decision.evpi
    )
    assert decision.evppi["our unit cost"] == 0.0
    assert all(0 <= v <= decision.evpi * 1.05 for v in decision.evppi.values())
    assert (
        analysis.expected_best_price(results).sel(variant=decision.choice["variant"])
        == decision.choice["price"]
    )


def test_constraints_shape_the_candidates():
    s = scenario()
    constrained = decide.decide(
        s, constraints=decide.Constraints(price_floor=40, price_ceiling=60, ending=0.99, prices=(47.5,))
    )
    prices = constrained.candidates.price.unique()
    assert set(np.round(prices % 1, 2)) == {0.99, 0.5} and prices.min() > 40 and prices.max() < 60
    assert 47.5 in prices
    high_share = decide.decide(s, constraints=decide.Constraints(min_share=0.3))
    assert (high_share.candidates.share >= 0.3).all()
    with pytest.raises(PricingError, match="min share 99.0%: no candidate reaches it"):
        decide.decide(s, constraints=decide.Constraints(min_share=0.99))
    with pytest.raises(PricingError, match="no candidate price"):
        decide.decide(s, constraints=decide.Constraints(price_floor=80))


def test_risk_averse_and_beat_today_objectives_pick_differently_when_they_should():
    s = scenario()
    expected = decide.decide(s)
    cvar = decide.decide(s, objective="cvar:0.1")
    row = cvar.candidates.set_index(["price", "variant"])
    chosen = row.loc[(cvar.choice["price"], cvar.choice["variant"])]
    assert chosen.objective == pytest.approx(row.objective.max())
    assert chosen.objective == pytest.approx(np.sort(cvar.choice_profit)[:40].mean())
    beat = decide.decide(s, objective="p_beat_today")
    assert 0 <= beat.candidates.objective.max() <= 1
    assert (beat.choice_profit > beat.today_profit).mean() == pytest.approx(beat.candidates.objective.max())
    assert expected.candidates.expected_profit.max() >= cvar.candidates.expected_profit.max() - 1e-9


def test_decide_with_reaction_uses_the_rivals_best_responses():
    s = scenario(draws=40, price_grid={"min": 30, "max": 70, "steps": 9})
    static = decide.decide(s)
    reacting = decide.decide(s, react=True)
    assert reacting.converged == 1.0 and reacting.draws_used == 40
    # with a best-responding rival, a price cut is answered: the rival's cost now carries information
    assert reacting.evppi["competitor costs"] > static.evppi["competitor costs"]
    assert not np.allclose(reacting.candidates.expected_profit, static.candidates.expected_profit)


def test_with_dynamics_the_decision_weighs_the_horizon_and_values_retention_information():
    from pricing.dynamics import simulate_dynamics

    data = small_scenario_dict()
    data["market"] = {"draws": 300, "price_grid": {"min": 25, "max": 70, "steps": 19}}
    data["dynamics"] = {"horizon": 12, "retention": {"churn": [0.02, 0.4], "satisfaction_effect": 5.0}}
    s = scenario_from_dict(data)
    decision = decide.decide(s)
    npv = simulate_dynamics(s, per_period=False).npv.mean("draw")
    best = npv.where(npv == npv.max(), drop=True)
    assert decision.choice == {"price": float(best.price[0]), "variant": str(best.variant.values[0])}
    assert decision.candidates.expected_profit.max() == pytest.approx(float(npv.max()), rel=1e-9)
    # how fast customers leave decides between the variants here: the most valuable thing to learn
    assert max(decision.evppi, key=decision.evppi.get) == "retention"
    assert 0.3 * decision.evpi < decision.evppi["retention"] <= decision.evpi * 1.05
    assert any("net present value over 12 periods" in note for note in decision.notes)
