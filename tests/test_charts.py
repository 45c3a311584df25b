"""Chart builders: colours per offering, specs that carry the data asked for, PNG and SVG files."""

from __future__ import annotations

import pytest

from pricing import analysis, charts
from pricing.errors import PricingError
from pricing.simulate import simulate


@pytest.fixture(scope="module")
def results():
    from conftest import small_scenario_dict

    from pricing.scenario import scenario_from_dict

    return simulate(scenario_from_dict(small_scenario_dict()), draws=50)


def test_offering_colours_are_fixed_per_position_and_none_is_grey():
    colors = charts.offering_colors(["Ours", "A", "B"])
    assert colors == {
        "Ours": charts.OUR_COLOR,
        "A": charts.COMPETITOR_COLORS[0],
        "B": charts.COMPETITOR_COLORS[1],
        "none": charts.NONE_COLOR,
    }
    many = charts.offering_colors([f"o{i}" for i in range(12)])
    assert many["o1"] == many["o9"]  # the palette wraps round after eight competitors
    assert len(set(charts.variant_colors(["a", "b", "c"]).values())) == 3
    assert charts.segment_colors(["x", "y"]) == {"x": charts.SEGMENT_COLORS[0], "y": charts.SEGMENT_COLORS[1]}


def test_metric_titles_carry_units():
    assert charts.metric_title("profit", "EUR") == "Profit (EUR)"
    assert charts.metric_title("share", "EUR") == "Market share"
    assert charts.metric_format("share") == ".0%"


def test_curve_chart_marks_the_optimum_and_selected_price(results):
    curves = analysis.price_curves(results, "base")
    best = float(analysis.expected_best_price(results).sel(variant="base"))
    spec = charts.curve_chart(curves, "profit", "EUR", selected_price=45.0, optimum=best).to_dict()
    layers = spec["layer"]
    assert [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers
    ] == [
        "area",
        "line",
        "rule",
        "point",
        "text",
    ]
    datasets = spec["datasets"]
    optimum_rows = [rows for rows in datasets.values() if len(rows) == 1 and "metric" in rows[0]]
    assert optimum_rows[0][0]["price"] == best
    assert layers[0]["encoding"]["y"]["title"] == "Profit (EUR)"
    with pytest.raises(PricingError, match="no rows for metric 'nope'"):
        charts.curve_chart(curves, "nope", "EUR")


def test_value_map_chart_draws_the_value_equivalence_line(results):
    vmap = analysis.value_map(results, "base")
    spec = charts.value_map_chart(vmap, "EUR", charts.offering_colors(["Ours", "Rival"]), "budget").to_dict()
    line = next(rows for rows in spec["datasets"].values() if len(rows) == 2 and "offering" not in rows[0])
    rows = vmap[vmap.segment == "budget"]
    offset = float((rows.perceived_value - rows.fair_price).iloc[0])
    for point in line:  # slope 1, through each offering's (value, value-equivalent price)
        assert point["perceived_value"] - point["price"] == pytest.approx(offset)
    with pytest.raises(PricingError, match="segment 'x'"):
        charts.value_map_chart(vmap, "EUR", {}, "x")


def test_other_charts_build(results):
    colors = charts.offering_colors(["Ours", "Rival"])
    charts.share_chart(analysis.offering_shares_at(results, 45.0, "base"), colors).to_dict()
    charts.segment_metric_chart(analysis.metrics_at(results, 45.0, "base"), "profit", "EUR").to_dict()
    charts.probability_chart(
        analysis.variant_probabilities(results), charts.variant_colors(["base", "faster"])
    ).to_dict()
    comparison = analysis.compare_options({"a": (results, 45.0, "base"), "b": (results, 45.0, "faster")})
    charts.difference_chart(comparison[comparison.option != "a"], "profit", "EUR").to_dict()


def test_chart_files(results):
    chart = charts.curve_chart(analysis.price_curves(results, "base"), "share", "EUR")
    png = charts.chart_bytes(chart, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = charts.chart_bytes(chart, "svg")
    assert svg.lstrip().startswith(b"<svg") and b"Market share" in svg
    with pytest.raises(PricingError, match="'gif'"):
        charts.chart_bytes(chart, "gif")


def test_price_rule_added_to_a_spec_renders_like_the_built_in_rule(results):
    curves = analysis.price_curves(results, "base")
    spec = charts.curve_chart(curves, "share", "EUR").to_dict()
    added = charts.with_layer(spec, charts.price_rule_layer(45.0))
    assert len(added["layer"]) == len(spec["layer"]) + 1 and added["datasets"] is spec["datasets"]
    rule = added["layer"][-1]
    assert rule["mark"]["type"] == "rule" and rule["data"]["values"] == [{"price": 45.0}]
    import vl_convert

    built_in = charts.curve_chart(curves, "share", "EUR", selected_price=45.0).to_dict()
    assert vl_convert.vegalite_to_svg(added) == vl_convert.vegalite_to_svg(built_in)
    assert vl_convert.vegalite_to_svg(added) != vl_convert.vegalite_to_svg(spec)
