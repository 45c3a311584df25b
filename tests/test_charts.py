"""Chart builders: colours per offering, valid Vega-Lite specs carrying the data asked for, PNG and SVG."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import vl_convert
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema.core import load_schema

from pricing import analysis, charts
from pricing.errors import PricingError
from pricing.simulate import simulate

VEGA_LITE = load_schema()


def valid(spec: dict) -> dict:
    """The spec, after checking it against the Vega-Lite schema and that it is strict JSON (no NaN)."""
    validate_jsonschema(spec, VEGA_LITE)
    json.dumps(spec, allow_nan=False)
    return spec


def marks(spec: dict) -> list[str]:
    return [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]
    ]


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
    spec = valid(charts.curve_chart(curves, "profit", "EUR", selected_price=45.0, optimum=best))
    assert marks(spec) == ["area", "line", "rule", "point", "text"]
    profit = curves[curves.metric == "profit"]
    assert spec["datasets"]["optimum"] == [{"price": best, "mean": profit["mean"].max()}]
    assert spec["datasets"]["selected"] == [{"price": 45.0}]
    assert [row["price"] for row in spec["datasets"]["curve"]] == profit["price"].tolist()
    assert [row["q95"] for row in spec["datasets"]["curve"]] == profit["q95"].tolist()
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Profit (EUR)"
    with pytest.raises(PricingError, match="no rows for metric 'nope'"):
        charts.curve_chart(curves, "nope", "EUR")


def test_share_curves_of_other_numbers_reuse_one_template_unless_their_axis_format_differs(results):
    """Share curves of another variant (or a rival's price) reuse the template built for the first (an
    Altair build costs 10-20 ms), and give the same spec without the datasets (which the browser updates in
    place); an axis that needs other decimals gets a template of its own."""
    curves = analysis.price_curves(results, "base")
    share = curves[curves.metric == "share"]
    scaled = share.assign(**{c: share[c] * 0.9 for c in ("mean", "q05", "q95")})  # a span of 0.9x, >= 10 pts
    tiny = share.assign(**{c: share[c] * 0.001 for c in ("mean", "q05", "q95")})  # under 1 point: ".2%"
    specs = [charts.curve_chart(share, "share", "EUR", selected_price=45.0)]
    built = charts._curve_template.cache_info().misses
    specs.append(charts.curve_chart(scaled, "share", "EUR", selected_price=45.0))
    assert charts._curve_template.cache_info().misses == built  # keyed on the format, not on the span
    specs.append(charts.curve_chart(tiny, "share", "EUR", selected_price=45.0))
    assert charts._curve_template.cache_info().misses == built + 1
    assert specs[0]["datasets"] != specs[1]["datasets"]
    spans = [float(c["q95"].max() - c["q05"].min()) for c in (share, scaled, tiny)]
    formats = [charts.metric_format("share", span) for span in spans]
    assert formats[0] == formats[1] != formats[2] == ".2%"
    without = [{k: v for k, v in spec.items() if k != "datasets"} for spec in specs]
    assert without[0] == without[1] and without[0] != without[2]
    assert without[2]["layer"][0]["encoding"]["y"]["axis"]["format"] == ".2%"


def test_overlaid_curves_colour_each_option_and_mark_no_optimum(results):
    curves = pd.concat(
        [analysis.price_curves(results, v).assign(option=v) for v in ("base", "faster")], ignore_index=True
    )
    palette = charts.variant_colors(["base", "faster", "unused"])
    spec = valid(charts.curve_chart(curves, "share", "EUR", optimum=45.0, color_by="option", colors=palette))
    assert marks(spec) == ["area", "line"]
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale == {"domain": ["base", "faster"], "range": [palette["base"], palette["faster"]]}
    assert {row["option"] for row in spec["datasets"]["curve"]} == {"base", "faster"}


def test_chart_specs_are_independent_of_each_other_and_of_the_cached_template(results):
    curves = analysis.price_curves(results, "base")
    first = charts.curve_chart(curves, "share", "EUR")
    first["layer"][0]["mark"]["opacity"] = 1.0  # a caller changing its spec in place...
    first["datasets"]["curve"].clear()
    again = charts.curve_chart(curves, "share", "EUR")  # ...changes nobody else's
    assert again["layer"][0]["mark"]["opacity"] == charts.BAND_OPACITY
    assert len(again["datasets"]["curve"]) == results.sizes["price"]
    other = charts.curve_chart(analysis.price_curves(results, "faster"), "share", "EUR")
    assert {k: v for k, v in other.items() if k != "datasets"} == {
        k: v for k, v in again.items() if k != "datasets"
    }  # same structure, other numbers
    assert other["datasets"] != again["datasets"]


def test_missing_values_become_null_not_nan():
    curves = pd.DataFrame(
        {
            "price": [1.0, 2.0],
            "metric": "share",
            "mean": [0.5, np.nan],
            "q05": [0.4, np.nan],
            "q95": [0.6, 0.7],
        }
    )
    spec = valid(charts.curve_chart(curves, "share", "EUR"))
    assert spec["datasets"]["curve"][1] == {"price": 2.0, "mean": None, "q05": None, "q95": 0.7}


def test_value_map_chart_draws_the_value_equivalence_line(results):
    vmap = analysis.value_map(results, "base")
    spec = valid(charts.value_map_chart(vmap, "EUR", charts.offering_colors(["Ours", "Rival"]), "budget"))
    rows = vmap[vmap.segment == "budget"]
    offset = float((rows.perceived_value - rows.fair_price).iloc[0])
    for point in spec["datasets"]["line"]:  # slope 1, through each offering's (value, value-equivalent price)
        assert point["perceived_value"] - point["price"] == pytest.approx(offset)
    assert [row["perceived_value"] for row in spec["datasets"]["offerings"]] == rows[
        "perceived_value"
    ].tolist()
    assert spec["title"] == "Value map: budget"
    with pytest.raises(PricingError, match="segment 'x'"):
        charts.value_map_chart(vmap, "EUR", {}, "x")


def test_other_charts_are_valid_vega_lite(results):
    colors = charts.offering_colors(["Ours", "Rival"])
    valid(charts.share_chart(analysis.offering_shares_at(results, 45.0, "base"), colors))
    valid(charts.segment_metric_chart(analysis.metrics_at(results, 45.0, "base"), "profit", "EUR"))
    valid(
        charts.probability_chart(
            analysis.variant_probabilities(results), charts.variant_colors(["base", "faster"])
        )
    )
    comparison = analysis.compare_options({"a": (results, 45.0, "base"), "b": (results, 45.0, "faster")})
    valid(charts.difference_chart(comparison[comparison.option != "a"], "profit", "EUR"))
    colors = charts.segment_colors(["a", "b"])
    demand = pd.DataFrame(
        {"segment": ["a", "a", "b", "b"], "price": [1.0, 2.0] * 2, "q05": 0.1, "q50": 0.5, "q95": 0.9}
    )
    valid(charts.wtp_demand_chart(demand, "EUR", colors))
    psm = pd.DataFrame(
        {"price": [1.0, 2.0], "too_cheap": [0.8, 0.1], "not_cheap": [0.2, 0.9], "not_expensive": [0.9, 0.3]}
    ).assign(too_expensive=[0.1, 0.7])
    spec = valid(charts.van_westendorp_chart(psm, {"opp": 1.5, "pme": float("nan")}, "EUR"))
    points = [rows for rows in spec["datasets"].values() if "short" in rows[0]]
    assert [row["short"] for row in points[0]] == ["OPP"]  # a price point that does not exist is not drawn
    valid(
        charts.gabor_granger_chart(
            pd.DataFrame({"price": [1.0, 2.0], "share": [0.9, 0.4], "revenue": [0.9, 0.8]}), 1.0, "EUR"
        )
    )
    wtp = pd.DataFrame({"segment": ["a", "b"], "attribute": "x", "q50": [1.0, 2.0], "q05": 0.0, "q95": 3.0})
    valid(charts.attribute_wtp_chart(wtp, "EUR", colors))


def test_chart_files(results):
    spec = charts.curve_chart(analysis.price_curves(results, "base"), "share", "EUR")
    png = charts.chart_bytes(spec, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")  # IHDR: twice the chart's pixels at the default scale
    assert width == 2 * int.from_bytes(charts.chart_bytes(spec, "png", scale=1.0)[16:20], "big")
    svg = charts.chart_bytes(spec, "svg")
    assert svg.lstrip().startswith(b"<svg") and b"Market share" in svg
    with pytest.raises(PricingError, match="'gif'"):
        charts.chart_bytes(spec, "gif")


def test_moving_the_selected_price_changes_only_the_rules_data(results):
    curves = analysis.price_curves(results, "base")
    spec = charts.curve_chart(curves, "share", "EUR", selected_price=30.0)
    moved = charts.with_selected_price(spec, 45.0)
    assert moved["datasets"]["selected"] == [{"price": 45.0}] and spec["datasets"]["selected"] != [
        {"price": 45.0}
    ]
    # the same chart without its data: the browser updates the drawn chart in place
    assert {k: v for k, v in moved.items() if k != "datasets"} == {
        k: v for k, v in spec.items() if k != "datasets"
    }
    built = charts.curve_chart(curves, "share", "EUR", selected_price=45.0)
    assert vl_convert.vegalite_to_svg(moved) == vl_convert.vegalite_to_svg(built)
    assert vl_convert.vegalite_to_svg(moved) != vl_convert.vegalite_to_svg(spec)
    with pytest.raises(PricingError, match="no selected price"):
        charts.with_selected_price(charts.curve_chart(curves, "share", "EUR"), 45.0)


def test_kano_chart_plots_cs_plus_against_abs_cs_minus_with_whiskers():
    points = pd.DataFrame(
        {
            "attribute": ["uptime", "onboarding"],
            "segment": ["SMB", "SMB"],
            "cs_plus": [0.3, 0.8],
            "cs_minus": [-0.9, -0.2],
            "cs_plus_q05": [0.2, 0.7],
            "cs_plus_q95": [0.4, 0.9],
            "cs_minus_q05": [-0.95, -0.3],
            "cs_minus_q95": [-0.85, -0.1],
        }
    )
    spec = valid(charts.kano_chart(points))
    data = [d for d in spec["datasets"].values() if d and "dissatisfaction" in d[0]]
    assert [row["dissatisfaction"] for row in data[0]] == [0.9, 0.2]
    whiskers = [d for d in spec["datasets"].values() if d and "dissatisfaction_low" in d[0]][0]
    assert [(w["dissatisfaction_low"], w["dissatisfaction_high"]) for w in whiskers] == [
        (0.85, 0.95),
        (0.1, 0.3),
    ]
    labels = {row["label"] for d in spec["datasets"].values() for row in d if "label" in row}
    assert labels == {"attractive", "one-dimensional", "must-be", "indifferent"}
    plain = valid(charts.kano_chart(points[["attribute", "segment", "cs_plus", "cs_minus"]]))
    assert len(plain["layer"]) == len(spec["layer"]) - 2  # no whiskers without intervals
