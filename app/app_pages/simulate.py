"""Simulate: move our price, pick an over-delivery variant, change competitors' prices; see what happens."""

from __future__ import annotations

import math

import formatting
import helptext as help_texts
import state
import streamlit as st

from pricing import charts
from pricing.errors import ScenarioError
from pricing.scenario import scenario_hash, with_changes

LABELS = charts.HEADLINE_METRICS
HEADLINE = tuple(LABELS)


def _set_view(field: str, key: str) -> None:
    st.session_state[state.VIEW][field] = st.session_state[key]


def _set_competitor_price(index: int, key: str) -> None:
    value = st.session_state[key]
    try:
        new = with_changes(state.scenario(), {f"offerings[{index}].price": value})
    except ScenarioError as error:
        state.message(f"competitor_{index}", error.problems)
        return
    state.message(f"competitor_{index}", None)
    state.set_scenario(new)


def _step(price: float) -> float:
    return float(10 ** (math.floor(math.log10(price)) - 1)) if price > 0 else 1.0


current = state.scenario()
currency = current.currency
results, key = state.results(current)
offerings = [o.name for o in current.offerings]
ours = current.our_offering.name
colors = charts.offering_colors([ours] + [o for o in offerings if o != ours])
variant_colors = charts.variant_colors([v.name for v in current.variants])

st.title(current.name)
if current.description:
    st.caption(current.description)
fit_notes = state.fit_notes(current)
if fit_notes:
    st.info(
        f"Using the WTP fit **{st.session_state[state.FIT]['label']}**: {'; '.join(fit_notes)}.", icon="📊"
    )

# ---- controls ----------------------------------------------------------------------------------------------
selected = state.view()
prices = [float(p) for p in results["price"].values]
controls = st.container(border=True)
left, right = controls.columns([3, 2], gap="large")
grid_key = state.widget_key(f"our_price_{prices[0]:g}_{prices[-1]:g}_{len(prices)}")
price = left.select_slider(
    f"Price of {ours} ({currency})",
    options=prices,
    value=min(prices, key=lambda p: abs(p - selected["price"])),
    format_func=lambda p: formatting.money(p, currency, 2),
    key=grid_key,
    on_change=_set_view,
    args=("price", grid_key),
    help=help_texts.PRICE,
)
variant_names = [v.name for v in current.variants]
variant_key = state.widget_key("variant")
variant = right.radio(
    "Delivery variant",
    variant_names,
    index=variant_names.index(selected["variant"]),
    key=variant_key,
    on_change=_set_view,
    args=("variant", variant_key),
    horizontal=True,
    help=help_texts.OVER_DELIVERY,
)
chosen = next(v for v in current.variants if v.name == variant)
if chosen.description:
    right.caption(chosen.description)

competitors = [(i, o) for i, o in enumerate(current.offerings) if o.owner != "us"]
if competitors:
    columns = controls.columns(min(len(competitors), 4))
    digest = scenario_hash(current)[:10]
    for n, (index, offering) in enumerate(competitors):
        column = columns[n % len(columns)]
        competitor_key = f"competitor_{index}_{digest}"
        column.number_input(
            f"{offering.name} price ({currency})",
            min_value=0.01,
            value=float(offering.price),
            step=_step(offering.price),
            format="%.2f",
            key=competitor_key,
            on_change=_set_competitor_price,
            args=(index, competitor_key),
            help=help_texts.COMPETITOR,
        )
        for problem in state.messages(f"competitor_{index}"):
            column.error(problem)

# ---- headline metrics --------------------------------------------------------------------------------------
table = state.metrics_at(key, price, variant, results)
today = state.metrics_at(key, current.our_offering.price, current.variants[0].name, results)
market = table[table["segment"] == "all"].set_index("metric")
baseline = today[today["segment"] == "all"].set_index("metric")
is_today = math.isclose(price, current.our_offering.price) and variant == current.variants[0].name
cells = st.columns(len(HEADLINE))
for cell, metric in zip(cells, HEADLINE, strict=True):
    row = market.loc[metric]
    change = row["mean"] - baseline.loc[metric, "mean"]
    tiny = abs(change) <= 1e-9 * max(1.0, abs(baseline.loc[metric, "mean"]))
    delta = None if is_today or tiny else formatting.metric_delta(metric, change, currency)
    cell.metric(
        LABELS[metric],
        formatting.metric_value(metric, row["mean"], currency),
        delta=delta,
        border=True,
        height=120,
        help=help_texts.SATISFACTION if metric == "satisfaction" else help_texts.INTERVALS,
    )
    cell.caption(f"90%: {formatting.interval(metric, row['q05'], row['q95'], currency)}")
st.caption(
    f"At {formatting.money(price, currency, 2)} with **{variant}**; changes against today "
    f"({formatting.money(current.our_offering.price, currency, 2)}, {current.variants[0].name}). "
    f"{current.market.draws:,} draws."
)

# ---- curves ------------------------------------------------------------------------------------------------
curves = state.price_curves(key, variant, results)
summary = state.variant_summary(key, results).set_index("variant")
best = float(summary.loc[variant, "best_price"])
chart_left, chart_right = st.columns(2, gap="large")
with chart_left:
    st.markdown(
        f"**Profit over price** · best price {formatting.money(best, currency, 2)} "
        f"(90%: {formatting.money(summary.loc[variant, 'best_price_q05'], currency, 2)} to "
        f"{formatting.money(summary.loc[variant, 'best_price_q95'], currency, 2)})",
        help=help_texts.PROFIT_CURVE,
    )
    profit_spec = state.chart_spec(
        f"{key}|profit|{variant}|{best}", lambda: charts.curve_chart(curves, "profit", currency, optimum=best)
    )
    st.vega_lite_chart(
        charts.with_layer(profit_spec, charts.price_rule_layer(price)), width="stretch", key="profit_chart"
    )
with chart_right:
    demand_metric = st.segmented_control(
        "Demand",
        ["share", "volume", "revenue"],
        format_func=lambda m: LABELS[m],
        key="demand_metric",
        label_visibility="collapsed",
    )
    demand_metric = demand_metric or "share"
    demand_spec = state.chart_spec(
        f"{key}|{demand_metric}|{variant}", lambda: charts.curve_chart(curves, demand_metric, currency)
    )
    st.vega_lite_chart(
        charts.with_layer(demand_spec, charts.price_rule_layer(price)), width="stretch", key="demand_chart"
    )

# ---- details -----------------------------------------------------------------------------------------------
value_tab, segment_tab, variant_tab = st.tabs(
    ["Value map", "Segments", "Variants"], key="simulate_tabs", on_change="rerun"
)
if value_tab.open:
    with value_tab:
        st.markdown(help_texts.VALUE_MAP)
        st.caption(help_texts.PERCEIVED_VALUE)
        segment_names = [s.name for s in current.segments]
        segment = st.segmented_control(
            "Segment", segment_names, default=segment_names[0], key="value_map_segment"
        )
        segment = segment or segment_names[0]
        vmap = state.value_map(key, variant, results)
        st.vega_lite_chart(
            state.chart_spec(
                f"{key}|value map|{variant}|{segment}",
                lambda: charts.value_map_chart(vmap, currency, colors, segment),
            ),
            width="stretch",
            key="value_map_chart",
        )
        st.caption(
            f"At today's prices, with {ours} delivering the variant **{variant}**. "
            "Value - price > 0: the median customer of this segment gets more than they pay for."
        )
if segment_tab.open:
    with segment_tab:
        st.markdown(f"**Who buys what** at {formatting.money(price, currency, 2)} ({variant})")
        shares = state.offering_shares_at(key, price, variant, results)
        st.vega_lite_chart(
            state.chart_spec(f"{key}|shares|{price}|{variant}", lambda: charts.share_chart(shares, colors)),
            width="stretch",
            key="share_chart",
        )
        st.caption("`none`: customers of the segment who buy nothing at these prices.")
        per_segment = table[table["segment"] != "all"]
        cols = st.columns(2, gap="large")
        for col, metric in zip(cols, ("profit", "satisfaction"), strict=True):
            with col:
                label = "Contribution (before fixed cost)" if metric == "profit" else LABELS[metric]
                st.markdown(f"**{label} by segment**")
                st.vega_lite_chart(
                    state.chart_spec(
                        f"{key}|segments|{metric}|{price}|{variant}",
                        lambda metric=metric: charts.segment_metric_chart(per_segment, metric, currency),
                    ),
                    width="stretch",
                    key=f"segment_{metric}_chart",
                )
        wide = per_segment.pivot(index="segment", columns="metric", values="mean")
        wide = wide.loc[list(dict.fromkeys(per_segment["segment"])), list(HEADLINE)]
        shown = wide.copy().astype(object)
        for metric in HEADLINE:
            shown[metric] = [formatting.metric_value(metric, v, currency) for v in wide[metric]]
        st.dataframe(shown.rename(columns=LABELS), width="stretch")
if variant_tab.open:
    with variant_tab:
        st.markdown(help_texts.P_BEST)
        probabilities = summary["p_most_profitable"].rename("probability").reset_index()
        st.vega_lite_chart(
            state.chart_spec(
                f"{key}|p best", lambda: charts.probability_chart(probabilities, variant_colors)
            ),
            width="stretch",
            key="probability_chart",
        )
        rows = []
        for name, row in summary.iterrows():
            rows.append(
                {
                    "Variant": name,
                    f"Best price ({currency})": f"{formatting.money(row['best_price'], currency, 2)} "
                    f"[{formatting.money(row['best_price_q05'], currency, 2)}, "
                    f"{formatting.money(row['best_price_q95'], currency, 2)}]",
                    "P(most profitable)": formatting.percent(row["p_most_profitable"], 0),
                    "Share": formatting.percent(row["share_mean"]),
                    "Profit": f"{formatting.money(row['profit_mean'], currency)} "
                    f"{formatting.interval('profit', row['profit_q05'], row['profit_q95'], currency)}",
                    "Satisfaction": formatting.metric_value(
                        "satisfaction", row["satisfaction_mean"], currency
                    ),
                }
            )
        st.dataframe(rows, width="stretch", hide_index=True)
        st.caption("Each variant at its own best price (the price maximising expected profit).")
