"""Summaries: the optimal price against a numeric maximisation, P(best variant), tidy tables, value map."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import monopoly_dict, small_scenario_dict
from scipy import integrate, optimize, stats
from scipy.special import expit

from pricing import analysis
from pricing.dims import DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError
from pricing.scenario import scenario_from_dict, with_changes
from pricing.simulate import simulate


def test_best_price_of_a_logit_monopoly_median_customer():
    # One segment of 1000, no uncertainty, integration_nodes 1 (the median customer, WTP 50, scale 5),
    # unit cost 10: profit(p) = 1000 (p - 10) expit((50 - p) / 5). Its maximum solves
    # p = 10 + 5 / (1 - expit((50 - p) / 5)); the grid (step 0.5) must hold the nearest grid price.
    data = monopoly_dict()
    data["market"]["integration_nodes"] = 1
    results = simulate(scenario_from_dict(data))

    def loss(p):
        return -(p - 10) * expit((50 - p) / 5)

    exact = optimize.minimize_scalar(loss, bounds=(15, 120), method="bounded", options={"xatol": 1e-10}).x
    assert exact == pytest.approx(10 + 5 / (1 - expit((50 - exact) / 5)), abs=1e-6)
    best = analysis.best_price(results)
    assert best.dims == (DRAW, VARIANT)
    assert np.all(np.abs(best.values - exact) <= 0.25 + 1e-9)
    assert float(analysis.expected_best_price(results).item()) == pytest.approx(exact, abs=0.25)
    assert float(results.profit.max()) == pytest.approx(-1000 * loss(exact), rel=1e-4)


def test_best_price_of_a_logit_monopoly_with_wtp_spread():
    # Same monopoly with a WTP spread of 0.25 integrated over customers: compare to a numeric maximisation of
    # the expected profit with the purchase probability integrated by scipy.
    results = simulate(scenario_from_dict(monopoly_dict()))
    wtp = stats.lognorm(s=0.25, scale=50.0)

    def buy(p):
        value, _ = integrate.quad(lambda w: expit((w - p) / 5) * wtp.pdf(w), 0, np.inf, limit=200)
        return value

    exact = optimize.minimize_scalar(lambda p: -(p - 10) * buy(p), bounds=(15, 120), method="bounded").x
    assert float(analysis.expected_best_price(results).item()) == pytest.approx(exact, abs=0.25 + 1e-3)
    at = float(results.profit.isel({DRAW: 0}).sel({PRICE: 40.0}).item())
    assert at == pytest.approx(1000 * 30 * buy(40.0), rel=1e-3)
    summary = analysis.variant_summary(results)
    row = summary.iloc[0]
    assert row["best_price_q05"] == row["best_price"] == row["best_price_q95"]  # no uncertainty
    assert row["p_most_profitable"] == 1.0
    assert row["profit_q05"] == pytest.approx(row["profit_q95"])


def _two_variants(extra_value, extra_cost, uncertainty=0.2):
    data = monopoly_dict()
    data["attributes"] = [{"name": "service", "kano": "one_dimensional"}]
    data["segments"][0]["value_per_unit"] = {"service": 1.0}
    data["segments"][0]["wtp"]["uncertainty"] = uncertainty
    data["segments"][0]["value_uncertainty"] = 0.5
    data["variants"] = [
        {"name": "plain"},
        {"name": "extra", "levels": {"service": extra_value}, "extra_unit_cost": extra_cost},
    ]
    data["market"]["draws"] = 400
    return scenario_from_dict(data)


def test_probability_most_profitable():
    # A free upgrade customers value always wins; a costly one they do not value never does.
    free = simulate(_two_variants(extra_value=5.0, extra_cost=0.0))
    assert analysis.probability_most_profitable(free).sel({VARIANT: "extra"}).item() == 1.0
    costly = simulate(_two_variants(extra_value=0.0, extra_cost=5.0))
    assert analysis.probability_most_profitable(costly).sel({VARIANT: "extra"}).item() == 0.0
    # A close call: P is the share of draws in which the variant's best profit is the larger.
    close = simulate(_two_variants(extra_value=6.0, extra_cost=4.0))
    p = analysis.probability_most_profitable(close)
    best = close.profit.max(PRICE)
    manual = float((best.sel({VARIANT: "extra"}) > best.sel({VARIANT: "plain"})).mean())
    assert p.sel({VARIANT: "extra"}).item() == pytest.approx(manual)
    assert 0.05 < manual < 0.95
    assert float(p.sum()) == pytest.approx(1.0)


def test_variant_summary_matches_the_dataset(small_scenario):
    results = simulate(small_scenario)
    summary = analysis.variant_summary(results)
    assert list(summary[VARIANT]) == ["base", "faster"]
    expected_columns = {"best_price", "best_price_q05", "best_price_q95", "p_most_profitable"} | {
        f"{m}_{k}"
        for m in ("share", "volume", "revenue", "profit", "satisfaction")
        for k in ("mean", "q05", "q95")
    }
    assert expected_columns <= set(summary.columns)
    for row in summary.itertuples():
        optimum = float(results.profit.mean(DRAW).sel({VARIANT: row.variant}).idxmax(PRICE))
        assert row.best_price == optimum
        at = results.sel({VARIANT: row.variant, PRICE: optimum})
        assert row.profit_mean == pytest.approx(float(at.profit.mean()))
        assert row.profit_q05 == pytest.approx(float(at.profit.quantile(0.05)))
        volume = float(at.volume.sum(SEGMENT).mean())
        assert row.volume_mean == pytest.approx(volume)
        assert row.share_mean == pytest.approx(volume / 1250)
        assert row.revenue_mean == pytest.approx(volume * optimum)
        assert row.best_price_q05 <= row.best_price_q95
    assert summary["p_most_profitable"].sum() == pytest.approx(1.0)


def test_best_price_summary_is_variant_summary_s_first_columns_and_the_per_draw_optimum(small_scenario):
    results = simulate(small_scenario)
    best = analysis.best_price_summary(results)
    summary = analysis.variant_summary(results)
    columns = [VARIANT, "best_price", "best_price_q05", "best_price_q95"]
    assert list(best.columns) == columns
    pd.testing.assert_frame_equal(best, summary[columns])
    prices = results[PRICE].values
    for row in best.itertuples():
        profit = results.profit.sel({VARIANT: row.variant}).transpose(DRAW, PRICE).values
        per_draw = [prices[int(np.argmax(draw))] for draw in profit]  # draw by draw, the first maximum
        assert row.best_price_q05 == np.quantile(per_draw, 0.05)
        assert row.best_price_q95 == np.quantile(per_draw, 0.95)
        assert row.best_price == prices[int(np.argmax(profit.mean(axis=0)))]


def test_summary_table_is_tidy_and_totals_add_up(small_scenario):
    results = simulate(small_scenario)
    table = analysis.summary_table(results)
    assert list(table.columns) == [VARIANT, SEGMENT, OFFERING, PRICE, "metric", "mean", "q05", "q50", "q95"]
    assert table[["mean", "q05", "q50", "q95"]].notna().all().all()
    assert set(table["metric"]) == {"share", "volume", "revenue", "profit", "surplus", "satisfaction"}
    assert set(table[SEGMENT]) == {"budget", "premium", "all"}
    assert (table["q05"] <= table["q50"] + 1e-9).all() and (table["q50"] <= table["q95"] + 1e-9).all()
    n_prices, n_variants = results.sizes[PRICE], results.sizes[VARIANT]
    # one row per variant x segment (2 + all) x price for each metric and offering it applies to
    counts = table.groupby("metric").size()
    assert counts["profit"] == n_variants * 3 * n_prices
    assert counts["share"] == n_variants * 3 * 2 * n_prices
    assert counts["surplus"] == n_variants * 3 * n_prices

    wide = table.pivot_table(index=[VARIANT, OFFERING, PRICE, "metric"], columns=SEGMENT, values="mean")
    volume = wide.xs("volume", level="metric")
    np.testing.assert_allclose(volume["all"], volume["budget"] + volume["premium"])
    share = wide.xs("share", level="metric")
    np.testing.assert_allclose(share["all"], volume["all"] / 1250)
    revenue = wide.xs("revenue", level="metric")
    np.testing.assert_allclose(revenue["all"], revenue["budget"] + revenue["premium"])
    prices = revenue.index.get_level_values(PRICE)
    ours = revenue.index.get_level_values(OFFERING) == "Ours"
    np.testing.assert_allclose(revenue["all"][ours], (volume["all"] * prices)[ours])
    np.testing.assert_allclose(revenue["all"][~ours], volume["all"][~ours] * 40.0)  # the rival's own price
    profit = wide.xs("profit", level="metric")
    fixed = profit.index.get_level_values(VARIANT).map({"base": 0.0, "faster": 2000.0})
    np.testing.assert_allclose(profit["all"], profit["budget"] + profit["premium"] - np.asarray(fixed))
    surplus = wide.xs("surplus", level="metric")
    np.testing.assert_allclose(surplus["all"], surplus["budget"] + surplus["premium"])
    satisfaction = wide.xs("satisfaction", level="metric")
    np.testing.assert_allclose(
        satisfaction["all"], (1000 * satisfaction["budget"] + 250 * satisfaction["premium"]) / 1250
    )
    # a row checked against the dataset directly
    row = table.query(
        "variant == 'faster' and segment == 'premium' and offering == 'Ours' and metric == 'share'"
    )
    row = row[row[PRICE] == 60.0].iloc[0]
    values = results.share.sel({VARIANT: "faster", SEGMENT: "premium", OFFERING: "Ours", PRICE: 60.0})
    assert row["mean"] == pytest.approx(float(values.mean()))
    assert row["q95"] == pytest.approx(float(values.quantile(0.95)))


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_interval_matches_xarrays_quantiles_with_and_without_missing_values():
    rng = np.random.default_rng(3)
    values = xr.DataArray(
        rng.normal(size=(101, 4, 3)), dims=(DRAW, SEGMENT, PRICE), coords={PRICE: [1.0, 2.0, 3.0]}
    ).transpose(SEGMENT, DRAW, PRICE)
    holes = values.copy()
    holes[0, :50, 1] = np.nan  # half of one cell's draws missing: skipped, as xarray skips them
    holes[1, :, 2] = np.nan  # every draw missing: NaN
    for data in (values, holes):
        fast = analysis.interval(data)
        q = data.quantile([0.05, 0.5, 0.95], dim=DRAW)
        assert fast["mean"].dims == (SEGMENT, PRICE)
        xr.testing.assert_allclose(fast["mean"], data.mean(DRAW), rtol=1e-12)
        for name, level in (("q05", 0.05), ("q50", 0.5), ("q95", 0.95)):
            xr.testing.assert_allclose(fast[name], q.sel(quantile=level, drop=True), rtol=1e-12)
    assert np.isnan(analysis.interval(holes)["q95"].values[1, 2])


def test_metrics_table_is_metrics_at_of_every_price(small_scenario):
    results = simulate(small_scenario)
    for variant in ("base", "faster"):
        table = analysis.metrics_table(results, variant)
        prices = results[PRICE].values
        assert list(table.columns) == [PRICE, SEGMENT, "metric", "mean", "q05", "q50", "q95"]
        assert len(table) == len(prices) * 3 * len(analysis.METRICS)
        for price, block in table.groupby(PRICE, sort=False):
            one = analysis.metrics_at(results, float(price), variant)
            pd.testing.assert_frame_equal(
                block.drop(columns=PRICE).reset_index(drop=True), one, rtol=1e-12, check_dtype=False
            )


def test_summary_table_at_chosen_prices(small_scenario):
    results = simulate(small_scenario)
    table = analysis.summary_table(results, prices=[45.0, 60.0])
    assert sorted(set(table[PRICE])) == [45.0, 60.0]


def test_value_map():
    # No uncertainty, so the value map's numbers can be derived: budget segment, median WTP 40.
    data = small_scenario_dict()
    for segment in data["segments"]:
        segment["wtp"]["uncertainty"] = 0.0
        segment["value_uncertainty"] = 0.0
    results = simulate(scenario_from_dict(data), draws=5)
    table = analysis.value_map(results)
    assert list(table.columns) == [
        SEGMENT,
        OFFERING,
        "owner",
        "price",
        "perceived_value",
        "perceived_value_q05",
        "perceived_value_q95",
        "surplus",
        "fair_price",
    ]
    budget = table[table[SEGMENT] == "budget"].set_index(OFFERING)
    # Ours: speed 6 vs 5 expected at 2 EUR/unit -> 40 + 2 = 42; the rival meets expectations -> 40.
    assert budget.loc["Ours", "perceived_value"] == pytest.approx(42.0)
    assert budget.loc["Rival", "perceived_value"] == pytest.approx(40.0)
    assert budget.loc["Ours", "price"] == 45.0 and budget.loc["Rival", "price"] == 40.0
    assert budget.loc["Ours", "surplus"] == pytest.approx(-3.0)
    assert budget.loc["Ours", "owner"] == "us"
    # The value-equivalence line passes through the share-weighted average (value, price).
    share = results.share.sel({VARIANT: "base", PRICE: 45.0, SEGMENT: "budget"}).mean(DRAW)
    weights = share.sel({OFFERING: list(budget.index)}).values
    gap = (budget["fair_price"] - budget["price"]).values
    assert float((weights * gap).sum()) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(
        budget["perceived_value"] - budget["fair_price"],
        (weights * (budget["surplus"])).sum() / weights.sum(),
    )
    faster = analysis.value_map(results, variant="faster")
    ours = faster[(faster[SEGMENT] == "budget") & (faster[OFFERING] == "Ours")].iloc[0]
    assert ours["perceived_value"] == pytest.approx(46.0)  # speed 8: 40 + 3 x 2


# ---- writing results -----------------------------------------------------------------------------------


def test_write_results_csv_and_netcdf(small_scenario, tmp_path):
    results = simulate(small_scenario, draws=20)
    analysis.write_results(results, tmp_path / "out.csv")
    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns) == [VARIANT, SEGMENT, OFFERING, PRICE, "metric", "mean", "q05", "q50", "q95"]
    pd.testing.assert_frame_equal(table, analysis.summary_table(results), check_dtype=False, atol=1e-9)
    analysis.write_results(results, tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc", engine="h5netcdf") as loaded:
        xr.testing.assert_allclose(loaded.share, results.share)
        assert loaded.attrs["scenario_hash"] == results.attrs["scenario_hash"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.nc"]


def test_write_results_bad_paths(small_scenario, tmp_path):
    results = simulate(with_changes(small_scenario, {"market.draws": 5}))
    with pytest.raises(PricingError, match=r"unknown file type '\.xlsx'; use \.csv or \.nc"):
        analysis.write_results(results, tmp_path / "out.xlsx")
    with pytest.raises(PricingError, match="does not exist"):
        analysis.write_results(results, tmp_path / "missing" / "out.csv")
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(PricingError, match="is a folder"):
        analysis.write_results(results, tmp_path / "taken.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"]
