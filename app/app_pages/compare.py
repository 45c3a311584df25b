"""Compare: variants of the scenario, or saved options (scenario, price, variant), side by side."""

from __future__ import annotations

import formatting
import helptext
import links
import pandas as pd
import state
import streamlit as st

from pricing import analysis, charts
from pricing.errors import PricingError
from pricing.scenario import scenario_hash

LABELS = charts.HEADLINE_METRICS
METRICS = tuple(LABELS)


def _changes(current) -> str:
    base = st.session_state.get(state.BASE)
    if base is None:
        return st.session_state.get(state.SOURCE, "")
    changes = links.scenario_changes(base, current)
    shown = ", ".join(f"{path} = {value}" for path, value in changes.items())
    return f"changed: {shown}" if changes else "as bundled"


def _save_current() -> None:
    current = state.scenario()
    selected = state.view()
    options = st.session_state[state.COMPARE]
    identity = (scenario_hash(current), selected["price"], selected["variant"])
    if identity in [o["identity"] for o in options]:
        return
    number = max([o["number"] for o in options], default=0) + 1
    price = formatting.money(selected["price"], current.currency, 2)
    options.append(
        {
            "number": number,
            "identity": identity,
            "label": f"{number}. {current.name} · {selected['variant']} @ {price}",
            "changes": _changes(current),
            "scenario": current,
            "price": selected["price"],
            "variant": selected["variant"],
        }
    )


def _remove(label: str) -> None:
    st.session_state[state.COMPARE] = [o for o in st.session_state[state.COMPARE] if o["label"] != label]


current = state.scenario()
currency = current.currency
results, key = state.results(current)
selected = state.view()

st.title("Compare")
st.caption(helptext.PAIRED)

mode = st.segmented_control(
    "What to compare",
    ["Variants of this scenario", "Saved options"],
    key="compare_mode",
)
options: dict[str, tuple] = {}
curve_frames = []
if mode == "Saved options":
    saved = st.session_state[state.COMPARE]
    left, right = st.columns([1, 2])
    left.button("Save the current view as an option", on_click=_save_current, type="primary")
    right.caption(
        "An option is a scenario (as it is now), a price and a variant: pick them on Simulate, edit the "
        "scenario or open another one, and save each here."
    )
    for option in saved:
        row_label, row_button = st.columns([5, 1])
        row_label.markdown(f"**{option['label']}**  \n{option['changes']}")
        row_button.button(
            "Remove", key=f"remove_{option['label']}", on_click=_remove, args=(option["label"],)
        )
    for option in saved:
        option_results, option_key = state.results(option["scenario"])
        options[option["label"]] = (option_results, option["price"], option["variant"])
        curve_frames.append(
            state.price_curves(option_key, option["variant"], option_results).assign(option=option["label"])
        )
    if len(saved) < 2:
        st.info("Save at least two options to compare them.")
else:
    basis = st.radio(
        "Price of each variant",
        ["its own best price", "the selected price"],
        format_func=lambda b: (
            b if b.startswith("its") else f"{b} ({formatting.money(selected['price'], currency, 2)})"
        ),
        horizontal=True,
        key="compare_basis",
    )
    summary = state.variant_summary(key, results).set_index("variant")
    chosen = st.multiselect(
        "Variants",
        [v.name for v in current.variants],
        default=[v.name for v in current.variants],
        key=state.widget_key("compare_variants"),
    )
    for name in chosen:
        price = float(summary.loc[name, "best_price"]) if basis.startswith("its own") else selected["price"]
        label = f"{name} @ {formatting.money(price, currency, 2)}"
        options[label] = (results, price, name)
        curve_frames.append(state.price_curves(key, name, results).assign(option=label))

if len(options) >= 2:
    labels = list(options)
    reference = st.selectbox("Reference (differences are against it)", labels, key="compare_reference")
    try:
        comparison = analysis.compare_options(options, reference)
    except PricingError as error:
        st.error(str(error))
        comparison = None
    if comparison is not None:
        values, differences = [], []
        for label in labels:
            block = comparison[comparison["option"] == label].set_index("metric")
            value_row, difference_row = {"Option": label}, {"Option": label}
            for metric in METRICS:
                r = block.loc[metric]
                value_row[LABELS[metric]] = (
                    f"{formatting.metric_value(metric, r['mean'], currency)} "
                    f"{formatting.interval(metric, r['q05'], r['q95'], currency)}"
                )
                low = formatting.metric_delta(metric, r["diff_q05"], currency)
                high = formatting.metric_delta(metric, r["diff_q95"], currency)
                difference_row[LABELS[metric]] = (
                    f"{formatting.metric_delta(metric, r['diff_mean'], currency)} [{low}, {high}]"
                )
            difference_row["P(profit higher)"] = formatting.percent(block.loc["profit", "p_higher"], 0)
            values.append(value_row)
            if label != reference:
                differences.append(difference_row)
        st.markdown("**Each option** (mean [90% interval])")
        st.dataframe(pd.DataFrame(values), hide_index=True, width="stretch")
        st.markdown(f"**Difference to {reference}** (mean [90% interval] of the per-draw difference)")
        st.dataframe(pd.DataFrame(differences), hide_index=True, width="stretch")
        others = comparison[comparison["option"] != reference]
        cols = st.columns(2, gap="large")
        for col, metric in zip(cols * 2, ("profit", "share", "revenue", "satisfaction"), strict=False):
            with col:
                st.vega_lite_chart(
                    charts.difference_chart(others, metric, currency),
                    width="stretch",
                    key=f"difference_{metric}",
                )
    palette = charts.variant_colors(labels)
    curves = pd.concat(curve_frames, ignore_index=True)
    left, right = st.columns(2, gap="large")
    for col, metric in ((left, "profit"), (right, "share")):
        with col:
            st.markdown(f"**{LABELS[metric]} over our price**")
            st.vega_lite_chart(
                charts.curve_chart(curves, metric, currency, color_by="option", colors=palette),
                width="stretch",
                key=f"overlay_{metric}",
            )
elif mode != "Saved options":
    st.info("Choose at least two variants.")
