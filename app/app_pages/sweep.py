"""Sweep: vary one or two inputs over a range, see a metric over them (heat map or lines), best cell marked.

The points run in this process, batch by batch, with a progress bar (`pricing.sweep.run_sweep`). Finished
batches are kept in the session, so Cancel (or any other control change) stops the run without losing them,
and Continue finishes it; a sweep of other settings starts afresh.
"""

from __future__ import annotations

import hashlib
import time

import formatting
import state
import streamlit as st

from pricing import charts, sweep
from pricing.io import csv_text
from pricing.scenario import scenario_hash

MAX_STEPS = 25
METRICS = {**charts.HEADLINE_METRICS, "best_price": "Best price"}
AT_PRICE, AT_BEST = "our price today", "each variant's best price"


def _range(label: str, value: float, steps: int, column) -> tuple[float, float, int]:
    low, high = (0.7 * value, 1.3 * value) if value > 0 else (0.0, 1.0)
    key = state.widget_key(f"sweep_{hashlib.sha1(label.encode()).hexdigest()[:8]}")
    a, b, c = column.columns(3)
    start = a.number_input(f"{label}: from", value=float(round(low, 2)), key=f"{key}_from")
    stop = b.number_input(f"{label}: to", value=float(round(high, 2)), key=f"{key}_to")
    count = c.number_input(f"{label}: steps", 2, MAX_STEPS, steps, key=f"{key}_steps")
    return float(start), float(stop), int(count)


current = state.scenario()
currency = current.currency
inputs = sweep.common_inputs(current)
st.title("Sweep")
st.caption(
    "Vary one or two inputs over a range and see how a metric responds. Each point is a full simulation "
    "with its own draws (seeded from the scenario's seed and the point's number)."
)

settings = st.container(border=True)
chosen = settings.multiselect(
    "Inputs to vary (up to two)",
    list(inputs),
    default=[list(inputs)[2] if len(inputs) > 2 else list(inputs)[0]],
    max_selections=2,
    key=state.widget_key("sweep_inputs"),
)
ranges = {label: _range(label, inputs[label][1], 7 if len(chosen) == 2 else 11, settings) for label in chosen}
left, middle, right = settings.columns(3)
PER_PERIOD = ("volume", "revenue", "profit")


def _metric_label(name: str) -> str:
    return formatting.per_period(METRICS[name], current.period) if name in PER_PERIOD else METRICS[name]


metric = left.selectbox(
    "Metric", list(METRICS), format_func=_metric_label, index=3, key=state.widget_key("sweep_metric")
)
bases = [AT_BEST] if metric == "best_price" else [AT_PRICE, AT_BEST]
basis = middle.radio("At", bases, key=state.widget_key(f"sweep_basis_{metric == 'best_price'}"))
variant = right.selectbox(
    "Variant", [v.name for v in current.variants], key=state.widget_key("sweep_variant")
)
draws = left.number_input(
    "Draws per point", 20, 5000, min(current.market.draws, 500), step=50, key=state.widget_key("sweep_draws")
)
shape = "Heat map"
if len(chosen) == 2:
    shape = middle.radio(
        "Show as", ["Heat map", "Lines"], horizontal=True, key=state.widget_key("sweep_shape")
    )

if not chosen:
    st.info("Pick an input to vary.")
    st.stop()
problems = [f"{label}: 'from' must differ from 'to'" for label, (a, b, _) in ranges.items() if a == b]
if problems:
    for problem in problems:
        st.error(problem)
    st.stop()

keep = "summary" if basis == AT_BEST else {"kind": "at_prices", "prices": ["current"], "metrics": [metric]}
spec = sweep.Sweep(
    sweep_version=1,
    scenario="(the app's scenario)",
    changes={"market.draws": int(draws)},
    grid={inputs[label][0]: {"from": a, "to": b, "steps": n} for label, (a, b, n) in ranges.items()},
    keep=[keep],
)
identity = scenario_hash(current) + spec.model_dump_json()
points = sweep.plan(spec, current).size
run = st.session_state.get(state.SWEEP)
if run is None or run["identity"] != identity:
    run = {"identity": identity, "batches": [], "status": "new", "points": points}
elif run["status"] == "running":  # this rerun interrupted it (Cancel, or another control)
    run["status"] = "cancelled"
st.session_state[state.SWEEP] = run

done = sum(len(b.points) for b in run["batches"])
buttons = st.columns([1, 1, 4])
label = "Continue" if run["status"] == "cancelled" else "Run sweep"
start = buttons[0].button(label, type="primary", disabled=run["status"] == "done", key="sweep_start")
buttons[1].button("Cancel", key="sweep_cancel", help="Stops the sweep; the points done so far are kept.")
if run["status"] == "cancelled":
    st.warning(f"Cancelled after {done:,} of {points:,} points; Continue finishes the rest.")
elif run["status"] == "new":
    st.caption(f"{points:,} points of {int(draws):,} draws each.")

if start:
    run["status"] = "running"
    bar = st.progress(done / points, text=f"{done:,} of {points:,} points")
    began = time.perf_counter()

    def show(count: int, total: int, seconds: float) -> None:
        ran = count - done
        rate = ran / (time.perf_counter() - began) if ran else 0.0
        left_ = f", about {max(0, (total - count) / rate):.0f} s left" if rate else ""
        bar.progress(count / total, text=f"{count:,} of {total:,} points ({rate:,.1f} per second{left_})")

    result = sweep.run_sweep(
        spec, current, workers=1, previous=list(run["batches"]), on_batch=run["batches"].append, progress=show
    )
    run["status"] = "done" if result.complete else "cancelled"
    bar.empty()

if not run["batches"]:
    st.stop()

table = sweep.collect(spec, current, run["batches"])
failures = [f for b in run["batches"] for f in b.failures]
for failure in failures[:5]:
    st.error(f"Point {failure['point']}: {failure['error']}")
paths = {inputs[label][0]: label for label in chosen}
rows = table[(table["variant"] == variant) & (table["metric"] == metric)]
cells = rows[[*paths, "mean", "q05", "q95"]].rename(columns=paths)
x, y = chosen[0], chosen[1] if len(chosen) == 2 else None
# the marked cell: the highest value of the metric, or for the best price the most profitable point
scored = (
    rows if metric != "best_price" else table[(table["variant"] == variant) & (table["metric"] == "profit")]
)
best = scored.loc[scored["mean"].idxmax()] if not scored.empty else None
marked = {paths[p]: float(best[p]) for p in paths} if best is not None else None
st.vega_lite_chart(
    charts.sweep_chart(cells, x, metric, currency, y=y, best=marked, lines=shape == "Lines"),
    width="stretch",
    key="sweep_chart",
)
if best is not None:
    where = ", ".join(f"{label} = {value:,.4g}" for label, value in marked.items())
    scored_metric = "profit" if metric == "best_price" else metric
    value = formatting.metric_value(scored_metric, float(best["mean"]), currency)
    st.success(
        f"◆ Highest {_metric_label(scored_metric).lower()} ({variant}, at {basis}): {value} at {where}."
    )
st.download_button(
    "Download the table (CSV)",
    data=lambda: csv_text(table).encode(),
    file_name="sweep.csv",
    mime="text/csv",
    key="sweep_download",
)
with st.expander(f"The table ({len(table):,} rows)"):
    st.dataframe(table, hide_index=True)
