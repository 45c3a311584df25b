"""Views of results for the app: metrics at a price, curves, offering shares, paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pricing import analysis
from pricing.errors import PricingError
from pricing.scenario import scenario_from_dict, with_changes
from pricing.simulate import simulate


@pytest.fixture(scope="module")
def results():
    from conftest import small_scenario_dict

    return simulate(scenario_from_dict(small_scenario_dict()), draws=200)


def test_nearest_price_snaps_to_the_grid(results):
    grid = results.price.values
    assert analysis.nearest_price(results, grid[3] + 0.4 * (grid[4] - grid[3])) == grid[3]
    assert analysis.nearest_price(results, -5) == grid[0]
    assert analysis.nearest_price(results, 1e6) == grid[-1]


def test_metrics_at_is_the_market_view_at_that_price(results):
    price = float(results.price.values[10])
    table = analysis.metrics_at(results, price + 0.1, "faster").set_index(["segment", "metric"])
    at = results.sel(price=price, variant="faster")
    volume = at.volume.values  # (draw, segment)
    size = at.segment_size.values
    for s, segment in enumerate(results.segment.values):
        assert table.loc[(segment, "volume"), "mean"] == pytest.approx(volume[:, s].mean())
        assert table.loc[(segment, "revenue"), "mean"] == pytest.approx(volume[:, s].mean() * price)
        assert table.loc[(segment, "profit"), "mean"] == pytest.approx(at.contribution.values[:, s].mean())
    total = volume.sum(axis=1)
    assert table.loc[("all", "share"), "mean"] == pytest.approx((total / size.sum()).mean())
    assert table.loc[("all", "share"), "q05"] == pytest.approx(np.quantile(total / size.sum(), 0.05))
    assert table.loc[("all", "profit"), "mean"] == pytest.approx(
        (at.contribution.values.sum(axis=1) - 2000.0).mean()
    )
    satisfaction = (at.satisfaction.sel(offering="Ours").values * size).sum(axis=1) / size.sum()
    assert table.loc[("all", "satisfaction"), "q95"] == pytest.approx(np.quantile(satisfaction, 0.95))
    # the same numbers as the general-purpose market_view
    view = analysis.market_view(results).sel(offering="Ours", price=price, variant="faster", segment="all")
    assert table.loc[("all", "revenue"), "mean"] == pytest.approx(float(view.revenue.mean()))


def test_price_curves_follow_the_grid_and_share_falls_with_our_price(results):
    curves = analysis.price_curves(results, "base")
    assert set(curves.metric) == {"share", "volume", "revenue", "profit"}
    share = curves[curves.metric == "share"]
    assert np.array_equal(share.price.values, results.price.values)
    assert np.all(np.diff(share["mean"].values) < 0)
    assert np.all(share.q05 <= share["mean"]) and np.all(share["mean"] <= share.q95)
    profit = curves[curves.metric == "profit"].set_index("price")["mean"]
    assert profit.idxmax() == float(analysis.expected_best_price(results).sel(variant="base"))


def test_offering_shares_add_up_to_one_per_segment(results):
    shares = analysis.offering_shares_at(results, 45.0, "base")
    assert set(shares.offering) == {"Ours", "Rival", "none"}
    totals = shares.groupby("segment")["mean"].sum()
    assert np.allclose(totals.values, 1.0)
    ours = shares[(shares.segment == "budget") & (shares.offering == "Ours")]["mean"].item()
    assert ours == pytest.approx(
        float(results.share.sel(segment="budget", offering="Ours", price=45.0, variant="base").mean())
    )


def test_variant_probabilities_at_one_price_count_the_draws(results):
    price = 45.0
    profit = results.profit.sel(price=price).transpose("draw", "variant").values
    expected = (profit[:, 1] > profit[:, 0]).mean()
    table = analysis.variant_probabilities(results, price).set_index("variant")["probability"]
    assert table["faster"] == pytest.approx(expected)
    assert table.sum() == pytest.approx(1.0)
    own_best = analysis.variant_probabilities(results).set_index("variant")["probability"]
    assert np.allclose(own_best.values, analysis.probability_most_profitable(results).values)


def test_compare_options_takes_differences_draw_by_draw(results):
    options = {"base": (results, 45.0, "base"), "faster": (results, 50.0, "faster")}
    table = analysis.compare_options(options).set_index(["option", "metric"])
    a = results.profit.sel(price=45.0, variant="base").values
    b = results.profit.sel(price=50.0, variant="faster").values
    row = table.loc[("faster", "profit")]
    assert row["diff_mean"] == pytest.approx((b - a).mean())
    assert row["diff_q05"] == pytest.approx(np.quantile(b - a, 0.05))
    assert row["p_higher"] == pytest.approx((b > a).mean())
    assert table.loc[("base", "profit"), "diff_mean"] == 0.0
    # paired draws: the difference is surer than the two intervals side by side suggest
    assert row["diff_q95"] - row["diff_q05"] < (row["q95"] - row["q05"]) + (
        table.loc[("base", "profit"), "q95"] - table.loc[("base", "profit"), "q05"]
    )


def test_compare_options_of_two_scenarios_with_the_same_seed_are_paired(small_scenario):
    pricier_rival = with_changes(small_scenario, {"offerings[Rival].price": 48})
    first, second = simulate(small_scenario, draws=100), simulate(pricier_rival, draws=100)
    table = analysis.compare_options({"now": (first, 45.0, "base"), "rival up": (second, 45.0, "base")})
    share = table.set_index(["option", "metric"]).loc[("rival up", "share")]
    assert share["p_higher"] == 1.0  # a dearer rival raises our share in every (paired) draw
    assert share["diff_q05"] > 0


def test_compare_options_problems(results, small_scenario):
    with pytest.raises(PricingError, match="at least one"):
        analysis.compare_options({})
    with pytest.raises(PricingError, match="unknown reference 'x'"):
        analysis.compare_options({"a": (results, 45.0, "base")}, reference="x")
    other = simulate(small_scenario, draws=10)
    with pytest.raises(PricingError, match="different numbers of draws"):
        analysis.compare_options({"a": (results, 45.0, "base"), "b": (other, 45.0, "base")})


@given(
    values=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=7),
        elements=st.floats(-1e6, 1e6) | st.just(np.nan),
    ),
    data=st.data(),
)
@settings(max_examples=200, deadline=None)
def test_stats_are_numpys_mean_and_linear_quantiles(values, data):
    axis = data.draw(st.integers(0, values.ndim - 1))
    stats = analysis._stats(values, axis=axis)
    with np.errstate(invalid="ignore"):
        expected = np.quantile(values, analysis.QUANTILES, axis=axis)
    for k, q in zip(("q05", "q50", "q95"), expected, strict=True):
        np.testing.assert_allclose(stats[k], q, rtol=1e-12, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(stats["mean"], values.mean(axis=axis), equal_nan=True)


def test_stats_by_hand():
    stats = analysis._stats(np.array([[4.0, 1.0, 3.0, 2.0, 5.0]]), axis=1)  # sorted 1..5: q at 1 + 4q
    assert stats["q05"][0] == pytest.approx(1.2)
    assert stats["q50"][0] == 3.0
    assert stats["q95"][0] == pytest.approx(4.8)
    assert stats["mean"][0] == 3.0


def test_price_curves_of_one_segment(results):
    curves = analysis.price_curves(results, "faster", segment="premium").set_index(["metric", "price"])
    volume = results.volume.sel(segment="premium", variant="faster").transpose("draw", "price").values
    assert np.allclose(curves.loc["volume", "mean"].values, volume.mean(axis=0))
    assert np.allclose(curves.loc["volume", "q95"].values, np.quantile(volume, 0.95, axis=0))
    share = results.share.sel(segment="premium", offering="Ours", variant="faster").transpose("draw", "price")
    assert np.allclose(curves.loc["share", "q05"].values, np.quantile(share.values, 0.05, axis=0))
    contribution = results.contribution.sel(segment="premium", variant="faster").mean("draw").values
    assert np.allclose(curves.loc["profit", "mean"].values, contribution)  # per segment: no fixed cost


def test_views_name_an_unknown_variant_or_segment(results):
    with pytest.raises(PricingError, match="unknown variant 'fastest'.*base, faster"):
        analysis.metrics_at(results, 45.0, "fastest")
    with pytest.raises(PricingError, match="unknown variant 'fastest'"):
        analysis.value_map(results, "fastest")
    with pytest.raises(PricingError, match="unknown segment 'nobody'.*all"):
        analysis.price_curves(results, "base", segment="nobody")
