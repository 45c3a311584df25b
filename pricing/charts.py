"""Charts of simulation results and WTP fits: each builder takes a tidy table and returns a Vega-Lite spec.

The specs are plain dicts built with Altair; the builders never show anything themselves (the app's
`st.vega_lite_chart`, a notebook or `chart_bytes` does). Colours are
consistent everywhere: `offering_colors` gives each offering of a scenario its colour (ours always the
first, `none` always grey) and `variant_colors` each variant its colour, so the same offering looks the same
in every chart and every exported picture.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

from pricing.errors import PricingError

Spec = dict[str, Any]  #: a Vega-Lite spec, ready for JSON (st.vega_lite_chart, vl-convert, a browser)

#: Our offering's colour, then the competitors' in scenario order (Tableau 10, colour-blind friendly order).
OUR_COLOR = "#1f5fa8"
COMPETITOR_COLORS = ("#e8762d", "#c03d3e", "#3a9e8f", "#8c6bb1", "#b07a3b", "#d4679d", "#6b8e23", "#7f7f7f")
NONE_COLOR = "#b8b8b8"
SEGMENT_COLORS = ("#5c6bc0", "#2a9d5c", "#d98c1f", "#a23b72", "#00897b", "#8d6e63", "#c0ca33", "#455a64")
VARIANT_COLORS = ("#1f5fa8", "#2a9d5c", "#d98c1f", "#a23b72", "#5c6bc0", "#8d6e63", "#00897b", "#c0ca33")
BAND_OPACITY = 0.22
WIDTH = 560
HEIGHT = 300

#: Axis label and number format of each metric; money amounts get the currency appended.
METRIC_LABELS = {
    "share": ("Market share", ".0%"),
    "volume": ("Units sold", ",.0f"),
    "revenue": ("Revenue", ",.0f"),
    "profit": ("Profit", ",.0f"),
    "satisfaction": ("Satisfaction index (-100..100)", ".0f"),
    "surplus": ("Consumer surplus", ",.0f"),
}
MONEY_METRICS = ("revenue", "profit", "surplus")
#: Short names of our headline metrics, in the order the pages show them (tiles, tables, pickers).
HEADLINE_METRICS = {
    "share": "Market share",
    "volume": "Units sold",
    "revenue": "Revenue",
    "profit": "Profit",
    "satisfaction": "Satisfaction",
}


#: Metrics counted over the scenario's period (units, money); shares and satisfaction are not.
PERIOD_METRICS = ("volume", "revenue", "profit", "surplus")


def metric_title(metric: str, currency: str, period: str | None = None) -> str:
    """Axis title of a metric with its unit and period, e.g. ``Profit (EUR per month)``."""
    label, _ = METRIC_LABELS.get(metric, (metric, ",.2f"))
    per = f" per {period}" if period and metric in PERIOD_METRICS else ""
    if metric in MONEY_METRICS:
        return f"{label} ({currency}{per})"
    return f"{label}{per}"


def metric_format(metric: str, span: float | None = None) -> str:
    """d3 number format of a metric's axis; shares get decimals when the axis spans under 10 points
    (`span`: the axis' range), so that ticks never read "0% 1% 1%"."""
    fmt = METRIC_LABELS.get(metric, (metric, ",.2f"))[1]
    if metric == "share" and span is not None and span < 0.1:
        return ".2%" if span < 0.01 else ".1%"
    if fmt == ",.0f" and span is not None and 0 < span < 10:
        return ",.2f"
    return fmt


def offering_colors(offerings: Sequence[str]) -> dict[str, str]:
    """Colour of each offering (ours first, then competitors, in scenario order) and of `none`."""
    colors = {}
    for i, name in enumerate(offerings):
        colors[name] = OUR_COLOR if i == 0 else COMPETITOR_COLORS[(i - 1) % len(COMPETITOR_COLORS)]
    colors["none"] = NONE_COLOR
    return colors


def variant_colors(variants: Sequence[str]) -> dict[str, str]:
    """Colour of each variant, in scenario order."""
    return {name: VARIANT_COLORS[i % len(VARIANT_COLORS)] for i, name in enumerate(variants)}


def segment_colors(segments: Sequence[str]) -> dict[str, str]:
    """Colour of each customer segment, in order (a palette apart from the offerings')."""
    return {name: SEGMENT_COLORS[i % len(SEGMENT_COLORS)] for i, name in enumerate(segments)}


def _scale(colors: dict[str, str], present: Sequence[str] | None = None) -> alt.Scale:
    names = [n for n in colors if present is None or n in set(present)]
    return alt.Scale(domain=names, range=[colors[n] for n in names])


def _spec(chart: alt.TopLevelMixin) -> Spec:
    """The chart's Vega-Lite spec (checked against the schema by tests/test_charts.py, not on each call)."""
    return chart.to_dict(validate=False)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a table as JSON-ready records (Python numbers and strings, missing values as null)."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    for values in columns.values():
        for i, v in enumerate(values):
            if isinstance(v, float) and v != v:  # NaN (invalid JSON)
                values[i] = None
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _filled(template: str, **datasets: pd.DataFrame) -> Spec:
    """A template's spec (its JSON, from a cached builder) with its named datasets filled in.

    The app redraws the same few charts with new numbers on every control change; building an Altair chart
    costs 10-20 ms, so each such chart's structure is built once per set of structural arguments
    (`functools.lru_cache`) from named data (`alt.NamedData`), and only the data is filled in per call.
    The template is kept as JSON text so that each call gets a spec of its own to change.
    """
    return json.loads(template) | {"datasets": {name: _records(frame) for name, frame in datasets.items()}}


# Channels are spelled as objects (alt.Y("mean:Q"), not "mean:Q"): Altair 6 turns each bare shorthand into a
# channel by hashing its whole schema, about 4 ms a time.


def curve_chart(
    curves: pd.DataFrame,
    metric: str,
    currency: str,
    *,
    selected_price: float | None = None,
    optimum: float | None = None,
    color_by: str | None = None,
    colors: dict[str, str] | None = None,
    title: str | None = None,
    period: str | None = None,
) -> Spec:
    """A metric over our price: mean line and 90% band, a rule at the selected price, the optimum marked.

    Parameters
    ----------
    curves : columns price, metric, mean, q05, q95 (as `pricing.analysis.price_curves` returns), plus the
        `color_by` column when several curves are overlaid.
    metric : the metric to plot (rows with another metric are ignored).
    currency : shown in the axis titles.
    selected_price, optimum : our chosen price (vertical rule) and the best price (point on the curve).
    color_by, colors : column distinguishing overlaid curves and its colour of each value.
    period : the scenario's period, in the axis title (e.g. ``Profit (EUR per month)``).
    """
    data = curves[curves["metric"] == metric]
    if data.empty:
        raise PricingError(f"curve_chart: no rows for metric {metric!r}")
    palette = None
    if color_by is not None and colors:
        present = set(data[color_by])
        palette = tuple((name, color) for name, color in colors.items() if name in present)
    marked = optimum is not None and color_by is None
    # the axis format, not the span, keys the template: curves of another variant or rival price then get
    # the same spec, which the browser updates in place rather than compiling and drawing a new chart
    span = float(data["q95"].max() - data["q05"].min()) if metric == "share" else None
    template = _curve_template(
        metric,
        currency,
        color_by,
        palette,
        title,
        selected_price is not None,
        marked,
        period,
        metric_format(metric, span),
    )
    columns = ["price", "mean", "q05", "q95"] + ([color_by] if color_by is not None else [])
    datasets = {"curve": data[columns]}
    if selected_price is not None:
        datasets["selected"] = pd.DataFrame({"price": [float(selected_price)]})
    if marked:
        datasets["optimum"] = data.iloc[(data["price"] - optimum).abs().argsort()[:1]][["price", "mean"]]
    return _filled(template, **datasets)


@functools.lru_cache(maxsize=256)
def _curve_template(
    metric: str,
    currency: str,
    color_by: str | None,
    palette: tuple[tuple[str, str], ...] | None,
    title: str | None,
    selected: bool,
    marked: bool,
    period: str | None = None,
    y_format: str | None = None,
) -> str:
    x = alt.X("price:Q", title=f"Our price ({currency})", scale=alt.Scale(zero=False))
    y_title, y_format = metric_title(metric, currency, period), y_format or metric_format(metric)
    if color_by is not None:
        color = alt.Color(
            f"{color_by}:N",
            scale=_scale(dict(palette)) if palette else alt.Undefined,
            legend=alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=500),
        )
    else:
        color = alt.ColorValue(OUR_COLOR)
    tooltip = [
        alt.Tooltip("price:Q", title="price", format=",.2f"),
        alt.Tooltip("mean:Q", title="mean", format=y_format),
        alt.Tooltip("q05:Q", title="5%", format=y_format),
        alt.Tooltip("q95:Q", title="95%", format=y_format),
    ]
    if color_by is not None:
        tooltip.insert(0, alt.Tooltip(f"{color_by}:N"))
    base = alt.Chart(alt.NamedData("curve")).encode(x=x)
    band = base.mark_area(opacity=BAND_OPACITY).encode(
        y=alt.Y("q05:Q", title=y_title, axis=alt.Axis(format=y_format)), y2=alt.Y2("q95"), color=color
    )
    line = base.mark_line(strokeWidth=2.5).encode(y=alt.Y("mean:Q"), color=color, tooltip=tooltip)
    layers = [band, line]
    if selected:
        layers.append(
            alt.Chart(alt.NamedData("selected"))
            .mark_rule(color="#444", strokeDash=[5, 4])
            .encode(
                x=alt.X("price:Q"), tooltip=[alt.Tooltip("price:Q", title="selected price", format=",.2f")]
            )
        )
    if marked:
        point = alt.Chart(alt.NamedData("optimum")).encode(x=alt.X("price:Q"), y=alt.Y("mean:Q"))
        layers.append(
            point.mark_point(shape="diamond", size=160, filled=True, color="#111").encode(
                tooltip=[alt.Tooltip("price:Q", title="best price", format=",.2f")]
            )
        )
        layers.append(
            point.mark_text(dy=-14, fontWeight="bold", color="#111").encode(
                text=alt.Text("price:Q", format=",.2f")
            )
        )
    chart = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
    return json.dumps(_spec(chart.properties(title=title) if title else chart))


def value_map_chart(value_map: pd.DataFrame, currency: str, colors: dict[str, str], segment: str) -> Spec:
    """The value map of one segment: perceived value (x, with 90% interval) against price (y) per offering.

    The dashed value-equivalence line has slope 1: offerings on it give the market's average value for
    money; below it (cheaper than their value warrants) they gain share, above it they lose share.
    `value_map` has the columns of `pricing.analysis.value_map`.
    """
    data = value_map[value_map["segment"] == segment]
    if data.empty:
        raise PricingError(f"value_map_chart: no rows for segment {segment!r}")
    offset = float((data["perceived_value"] - data["fair_price"]).iloc[0])
    # the line across the values on the map, slope 1, never below a price of 0
    low = max(float(data["perceived_value_q05"].min()), offset)
    high = max(float(data["perceived_value_q95"].max()), low)
    line = pd.DataFrame({"perceived_value": [low, high], "price": [low - offset, high - offset]})
    present = set(data["offering"])
    palette = tuple((name, color) for name, color in colors.items() if name in present)
    columns = ["offering", "price", "perceived_value", "perceived_value_q05", "perceived_value_q95"]
    offerings = data[columns + ["fair_price", "surplus"]]
    return _filled(_value_map_template(currency, palette, segment), line=line, offerings=offerings)


@functools.lru_cache(maxsize=256)
def _value_map_template(currency: str, palette: tuple[tuple[str, str], ...], segment: str) -> str:
    x = alt.X("perceived_value:Q", title=f"Perceived value ({currency})", scale=alt.Scale(zero=False))
    y = alt.Y("price:Q", title=f"Price ({currency})", scale=alt.Scale(zero=False))
    color = alt.Color("offering:N", scale=_scale(dict(palette)), legend=alt.Legend(title=None, orient="top"))
    offerings = alt.Chart(alt.NamedData("offerings"))
    equivalence = (
        alt.Chart(alt.NamedData("line"))
        .mark_line(color="#777", strokeDash=[6, 4])
        .encode(x=x, y=y, tooltip=[alt.Tooltip("price:Q", title="value-equivalent price", format=",.2f")])
    )
    interval = offerings.mark_rule(strokeWidth=3, opacity=0.5).encode(
        x=alt.X("perceived_value_q05:Q"), x2=alt.X2("perceived_value_q95"), y=alt.Y("price:Q"), color=color
    )
    points = offerings.mark_circle(size=220, opacity=1).encode(
        x=x,
        y=y,
        color=color,
        tooltip=[
            alt.Tooltip("offering:N"),
            alt.Tooltip("price:Q", format=",.2f"),
            alt.Tooltip("perceived_value:Q", title="perceived value", format=",.2f"),
            alt.Tooltip("fair_price:Q", title="value-equivalent price", format=",.2f"),
            alt.Tooltip("surplus:Q", title="value - price", format=",.2f"),
        ],
    )
    # labels right of each interval's end: a whisker never crosses its own offering's name
    labels = offerings.mark_text(align="left", dx=8, dy=-10, fontWeight="bold").encode(
        x=alt.X("perceived_value_q95:Q"), y=y, text=alt.Text("offering:N"), color=color
    )
    chart = alt.layer(equivalence, interval, points, labels).properties(
        width=WIDTH, height=HEIGHT, title=f"Value map: {segment}"
    )
    return json.dumps(_spec(chart))


def share_chart(shares: pd.DataFrame, colors: dict[str, str]) -> Spec:
    """Stacked bars: each segment's customers split over the offerings and `none` (buy nothing).

    `shares` has the columns of `pricing.analysis.offering_shares_at` (segment, offering, mean, ...).
    """
    order = {name: i for i, name in enumerate(colors)}
    data = shares.assign(order=shares["offering"].map(order))
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=None, sort=list(dict.fromkeys(data["segment"]))),
            x=alt.X(
                "mean:Q",
                title="Share of the segment's customers",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1], nice=False),  # the stack is 100%: never an axis to 110%
            ),
            color=alt.Color(
                "offering:N",
                scale=_scale(colors, data["offering"]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("offering:N"),
                alt.Tooltip("mean:Q", title="share", format=".1%"),
                alt.Tooltip("q05:Q", title="5%", format=".1%"),
                alt.Tooltip("q95:Q", title="95%", format=".1%"),
            ],
        )
        .properties(width=WIDTH, height=alt.Step(44))
    )
    return _spec(chart)


def segment_metric_chart(
    metrics: pd.DataFrame, metric: str, currency: str, period: str | None = None, title: str | None = None
) -> Spec:
    """Bars of one of our metrics per segment with its 90% interval (rows of `analysis.metrics_at`)."""
    data = metrics[metrics["metric"] == metric]
    if data.empty:
        raise PricingError(f"segment_metric_chart: no rows for metric {metric!r}")
    title, fmt = title or metric_title(metric, currency, period), metric_format(metric)
    y = alt.Y("segment:N", title=None, sort=list(data["segment"]))
    bars = (
        alt.Chart(data)
        .mark_bar(color=OUR_COLOR, opacity=0.85)
        .encode(
            y=y,
            x=alt.X("mean:Q", title=title, axis=alt.Axis(format=fmt)),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("mean:Q", format=fmt),
                alt.Tooltip("q05:Q", title="5%", format=fmt),
                alt.Tooltip("q95:Q", title="95%", format=fmt),
            ],
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(color="#222", strokeWidth=1.5)
        .encode(y=y, x=alt.X("q05:Q"), x2=alt.X2("q95"))
    )
    return _spec(alt.layer(bars, whiskers).properties(width=WIDTH // 2 - 20, height=alt.Step(40)))


def probability_chart(probabilities: pd.DataFrame, colors: dict[str, str]) -> Spec:
    """P(most profitable) per variant (columns variant, probability) as labelled bars."""
    y = alt.Y("variant:N", title=None, sort=list(probabilities["variant"]))
    bars = (
        alt.Chart(probabilities)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "probability:Q",
                title="Probability of being the most profitable",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("variant:N", scale=_scale(colors, probabilities["variant"]), legend=None),
            tooltip=[alt.Tooltip("variant:N"), alt.Tooltip("probability:Q", format=".1%")],
        )
    )
    text = bars.mark_text(align="left", dx=4, color="#222").encode(
        text=alt.Text("probability:Q", format=".0%")
    )
    return _spec(alt.layer(bars, text).properties(width=WIDTH // 2 - 20, height=alt.Step(40)))


def difference_chart(
    comparison: pd.DataFrame,
    metric: str,
    currency: str,
    period: str | None = None,
    reference: str = "reference",
) -> Spec:
    """Each option's per-draw difference to the reference on one metric: mean and 90% interval.

    `comparison` has the columns of `pricing.analysis.compare_options`.
    """
    data = comparison[comparison["metric"] == metric]
    span = float(max(data["diff_q95"].max(), 0) - min(data["diff_q05"].min(), 0)) if len(data) else None
    title, fmt = metric_title(metric, currency, period), metric_format(metric, span)
    y = alt.Y("option:N", title=None, sort=list(data["option"]), axis=alt.Axis(labelLimit=220))
    x_title = [f"{title}:", f"difference to {reference}"]  # two lines: never cut off
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#999").encode(x=alt.X("x:Q"))
    whiskers = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3, color=OUR_COLOR)
        .encode(y=y, x=alt.X("diff_q05:Q", title=x_title, axis=alt.Axis(format=fmt)), x2=alt.X2("diff_q95"))
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=120, color=OUR_COLOR)
        .encode(
            y=y,
            x=alt.X("diff_mean:Q"),
            tooltip=[
                alt.Tooltip("option:N"),
                alt.Tooltip("diff_mean:Q", title="mean difference", format=fmt),
                alt.Tooltip("diff_q05:Q", title="5%", format=fmt),
                alt.Tooltip("diff_q95:Q", title="95%", format=fmt),
                alt.Tooltip("p_higher:Q", title="P(higher)", format=".0%"),
            ],
        )
    )
    return _spec(alt.layer(zero, whiskers, points).properties(width=WIDTH // 2 - 20, height=alt.Step(48)))


def chart_bytes(spec: Spec, fmt: str, scale: float = 2.0) -> bytes:
    """A chart's PNG (at `scale` x resolution) or SVG file, rendered offline by vl-convert."""
    if fmt not in ("png", "svg"):
        raise PricingError(f"chart format {fmt!r} is not supported; use 'png' or 'svg'")
    version = "_".join(alt.SCHEMA_VERSION.split(".")[:2])  # the Vega-Lite the specs are written for
    if fmt == "png":
        return vl_convert.vegalite_to_png(spec, vl_version=version, scale=scale)
    return vl_convert.vegalite_to_svg(spec, vl_version=version).encode("utf-8")


# ---- willingness to pay ----------------------------------------------------------------------------------

PSM_CURVES = {
    "too_cheap": ("Too cheap", "#3a9e8f"),
    "not_cheap": ("Not cheap", "#8fd1c6"),
    "not_expensive": ("Not expensive", "#f2a36b"),
    "too_expensive": ("Too expensive", "#c03d3e"),
}
PRICE_POINT_LABELS = {
    "pmc": "PMC (marginal cheapness)",
    "opp": "OPP (optimal price)",
    "idp": "IDP (indifference)",
    "pme": "PME (marginal expensiveness)",
}


def wtp_demand_chart(demand: pd.DataFrame, currency: str, colors: dict[str, str] | None = None) -> Spec:
    """Share of each segment's customers whose WTP is at least the price, with its 90% credible band.

    `demand` has columns segment, price, q05, q50, q95 (shares).
    """
    color = alt.Color(
        "segment:N",
        scale=_scale(colors, demand["segment"].unique()) if colors else alt.Undefined,
        legend=alt.Legend(title=None, orient="top"),
    )
    x = alt.X("price:Q", title=f"Price ({currency})")
    # Shares live in 0..100%: a segment whose customers all share one WTP (a multinomial logit's token
    # spread) steps from 100% to 0, and nothing may be drawn beyond the axis there.
    share_scale = alt.Scale(domain=[0, 1], nice=False, clamp=True)
    base = alt.Chart(demand).encode(x=x, color=color)
    band = base.mark_area(opacity=BAND_OPACITY, clip=True).encode(
        y=alt.Y(
            "q05:Q",
            title="Customers with WTP at or above the price",
            axis=alt.Axis(format=".0%"),
            scale=share_scale,
        ),
        y2=alt.Y2("q95"),
    )
    line = base.mark_line(strokeWidth=2.5, clip=True).encode(
        y=alt.Y("q50:Q", scale=share_scale),
        tooltip=[
            alt.Tooltip("segment:N"),
            alt.Tooltip("price:Q", format=",.2f"),
            alt.Tooltip("q50:Q", title="share", format=".1%"),
            alt.Tooltip("q05:Q", title="5%", format=".1%"),
            alt.Tooltip("q95:Q", title="95%", format=".1%"),
        ],
    )
    return _spec(alt.layer(band, line).properties(width=WIDTH, height=HEIGHT))


def van_westendorp_chart(curves: pd.DataFrame, points: dict[str, float], currency: str) -> Spec:
    """The classic Van Westendorp chart: the four cumulative curves and the price points where they cross.

    `curves` has columns price, too_cheap, not_cheap, not_expensive, too_expensive (shares, as
    `pricing.wtp.van_westendorp.psm_curves` gives); `points` maps pmc, opp, idp, pme to prices.
    """
    long = curves.melt(id_vars="price", value_vars=list(PSM_CURVES), var_name="curve", value_name="share")
    long["curve"] = long["curve"].map({k: v[0] for k, v in PSM_CURVES.items()})
    scale = alt.Scale(domain=[v[0] for v in PSM_CURVES.values()], range=[v[1] for v in PSM_CURVES.values()])
    lines = (
        alt.Chart(long)
        .mark_line(strokeWidth=2.5, interpolate="step-after")
        .encode(
            x=alt.X("price:Q", title=f"Price ({currency})"),
            y=alt.Y("share:Q", title="Share of respondents", axis=alt.Axis(format=".0%")),
            color=alt.Color("curve:N", scale=scale, legend=alt.Legend(title=None, orient="top")),
            tooltip=[
                alt.Tooltip("curve:N"),
                alt.Tooltip("price:Q", format=",.2f"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
    )
    marks = pd.DataFrame(
        [
            {"point": PRICE_POINT_LABELS[k], "short": k.upper(), "price": v}
            for k, v in sorted(points.items(), key=lambda item: item[1] if item[1] == item[1] else 0)
            if v is not None and v == v
        ]
    )
    if not marks.empty:  # in price order, each label a row lower than the last: close points never overlap
        marks["row"] = [1.0 - 0.07 * i for i in range(len(marks))]
    layers = [lines]
    if not marks.empty:
        rules = (
            alt.Chart(marks)
            .mark_rule(color="#555", strokeDash=[4, 3])
            .encode(
                x=alt.X("price:Q"), tooltip=[alt.Tooltip("point:N"), alt.Tooltip("price:Q", format=",.2f")]
            )
        )
        labels = (
            alt.Chart(marks)
            .mark_text(align="left", dx=4, color="#333", fontWeight="bold")
            .encode(x=alt.X("price:Q"), y=alt.Y("row:Q"), text=alt.Text("short:N"))
        )
        layers += [rules, labels]
    return _spec(alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))


def gabor_granger_chart(table: pd.DataFrame, best_price: float, currency: str) -> Spec:
    """Gabor-Granger: share buying (bars) and revenue per respondent (line, right axis) per tested price.

    `table` has columns price, share, revenue (`pricing.wtp.gabor_granger.gabor_granger_table`).
    """
    base = alt.Chart(table).encode(x=alt.X("price:O", title=f"Tested price ({currency})"))
    bars = base.mark_bar(color=OUR_COLOR, opacity=0.75).encode(
        y=alt.Y("share:Q", title="Would buy", axis=alt.Axis(format=".0%", titleColor=OUR_COLOR)),
        tooltip=[alt.Tooltip("price:Q", format=",.2f"), alt.Tooltip("share:Q", format=".1%")],
    )
    revenue = base.mark_line(color="#d98c1f", strokeWidth=3, point=True).encode(
        y=alt.Y(
            "revenue:Q",
            title=f"Revenue per respondent ({currency})",
            axis=alt.Axis(format=",.2f", titleColor="#d98c1f"),
        ),
        tooltip=[alt.Tooltip("price:Q", format=",.2f"), alt.Tooltip("revenue:Q", format=",.2f")],
    )
    best = (
        alt.Chart(table[table["price"] == best_price])
        .mark_text(dy=-12, fontWeight="bold", color="#d98c1f")
        .encode(x=alt.X("price:O"), y=alt.Y("revenue:Q"), text=alt.TextValue("best"))
    )
    chart = alt.layer(bars, alt.layer(revenue, best)).resolve_scale(y="independent")
    return _spec(chart.properties(width=WIDTH, height=HEIGHT))


def attribute_wtp_chart(
    wtp: pd.DataFrame, currency: str, colors: dict[str, str] | None = None, x_title: str | None = None
) -> Spec:
    """Conjoint WTP of each attribute (level) per segment: posterior median and 5-95% interval.

    `wtp` has columns segment, attribute, q05, q50, q95 (currency per unit or per level); any other
    per-segment amounts with intervals (e.g. fitted price points as `attribute`) chart the same way.
    """
    y = alt.Y("attribute:N", title=None, sort=list(dict.fromkeys(wtp["attribute"])))
    color = alt.Color(
        "segment:N",
        scale=_scale(colors, wtp["segment"].unique()) if colors else alt.Undefined,
        legend=alt.Legend(title=None, orient="top"),
    )
    offset = alt.YOffset("segment:N")
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#999").encode(x=alt.X("x:Q"))
    whiskers = (
        alt.Chart(wtp)
        .mark_rule(strokeWidth=3)
        .encode(
            y=y,
            yOffset=offset,
            x=alt.X("q05:Q", title=x_title or f"Willingness to pay ({currency})"),
            x2=alt.X2("q95"),
            color=color,
        )
    )
    points = (
        alt.Chart(wtp)
        .mark_point(filled=True, size=90)
        .encode(
            y=y,
            yOffset=offset,
            x=alt.X("q50:Q"),
            color=color,
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("attribute:N"),
                alt.Tooltip("q50:Q", title="median", format=",.2f"),
                alt.Tooltip("q05:Q", title="5%", format=",.2f"),
                alt.Tooltip("q95:Q", title="95%", format=",.2f"),
            ],
        )
    )
    chart = alt.layer(zero, whiskers, points).properties(
        width=WIDTH, height=alt.Step(22 * wtp["segment"].nunique() + 10)
    )
    return _spec(chart)


# ---- cached specs ------------------------------------------------------------------------------------------


def with_selected_price(spec: Spec, price: float) -> Spec:
    """A copy of a `curve_chart` spec built with a `selected_price`, its rule moved to `price`.

    Only the rule's named dataset changes, not the spec: the browser then updates the drawn chart's data in
    place instead of compiling and drawing a new chart (Streamlit re-embeds a Vega-Lite chart only when its
    spec without the datasets changes), which is most of a price step's redraw time.
    """
    if "selected" not in spec.get("datasets", {}):
        raise PricingError(
            "with_selected_price: the spec has no selected price (build it with selected_price)"
        )
    return {**spec, "datasets": {**spec["datasets"], "selected": [{"price": float(price)}]}}


# ---- the conjoint market simulator: sensitivity ----------------------------------------------------------


def tornado_chart(swings: pd.DataFrame, base: float, metric: str, currency: str = "") -> Spec:
    """Horizontal bars from the lowest to the highest `metric` of each factor (`pricing.shares.tornado`),
    widest first, around a rule at the base case's value."""
    title, fmt = METRIC_LABELS[metric]
    title = f"{title} ({currency})" if currency and metric not in ("share", "satisfaction") else title
    data = swings.assign(
        low_setting=swings["low_setting"].astype(str), high_setting=swings["high_setting"].astype(str)
    )
    order = list(data["factor"])
    y = alt.Y("factor:N", sort=order, title=None)
    bars = (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_bar(color=OUR_COLOR, opacity=0.8, height=18)
        .encode(
            y=y,
            x=alt.X("low:Q", title=title, axis=alt.Axis(format=fmt)),
            x2=alt.X2("high:Q"),
            tooltip=[
                alt.Tooltip("factor:N"),
                alt.Tooltip("low:Q", format=fmt, title="lowest"),
                alt.Tooltip("low_setting:N", title="at"),
                alt.Tooltip("high:Q", format=fmt, title="highest"),
                alt.Tooltip("high_setting:N", title="at"),
            ],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=[{"base": base}]))
        .mark_rule(color="#333", strokeDash=[4, 3])
        .encode(x=alt.X("base:Q"))
    )
    height = max(80, 30 * len(order))
    return _spec(alt.layer(bars, rule).properties(width=WIDTH, height=height))


def sensitivity_chart(table: pd.DataFrame, factor: str, metric: str, currency: str = "") -> Spec:
    """One factor's curve of a `pricing.shares.sensitivity` table: `metric` at each setting (levels in their
    order, prices as numbers), the base case's setting marked."""
    title, fmt = METRIC_LABELS[metric]
    title = f"{title} ({currency})" if currency and metric not in ("share", "satisfaction") else title
    rows = table[table["factor"] == factor]
    numeric = all(isinstance(v, int | float) for v in rows["setting"])
    data = rows.assign(setting=rows["setting"] if numeric else rows["setting"].astype(str))
    x = (
        alt.X("setting:Q", title=factor.split(": ", 1)[-1], scale=alt.Scale(zero=False))
        if numeric
        else alt.X("setting:O", title=factor.split(": ", 1)[-1], sort=list(data["setting"]))
    )
    base = alt.Chart(alt.Data(values=_records(data[["setting", metric, "base"]]))).encode(
        x=x, y=alt.Y(f"{metric}:Q", title=title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=False))
    )
    line = base.mark_line(color=OUR_COLOR, strokeWidth=2.5, point=True).encode(
        tooltip=[alt.Tooltip("setting:Q" if numeric else "setting:N"), alt.Tooltip(f"{metric}:Q", format=fmt)]
    )
    marked = base.transform_filter("datum.base").mark_point(color="#333", size=120, filled=True)
    return _spec(alt.layer(line, marked).properties(width=260, height=180, title=factor))


def over_time_chart(
    trajectories: pd.DataFrame, title: str, colors: dict[str, str], money: bool = False
) -> Spec:
    """One line per variant over the periods with its 90% band (columns period, variant, mean, q05, q95)."""
    fmt = ",.3s" if money else ",.0f"
    color = alt.Color(
        "variant:N", title="variant", scale=_scale(colors, list(trajectories["variant"].unique()))
    )
    x = alt.X("period:Q", title="period", axis=alt.Axis(tickMinStep=1, format="d"))
    band = (
        alt.Chart(trajectories)
        .mark_area(opacity=0.18)
        .encode(x=x, y=alt.Y("q05:Q", title=title, axis=alt.Axis(format=fmt)), y2=alt.Y2("q95"), color=color)
    )
    line = (
        alt.Chart(trajectories)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("mean:Q"),
            color=color,
            tooltip=[
                alt.Tooltip("variant:N"),
                alt.Tooltip("period:Q"),
                alt.Tooltip("mean:Q", format=fmt),
                alt.Tooltip("q05:Q", title="5%", format=fmt),
                alt.Tooltip("q95:Q", title="95%", format=fmt),
            ],
        )
    )
    return _spec(alt.layer(band, line).properties(width=WIDTH // 2 - 20, height=280))


def survival_chart(fitted: pd.DataFrame, observed: pd.DataFrame) -> Spec:
    """A fitted survival curve per segment with its 90% band (period, segment, mean, q05, q95) against the
    observed share of each cohort still active (period, segment, cohort, survival)."""
    color = alt.Color("segment:N", title="segment")
    x = alt.X("period:Q", title="period since acquisition", axis=alt.Axis(tickMinStep=1, format="d"))
    y = alt.Y("q05:Q", title="share still active", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    band = alt.Chart(fitted).mark_area(opacity=0.2).encode(x=x, y=y, y2=alt.Y2("q95"), color=color)
    line = alt.Chart(fitted).mark_line().encode(x=x, y=alt.Y("mean:Q"), color=color)
    points = (
        alt.Chart(observed)
        .mark_point(filled=True, size=40)
        .encode(
            x=x,
            y=alt.Y("survival:Q"),
            color=color,
            shape=alt.Shape("cohort:N", title="cohort"),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("cohort:N"),
                alt.Tooltip("survival:Q", format=".1%"),
            ],
        )
    )
    return _spec(alt.layer(band, line, points).properties(width=WIDTH // 2 - 20, height=280))


#: Quadrants of the Kano plot (|CS-| on x, CS+ on y, split at 0.5): where a point falls says how the
#: attribute behaves (Berger et al. 1993 after Timko).
KANO_QUADRANTS = (
    (0.25, 0.95, "attractive"),
    (0.75, 0.95, "one-dimensional"),
    (0.75, 0.05, "must-be"),
    (0.25, 0.05, "indifferent"),
)


def kano_chart(points: pd.DataFrame, colors: dict[str, str] | None = None) -> Spec:
    """The Kano plot: CS+ (satisfaction when delivered) against |CS-| (dissatisfaction when not), one point
    per attribute (and segment), with the four quadrants; columns ``attribute``, ``segment``, ``cs_plus``,
    ``cs_minus`` and, for a fit, ``cs_plus_q05``/``cs_plus_q95``/``cs_minus_q05``/``cs_minus_q95`` (90%
    intervals, drawn as whiskers)."""
    frame = points.assign(dissatisfaction=points["cs_minus"].abs())
    segments = list(dict.fromkeys(frame["segment"]))
    colors = colors or segment_colors(segments)
    axis = {"scale": alt.Scale(domain=[0, 1]), "axis": alt.Axis(format=".1f")}
    x = alt.X("dissatisfaction:Q", title="|CS-|: dissatisfaction when not delivered", **axis)
    y = alt.Y("cs_plus:Q", title="CS+: satisfaction when delivered", **axis)
    color = alt.Color("segment:N", scale=_scale(colors, segments), title="Segment")
    tooltip = [
        alt.Tooltip("attribute:N"),
        alt.Tooltip("segment:N"),
        alt.Tooltip("cs_plus:Q", format=".2f", title="CS+"),
        alt.Tooltip("cs_minus:Q", format=".2f", title="CS-"),
    ]
    base = alt.Chart(frame)
    layers = [
        alt.Chart(pd.DataFrame({"at": [0.5]}))
        .mark_rule(color="#999", strokeDash=[4, 4])
        .encode(x=alt.X("at:Q")),
        alt.Chart(pd.DataFrame({"at": [0.5]}))
        .mark_rule(color="#999", strokeDash=[4, 4])
        .encode(y=alt.Y("at:Q")),
        alt.Chart(pd.DataFrame(KANO_QUADRANTS, columns=["x", "y", "label"]))
        .mark_text(color="#777", fontSize=12)
        .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), text=alt.Text("label:N")),
    ]
    if {"cs_plus_q05", "cs_minus_q05"} <= set(frame.columns):
        whiskers = frame.assign(
            dissatisfaction_low=frame["cs_minus_q95"].abs(), dissatisfaction_high=frame["cs_minus_q05"].abs()
        )
        layers += [
            alt.Chart(whiskers)
            .mark_rule(opacity=0.6)
            .encode(x=x, y=alt.Y("cs_plus_q05:Q"), y2=alt.Y2("cs_plus_q95:Q"), color=color),
            alt.Chart(whiskers)
            .mark_rule(opacity=0.6)
            .encode(x=alt.X("dissatisfaction_low:Q"), x2=alt.X2("dissatisfaction_high:Q"), y=y, color=color),
        ]
    layers += [
        base.mark_point(filled=True, size=70).encode(x=x, y=y, color=color, tooltip=tooltip),
        base.mark_text(align="left", dx=7, dy=-7, fontSize=11).encode(
            x=x, y=y, text=alt.Text("attribute:N"), color=color
        ),
    ]
    return _spec(alt.layer(*layers).properties(width=WIDTH, height=WIDTH * 0.8))


# ---- sweeps ------------------------------------------------------------------------------------------------


def sweep_chart(
    cells: pd.DataFrame,
    x: str,
    metric: str,
    currency: str,
    *,
    y: str | None = None,
    best: dict[str, float] | None = None,
    lines: bool = False,
) -> Spec:
    """A metric over one or two swept inputs: a heat map over `x` and `y`, or lines over `x` (one per value
    of `y`, with the 90% band when there is one line), with the `best` cell marked.

    Parameters
    ----------
    cells : one row per sweep point: the input columns `x` (and `y`), mean, q05, q95.
    x, y : the swept inputs' columns (their labels are the axis titles).
    metric : names the colour scale or the y axis (`METRIC_LABELS`; `best_price` is a price).
    best : the marked cell's `x` (and `y`) values, e.g. the most profitable point.
    """
    title = "Best price" + f" ({currency})" if metric == "best_price" else metric_title(metric, currency)
    fmt = ",.2f" if metric == "best_price" else metric_format(metric)
    data = cells.rename(columns={x: "x", **({y: "y"} if y else {})})
    tooltip = [alt.Tooltip("x:Q", title=x, format=",.4~g")]
    tooltip += [alt.Tooltip("y:Q", title=y, format=",.4~g")] if y else []
    tooltip += [
        alt.Tooltip("mean:Q", title=title, format=fmt),
        alt.Tooltip("q05:Q", title="5%", format=fmt),
        alt.Tooltip("q95:Q", title="95%", format=fmt),
    ]
    best_data = pd.DataFrame([{"x": best[x], **({"y": best[y]} if y else {})}]) if best else None
    if y is not None and not lines:
        axis_x = alt.X("x:O", title=x, axis=alt.Axis(format=",.4~g", labelAngle=0))
        axis_y = alt.Y("y:O", title=y, sort="descending", axis=alt.Axis(format=",.4~g"))
        heat = (
            alt.Chart(data)
            .mark_rect()
            .encode(
                x=axis_x,
                y=axis_y,
                color=alt.Color(
                    "mean:Q", title=title, scale=alt.Scale(scheme="viridis"), legend=alt.Legend(format=fmt)
                ),
                tooltip=tooltip,
            )
        )
        layers = [heat]
        if best_data is not None:
            layers.append(
                alt.Chart(best_data)
                .mark_point(
                    shape="diamond", size=220, filled=True, color="#ff3b30", stroke="white", strokeWidth=1.5
                )
                .encode(x=axis_x, y=axis_y)
            )
        return _spec(alt.layer(*layers).properties(width=WIDTH, height=HEIGHT + 60))
    axis_x = alt.X("x:Q", title=x, scale=alt.Scale(zero=False), axis=alt.Axis(format=",.4~g"))
    axis_y = alt.Y("mean:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt))
    color = {"color": alt.Color("y:N", title=y, legend=alt.Legend(format=",.4~g"))} if y else {}
    layers = []
    if y is None:
        layers.append(
            alt.Chart(data)
            .mark_area(opacity=BAND_OPACITY, color=OUR_COLOR)
            .encode(x=axis_x, y="q05:Q", y2="q95:Q")
        )
    layers.append(
        alt.Chart(data)
        .mark_line(point=True, **({} if y else {"color": OUR_COLOR}))
        .encode(x=axis_x, y=axis_y, tooltip=tooltip, **color)
    )
    if best_data is not None:
        marked = data.merge(best_data, on=["x", "y"] if y else ["x"])[["x", "mean"]]
        layers.append(
            alt.Chart(marked)
            .mark_point(
                shape="diamond", size=200, filled=True, color="#ff3b30", stroke="white", strokeWidth=1.5
            )
            .encode(x=axis_x, y=axis_y)
        )
    return _spec(alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))
