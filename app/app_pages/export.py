"""Export: the scenario file, the results as CSV or Excel, and the charts as PNG or SVG."""

from __future__ import annotations

import exports
import formatting
import state
import streamlit as st
from sidebar import file_stem, zip_download

from pricing import charts
from pricing.io import csv_text
from pricing.scenario import dump_scenario

current = state.scenario()
results, key = state.results(current)
selected = state.view()
price, variant = selected["price"], selected["variant"]
exact, _ = state.results_at(current, price)
stem = file_stem(current.name)

st.title("Export")
st.caption(
    f"{current.name}: {formatting.price(price, current.currency)} with **{variant}**; units and money per "
    f"{current.period} "
    "(change them on the Simulate page). Files are made when you click."
)

with st.container(border=True):
    st.subheader("Scenario file")
    st.caption("The YAML file the `pricing` command line reads; open it again from the sidebar.")
    st.download_button(
        "Download scenario (.yaml)",
        lambda: dump_scenario(current),
        file_name=f"{stem}.yaml",
        mime="application/x-yaml",
        key="export_scenario",
        on_click="ignore",
    )
    zip_download(current, "export_scenario_zip")

with st.container(border=True):
    st.subheader("Results")
    st.caption(
        "CSV: every variant, segment, offering, price and metric with mean and 5/50/95% quantiles. "
        "Excel: the same plus the variant summary, the selected view, curves and value map, a sheet each."
    )
    csv_col, excel_col = st.columns(2)
    csv_col.download_button(
        "Download results (.csv)",
        lambda: csv_text(state.summary_table(key, results)),
        file_name=f"{stem}-results.csv",
        mime="text/csv",
        key="export_csv",
        on_click="ignore",
    )
    excel_col.download_button(
        "Download workbook (.xlsx)",
        lambda: exports.excel_bytes(
            exports.result_sheets(
                current, results, price, variant, exact, summary=state.summary_table(key, results)
            )
        ),
        file_name=f"{stem}-results.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="export_excel",
        on_click="ignore",
    )

with st.container(border=True):
    st.subheader("Charts")
    st.caption("Pictures for slides: PNG at twice screen resolution, or SVG to scale without loss.")
    name_col, segment_col = st.columns(2)
    name = name_col.selectbox("Chart", exports.CHART_NAMES, key="export_chart")
    segment = segment_col.selectbox(
        "Segment (value map)",
        [s.name for s in current.segments],
        key=state.widget_key("export_segment"),
        disabled=name != "value map",
    )
    builder = exports.chart_builders(current, results, price, variant, segment, exact)[name]
    chart = builder()
    st.vega_lite_chart(chart, width="stretch", key="export_preview")
    png_col, svg_col = st.columns(2)
    file_name = f"{stem}-{name.replace(' ', '-')}"
    png_col.download_button(
        "Download PNG",
        lambda: charts.chart_bytes(chart, "png"),
        file_name=f"{file_name}.png",
        mime="image/png",
        key="export_png",
        on_click="ignore",
    )
    svg_col.download_button(
        "Download SVG",
        lambda: charts.chart_bytes(chart, "svg"),
        file_name=f"{file_name}.svg",
        mime="image/svg+xml",
        key="export_svg",
        on_click="ignore",
    )

state.summary_table(key, results)  # made after the page is drawn, so the first download does not wait for it
