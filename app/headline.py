"""The headline cards (our metrics at a price and variant, each against the base case) and the base-case bar.

Every page that shows what a change does (Simulate, and the Competition and Decision pages) draws these,
so that changes are always measured against the same base case (`state.base_case`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import formatting
import helptext
import state
import streamlit as st

from pricing import analysis, charts
from pricing.scenario import Scenario

CARD_WIDTH = 168  # px: five cards in a row at 1440 px, three then two at 1024 px; never cut off


def labels(current: Scenario, segment: str = analysis.ALL) -> dict[str, str]:
    """The headline metrics' names with the scenario's period (a segment's profit is its contribution)."""
    period = current.period
    names = dict(charts.HEADLINE_METRICS)
    if segment != analysis.ALL:
        names["share"] = "Share of segment"
        names["profit"] = "Contribution"
    for metric in charts.PERIOD_METRICS:
        if metric in names:
            names[metric] = formatting.per_period(names[metric], period)
    return names


def cards(current: Scenario, price: float, variant: str, segment: str = analysis.ALL) -> None:
    """Our headline metrics at `price` and `variant` (one segment or the market), each with its 90% interval
    and its change against the base case (none shown when there is no change)."""
    table = state.against_base(current, price, variant, segment).set_index("metric")
    names = labels(current, segment)
    currency = current.currency
    row = st.container(horizontal=True, gap="small")
    for metric in charts.HEADLINE_METRICS:
        values = table.loc[metric]
        change, base = values["change"], values["base"]
        tiny = not math.isfinite(change) or abs(change) <= 1e-9 * max(1.0, abs(base))
        with row.container(width=CARD_WIDTH, gap=None):
            st.metric(
                names[metric],
                formatting.metric_value(metric, values["mean"], currency),
                delta=None if tiny else formatting.metric_delta(metric, change, currency),
                border=True,
                help=helptext.METRIC_HELP[metric],
            )
            st.caption(f"90%: {formatting.interval(metric, values['q05'], values['q95'], currency)}")


def _value_at(data: Any, path: str) -> Any:
    """The value at a `with_changes` path (``offerings[TaskHub].price``) in plain scenario data."""
    for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]+)\]", path):
        if name:
            data = data.get(name) if isinstance(data, dict) else None
        elif isinstance(data, list):
            named = [item for item in data if isinstance(item, dict) and item.get("name") == index]
            data = named[0] if named else (data[int(index)] if index.isdigit() else None)
    return data


def describe_changes(current: Scenario, limit: int = 4) -> str:
    """What differs from the base case, for people: ``offerings[TaskHub].price 10 → 8``."""
    case = state.base_case()
    changes = state.base_changes(current)
    old = case.scenario.model_dump(mode="json")
    shown = [f"{path} {_value_at(old, path)!s} → {value!s}" for path, value in list(changes.items())[:limit]]
    if len(changes) > limit:
        shown.append(f"and {len(changes) - limit} more")
    return "; ".join(shown)


def short_changes(current: Scenario, limit: int = 3) -> str:
    """What differs from the base case in a few words, for an option's name: ``TaskHub price 8``."""
    parts = []
    for path, value in list(state.base_changes(current).items())[:limit]:
        words = [name or index for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]+)\]", path)]
        parts.append(" ".join(words[-2:]) + f" {value}")
    return ", ".join(parts)


def option_name(current: Scenario, price: float, variant: str) -> str:
    """A name saying what the option is: variant, price and what differs from the base case."""
    name = f"{variant} @ {formatting.price(price, current.currency)}"
    changed = short_changes(current)
    return f"{name}; {changed}" if changed else name


def base_case_bar(current: Scenario, price: float, variant: str) -> None:
    """One line saying what the changes are against, with buttons to pin the current view or go back."""
    case = state.base_case()
    currency = current.currency
    what = "pinned" if case.pinned else "as opened"
    text = (
        f"Changes against the **base case** ({what}): {case.scenario.our_offering.name} at "
        f"{formatting.price(case.price, currency)}, **{case.variant}**"
    )
    changed = describe_changes(current)
    if changed:
        text += f". Changed since: {changed}"
    text += f". Units and money per {current.period}."
    same = (
        not changed and math.isclose(case.price, price, rel_tol=0, abs_tol=1e-9) and case.variant == variant
    )
    st.caption(text + " Means over the draws; 90% intervals below each.", help=helptext.BASE_CASE)
    buttons = st.container(horizontal=True, gap="small")  # buttons as wide as their words: never cut off
    buttons.button(
        "Pin as base case",
        on_click=state.pin_base_case,
        disabled=same,
        width="content",
        key="pin_base_case",
        help="Make the current scenario, price and variant the base case every change is shown against.",
    )
    buttons.button(
        "Back to as opened",
        on_click=state.unpin_base_case,
        disabled=not case.pinned,
        width="content",
        key="unpin_base_case",
    )
