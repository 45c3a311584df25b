"""Products: the market simulator as conjoint users know it. One row per product (ours and the rivals'),
its levels picked from dropdowns and its price typed; every product's share, total and per segment with
90% intervals, against the base case; and the sensitivity of our share and profit, one factor at a time."""

from __future__ import annotations

import headline
import pandas as pd
import state
import streamlit as st

from pricing import charts
from pricing.errors import ScenarioError
from pricing.scenario import scenario_hash, with_changes
from pricing.shares import market_shares, sensitivity, tornado

MEETS = "(as expected)"  # a level left unlisted: it meets each segment's expectation
SENSITIVITY_DRAWS = 200  # draws per sensitivity setting: each setting is a simulation of its own

current = state.scenario()
currency = current.currency
selected = state.view()
price, variant = selected["price"], selected["variant"]
ours = current.our_offering.name
table_key = f"products_table_{scenario_hash(current)[:12]}_{price!r}"


def _products() -> pd.DataFrame:
    """The products table: name, owner, price (ours at the selected price), one column per attribute."""
    rows = []
    for offering in current.offerings:
        row = {"product": offering.name, "owner": offering.owner, "price": offering.price}
        if offering.name == ours:
            row["price"] = price
        for attribute in current.attributes:
            level = offering.levels.get(attribute.name)
            if attribute.levels is not None:
                level = MEETS if level is None else level
            row[attribute.name] = level
        rows.append(row)
    return pd.DataFrame(rows)


def _apply_edits() -> bool:
    """Turn the table's edits into a new scenario (our price into the selected price); True when that
    changed anything (problems are kept for the table, and what was typed stays in it)."""
    edits = (st.session_state.get(table_key) or {}).get("edited_rows") or {}
    changes, our_price = {}, None
    for row, edited in edits.items():
        offering = current.offerings[int(row)]
        levels = dict(offering.levels)
        for column, value in edited.items():
            if column == "price":
                if offering.name == ours:
                    our_price = value
                else:
                    changes[f"offerings[{offering.name}].price"] = value
            elif column in current.attribute_names:
                if value is None or value == MEETS or (isinstance(value, float) and value != value):
                    levels.pop(column, None)
                else:
                    levels[column] = value
        if levels != dict(offering.levels):
            changes[f"offerings[{offering.name}].levels"] = levels
    if our_price is not None and not (isinstance(our_price, int | float) and our_price > 0):
        state.message("products", f"offerings[{ours}].price: must be a positive number (got {our_price})")
        return False
    new = current
    if changes:
        try:
            new = with_changes(current, changes)
        except ScenarioError as error:
            state.message("products", error.problems)
            return False
    state.message("products", None)
    changed = scenario_hash(new) != scenario_hash(current)
    if changed:
        state.set_scenario(new)
    if our_price is not None and float(our_price) != price:
        state.set_price(float(our_price))
        changed = True
    return changed


@st.cache_resource(max_entries=32, show_spinner="Running the sensitivity analysis...")
def _sensitivity(key: str, _scenario, offering: str, draws: int) -> pd.DataFrame:
    rivals = {o.name: None for o in _scenario.offerings if o.owner != "us" and o.name != offering}
    return sensitivity(_scenario, offering, rival_prices=rivals, draws=draws)


st.title("Products")
st.caption(
    "The market simulator: pick each product's levels, type its price, and read every product's share of "
    "each segment and of the market, with 90% intervals, against the base case."
)
headline.base_case_bar(current, price, variant)

# ---- the products table ------------------------------------------------------------------------------------
columns = {
    "product": st.column_config.TextColumn("Product", disabled=True),
    "owner": st.column_config.TextColumn("Owner", disabled=True),
    "price": st.column_config.NumberColumn(f"Price ({currency})", min_value=0.01, format="%.2f"),
}
for attribute in current.attributes:
    label = f"{attribute.name} ({attribute.unit})" if attribute.unit else attribute.name
    if attribute.levels is not None:
        columns[attribute.name] = st.column_config.SelectboxColumn(
            label, options=[MEETS, *attribute.levels], required=True
        )
    else:
        columns[attribute.name] = st.column_config.NumberColumn(label, help="Empty: meets each expectation.")
st.data_editor(_products(), column_config=columns, hide_index=True, width="stretch", key=table_key)
if _apply_edits():  # a new scenario or price: draw the page again from it
    st.rerun()
for problem in state.messages("products"):
    st.error(problem, icon="⚠️")

# ---- shares, total and per segment, against the base case ---------------------------------------------
results, _ = state.results_at(current, price)
shares = market_shares(results, price, variant)
case = state.base_case()
base_results, _ = state.results_at(case.scenario, case.price)
base = market_shares(base_results, case.price, case.variant)


def _shown(table: dict, base_table: dict | None) -> dict:
    shown = {}
    for product, values in table.items():
        cell = f"{values['mean']:.1%} [{values['q05']:.1%}, {values['q95']:.1%}]"
        before = (base_table or {}).get(product)
        change = None if before is None else values["mean"] - before["mean"]
        shown[product] = (cell, change)
    return shown


segments = {"Market": (shares["shares"], base["shares"])}
segments |= {s: (table, base["segments"].get(s)) for s, table in shares["segments"].items()}
rows = []
for product in shares["shares"]:
    row = {"Product": product}
    for name, (table, base_table) in segments.items():
        cell, change = _shown(table, base_table)[product]
        row[f"{name} share [90%]"] = cell
        row[f"{name} vs base"] = None if change is None else 100 * change
    rows.append(row)
st.subheader("Shares")
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    width="stretch",
    column_config={
        f"{name} vs base": st.column_config.NumberColumn(f"{name} vs base", format="%+.1f pp")
        for name in segments
    },
    key="products_shares",
)
bought = sum(v["mean"] for v in shares["shares"].values())
st.caption(
    f"{current.market.choice_rule.replace('_', ' ')}; {1 - bought:.1%} of the market buys none. Our price "
    f"{price:g} {currency}, variant {variant}. Changes in percentage points against the base case."
)

# ---- sensitivity -------------------------------------------------------------------------------------------
st.subheader("Sensitivity")
left, middle, right = st.columns([3, 2, 2], vertical_alignment="bottom")
product = left.selectbox(
    "Product whose attributes and price move", [o.name for o in current.offerings], key="products_focus"
)
metric = middle.segmented_control("Our", ["share", "profit"], key=state.sticky("products_metric", "share"))
metric = metric or "share"
shown = right.toggle(
    "Run the sensitivity analysis",
    key=state.sticky("products_sensitivity", False),
    help="Each level and price is a simulation of its own: a few seconds.",
)
if shown:
    at_price = with_changes(current, {f"offerings[{ours}].price": price})  # at the selected price of ours
    draws = min(SENSITIVITY_DRAWS, current.market.draws)
    table = _sensitivity(f"{scenario_hash(at_price)}|{product}|{draws}", at_price, product, draws)
    swings = tornado(table, metric)
    base_value = table.attrs["base_share" if metric == "share" else "base_profit"]
    st.vega_lite_chart(
        charts.tornado_chart(swings, base_value, metric, currency), width="stretch", key="products_tornado"
    )
    st.caption(
        f"Our {metric} as each factor moves through its levels or prices, one at a time, everything else "
        "as in "
        f"the scenario ({draws} draws per setting, posterior means; "
        "profit of our first variant)."
    )
    cells = st.columns(3)
    for i, factor in enumerate(swings["factor"]):
        cells[i % 3].vega_lite_chart(
            charts.sensitivity_chart(table, factor, metric, currency), key=f"products_curve_{i}"
        )
