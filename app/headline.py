"""The headline cards (our metrics at a price and variant, each against the base case) and the base-case bar.

Every page that shows what a change does (Simulate, and the Competition and Decision pages) draws these,
so that changes are always measured against the same base case (`state.base_case`).
"""

from __future__ import annotations

import html
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
DELTA_COLORS = {"up": "#09ab3b", "down": "#ff2b2b"}  # st.metric's colours for a rise and a fall

# One block of HTML for the five cards, not five `st.metric` and five captions: each element is a delta
# the browser re-renders on every price step (React and its styled components), so sixteen elements cost
# the step more than all of its numbers. The cards look like `st.metric` with a border; the help is the
# card's tooltip.
CARD_STYLE = f"""<style>
.pricing-cards {{ display: flex; flex-wrap: wrap; gap: 0.5rem; }}
.pricing-card {{ flex: 0 0 {CARD_WIDTH}px; box-sizing: border-box; padding: calc(1rem - 1px);
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; cursor: default; }}
.pricing-card-label {{ font-size: 0.875rem; opacity: 0.75; }}
.pricing-card-value {{ font-size: 2.25rem; line-height: 1.2; white-space: nowrap; }}
.pricing-card-change {{ font-size: 1rem; white-space: nowrap; min-height: 1.5rem; }}
.pricing-card-change.up {{ color: {DELTA_COLORS["up"]}; }}
.pricing-card-change.down {{ color: {DELTA_COLORS["down"]}; }}
.pricing-card-interval {{ font-size: 0.875rem; opacity: 0.6; white-space: nowrap; padding-top: 0.25rem; }}
.pricing-base-case {{ font-size: 0.875rem; opacity: 0.6; padding-top: 0.75rem; }}
</style>"""


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


def cards_html(current: Scenario, price: float, variant: str, segment: str = analysis.ALL) -> str:
    """The HTML of `cards`: per metric a card (``data-metric``) with its label, value, change against the
    base case (empty when there is none) and 90% interval, each in an element of its own class."""
    table = state.against_base(current, price, variant, segment).set_index("metric")
    names = labels(current, segment)
    currency = current.currency
    shown = []
    for metric in charts.HEADLINE_METRICS:
        values = table.loc[metric]
        change, base = values["change"], values["base"]
        tiny = not math.isfinite(change) or abs(change) <= 1e-9 * max(1.0, abs(base))
        delta, direction, arrow = "", "", ""
        if not tiny:
            delta = formatting.metric_delta(metric, change, currency)
            direction, arrow = ("up", "↑") if change > 0 else ("down", "↓")
        interval = formatting.interval(metric, values["q05"], values["q95"], currency)
        value = formatting.metric_value(metric, values["mean"], currency)
        tooltip = html.escape(helptext.METRIC_HELP[metric])
        shown.append(
            f'<div class="pricing-card" data-metric="{metric}" title="{tooltip}">'
            f'<div class="pricing-card-label">{html.escape(names[metric])}</div>'
            f'<div class="pricing-card-value">{html.escape(value)}</div>'
            f'<div class="pricing-card-change {direction}"><span aria-hidden="true">{arrow}</span> '
            f'<span class="pricing-card-delta">{html.escape(delta)}</span></div>'
            f'<div class="pricing-card-interval">90%: {html.escape(interval)}</div></div>'
        )
    return CARD_STYLE + '<div class="pricing-cards">' + "".join(shown) + "</div>"


def cards(
    current: Scenario, price: float, variant: str, segment: str = analysis.ALL, base_case: bool = False
) -> None:
    """Our headline metrics at `price` and `variant` (one segment or the market), each with its 90% interval
    and its change against the base case (none shown when there is no change): one element (`cards_html`).
    With `base_case`, the line saying what the changes are against follows in the same element (then call
    `base_case_bar` with `line` False)."""
    body = cards_html(current, price, variant, segment)
    if base_case:
        text, _ = base_case_line(current, price, variant)
        tooltip = html.escape(helptext.BASE_CASE.replace("**", ""))
        body += f'<div class="pricing-base-case" title="{tooltip}">{_bold_html(text)}</div>'
    st.html(body)


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


def base_case_line(current: Scenario, price: float, variant: str) -> tuple[str, bool]:
    """The line saying what the changes are against (markdown), and whether the view is the base case."""
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
    text += f". Units and money per {current.period}. Means over the draws; 90% intervals below each."
    same = (
        not changed and math.isclose(case.price, price, rel_tol=0, abs_tol=1e-9) and case.variant == variant
    )
    return text, same


def _bold_html(markdown: str) -> str:
    """A line of markdown whose only markup is **bold**, as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(markdown, quote=False))


def base_case_bar(current: Scenario, price: float, variant: str, line: bool = True) -> None:
    """One line saying what the changes are against (`base_case_line`; not with `line` False: `cards` drew
    it), with buttons to pin the current view or go back."""
    case = state.base_case()
    text, same = base_case_line(current, price, variant)
    if line:
        st.caption(text, help=helptext.BASE_CASE)
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
