"""Compare: variants of the scenario, or saved options (scenario, price, variant), side by side."""

from __future__ import annotations

import formatting
import headline
import helptext
import pandas as pd
import state
import store
import streamlit as st

from pricing import analysis, charts
from pricing.errors import PricingError, ScenarioError

LABELS = charts.HEADLINE_METRICS
METRICS = tuple(LABELS)


def _save_current(name_key: str) -> None:
    current = state.scenario()
    selected = state.view()
    name = st.session_state.get(name_key) or headline.option_name(current, **selected)
    try:
        store.save_option(name, current, selected["price"], selected["variant"])
    except ScenarioError as error:
        state.message("store", error.problems)
        return
    state.message("store", None)
    st.session_state.pop(name_key, None)


def _rename(option_id: int, key: str) -> None:
    try:
        store.rename_option(option_id, st.session_state[key])
    except ScenarioError as error:
        state.message("store", error.problems)
        return
    state.message("store", None)


def _open(option: store.Option) -> None:
    state.set_scenario(option.scenario, base_name=None, source=f"saved option: {option.name}")
    state.set_price(option.price)
    st.session_state[state.VIEW]["variant"] = option.variant


def _import(key: str) -> None:
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    added, problems = store.import_options(uploaded.getvalue())
    state.message("store", [f"{uploaded.name}: {p}" for p in problems] or None)
    state.message("store_added", f"Imported {added} option{'s' if added != 1 else ''} from {uploaded.name}.")


current = state.scenario()
currency = current.currency
period = current.period
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
    saved = store.list_options()
    with st.container(border=True):
        name_key = "option_name"
        name_col, save_col = st.columns([3, 1], vertical_alignment="bottom")
        name_col.text_input(
            "Name of the option",
            placeholder=headline.option_name(current, **selected),
            key=name_key,
            help="An option is the scenario as it is now, our price and the variant. It is kept on this "
            f"computer ({store.data_dir()}), so it is still here after a reload or a restart.",
        )
        save_col.button(
            "Save the current view", on_click=_save_current, args=(name_key,), type="primary", width="stretch"
        )
        for problem in state.messages("store"):
            st.error(problem, icon="⚠️")
        for note in state.messages("store_added"):
            st.success(note)
        state.message("store_added", None)
    for option in saved:
        row_name, row_what, row_open, row_delete = st.columns([3, 3, 1, 1], vertical_alignment="center")
        rename_key = f"rename_{option.id}"
        st.session_state.setdefault(rename_key, option.name)
        row_name.text_input(
            "Name",
            key=rename_key,
            on_change=_rename,
            args=(option.id, rename_key),
            label_visibility="collapsed",
        )
        shown_price = formatting.price(option.price, option.scenario.currency)
        row_what.caption(
            f"{option.scenario.name} · {option.variant} @ {shown_price}"
            f" · saved {option.saved[:16].replace('T', ' ')} UTC"
        )
        row_open.button("Open", key=f"open_{option.id}", on_click=_open, args=(option,), width="stretch")
        row_delete.button(
            "Delete",
            key=f"delete_{option.id}",
            on_click=store.delete_option,
            args=(option.id,),
            width="stretch",
        )
    export_col, import_col = st.columns(2)
    export_col.download_button(
        "Export saved options (.json)",
        store.export_options,
        file_name="pricing-options.json",
        mime="application/json",
        disabled=not saved,
        key="export_options",
        on_click="ignore",
    )
    import_col.file_uploader(
        "Import saved options", type=None, key="import_options", on_change=_import, args=("import_options",)
    )
    chosen = st.multiselect(
        "Options to compare",
        [o.name for o in saved],
        default=[o.name for o in saved][:6],
        key="compare_saved_" + "_".join(str(o.id) for o in saved),
    )
    for option in saved:
        if option.name not in chosen:
            continue
        option_results, option_key = state.results_at(option.scenario, option.price)
        grid_results, grid_key = state.results(option.scenario)
        options[option.name] = (option_results, option.price, option.variant)
        curve_frames.append(
            state.price_curves(grid_key, option.variant, grid_results).assign(option=option.name)
        )
    if len(chosen) < 2:
        st.info("Save at least two options (and choose them above) to compare them.")
else:
    basis = st.radio(
        "Price of each variant",
        ["its own best price", "the selected price"],
        format_func=lambda b: (
            b if b.startswith("its") else f"{b} ({formatting.price(selected['price'], currency)})"
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
    exact, exact_key = state.results_at(current, selected["price"])
    for name in chosen:
        own_best = basis.startswith("its own")
        price = float(summary.loc[name, "best_price"]) if own_best else selected["price"]
        label = f"{name} @ {formatting.price(price, currency)}"
        options[label] = (results if own_best else exact, price, name)
        curve_frames.append(state.price_curves(key, name, results).assign(option=label))

if len(options) >= 2:
    labels = list(options)
    reference = st.selectbox("Reference (differences are against it)", labels, key="compare_reference")
    reference = reference if reference in labels else labels[0]
    try:
        comparison = analysis.compare_options(options, reference)
    except PricingError as error:
        st.error(str(error))
        comparison = None
    if comparison is not None:
        names = headline.labels(current)
        values = {}
        differences = {}
        for label in labels:
            block = comparison[comparison["option"] == label].set_index("metric")
            values[label] = {
                names[m]: f"{formatting.metric_value(m, block.loc[m, 'mean'], currency)} "
                f"{formatting.interval(m, block.loc[m, 'q05'], block.loc[m, 'q95'], currency)}"
                for m in METRICS
            }
            if label != reference:
                differences[label] = {
                    names[m]: f"{formatting.metric_delta(m, block.loc[m, 'diff_mean'], currency)} "
                    f"[{formatting.metric_delta(m, block.loc[m, 'diff_q05'], currency)}, "
                    f"{formatting.metric_delta(m, block.loc[m, 'diff_q95'], currency)}]"
                    for m in METRICS
                } | {"P(profit higher)": formatting.percent(block.loc["profit", "p_higher"], 0)}
        # options as columns, metrics as rows: the table fits the page however many metrics there are
        st.markdown(f"**Each option** (mean [90% interval]; units and money per {period})")
        st.dataframe(pd.DataFrame(values), width="stretch")
        st.markdown(f"**Difference to {reference}** (mean [90% interval] of the per-draw difference)")
        st.dataframe(pd.DataFrame(differences), width="stretch")
        others = comparison[comparison["option"] != reference]
        cols = st.columns(2, gap="large")
        for col, metric in zip(cols * 2, ("profit", "share", "revenue", "satisfaction"), strict=False):
            with col:
                st.vega_lite_chart(
                    charts.difference_chart(others, metric, currency, period, reference=reference),
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
                charts.curve_chart(
                    curves, metric, currency, color_by="option", colors=palette, period=period
                ),
                width="stretch",
                key=f"overlay_{metric}",
            )
elif mode != "Saved options":
    st.info("Choose at least two variants.")
