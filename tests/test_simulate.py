"""The simulator: hand-checked shares, the examples' sanity, determinism and properties (hypothesis)."""

import re

import numpy as np
import pytest
from conftest import EXAMPLE_FILES, SCENARIOS, monopoly_dict, small_scenario_dict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from pricing import analysis, value
from pricing.dims import DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import load_scenario, scenario_from_dict, with_changes
from pricing.simulate import check_parameters, offering_levels, segment_parameters, simulate


def duopoly_dict(spread=0.3, nodes=16, choice_rule="logit", none_option=True) -> dict:
    """One segment (median WTP 50, logit scale 5, no uncertainty), us and a rival, one attribute."""
    return {
        "schema_version": 1,
        "name": "duopoly",
        "attributes": [{"name": "quality", "kano": "one_dimensional"}],
        "segments": [
            {
                "name": "everyone",
                "size": 2000,
                "wtp": {"median": 50.0, "spread": spread, "uncertainty": 0.0},
                "logit_scale": 5.0,
                "expectations": {"quality": 5},
                "value_per_unit": {"quality": 4.0},
            }
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 48.0, "unit_cost": 20.0, "levels": {"quality": 7}},
            {"name": "Rival", "price": 40.0, "levels": {"quality": 4}},
        ],
        "variants": [{"name": "base"}, {"name": "better", "levels": {"quality": 9}, "fixed_cost": 1000.0}],
        "market": {
            "draws": 3,
            "choice_rule": choice_rule,
            "none_option": none_option,
            "integration_nodes": nodes,
            "price_grid": {"min": 30, "max": 70, "steps": 41},
        },
    }


# ---- hand-checked arithmetic ---------------------------------------------------------------------------


def test_two_offering_logit_share_closed_form():
    # Median customer: WTP 50; our differentiation 4 x (7 - 5) = 8, the rival's 4 x (4 - 5) = -4.
    # At our price 48: u_ours = (50 + 8 - 48) / 5 = 2, u_rival = (50 - 4 - 40) / 5 = 1.2, none = 0:
    # share_ours = e^2 / (1 + e^2 + e^1.2) = 7.389 / 11.709 = 0.6311, share_rival = 3.320 / 11.709 = 0.2836.
    results = simulate(scenario_from_dict(duopoly_dict(nodes=1)))
    at = results.share.sel({PRICE: 48.0, VARIANT: "base"}).isel({DRAW: 0, SEGMENT: 0})
    assert float(at.sel({OFFERING: "Ours"})) == pytest.approx(0.6311, abs=1e-4)
    assert float(at.sel({OFFERING: "Rival"})) == pytest.approx(0.2836, abs=1e-4)
    # Every price and both variants (ours 4 x (9 - 5) = 16 with "better"): the closed form.
    prices = results[PRICE].values
    for variant, ours_value in (("base", 8.0), ("better", 16.0)):
        u_ours = (50 + ours_value - prices) / 5
        u_rival = (50 - 4 - 40) / 5
        denominator = 1 + np.exp(u_ours) + np.exp(u_rival)
        got = results.share.sel({VARIANT: variant}).isel({DRAW: 0, SEGMENT: 0})
        np.testing.assert_allclose(got.sel({OFFERING: "Ours"}), np.exp(u_ours) / denominator, rtol=1e-12)
        np.testing.assert_allclose(got.sel({OFFERING: "Rival"}), np.exp(u_rival) / denominator, rtol=1e-12)
        # surplus per customer is the logsum scale x log(1 + sum e^u), times 2000 customers
        surplus = results.surplus.sel({VARIANT: variant}).isel({DRAW: 0, SEGMENT: 0})
        np.testing.assert_allclose(surplus, 2000 * 5 * np.log(denominator), rtol=1e-12)


def test_tiny_spread_with_quadrature_matches_closed_form():
    # With a WTP spread of 1e-4 the integral over customers is the median customer's closed form.
    results = simulate(scenario_from_dict(duopoly_dict(spread=1e-4, nodes=16)))
    prices = results[PRICE].values
    u_ours, u_rival = (58 - prices) / 5, 1.2
    expected = np.exp(u_ours) / (1 + np.exp(u_ours) + np.exp(u_rival))
    got = results.share.sel({VARIANT: "base", OFFERING: "Ours"}).isel({DRAW: 0, SEGMENT: 0})
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_shares_integrate_over_customers_like_brute_force():
    # WTP spread 0.5: the segment's share is the mean over customers of each customer's logit share.
    results = simulate(scenario_from_dict(duopoly_dict(spread=0.5)))
    u = (np.arange(20_000) + 0.5) / 20_000
    wtp = 50 * np.exp(0.5 * stats.norm.ppf(u))
    prices = results[PRICE].values
    ours = np.exp((wtp[None] + 8 - prices[:, None]) / 5)
    rival = np.exp((wtp[None] - 4 - 40) / 5)
    expected_ours = (ours / (1 + ours + rival)).mean(axis=1)
    expected_rival = (rival / (1 + ours + rival)).mean(axis=1)
    got = results.share.sel({VARIANT: "base"}).isel({DRAW: 0, SEGMENT: 0})
    np.testing.assert_allclose(got.sel({OFFERING: "Ours"}), expected_ours, atol=1e-3)
    np.testing.assert_allclose(got.sel({OFFERING: "Rival"}), expected_rival, atol=1e-3)


def test_logit_without_none_option_shares_sum_to_one():
    results = simulate(scenario_from_dict(duopoly_dict(none_option=False)))
    np.testing.assert_allclose(results.share.sum(OFFERING), 1.0, rtol=1e-12)
    prices = results[PRICE].values
    expected = 1 / (1 + np.exp(((50 - 4 - 40) - (50 + 8 - prices)) / 5))  # binary logit
    got = results.share.sel({VARIANT: "base", OFFERING: "Ours"}).isel({DRAW: 0, SEGMENT: 0})
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_first_choice_against_scipy_lognormal():
    # Net values: ours 8 - p, the rival 46 - 40 - 50 = -4 - 40 = -44 (relative to WTP). We win while
    # 8 - p > -44, i.e. p < 52, and then a customer buys iff WTP > p - 8; above 52 the rival takes
    # everyone whose WTP exceeds 44. At p = 52 the two tie and split the buyers evenly.
    results = simulate(scenario_from_dict(duopoly_dict(choice_rule="first_choice")))
    wtp = stats.lognorm(s=0.3, scale=50.0)
    share = results.share.sel({VARIANT: "base"}).isel({DRAW: 0, SEGMENT: 0})
    for price in results[PRICE].values:
        ours, rival = (
            float(share.sel({OFFERING: "Ours", PRICE: price})),
            float(share.sel({OFFERING: "Rival", PRICE: price})),
        )
        if price < 52:
            assert (ours, rival) == pytest.approx((wtp.sf(price - 8), 0.0), abs=1e-12)
        elif price > 52:
            assert (ours, rival) == pytest.approx((0.0, wtp.sf(44)), abs=1e-12)
        else:
            assert (ours, rival) == pytest.approx((wtp.sf(44) / 2, wtp.sf(44) / 2), abs=1e-12)
    surplus = results.surplus.sel({VARIANT: "base", PRICE: 40.0}).isel({DRAW: 0, SEGMENT: 0})
    expected = wtp.expect(lambda w: w - 32.0, lb=32.0)  # E[max(w + 8 - 40, 0)] per customer
    assert float(surplus) == pytest.approx(2000 * expected, rel=1e-6)


def test_money_and_satisfaction_follow_from_shares():
    scenario = scenario_from_dict(small_scenario_dict())
    results = simulate(scenario)
    ours = results.share.sel({OFFERING: "Ours"})
    volume = ours * results.segment_size
    np.testing.assert_allclose(results.volume, volume.transpose(*results.volume.dims))
    np.testing.assert_allclose(results.revenue, results.volume * results[PRICE])
    np.testing.assert_allclose(results.unit_cost, [20.0, 23.0])  # unit cost 20, "faster" adds 3
    np.testing.assert_allclose(results.fixed_cost, [0.0, 2000.0])
    margin = results[PRICE] - results.unit_cost
    np.testing.assert_allclose(
        results.contribution, (results.volume * margin).transpose(*results.contribution.dims)
    )
    profit = results.contribution.sum(SEGMENT) - results.fixed_cost
    np.testing.assert_allclose(results.profit, profit.transpose(*results.profit.dims))
    # perceived value = the median customer's WTP + differentiation; satisfaction = 100 tanh(diff / WTP)
    params = segment_parameters(scenario, 50, np.random.default_rng(7))
    median = np.exp(params["wtp_log_median"])[:, :, None, None]
    differentiation = results.perceived_value.values - median
    np.testing.assert_allclose(results.satisfaction, 100 * np.tanh(differentiation / median))
    # Rival in the budget segment: speed 5 = expected, warranty 1 = expected -> differentiation 0
    np.testing.assert_allclose(differentiation[:, 0, 1, :], 0.0, atol=1e-9)
    # Ours in the budget segment, base: speed 6 (+1 x 2 EUR), warranty unlisted = meets expectation -> +2
    np.testing.assert_allclose(differentiation[:, 0, 0, 0], 2.0)
    # "faster": speed 8 -> 3 x 2 = +6
    np.testing.assert_allclose(differentiation[:, 0, 0, 1], 6.0)


def test_offering_levels_merge_variants_into_ours_only():
    scenario = scenario_from_dict(small_scenario_dict())
    levels = offering_levels(scenario)  # (offering, variant, attribute)
    assert levels.shape == (2, 2, 2)
    np.testing.assert_array_equal(levels[0, 0], [6, np.nan])
    np.testing.assert_array_equal(levels[0, 1], [8, np.nan])
    np.testing.assert_array_equal(levels[1, 0], levels[1, 1])


def test_segment_parameters_recover_the_elicited_distribution():
    # Drawn log medians centre on log(median) with sd = uncertainty; value per unit on the stated value.
    scenario = scenario_from_dict(small_scenario_dict())
    params = segment_parameters(scenario, 20_000, np.random.default_rng(1))
    log_median = params["wtp_log_median"]
    assert log_median[:, 0].mean() == pytest.approx(np.log(40), abs=0.005)
    assert log_median[:, 0].std() == pytest.approx(0.1, rel=0.03)
    assert log_median[:, 1].mean() == pytest.approx(0.5 * np.log(50 * 110), abs=0.005)
    np.testing.assert_allclose(params["wtp_log_sd"][:, 0], 0.3)
    value = params["value_per_unit"]
    np.testing.assert_allclose(value[:, 0], [[2.0, 5.0]] * 20_000)  # budget: no value uncertainty
    assert np.log(value[:, 1, 0] / 6.0).std() == pytest.approx(0.2, rel=0.03)
    assert np.median(value[:, 1, 0]) == pytest.approx(6.0, rel=0.01)


def test_given_parameters_are_used():
    scenario = scenario_from_dict(monopoly_dict(spread=1e-4, price_grid=(10.0, 90.0, 9)))
    parameters = {
        "wtp_log_median": np.log([[50.0], [60.0]]),
        "wtp_log_sd": np.full((2, 1), 1e-4),
        "value_per_unit": np.zeros((2, 1, 0)),
        "logit_scale": np.full((2, 1), 5.0),
    }
    results = simulate(scenario, parameters=parameters)
    assert results.sizes[DRAW] == 2
    share = results.share.isel({SEGMENT: 0, OFFERING: 0, VARIANT: 0})
    np.testing.assert_allclose(share.sel({PRICE: 50.0}), [0.5, 1 / (1 + np.exp(-2))], atol=1e-4)


# ---- the examples --------------------------------------------------------------------------------------


def _simulate_example(path, cache={}):  # noqa: B006 - a cache shared by the tests of this module
    if path not in cache:
        scenario = load_scenario(path)
        cache[path] = (scenario, simulate(scenario, draws=300))
    return cache[path]


def test_example_shares_are_probabilities(example_path):
    scenario, results = _simulate_example(example_path)
    share = results.share.values
    assert np.isfinite(share).all()
    assert share.min() >= 0 and share.max() <= 1
    assert share.sum(axis=2).max() <= 1 + 1e-9
    for name in ("volume", "revenue", "contribution", "profit", "surplus", "satisfaction", "perceived_value"):
        assert np.isfinite(results[name].values).all(), name
    assert results.sizes == {
        DRAW: 300,
        SEGMENT: len(scenario.segments),
        OFFERING: len(scenario.offerings),
        PRICE: len(scenario.price_grid()),
        VARIANT: len(scenario.variants),
        "attribute": len(scenario.attributes),
    }
    assert scenario.our_offering.price in results[PRICE].values


def test_example_profit_optimum_is_inside_the_grid(example_path):
    _, results = _simulate_example(example_path)
    prices = results[PRICE].values
    optimum = analysis.expected_best_price(results)
    assert (optimum > prices[0]).all() and (optimum < prices[-1]).all(), optimum.values


def test_example_over_delivery_raises_satisfaction_in_every_segment(example_path):
    scenario, results = _simulate_example(example_path)
    ours = results.satisfaction.sel({OFFERING: scenario.our_offering.name}).mean(DRAW)
    first, last = scenario.variants[0].name, scenario.variants[-1].name
    assert (ours.sel({VARIANT: last}) > ours.sel({VARIANT: first}) + 5).all()


# The elicited examples are built to be real decisions; files fitted from survey data are checked above only.
DECISIONS = [
    SCENARIOS / name for name in ("saas_team_plan.yaml", "robot_vacuum.yaml", "it_managed_service.yaml")
]


@pytest.mark.parametrize("example_path", DECISIONS, ids=lambda p: p.stem)
def test_example_decision_is_not_trivial(example_path):
    _, results = _simulate_example(example_path)
    p_best = analysis.probability_most_profitable(results)
    assert float(p_best.sum()) == pytest.approx(1.0)
    assert float(p_best.max()) < 0.95, p_best.values
    assert int((p_best >= 0.05).sum()) >= 2, p_best.values


@pytest.mark.parametrize("example_path", DECISIONS, ids=lambda p: p.stem)
def test_example_over_delivery_pays_in_some_segments_only(example_path):
    # The "delight" variant's contribution at its own best price beats "meets expectations" at its best price
    # in some segments and loses in others: the single price cannot suit every segment.
    scenario, results = _simulate_example(example_path)
    optimum = analysis.expected_best_price(results)
    first, last = scenario.variants[0].name, scenario.variants[-1].name

    def contribution(variant):
        at = results.contribution.sel({VARIANT: variant, PRICE: float(optimum.sel({VARIANT: variant}))})
        return at.mean(DRAW).values

    gain = contribution(last) - contribution(first)
    assert gain.max() > 0 > gain.min(), gain


# ---- determinism ---------------------------------------------------------------------------------------


def test_same_seed_same_numbers_other_seed_other_numbers():
    scenario = scenario_from_dict(small_scenario_dict())
    a, b = simulate(scenario, draws=40), simulate(scenario, draws=40)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)
    c = simulate(scenario, draws=40, seed=8)
    assert not np.array_equal(a.share.values, c.share.values)
    assert c.attrs["seed"] == 8 and a.attrs["seed"] == 7
    d = simulate(scenario_from_dict({**small_scenario_dict(), "seed": 8}), draws=40)
    np.testing.assert_array_equal(c.share.values, d.share.values)


def test_blocks_and_threads_do_not_change_the_numbers(monkeypatch):
    # The simulator works in blocks of draws on a thread pool; one block in one thread gives the same bits.
    from pricing import simulate as simulate_module

    scenario = scenario_from_dict(small_scenario_dict())
    whole = simulate(scenario, draws=30)
    monkeypatch.setattr(simulate_module, "BLOCK_CELLS", 300)  # 2 draws per block: 15 blocks
    monkeypatch.setattr(simulate_module, "MAX_THREADS", 4)
    blocked = simulate(scenario, draws=30)
    monkeypatch.setattr(simulate_module, "MAX_THREADS", 1)
    serial = simulate(scenario, draws=30)
    for name in ("share", "surplus", "profit"):
        np.testing.assert_array_equal(blocked[name].values, whole[name].values)
        np.testing.assert_array_equal(serial[name].values, whole[name].values)


def test_a_simulation_too_large_for_memory_is_refused_before_allocating():
    # 20,000 draws x 2 segments x 2 offerings x 2,001 prices x 2 variants = 320M shares (2.6 GB)
    scenario = with_changes(
        scenario_from_dict(small_scenario_dict()),
        {"market.draws": 20_000, "market.price_grid.steps": 2000},
    )
    with pytest.raises(
        ScenarioError, match=r"market\.draws: 20,000 draws x 2 segments .* 320,160,000 values"
    ):
        simulate(scenario)
    assert simulate(scenario, draws=100).sizes[DRAW] == 100
    with pytest.raises(ScenarioError, match=r"market\.draws: need at least 1 draw \(got 0\)"):
        simulate(scenario, draws=0)


# ---- properties ----------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def markets(draw, choice_rule=None, none_option=None):
    """Random small markets: 1-3 segments, us + 1-3 rivals, 2 attributes with any Kano shape."""
    kano = st.sampled_from(["must_be", "one_dimensional", "attractive", "indifferent"])
    level = st.floats(0, 10, allow_nan=False)
    n_seg = draw(st.integers(1, 3))
    n_rivals = draw(st.integers(1, 3))
    segments = [
        {
            "name": f"s{i}",
            "size": draw(st.floats(1, 1e5)),
            "wtp": {
                "median": draw(st.floats(5, 500)),
                "spread": draw(st.floats(0.01, 1.5)),
                "uncertainty": draw(st.floats(0, 0.3)),
            },
            "logit_scale": draw(st.floats(0.05, 100)),
            "expectations": {"a": draw(level), "b": draw(level)},
            "value_per_unit": {"a": draw(st.floats(0, 50)), "b": draw(st.floats(0, 50))},
            "value_uncertainty": draw(st.floats(0, 0.5)),
        }
        for i in range(n_seg)
    ]
    offerings = [
        {"name": "us", "owner": "us", "price": draw(st.floats(5, 500)), "levels": {"a": draw(level)}},
        *(
            {
                "name": f"r{i}",
                "price": draw(st.floats(5, 500)),
                "levels": {"a": draw(level), "b": draw(level)},
            }
            for i in range(n_rivals)
        ),
    ]
    return {
        "schema_version": 1,
        "name": "random",
        "seed": draw(st.integers(0, 1000)),
        "attributes": [{"name": "a", "kano": draw(kano)}, {"name": "b", "kano": draw(kano)}],
        "segments": segments,
        "offerings": offerings,
        "variants": [{"name": "base"}, {"name": "more", "levels": {"a": draw(level), "b": draw(level)}}],
        "market": {
            "draws": 3,
            "choice_rule": choice_rule or draw(st.sampled_from(["logit", "first_choice"])),
            "none_option": draw(st.booleans()) if none_option is None else none_option,
            "price_grid": {"min": 1, "max": 1000, "steps": draw(st.sampled_from([20, 60]))},
        },
    }


@PROPERTY_SETTINGS
@given(markets())
def test_shares_are_probabilities_summing_to_at_most_one(data):
    results = simulate(scenario_from_dict(data))
    share = results.share.values
    assert np.isfinite(share).all()
    assert share.min() >= 0 and share.max() <= 1 + 1e-12
    total = share.sum(axis=2)
    if data["market"]["none_option"]:
        assert total.max() <= 1 + 1e-9
    else:
        np.testing.assert_allclose(total, 1.0, rtol=1e-9)


def _wide_grid_market() -> dict:
    """A market whose price grid spans far beyond segment s1's WTP: the interpolation table over the range of
    inclusive values read off it was too coarse (our share in s1 at 263.9, variant "more", fell 0.8853 ->
    0.8830 when the rival raised its price by 170.29)."""

    def segment(name, median, spread, scale, values):
        return {
            "name": name,
            "size": 1.0,
            "wtp": {"median": median, "spread": spread, "uncertainty": 0.0},
            "logit_scale": scale,
            "expectations": {"a": 0.0, "b": 0.0},
            "value_per_unit": values,
            "value_uncertainty": 0.0,
        }

    nothing = {"a": 0.0, "b": 0.0}
    return {
        "schema_version": 1,
        "name": "random",
        "seed": 0,
        "attributes": [{"name": "a", "kano": "one_dimensional"}, {"name": "b", "kano": "one_dimensional"}],
        "segments": [
            segment("s0", 5.0, 0.3855, 96.67, nothing),
            segment("s1", 16.6, 0.5391, 1.9, {"a": 19.82, "b": 42.19}),
            segment("s2", 5.0, 0.01, 0.99999, nothing),
        ],
        "offerings": [
            {"name": "us", "owner": "us", "price": 5.0, "levels": {"a": 0.0}},
            {"name": "r0", "price": 86.51, "levels": {"a": 0.6, "b": 0.0}},
        ],
        "variants": [{"name": "base"}, {"name": "more", "levels": {"a": 8.875, "b": 1.9}}],
        "market": {
            "draws": 3,
            "choice_rule": "logit",
            "none_option": True,
            "price_grid": {"min": 1, "max": 1000, "steps": 20},
        },
    }


def _long_tail_market() -> dict:
    """Segment s0's WTP (median 5, log-sd 1.25) is narrower below its median than its logit scale (2.5), so
    its purchase integral has nodes over the WTP; at our price 158.7 (variant "more", perceived value 30) the
    threshold is 27x the median, where those nodes missed mass: our share 0.0024 fell to 0.0003 when the
    rival went 186 -> 190 (truth: 0.0043 both times)."""
    data = _wide_grid_market()
    quiet = {"a": 0.0, "b": 0.0}
    for segment, spread, scale, values in zip(
        data["segments"],
        (1.25, 1.0, 1.0),
        (2.5, 1.0, 1.0),
        ({"a": 25.0, "b": 0.0}, quiet, quiet),
        strict=True,
    ):
        segment.update(wtp={"median": 5.0, "spread": spread, "uncertainty": 0.0}, logit_scale=scale)
        segment["value_per_unit"] = values
    data["attributes"] = [{"name": "a", "kano": "must_be"}, {"name": "b", "kano": "must_be"}]
    data["offerings"][1] = {"name": "r0", "price": 186.0, "levels": {"a": 0.0, "b": 0.0}}
    data["variants"][1]["levels"] = {"a": 4.0, "b": 0.0}
    return data


def _steep_blend_market() -> dict:
    """One segment (log-sd 1.5, logit scale 41) whose purchase thresholds, far up its WTP's tail, sit where
    the integral blends two node sets: with a steeper blend our share rose 1e-6 as our price went 5 -> 53."""
    data = _long_tail_market()
    data["segments"] = data["segments"][:1]
    data["segments"][0].update(
        wtp={"median": 5.0, "spread": 1.5, "uncertainty": 0.0},
        logit_scale=41.0,
        expectations={"a": 7.75, "b": 0.0},
        value_per_unit={"a": 33.0, "b": 1.0},
    )
    data["offerings"][1]["price"] = 260.0
    data["variants"][1]["levels"] = {"a": 0.0, "b": 8.0}
    return data


@PROPERTY_SETTINGS
@given(markets())
@example(_steep_blend_market())
def test_raising_our_price_never_raises_our_share(data):
    results = simulate(scenario_from_dict(data))
    ours = results.share.sel({OFFERING: "us"}).transpose(DRAW, SEGMENT, VARIANT, PRICE).values
    # exact under first choice; under logit up to rounding in the integral over customers
    tolerance = 1e-12 if data["market"]["choice_rule"] == "first_choice" else 1e-6
    assert (np.diff(ours, axis=-1) <= tolerance).all()


@PROPERTY_SETTINGS
@given(markets(), st.floats(0.01, 200))
@example(_wide_grid_market(), 170.29)
@example(_long_tail_market(), 4.0)
def test_a_rival_raising_its_price_never_lowers_our_share(data, increase):
    before = simulate(scenario_from_dict(data))
    data["offerings"][1]["price"] += increase
    after = simulate(scenario_from_dict(data))
    ours = {OFFERING: "us"}
    # Exact under first choice; under logit up to the accuracy of the integral over customers (the
    # quadrature's, `pricing.market`; its table follows it wherever the price grid reaches).
    tolerance = 1e-9 if data["market"]["choice_rule"] == "first_choice" else 2e-3
    assert (after.share.sel(ours).values >= before.share.sel(ours).values - tolerance).all()


@PROPERTY_SETTINGS
@given(markets(choice_rule="first_choice"), st.floats(0, 3), st.floats(0, 3), st.floats(0.01, 100))
def test_a_dominated_offering_never_wins_under_first_choice(data, less_a, less_b, dearer):
    # A copy of rival r0 with levels no higher and a higher price: never anyone's first choice.
    r0 = data["offerings"][1]
    data["offerings"].append(
        {
            "name": "dominated",
            "price": r0["price"] + dearer,
            "levels": {"a": r0["levels"]["a"] - less_a, "b": r0["levels"]["b"] - less_b},
        }
    )
    results = simulate(scenario_from_dict(data))
    assert (results.share.sel({OFFERING: "dominated"}).values == 0).all()


@pytest.mark.parametrize(
    "market",
    [
        {"choice_rule": "logit", "none_option": True},
        {"choice_rule": "logit", "none_option": True, "price_grid": {"min": 5, "max": 400, "steps": 40}},
        {"choice_rule": "logit", "none_option": False},
        {"choice_rule": "first_choice", "none_option": True},
    ],
)
def test_one_period_shares_are_the_simulators_bit_for_bit(market, monkeypatch):
    # the dynamics' first period takes the shares without the surplus and money (`one_period_shares`)
    from pricing import simulate as simulate_module

    data = small_scenario_dict()
    data["market"] |= market
    scenario = scenario_from_dict(data)
    parameters = segment_parameters(scenario, 30, np.random.default_rng(scenario.seed))
    prices = np.array(scenario.price_grid())
    assert simulate_module.shares_alone(scenario, parameters)
    for cells in (simulate_module.BLOCK_CELLS, 300):  # one block, and blocks of 2 draws in threads
        monkeypatch.setattr(simulate_module, "BLOCK_CELLS", cells)
        one = simulate(scenario, parameters=parameters)
        share, differentiation = simulate_module.one_period_shares(scenario, parameters, prices)
        np.testing.assert_array_equal(share, one.share.values)
        reference_wtp = np.exp(parameters["wtp_log_median"])[:, :, None, None]
        satisfaction = value.satisfaction_index(differentiation, reference_wtp)
        np.testing.assert_array_equal(satisfaction, one.satisfaction.values)


@pytest.mark.parametrize("kano_fit", [False, True])
def test_differentiation_over_time_is_the_simulators_at_each_periods_expectations(kano_fit):
    # the compiled sum over numeric attributes (`pricing.trajectory.kano_differentiation`) against
    # `_LevelDesign.differentiation` in numpy, bit for bit: numeric and categorical attributes, unlisted
    # levels, shortfalls and excesses, the segments' Kano categories or per-draw weights
    from test_simulate_conjoint import storage_dict

    from pricing import simulate as simulate_module

    data = storage_dict()
    data["segments"].append(data["segments"][0] | {"name": "second", "kano": {"speed": "must_be"}})
    scenario = scenario_from_dict(data)
    draws, periods = 5, 4
    parameters = segment_parameters(scenario, draws, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    if kano_fit:
        parameters["kano_weights"] = rng.uniform(0, 2, (draws, 2, 3, 2))
    expectations = np.broadcast_to(
        simulate_module.segment_expectations(scenario)[None, None, :, None],
        (draws, periods, 2, len(scenario.variants), 3),
    ).copy()
    expectations[..., 2] += rng.uniform(-2, 2, expectations.shape[:-1])  # speed drifts both ways
    over_time = simulate_module.differentiation_over_time(scenario)(parameters, expectations)
    design = simulate_module._LevelDesign(scenario)
    for t in range(periods):
        at = simulate_module._numeric_expectations(design, {"expectations": expectations[:, t]})
        one = design.differentiation(parameters["value_per_unit"], at, parameters.get("kano_weights"))
        np.testing.assert_array_equal(over_time[:, t], one)


def test_check_finite_names_a_nan_or_an_infinity_and_passes_finite_numbers_whose_sum_overflows():
    import xarray as xr

    from pricing.errors import PricingError
    from pricing.simulate import _check_finite

    huge = np.full((2, 3), 1e308)  # finite, but their sum is inf: must pass
    _check_finite(xr.Dataset({"volume": ((DRAW, SEGMENT), huge)}, coords={SEGMENT: ["a", "b", "c"]}))
    for bad in (np.nan, np.inf, -np.inf):
        values = np.ones((2, 3))
        values[1, 2] = bad
        dataset = xr.Dataset({"volume": ((DRAW, SEGMENT), values)}, coords={SEGMENT: ["a", "b", "c"]})
        with pytest.raises(PricingError, match=r"volume is not finite for segment\(s\) c:"):
            _check_finite(dataset)


# ---- parameters handed in through the Python API (hostile input: a NaN once surfaced as an IndexError) ----

BAD_PARAMETERS = [
    ("wtp_log_median", np.nan, "parameters['wtp_log_median']: holds NaN"),
    ("wtp_log_sd", np.inf, "parameters['wtp_log_sd']: holds NaN"),
    ("value_per_unit", np.nan, "parameters['value_per_unit']: holds NaN"),
    ("logit_scale", -1.0, "parameters['logit_scale']: every value must be > 0"),
    ("wtp_log_sd", 0.0, "parameters['wtp_log_sd']: every value must be > 0"),
]


@pytest.mark.parametrize(("name", "bad", "message"), BAD_PARAMETERS)
def test_caller_parameters_that_are_not_finite_or_not_positive_are_refused_by_name(name, bad, message):
    scenario = scenario_from_dict(duopoly_dict())
    parameters = segment_parameters(scenario, 20, np.random.default_rng(1))
    parameters[name][3, 0] = bad
    with pytest.raises(PricingError, match=re.escape(message)):
        simulate(scenario, parameters=parameters)


def test_caller_parameters_of_another_shape_or_missing_one_are_refused_by_name():
    scenario = scenario_from_dict(duopoly_dict())
    parameters = segment_parameters(scenario, 20, np.random.default_rng(1))
    wrong = re.escape("parameters['wtp_log_sd']: shape (20, 2), expected (20, 1)")
    with pytest.raises(PricingError, match=wrong):
        simulate(scenario, parameters=parameters | {"wtp_log_sd": np.ones((20, 2))})
    with pytest.raises(
        PricingError, match=re.escape("parameters['logit_scale']: shape (19, 1), expected (20, 1)")
    ):
        simulate(scenario, parameters=parameters | {"logit_scale": np.ones((19, 1))})
    with pytest.raises(PricingError, match="parameters: missing logit_scale"):
        simulate(scenario, parameters={k: v for k, v in parameters.items() if k != "logit_scale"})


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_bundled_scenarios_own_parameters_pass_the_check(path):
    scenario = load_scenario(path)
    parameters = segment_parameters(scenario, 16, np.random.default_rng(scenario.seed))
    check_parameters(scenario, parameters)  # no error: the check refuses only what is wrong
    assert np.array_equal(
        simulate(scenario, draws=16, parameters=parameters)["profit"].values,
        simulate(scenario, draws=16)["profit"].values,
    )
