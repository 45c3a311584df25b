"""Value over time: hand-checked trajectories, CLV closed forms, the one-period limit, drift and retention."""

import math
import re

import numpy as np
import pytest
from conftest import SCENARIOS, small_scenario_dict
from scipy.special import betaln, expit

from pricing import dynamics
from pricing.dynamics import churn_probability, loyalty_classes, simulate_dynamics
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import scenario_from_dict
from pricing.simulate import segment_parameters, simulate


def two_offering_dict(dynamics: dict | None = None) -> dict:
    """One segment of 1000, us (support 7) and a rival (support 5, the expectation) at the same price 10,
    logit scale 2 without a none option: shares are expit(+-gap / 2), by hand."""
    data = {
        "schema_version": 1,
        "name": "two offerings",
        "attributes": [{"name": "support", "kano": "one_dimensional"}],
        "segments": [
            {
                "name": "everyone",
                "size": 1000,
                "wtp": {"median": 20.0, "spread": 0.2, "uncertainty": 0.0},
                "logit_scale": 2.0,
                "expectations": {"support": 5},
                "value_per_unit": {"support": 1.0},
            }
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 10.0, "unit_cost": 4.0, "levels": {"support": 7}},
            {"name": "Rival", "price": 10.0, "levels": {"support": 5}},
        ],
        "market": {"draws": 2, "none_option": False, "price_grid": {"min": 8, "max": 12, "steps": 3}},
    }
    if dynamics is not None:
        data["dynamics"] = dynamics
    return data


def test_worked_two_period_example_by_hand():
    """The README's example: churn 10%, satisfaction effect 2, drift at rate 1, discount 5%."""
    scenario = scenario_from_dict(
        two_offering_dict(
            {
                "horizon": 2,
                "discount_rate": 0.05,
                "retention": {"churn": 0.1, "satisfaction_effect": 2},
                "adaptation": {"support": 1},
            }
        )
    )
    result = simulate_dynamics(scenario).sel(price=10.0, variant="base", segment="everyone").isel(draw=0)
    # period 0: differentiation +2 (ours) and 0 (rival); shares expit(+-1); satisfaction 100 tanh(2 / 20)
    q = expit(1.0)
    ours_0, rival_0 = 1000 * q, 1000 * (1 - q)
    satisfaction_0 = 100 * math.tanh(0.1)
    odds = 0.1 / 0.9 * math.exp(-2 * satisfaction_0 / 100)
    churn_ours, churn_rival = odds / (1 + odds), 0.1
    # period 1: expectations move to the best level offered (7); ours now meets it, the rival falls 2 short,
    # so the shares are the same, satisfaction is 0 (ours) and 100 tanh(-0.1) (rival)
    pool = ours_0 * churn_ours + rival_0 * churn_rival
    ours_1 = ours_0 * (1 - churn_ours) + q * pool
    rival_1 = rival_0 * (1 - churn_rival) + (1 - q) * pool
    active = result.active.sel(offering=["Ours", "Rival"]).values
    np.testing.assert_allclose(active[:, 0], [ours_0, rival_0], rtol=1e-12)
    np.testing.assert_allclose(active[:, 1], [ours_1, rival_1], rtol=1e-12)
    np.testing.assert_allclose(
        result.satisfaction.sel(offering="Ours").values, [satisfaction_0, 0.0], atol=1e-9
    )
    np.testing.assert_allclose(result.satisfaction.sel(offering="Rival").values[1], 100 * math.tanh(-0.1))
    np.testing.assert_allclose(result.expectations.sel(attribute="support").values, [5.0, 7.0])
    np.testing.assert_allclose(result.churned.sel(offering="Ours").values, [0, ours_0 * churn_ours])
    np.testing.assert_allclose(result.acquired.sel(offering="Ours").values, [ours_0, q * pool])
    np.testing.assert_allclose(result.profit.values, [6 * ours_0, 6 * ours_1])
    np.testing.assert_allclose(float(result.npv), 6 * ours_0 + 6 * ours_1 / 1.05)
    np.testing.assert_allclose(float(result.clv), 6 + 6 * (1 - churn_ours) / 1.05)
    np.testing.assert_allclose(float(result.customers_end), ours_1)
    # customers are neither created nor lost without entry
    np.testing.assert_allclose(result.active.sum("offering").values, [1000, 1000])


@pytest.mark.parametrize(("churn", "discount"), [(0.1, 0.02), (0.3, 0.0), (0.05, 0.1)])
def test_clv_of_constant_retention_is_the_geometric_closed_form(churn, discount):
    """CLV = m (1 - x^H) / (1 - x), x = r / (1 + d); as H grows, m (1 + d) / (1 + d - r)."""
    horizon = 400
    scenario = scenario_from_dict(
        two_offering_dict({"horizon": horizon, "discount_rate": discount, "retention": {"churn": churn}})
    )
    result = simulate_dynamics(scenario, per_period=False)
    margin = result.price.values - 4.0
    r = 1 - churn
    x = r / (1 + discount)
    expected = margin * (1 - x**horizon) / (1 - x)
    np.testing.assert_allclose(result.clv.isel(draw=0, segment=0, variant=0).values, expected, rtol=1e-12)
    np.testing.assert_allclose(expected, margin * (1 + discount) / (1 + discount - r), rtol=1e-9)


def test_no_effects_reproduce_the_one_period_simulator_in_every_period():
    data = small_scenario_dict()
    data["market"]["draws"] = 40
    data["dynamics"] = {"horizon": 6, "discount_rate": 0.01, "retention": {"churn": [0.02, 0.2]}}
    scenario = scenario_from_dict(data)
    one = simulate(scenario)
    result = simulate_dynamics(scenario)
    ours = scenario.our_offering.name
    for t in range(6):
        period = result.isel(period=t)
        np.testing.assert_allclose(period.active.sel(offering=ours).values, one.volume.values, rtol=1e-10)
        np.testing.assert_allclose(period.profit.values, one.profit.values, rtol=1e-10)
        np.testing.assert_allclose(period.active.values, (one.share * one.segment_size).values, rtol=1e-10)
    np.testing.assert_allclose(result.one_period_profit.values, one.profit.values, rtol=1e-12)
    discount = 1.01 ** -np.arange(6)
    np.testing.assert_allclose(result.npv.values, one.profit.values * discount.sum(), rtol=1e-10)


def test_with_entry_the_market_grows_but_keeps_the_one_period_shares():
    data = small_scenario_dict()
    data["market"]["draws"] = 10
    data["dynamics"] = {"horizon": 4, "retention": {"churn": 0.05}, "entry_rate": 0.1}
    scenario = scenario_from_dict(data)
    one = simulate(scenario)
    result = simulate_dynamics(scenario)
    size = one.segment_size * (1 + 0.1 * result.period)
    np.testing.assert_allclose(
        result.active.values, (one.share * size).transpose(*result.active.dims).values, rtol=1e-10
    )


def test_churn_probability_falls_with_satisfaction_and_effect():
    theta = np.array([0.02, 0.1, 0.5])[:, None, None]
    effect = np.array([0.0, 1.0, 3.0])[None, :, None]
    satisfaction = np.array([-50.0, 0.0, 40.0])[None, None, :]
    churn = churn_probability(theta, effect, satisfaction)
    np.testing.assert_allclose(churn[:, :, 1], np.broadcast_to(theta[:, :, 0], (3, 3)))  # S = 0: baseline
    np.testing.assert_allclose(churn[:, 0], np.broadcast_to(theta[:, 0], (3, 3)))  # k = 0: baseline
    assert np.all(np.diff(churn[:, 1:], axis=2) < 0)  # more satisfied, less churn (k > 0)
    assert np.all(np.diff(churn[:, :, 2], axis=1) < 0)  # satisfied: a larger effect lowers churn
    odds = 0.1 / 0.9 * math.exp(-3 * 0.4)
    np.testing.assert_allclose(churn[1, 2, 2], odds / (1 + odds))


@pytest.mark.parametrize("effect", [0.5, 2.0, 6.0])
def test_a_higher_satisfaction_effect_never_lowers_the_retention_of_the_more_satisfying_offering(effect):
    def retention(k):
        scenario = scenario_from_dict(
            two_offering_dict({"horizon": 3, "retention": {"churn": 0.1, "satisfaction_effect": k}})
        )
        result = simulate_dynamics(scenario).isel(draw=0, segment=0, variant=0)
        # ours is the more satisfying offering: churned at t+1 / active at t
        churned = result.churned.sel(offering="Ours").values[:, 1:]
        return 1 - churned / result.active.sel(offering="Ours").values[:, :-1]

    base, higher = retention(effect), retention(effect * 2)
    assert np.all(higher >= base)
    assert np.all(higher > 0.9)


def test_drift_at_rate_one_makes_last_periods_best_level_the_expectation():
    data = small_scenario_dict()
    data["market"]["draws"] = 5
    data["dynamics"] = {"horizon": 3, "retention": {"churn": 0.1}, "adaptation": {"speed": 1, "warranty": 1}}
    scenario = scenario_from_dict(data)
    result = simulate_dynamics(scenario)
    expectations = result.expectations
    for variant in scenario.variants:
        for segment in scenario.segments:
            for attribute in scenario.attribute_names:
                offered = [
                    (o.levels | variant.levels).get(attribute) if o.owner == "us" else o.levels.get(attribute)
                    for o in scenario.offerings
                ]
                start = segment.expectations.get(attribute, 0.0)
                best = max(start if level is None else level for level in offered)
                got = expectations.sel(segment=segment.name, variant=variant.name, attribute=attribute)
                np.testing.assert_allclose(got.isel(period=0).values, start)
                np.testing.assert_allclose(got.isel(period=1).values, best)
                np.testing.assert_allclose(got.isel(period=2).values, best)


def test_drift_toward_a_delight_everyone_gets_makes_it_stop_delighting():
    """Ours exceeds the expectation by 2: with partial drift the excess, and its satisfaction, shrink."""
    scenario = scenario_from_dict(
        two_offering_dict({"horizon": 5, "retention": {"churn": 0.1}, "adaptation": {"support": 0.5}})
    )
    result = simulate_dynamics(scenario).isel(draw=0, segment=0, variant=0)
    np.testing.assert_allclose(result.expectations.values[0], [5, 6, 6.5, 6.75, 6.875])
    satisfaction = result.satisfaction.sel(offering="Ours").values
    np.testing.assert_allclose(satisfaction, 100 * np.tanh((7 - result.expectations.values[0]) / 20))
    rival = result.satisfaction.sel(offering="Rival").values
    assert np.all(np.diff(rival) < 0)  # the rival now falls short of what is expected


def drifting_scenario(draws: int = 40) -> dict:
    """The small scenario (logit with a none option) with uncertain drift on both attributes; churn 1 - 1e-9
    and no effects, so each period's customers are that period's choices: share x segment size."""
    data = small_scenario_dict()
    data["market"] |= {"draws": draws, "choice_rule": "logit", "none_option": True}
    data["market"]["price_grid"] = {"min": 5, "max": 400, "steps": 40}  # far beyond the WTP: a wide table
    data["dynamics"] = {
        "horizon": 6,
        "retention": {"churn": 1 - 1e-9},
        "adaptation": {"speed": [0.1, 0.6], "warranty": [0.0, 0.4]},
    }
    return data


def test_drifting_periods_read_one_table_and_match_the_simulator_rerun_each_period():
    # Before, each drifting period reran `simulate` with that period's expectations; now one purchase table
    # per draw and segment serves every period. The customers of each period are the simulator's own
    # choices at that period's expectations, within the tables' accuracy (pricing.market).
    scenario = scenario_from_dict(drifting_scenario())
    parameters = segment_parameters(scenario, 40, np.random.default_rng(scenario.seed))
    result = simulate_dynamics(scenario, parameters=parameters)
    size = np.array([s.size for s in scenario.segments])[:, None, None, None]
    assert float(np.abs(result.expectations.diff("period")).max()) > 0.1  # the expectations do drift
    for t in range(result.sizes["period"]):
        expected = result.expectations.isel(period=t).transpose("draw", "segment", "variant", "attribute")
        one = simulate(scenario, parameters=parameters | {"expectations": expected.values})
        active = result.active.isel(period=t).transpose(*one.share.dims).values
        np.testing.assert_allclose(active / size, one.share.values, rtol=0, atol=1e-4)  # 1.8e-5 seen
        np.testing.assert_allclose(
            result.satisfaction.isel(period=t).values, one.satisfaction.values, rtol=1e-12, atol=1e-12
        )


def test_the_same_numbers_however_the_draws_are_split_into_blocks(monkeypatch):
    scenario = scenario_from_dict(drifting_scenario(draws=30) | {"dynamics": drifting_scenario()["dynamics"]})
    whole = simulate_dynamics(scenario)
    monkeypatch.setattr(dynamics, "DYNAMICS_BLOCK_CELLS", 1)  # one draw per block
    split = simulate_dynamics(scenario)
    monkeypatch.setattr(dynamics, "MAX_THREADS", 1)
    serial = simulate_dynamics(scenario)
    for name in whole.data_vars:
        np.testing.assert_array_equal(split[name].values, whole[name].values)
        np.testing.assert_array_equal(serial[name].values, whole[name].values)


def test_referral_moves_non_buyers_to_the_satisfying_offering_by_hand():
    data = two_offering_dict({"horizon": 2, "retention": {"churn": 0.0}, "referral": {"rate": 0.1}})
    data["market"]["none_option"] = True
    scenario = scenario_from_dict(data)
    result = simulate_dynamics(scenario).isel(draw=0, segment=0, variant=0).sel(price=10.0)
    active = result.active.values  # offering, period
    idle_0 = 1000 - active[:, 0].sum()
    referred = 0.1 * active[:, 0] * idle_0 / 1000
    np.testing.assert_allclose(result.referred.values[:, 1], referred, rtol=1e-12)
    np.testing.assert_allclose(
        active[:, 1], active[:, 0] + referred, rtol=1e-12
    )  # no churn: nobody re-chooses


def test_loyalty_classes_reproduce_the_sbg_survival():
    alpha, beta = np.array([0.7, 3.0]), np.array([1.2, 8.0])
    theta, weight = loyalty_classes(alpha, beta)
    t = np.arange(0, 25)
    approx = ((1 - theta[..., None]) ** t * weight[None, :, None]).sum(axis=1)
    exact = np.exp(betaln(alpha[:, None], beta[:, None] + t) - betaln(alpha, beta)[:, None])
    np.testing.assert_allclose(approx, exact, atol=2e-3)


def test_same_seed_same_numbers_and_ranges_vary_by_draw():
    data = small_scenario_dict()
    data["market"]["draws"] = 50
    data["dynamics"] = {
        "horizon": 4,
        "retention": {"churn": [0.02, 0.2], "satisfaction_effect": [0, 4]},
        "referral": {"rate": [0, 0.05], "satisfaction_effect": 1},
        "adaptation": {"speed": [0.1, 0.3]},
    }
    scenario = scenario_from_dict(data)
    first, second = simulate_dynamics(scenario), simulate_dynamics(scenario)
    for name in first.data_vars:
        np.testing.assert_array_equal(first[name].values, second[name].values)
    assert float(first.npv.std("draw").max()) > 0
    assert all(np.isfinite(first[name].values).all() for name in first.data_vars)


def test_too_large_a_run_is_refused_naming_the_sizes():
    data = small_scenario_dict()
    data["market"]["draws"] = 20000
    data["dynamics"] = {"horizon": 600}
    with pytest.raises(ScenarioError, match="periods"):
        simulate_dynamics(scenario_from_dict(data))


@pytest.mark.parametrize(
    ("dynamics", "message"),
    [
        ({"retention": {"churn": [0.3, 0.1]}}, "low <= high"),
        ({"retention": {"churn": 1}}, "below 1"),
        ({"retention": {}}, "either churn or a posterior"),
        ({"adaptation": {"colour": 0.1}}, "unknown attribute"),
        ({"segments": {"nobody": {"entry_rate": 0.1}}}, "unknown segment"),
        ({"horizon": 0}, "horizon"),
        ({"referral": {"rate": "lots"}}, "number or a range"),
    ],
)
def test_bad_dynamics_sections_name_the_field(dynamics, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(two_offering_dict(dynamics))


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("churn", np.nan, "dynamics['churn']: holds NaN"),
        ("churn", 1.5, "dynamics['churn']: every value must lie in [0, 1]"),
        ("adaptation", -0.1, "dynamics['adaptation']: every value must lie in [0, 1]"),
        ("referral_rate", -0.1, "dynamics['referral_rate']: every value must lie in [0, inf]"),
        ("retention_effect", np.inf, "dynamics['retention_effect']: holds NaN"),
        ("class_weight", 0.5, "dynamics['class_weight']: the loyalty classes' weights must sum to 1"),
    ],
)
def test_caller_dynamics_parameters_out_of_range_are_refused_by_name(name, bad, message):
    """Hostile input through the API: each once ran to NaN customers printed as results."""
    scenario = scenario_from_dict(two_offering_dict({"retention": {"churn": 0.1}}))
    rates = dynamics.dynamics_parameters(scenario, 2, np.random.default_rng(0))
    rates[name].flat[0] = bad
    with pytest.raises(PricingError, match=re.escape(message)):
        simulate_dynamics(scenario, horizon=3, dynamics=rates)
    parameters = segment_parameters(scenario, 2, np.random.default_rng(0))
    parameters["wtp_log_median"][0, 0] = np.nan  # once an IndexError in pricing.market
    with pytest.raises(PricingError, match=re.escape("parameters['wtp_log_median']: holds NaN")):
        simulate_dynamics(scenario, horizon=3, parameters=parameters)


def test_a_trajectory_beyond_float64_is_refused_naming_the_variable_and_segment():
    scenario = scenario_from_dict(two_offering_dict({"retention": {"churn": 0.1}}))
    rates = dynamics.dynamics_parameters(scenario, 2, np.random.default_rng(0))
    rates["entry_rate"][:] = 1e307  # in range, but 1000 x 1e307 entrants per period overflow
    with pytest.raises(PricingError, match="customers_end is not finite for segment.s. everyone"):
        simulate_dynamics(scenario, horizon=3, dynamics=rates, per_period=False)


def test_files_without_dynamics_are_unchanged():
    scenario = scenario_from_dict(small_scenario_dict())
    assert scenario.dynamics is None and scenario.period == "month"


def test_bundled_scenario_over_delivery_loses_one_period_but_wins_on_npv():
    from pricing.dynamics import clv_table, decision_sentence, npv_summary, value_over_time
    from pricing.scenario import load_scenario, with_changes

    scenario = with_changes(load_scenario(SCENARIOS / "it_managed_service.yaml"), {"market.draws": 300})
    totals, periods = value_over_time(scenario)
    summary = npv_summary(totals).set_index("variant")
    assert summary.one_period_profit_mean.idxmax() == "+ faster response"
    assert summary.npv_mean.idxmax() == "delight"
    assert summary.loc["delight", "p_highest_npv"] > 0.5
    assert summary.p_highest_npv.sum() == pytest.approx(1.0)
    clv = clv_table(totals, summary.reset_index()).set_index(["variant", "segment"]).clv_mean
    for segment in ("small offices", "mid-market", "regulated"):
        assert clv["delight", segment] > clv["+ faster response", segment]
    sentence = decision_sentence(summary.reset_index(), 24, "month")
    assert "'delight'" in sentence and "'+ faster response'" in sentence
    # the per-period run at the decision prices repeats the grid's numbers there (up to the simulator's
    # interpolation table, which spans the prices of each call)
    for variant, row in summary.iterrows():
        grid = totals.npv.sel(variant=variant, price=row.npv_best_price)
        again = periods.npv.sel(variant=variant, price=row.npv_best_price)
        np.testing.assert_allclose(again.values, grid.values, rtol=1e-6)
    discount = 1.008**-periods.period
    np.testing.assert_allclose(
        (periods.profit * discount).sum("period").values, periods.npv.values, rtol=1e-12
    )


def test_per_period_table_and_cli_horizon(tmp_path, capsys):
    import pandas as pd
    import xarray as xr

    from pricing.cli import main
    from pricing.scenario import save_scenario

    data = two_offering_dict({"horizon": 3, "discount_rate": 0.05, "retention": {"churn": 0.1}})
    save_scenario(scenario_from_dict(data), tmp_path / "s.yaml")
    assert (
        main(["simulate", str(tmp_path / "s.yaml"), "--horizon", "2", "-o", str(tmp_path / "out.csv")]) == 0
    )
    out = capsys.readouterr().out
    assert "over 2 months" in out and "P(highest NPV)" in out
    table = pd.read_csv(tmp_path / "out.csv")
    assert set(table.period) == {0, 1}
    ours = table[(table.metric == "active") & (table.offering == "Ours") & (table.segment == "all")]
    np.testing.assert_allclose(
        ours[ours.price == 10.0].sort_values("period")["mean"].iloc[0], 1000 * expit(1.0)
    )
    npv = table[(table.metric == "npv_to_date") & (table.price == 10.0)].sort_values("period")["mean"].values
    profit = table[(table.metric == "profit") & (table.price == 10.0)].sort_values("period")["mean"].values
    np.testing.assert_allclose(npv, np.cumsum(profit / 1.05 ** np.arange(2)))
    assert main(["simulate", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "out.nc")]) == 0
    with xr.open_dataset(tmp_path / "out.nc") as saved:
        assert saved.sizes["period"] == 3 and "npv_by_price" in saved
    with pytest.raises(SystemExit) as exit_status:
        main(["simulate", str(tmp_path / "s.yaml"), "--horizon", "-1"])
    assert exit_status.value.code == 2


def state_equations_by_hand(scenario, parameters, rates, horizon):
    """The module docstring's state equations written out in numpy, one period at a time (one loyalty class),
    each period's shares and satisfaction from `simulate` rerun at that period's expectations (the
    drift written out too). Returns our customers (draw, segment, price, variant, period) and NPV."""
    sizes = np.array([s.size for s in scenario.segments])[None, :, None, None, None]
    theta = rates["churn"][:, :, 0][:, :, None, None, None]  # d, s, 1, 1, 1
    k_ret, rho, k_ref = (
        rates[n][:, :, None, None, None] for n in ("retention_effect", "referral_rate", "referral_effect")
    )
    entry = rates["entry_rate"][:, :, None, None] * sizes[:, :, 0]  # d, s, 1, 1
    levels = dynamics.offering_levels(scenario)  # o, v, a
    expected = np.broadcast_to(
        dynamics.segment_expectations(scenario)[None, :, None],
        (len(theta), len(scenario.segments), *levels.shape[1:]),
    ).copy()
    best = np.full_like(expected, -np.inf)

    def market(expected):
        one = simulate(scenario, parameters=parameters | {"expectations": expected})
        share = one.share.values  # d, s, o, p, v
        return share, 1 - share.sum(axis=2), one.satisfaction.values[:, :, :, None, :]  # d, s, o, 1, v

    share, none, satisfaction = market(expected)
    active, idle, size = share * sizes, none * sizes[:, :, 0], sizes[:, :, 0] + 0.0
    ours, npv = [], 0.0
    margin = (
        np.array(scenario.price_grid())[:, None]
        - scenario.our_offering.median_unit_cost
        - np.array([v.extra_unit_cost for v in scenario.variants])
    )
    fixed = np.array([v.fixed_cost for v in scenario.variants])
    for t in range(horizon):
        ours.append(active[:, :, 0])
        npv = (
            npv
            + ((active[:, :, 0] * margin).sum(axis=1) - fixed) / (1 + scenario.dynamics.discount_rate) ** t
        )
        odds = theta / (1 - theta) * np.exp(-k_ret * satisfaction / 100)
        churned = active * odds / (1 + odds)
        referred = (
            np.minimum(1, rho * np.exp(k_ref * satisfaction / 100)) * active * (idle / size)[:, :, None]
        )
        idle = idle - referred.sum(axis=2)
        pool = churned.sum(axis=2) + theta[:, :, 0] * idle + entry
        offered = np.where(np.isnan(levels)[None, None], expected[:, :, None], levels[None, None])
        best = np.maximum(best, offered.max(axis=2))
        expected = expected + rates["adaptation"][:, None, None, :] * (best - expected)
        share, none, satisfaction = market(expected)
        active = active - churned + referred + share * pool[:, :, None]
        idle = idle * (1 - theta[:, :, 0]) + none * pool
        size = size + entry
    return np.stack(ours, axis=-1), npv


@pytest.mark.parametrize("rule", ["first_choice", "logit"])
def test_every_flow_together_follows_the_state_equations_by_hand(rule):
    # churn with a satisfaction effect, referral, entry and drift at once, against the equations written
    # out in numpy: exact (round-off) where each period reruns the simulator (first choice), within the
    # purchase table's accuracy where the compiled kernel reads it (logit)
    data = drifting_scenario(draws=6)
    data["market"] |= {"choice_rule": rule, "price_grid": {"min": 20, "max": 120, "steps": 5}}
    data["dynamics"] = {
        "horizon": 5,
        "discount_rate": 0.02,
        "retention": {"churn": [0.05, 0.3], "satisfaction_effect": [1, 4]},
        "referral": {"rate": [0.05, 0.2], "satisfaction_effect": 2},
        "entry_rate": [0.01, 0.05],
        "adaptation": {"speed": [0.2, 0.7], "warranty": [0.1, 0.5]},
    }
    scenario = scenario_from_dict(data)
    parameters = segment_parameters(scenario, 6, np.random.default_rng(scenario.seed))
    rates = dynamics.dynamics_parameters(
        scenario, 6, np.random.default_rng([scenario.seed, dynamics.RNG_STREAM])
    )
    result = simulate_dynamics(scenario, parameters=parameters, dynamics=rates)
    ours, npv = state_equations_by_hand(scenario, parameters, rates, 5)
    assert float(np.abs(np.diff(ours, axis=-1)).max()) > 1.0  # the customers do move
    tolerance = 1e-10 if rule == "first_choice" else 2e-4
    active = result.active.isel(offering=0).transpose("draw", "segment", "price", "variant", "period").values
    np.testing.assert_allclose(active, ours, rtol=tolerance)
    np.testing.assert_allclose(result.npv.values, npv, rtol=tolerance)
