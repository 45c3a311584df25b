"""Simulate: move our price, pick an over-delivery variant, change competitors' prices; see what happens."""

from __future__ import annotations

import math

import formatting
import headline
import helptext as help_texts
import sidebar
import state
import streamlit as st
import xarray as xr

from pricing import analysis, charts
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import Scenario, scenario_hash, with_changes

LABELS = charts.HEADLINE_METRICS
HEADLINE = tuple(LABELS)
ALL = analysis.ALL


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
    st.session_state[state.SIMULATE_DREW] = scenario_hash(new)  # `scenario_view` redraws it: no app rerun


def _step(price: float) -> float:
    return float(10 ** (math.floor(math.log10(price)) - 1)) if price > 0 else 1.0


current = state.scenario()
st.title(current.name)
if current.description:
    st.caption(current.description)
fit_notes = state.fit_notes(current)
if fit_notes:
    st.info(
        f"Using the WTP fit **{st.session_state[state.FIT]['label']}**: {'; '.join(fit_notes)}.", icon="📊"
    )


@st.fragment
def scenario_view(drawn: str) -> None:
    """What a rival's price changes: the rivals' prices, the sidebar's part that describes the scenario (its
    "(changed)" and downloads) and everything below (`explore`). A rival's price reruns only this
    (`st.fragment`), not the navigation and the sidebar's pickers; anything else that changes the scenario
    reruns the whole app (the guard: `drawn` is the scenario of the last full run)."""
    current = state.scenario()
    digest = scenario_hash(current)
    if digest != drawn and digest != st.session_state.get(state.SIMULATE_DREW):
        st.rerun(scope="app")
    sidebar.scenario_details()  # here, not by the app (`sidebar.PAGES_WITH_OWN_DETAILS`)
    _rivals(current)
    explore(digest)


@st.fragment
def explore(drawn: str) -> None:
    """Everything our controls change: the controls, the headline cards, the curves and the details. A change
    of our price, the variant, a tab or the segment reruns only this (a fragment inside `scenario_view`),
    which draws the share link. Anything that changes the scenario reruns the enclosing fragment or the app
    (the guard: `drawn` is the scenario `scenario_view` drew).

    A `PricingError` is caught here, not by the app: a rerun of the fragment alone never reaches the app's
    handler (it would show a traceback), and the share link, which this fragment draws, is still drawn."""
    if scenario_hash(state.scenario()) != drawn:
        st.rerun(scope="app")
    try:
        drawn_results = _explore()
    except PricingError as error:
        sidebar.cannot_show(error)
        drawn_results = None
    sidebar.share_link()  # here, not by the app (`sidebar.PAGES_WITH_OWN_LINK`): a rerun of this redraws it
    state.sync_url()
    if drawn_results is not None:  # after everything is drawn: the next change reads caches
        state.warm_up(state.scenario(), *drawn_results)


def _rivals(current: Scenario) -> None:
    """The rivals' prices: each change is a new scenario (a new simulation), drawn by `scenario_view`."""
    competitors = [(i, o) for i, o in enumerate(current.offerings) if o.owner != "us"]
    if not competitors:
        return
    columns = st.container(border=True).columns(min(len(competitors), 4))
    digest = scenario_hash(current)[:10]  # a new scenario (a link, an edit) gives new inputs with its prices
    for n, (index, offering) in enumerate(competitors):
        column = columns[n % len(columns)]
        competitor_key = f"competitor_{index}_{digest}"
        column.number_input(
            f"{offering.name} price ({current.currency})",
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


def _explore() -> tuple[str, xr.Dataset]:
    """Draw the page's controls, cards, curves and details; returns the results' cache key and results."""
    current = state.scenario()
    currency = current.currency
    period = current.period
    results, key = state.results(current)
    offerings = [o.name for o in current.offerings]
    ours = current.our_offering.name
    colors = charts.offering_colors([ours] + [o for o in offerings if o != ours])
    variant_colors = charts.variant_colors([v.name for v in current.variants])

    # ---- controls ------------------------------------------------------------------------------------------
    selected = state.view()
    prices = [float(p) for p in results["price"].values]
    controls = st.container(border=True)
    left, right = controls.columns([3, 2], gap="large")
    slider_col, typed_col = left.columns([5, 2], vertical_alignment="bottom")
    grid_key = state.price_control_key("slider", f"_{prices[0]:g}_{prices[-1]:g}_{len(prices)}")
    typed_key = state.price_control_key("typed")
    # Each control is created with the selected price as its value; a price set by the other control (or a
    # link, a saved option) gives it a new key, so it never receives an assignment while the browser still
    # holds its old value (`state.price_control_key`).
    slider_col.select_slider(
        f"Price of {ours} ({currency})",
        options=prices,
        value=min(prices, key=lambda p: abs(p - selected["price"])),
        format_func=lambda p: formatting.money(p, currency, 2),
        key=grid_key,
        on_change=state.set_price_from,
        args=("slider", grid_key, state.price_generation("slider")),
        help=help_texts.PRICE,
    )
    typed_col.number_input(
        f"Exact price ({currency})",
        min_value=0.01,
        max_value=1e9,
        value=round(selected["price"], 2),
        step=_step(current.our_offering.price),
        format="%.2f",
        key=typed_key,
        on_change=state.set_price_from,
        args=("typed", typed_key, state.price_generation("typed")),
        help=help_texts.TYPED_PRICE,
    )
    price = selected["price"]
    off_grid = not any(math.isclose(price, p, rel_tol=0, abs_tol=1e-9) for p in prices)
    if off_grid:
        left.caption(
            f"{formatting.price(price, currency)} lies between the grid's prices: simulated exactly."
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

    segment_names = [s.name for s in current.segments]
    segment = ALL
    if len(segment_names) > 1:
        segment = controls.segmented_control(
            "Customers",
            [ALL, *segment_names],
            format_func=lambda s: "All segments" if s == ALL else s,
            key=state.sticky(state.widget_key("segment_filter"), ALL),
            help=help_texts.SEGMENT_FILTER,
        )
        segment = segment or ALL

    # ---- headline metrics ----------------------------------------------------------------------------------
    headline.cards(current, price, variant, segment, base_case=True)  # one element for both: faster steps
    headline.base_case_bar(current, price, variant, line=False)

    # ---- curves --------------------------------------------------------------------------------------------
    curves = state.price_curves(key, variant, results, segment)
    summary = state.best_prices(key, results).set_index("variant")
    best = float(summary.loc[variant, "best_price"])
    chart_left, chart_right = st.columns(2, gap="large")
    with chart_left:
        if segment == ALL:
            st.markdown(
                f"**Profit per {period} over price** · best price {formatting.money(best, currency, 2)} "
                f"(90%: {formatting.money(summary.loc[variant, 'best_price_q05'], currency, 2)} to "
                f"{formatting.money(summary.loc[variant, 'best_price_q95'], currency, 2)})",
                help=help_texts.PROFIT_CURVE,
            )
            optimum = best
        else:
            st.markdown(
                f"**Contribution of {segment} per {period} over price** (before fixed cost)",
                help=help_texts.SEGMENT_FILTER,
            )
            optimum = None
        profit_spec = state.chart_spec(
            f"{key}|profit|{variant}|{optimum}|{segment}",
            lambda: charts.curve_chart(
                curves, "profit", currency, selected_price=price, optimum=optimum, period=period
            ),
        )
        st.vega_lite_chart(
            charts.with_selected_price(profit_spec, price), width="stretch", key="profit_chart"
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
            f"{key}|{demand_metric}|{variant}|{segment}",
            lambda: charts.curve_chart(curves, demand_metric, currency, selected_price=price, period=period),
        )
        st.vega_lite_chart(
            charts.with_selected_price(demand_spec, price), width="stretch", key="demand_chart"
        )
    if current.market.choice_rule == "first_choice":
        st.caption(help_texts.FIRST_CHOICE)

    # ---- details -------------------------------------------------------------------------------------------
    value_tab, segment_tab, variant_tab = st.tabs(
        ["Value map", "Segments", "Variants"], key="simulate_tabs", on_change="rerun"
    )
    exact, exact_key = state.results_at(current, price)
    if value_tab.open:
        with value_tab:
            # one element, not a markdown and a caption: every element is re-rendered on each price step
            st.markdown(f"{help_texts.VALUE_MAP}\n\n:small[:gray[{help_texts.PERCEIVED_VALUE}]]")
            if segment == ALL:
                shown_segment = st.segmented_control(
                    "Segment", segment_names, default=segment_names[0], key="value_map_segment"
                )
                shown_segment = shown_segment or segment_names[0]
            else:
                shown_segment = segment
            vmap = state.value_map(exact_key, variant, price, exact)
            st.vega_lite_chart(
                state.chart_spec(
                    f"{exact_key}|value map|{variant}|{price}|{shown_segment}",
                    lambda: charts.value_map_chart(vmap, currency, colors, shown_segment),
                ),
                width="stretch",
                key="value_map_chart",
            )
            point = vmap[(vmap["segment"] == shown_segment) & (vmap["owner"] == "us")].iloc[0]
            gap = float(point["surplus"])
            side = "below" if point["price"] < point["fair_price"] else "above"
            st.caption(
                f"{ours} at {formatting.price(price, currency)} ({variant}), rivals at their current prices. "
                f"The median {shown_segment} customer values {ours} at "
                f"{formatting.money(point['perceived_value'], currency, 2)}: "
                f"{formatting.money(abs(gap), currency, 2)} {'more' if gap >= 0 else 'less'} than its price. "
                f"It sits {side} the value-equivalence line: "
                f"{'more' if side == 'below' else 'less'} value for money than this segment's market average."
            )
    if segment_tab.open:
        with segment_tab:
            st.markdown(f"**Who buys what** at {formatting.price(price, currency)} ({variant})")
            shares = state.offering_shares_at(exact_key, price, variant, exact)
            st.vega_lite_chart(
                state.chart_spec(
                    f"{exact_key}|shares|{price}|{variant}", lambda: charts.share_chart(shares, colors)
                ),
                width="stretch",
                key="share_chart",
            )
            st.caption("`none`: customers of the segment who buy nothing at these prices.")
            table = state.metrics(current, price, variant)
            per_segment = table[table["segment"] != ALL]
            cols = st.columns(2, gap="large")
            contribution_title = f"Contribution ({currency} per {period}, before fixed cost)"
            for col, metric in zip(cols, ("profit", "satisfaction"), strict=True):
                with col:
                    label = (
                        f"Contribution per {period} (before fixed cost)"
                        if metric == "profit"
                        else LABELS[metric]
                    )
                    st.markdown(f"**{label} by segment**")
                    st.vega_lite_chart(
                        state.chart_spec(
                            f"{exact_key}|segments|{metric}|{price}|{variant}",
                            lambda metric=metric: charts.segment_metric_chart(
                                per_segment,
                                metric,
                                currency,
                                period,
                                title=contribution_title if metric == "profit" else None,
                            ),
                        ),
                        width="stretch",
                        key=f"segment_{metric}_chart",
                    )
            wide = per_segment.pivot(index="segment", columns="metric", values="mean")
            wide = wide.loc[list(dict.fromkeys(per_segment["segment"])), list(HEADLINE)]
            names = headline.labels(current, segment="any") | {
                "profit": f"Contribution / {period} (before fixed cost)"
            }
            shown = wide.copy().astype(object)
            for metric in HEADLINE:
                shown[metric] = [formatting.metric_value(metric, v, currency) for v in wide[metric]]
            fixed_cost = float(exact.fixed_cost.sel(variant=variant))
            market = table[table["segment"] == ALL].set_index("metric")["mean"]
            blank = dict.fromkeys(HEADLINE, "")
            shown.loc["All segments"] = [formatting.metric_value(m, market[m], currency) for m in HEADLINE]
            shown.loc["All segments", "profit"] = formatting.money(float(wide["profit"].sum()), currency)
            shown.loc[f"Fixed cost ({variant})"] = blank | {"profit": formatting.money(-fixed_cost, currency)}
            shown.loc["Profit (after fixed cost)"] = blank | {
                "profit": formatting.money(market["profit"], currency)
            }
            st.dataframe(shown.rename(columns=names), width="stretch")
            total = formatting.money(float(wide["profit"].sum()), currency)
            profit = formatting.money(market["profit"], currency)
            st.caption(
                f"Contributions of the segments {total} minus the fixed cost "
                f"{formatting.money(fixed_cost, currency)} = profit {profit} per {period} "
                "(means over the draws, so they add up)."
            )
    if variant_tab.open:
        with variant_tab:
            st.markdown(help_texts.P_BEST)
            summary = state.variant_summary(key, results).set_index("variant")
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
    return key, results


scenario_view(scenario_hash(current))
