"""Scenario: edit everything a scenario holds; every change is validated at once, problems name the field.

The page edits the draft in session state (what the user typed survives reruns and page switches); each
valid draft becomes the current scenario at once, an invalid one keeps its problems next to the section
that has them while the other pages go on with the last valid version.
"""

from __future__ import annotations

import helptext
import state
import streamlit as st
import tables

from pricing.scenario import (
    PERIODS,
    WTP_SOURCES,
    Attribute,
    ElicitedWTP,
    Market,
    Offering,
    Scenario,
    Segment,
    Variant,
)


def _describe(model, field: str) -> str | None:
    return model.model_fields[field].description


def _wtp_help(field: str) -> str | None:
    """Help of a WTP field, from whichever source type has it (elicited, posterior, data)."""
    model = next(m for m in WTP_SOURCES.values() if field in m.model_fields)
    return _describe(model, field)


def _number_or_text(frame, column: str, config):
    """A number column's config, or a text one when a cell holds a reference to a posterior (JSON text)."""
    if frame[column].dtype == object:
        return st.column_config.TextColumn(config["label"], help=config.get("help"))
    return config


def _field(section: str, field: str, key: str) -> None:
    st.session_state[state.DRAFT][section][field] = st.session_state[key]
    state.commit_draft()


def _table(table: str, key: str) -> None:
    edits = st.session_state[key]
    draft = dict(st.session_state[state.DRAFT])
    old = draft[table]
    new = tables.apply_edits(old, edits)
    draft[table] = new
    if table == "attributes":
        renamed = {}
        for row, change in (edits.get("edited_rows") or {}).items():
            if "name" in change and int(row) < len(old):
                previous = old.iloc[int(row)]["name"]
                if isinstance(previous, str) and isinstance(change["name"], str) and change["name"]:
                    renamed[previous] = change["name"]
        draft = tables.sync_attribute_columns(draft, renamed)
    st.session_state[state.DRAFT] = draft
    state.commit_draft()


def _returned(table: str, edited) -> None:
    """Apply edits that reached the script without the callback (e.g. set by a test), once."""
    draft = st.session_state[state.DRAFT]
    edited = edited[[c for c in draft[table].columns if c in edited.columns]]
    if list(edited.columns) == list(draft[table].columns) and not tables.same_rows(edited, draft[table]):
        st.session_state[state.DRAFT] = dict(draft) | {table: edited.reset_index(drop=True)}
        state.commit_draft()
        st.rerun()


def _show(problems: list[str]) -> None:
    for problem in problems:
        st.error(problem, icon="⚠️")


current = state.scenario()
draft = state.draft()
generation = st.session_state[state.DRAFT_GENERATION]
problems = tables.problems_by_section(st.session_state.get(state.DRAFT_PROBLEMS, []))
currency = draft["general"].get("currency") or current.currency
attributes = [str(a) for a in draft["attributes"]["name"] if isinstance(a, str) and a]


def key(name: str) -> str:
    return f"edit_{name}_{generation}"


def _bound(section: str, name: str) -> dict:
    """A widget's key and callback that write its value to the draft's `section.name` as it changes."""
    return {"key": key(name), "on_change": _field, "args": (section, name, key(name))}


st.title("Scenario")
st.caption(
    "Everything the simulation knows: who the customers are, what they value, what is on offer. "
    "Changes apply as you type; download the file from the sidebar."
)
count = sum(len(v) for v in problems.values())
if count:
    st.error(
        f"{count} problem{'s' if count > 1 else ''} (shown next to their section). "
        "The other pages keep using the last valid version until they are fixed.",
        icon="⚠️",
    )
else:
    st.success("The scenario is valid; every page uses it.", icon="✅")

# ---- general -----------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("General")
    general = draft["general"]
    name_col, currency_col, period_col, seed_col = st.columns([3, 1, 1, 1])
    name_col.text_input(
        "Name",
        general.get("name") or "",
        **_bound("general", "name"),
    )
    currency_col.text_input(
        "Currency",
        general.get("currency") or "",
        **_bound("general", "currency"),
        help="Currency code of every money amount, e.g. EUR, USD.",
    )
    period_col.selectbox(
        "Period",
        PERIODS,
        index=PERIODS.index(general.get("period") or "month"),
        **_bound("general", "period"),
        help=_describe(Scenario, "period"),
    )
    seed_col.number_input(
        "Random seed",
        min_value=0,
        value=int(general.get("seed") or 0),
        step=1,
        **_bound("general", "seed"),
        help="Seed of all random draws: the same seed gives the same numbers (and paired comparisons).",
    )
    st.text_area(
        "Description",
        general.get("description") or "",
        **_bound("general", "description"),
        height=80,
    )
    _show(problems.get("general", []))

# ---- attributes --------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Attributes")
    st.caption(
        "The value drivers customers care about, with a Kano category: must-be (shortfalls hurt, excess adds "
        "little), one-dimensional (linear), attractive (excess delights), indifferent."
    )
    edited_attributes = st.data_editor(
        draft["attributes"],
        key=key("attributes"),
        on_change=_table,
        args=("attributes", key("attributes")),
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Name", required=True, help=_describe(Attribute, "name")),
            "unit": st.column_config.TextColumn("Unit", help=_describe(Attribute, "unit")),
            "kano": st.column_config.SelectboxColumn(
                "Kano category",
                options=tables.KANO_CATEGORIES,
                format_func=tables.KANO_NAMES.get,
                required=True,
                help=_describe(Attribute, "kano"),
            ),
            "description": st.column_config.TextColumn(
                "Description", help=_describe(Attribute, "description")
            ),
        },
    )
    _returned("attributes", edited_attributes)
    _show(problems.get("attributes", []))

# ---- segments ----------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Segments")
    st.caption(
        "Customer groups. Willingness to pay (WTP) is for an offering that exactly meets the segment's "
        "expectations: give median and spread, or low and high (the central 'coverage' share lies between)."
    )
    money = f"({currency})"
    segment_config = {
        "name": st.column_config.TextColumn("Segment", required=True),
        "size": st.column_config.NumberColumn(
            "Customers", min_value=0, format="%d", help=_describe(Segment, "size")
        ),
        "logit_scale": st.column_config.NumberColumn(
            f"Price sensitivity {money}", help=_describe(Segment, "logit_scale")
        ),
        "wtp_median": st.column_config.NumberColumn(
            f"WTP median {money}", help=_describe(ElicitedWTP, "median")
        ),
        "wtp_spread": st.column_config.NumberColumn("WTP spread", help=_describe(ElicitedWTP, "spread")),
        "wtp_low": st.column_config.NumberColumn(f"WTP low {money}", help=_describe(ElicitedWTP, "low")),
        "wtp_high": st.column_config.NumberColumn(f"WTP high {money}", help=_describe(ElicitedWTP, "high")),
        "wtp_coverage": st.column_config.NumberColumn("Coverage", help=_describe(ElicitedWTP, "coverage")),
        "wtp_uncertainty": st.column_config.NumberColumn(
            "Median uncertainty", help=_describe(ElicitedWTP, "uncertainty")
        ),
        "wtp_spread_uncertainty": st.column_config.NumberColumn(
            "Spread uncertainty", help=_describe(ElicitedWTP, "spread_uncertainty")
        ),
        "value_uncertainty": st.column_config.NumberColumn(
            "Value uncertainty", help=_describe(Segment, "value_uncertainty")
        ),
    }
    for field in tables.WTP_FIELDS:
        if field not in tables.WTP_NUMBERS:  # WTP from a fit: file paths, survey method, columns as JSON
            segment_config[f"wtp_{field}"] = st.column_config.TextColumn(
                f"WTP {field}", help=_wtp_help(field)
            )
    segment_config["logit_scale"] = _number_or_text(
        draft["segments"], "logit_scale", segment_config["logit_scale"]
    )
    edited_segments = st.data_editor(
        draft["segments"],
        key=key("segments"),
        on_change=_table,
        args=("segments", key("segments")),
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_order=list(tables.SEGMENT_COLUMNS),
        column_config=segment_config,
    )
    _returned("segments", edited_segments)
    if attributes:
        st.markdown("**Expectations and value of each attribute**")
        st.caption(
            f"Expected level of each attribute, and the money value {money} of one unit above or below it "
            "(empty: expectation 0, no value)."
        )
        attribute_config = {"name": st.column_config.TextColumn("Segment", disabled=True)}
        for a in attributes:
            attribute_config[tables.EXPECT + a] = st.column_config.NumberColumn(
                f"{a}: expected", help=_describe(Segment, "expectations")
            )
            attribute_config[tables.VALUE + a] = _number_or_text(
                draft["segments"],
                tables.VALUE + a,
                st.column_config.NumberColumn(
                    f"{a}: value/unit {money}", help=_describe(Segment, "value_per_unit")
                ),
            )
        edited_segment_attributes = st.data_editor(
            draft["segments"],
            key=key("segment_attributes"),
            on_change=_table,
            args=("segments", key("segment_attributes")),
            num_rows="fixed",
            width="stretch",
            hide_index=True,
            column_order=[
                "name",
                *(tables.EXPECT + a for a in attributes),
                *(tables.VALUE + a for a in attributes),
            ],
            column_config=attribute_config,
        )
        _returned("segments", edited_segment_attributes)
    _show(problems.get("segments", []))

# ---- offerings ---------------------------------------------------------------------------------------------
level_config = {
    tables.LEVEL + a: st.column_config.NumberColumn(
        a, help="Level of this attribute (empty: meets expectations)."
    )
    for a in attributes
}
with st.container(border=True):
    st.subheader("Offerings")
    st.caption(
        "Ours (owner `us`, exactly one) and the competitors', with their prices, costs, how they react "
        "and attribute levels. Offerings with the same owner are one firm; owner `competitor` is a rival "
        "of its own."
    )
    edited_offerings = st.data_editor(
        draft["offerings"],
        key=key("offerings"),
        on_change=_table,
        args=("offerings", key("offerings")),
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Offering", required=True),
            "owner": st.column_config.TextColumn("Owner", required=True, help=_describe(Offering, "owner")),
            "price": st.column_config.NumberColumn(f"Price {money}", help=_describe(Offering, "price")),
            "unit_cost": st.column_config.NumberColumn(
                f"Unit cost {money}", help=_describe(Offering, "unit_cost")
            ),
            "unit_cost_uncertainty": st.column_config.NumberColumn(
                "Cost uncertainty", help=_describe(Offering, "unit_cost_uncertainty")
            ),
            "unit_cost_low": st.column_config.NumberColumn(
                f"Cost low {money}", help=_describe(Offering, "unit_cost_low")
            ),
            "unit_cost_high": st.column_config.NumberColumn(
                f"Cost high {money}", help=_describe(Offering, "unit_cost_high")
            ),
            "reacts": st.column_config.CheckboxColumn("Reacts", help=_describe(Offering, "reacts")),
            "reaction": st.column_config.SelectboxColumn(
                "Reaction", options=tables.REACTIONS, help=_describe(Offering, "reaction")
            ),
            "undercut": st.column_config.NumberColumn("Undercut %", help=_describe(Offering, "undercut")),
        }
        | level_config,
    )
    _returned("offerings", edited_offerings)
    _show(problems.get("offerings", []))

# ---- variants ----------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Over-delivery variants")
    st.caption(helptext.OVER_DELIVERY + " Empty levels keep our offering's level.")
    edited_variants = st.data_editor(
        draft["variants"],
        key=key("variants"),
        on_change=_table,
        args=("variants", key("variants")),
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Variant", required=True),
            "description": st.column_config.TextColumn("Description"),
            "extra_unit_cost": st.column_config.NumberColumn(
                f"Extra unit cost {money}", help=_describe(Variant, "extra_unit_cost")
            ),
            "fixed_cost": st.column_config.NumberColumn(
                f"Fixed cost {money}", help=_describe(Variant, "fixed_cost")
            ),
        }
        | level_config,
    )
    _returned("variants", edited_variants)
    _show(problems.get("variants", []))

# ---- market ------------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Market and simulation")
    market = draft["market"]
    rule_col, none_col, draws_col, nodes_col = st.columns(4)
    rule_col.selectbox(
        "Choice rule",
        tables.CHOICE_RULES,
        index=tables.CHOICE_RULES.index(market.get("choice_rule") or "logit"),
        **_bound("market", "choice_rule"),
        help=_describe(Market, "choice_rule"),
    )
    none_col.toggle(
        "May buy nothing",
        value=bool(market.get("none_option")),
        **_bound("market", "none_option"),
        help=_describe(Market, "none_option"),
    )
    draws_col.number_input(
        "Draws",
        min_value=1,
        value=int(market.get("draws") or 1000),
        step=100,
        **_bound("market", "draws"),
        help=_describe(Market, "draws") + " More draws: smoother intervals, slower simulation.",
    )
    nodes_col.number_input(
        "Integration nodes",
        min_value=1,
        value=int(market.get("integration_nodes") or 24),
        step=1,
        **_bound("market", "integration_nodes"),
        help=_describe(Market, "integration_nodes"),
    )
    grid_toggle, min_col, max_col, steps_col = st.columns(4)
    custom = grid_toggle.toggle(
        "Custom price grid",
        value=bool(market.get("custom_grid")),
        **_bound("market", "custom_grid"),
        help=_describe(Market, "price_grid"),
    )
    for col, field, label, step in (
        (min_col, "grid_min", f"Lowest price {money}", 0.5),
        (max_col, "grid_max", f"Highest price {money}", 0.5),
        (steps_col, "grid_steps", "Prices", 1),
    ):
        value = market.get(field)
        col.number_input(
            label,
            value=None if value is None else (int(value) if field == "grid_steps" else float(value)),
            step=step,
            **_bound("market", field),
            disabled=not custom,
        )
    _show(problems.get("market", []))
