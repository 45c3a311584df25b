"""Decision: our price and variant by an objective under constraints, the choice's risk profile next to
today's, and what better information on each uncertain input would be worth before deciding."""

from __future__ import annotations

import formatting
import headline
import numpy as np
import pandas as pd
import state
import streamlit as st

from pricing import decide
from pricing.errors import PricingError

OBJECTIVES = {
    "Expected profit": "expected",
    "Worst 10% of draws (CVaR)": "cvar:0.1",
    "10% quantile of profit": "quantile:0.1",
    "Chance of beating today": "p_beat_today",
}
ENDINGS = {"any": None, ".99": 0.99, ".95": 0.95, ".90": 0.90, ".00": 0.0}


def _typed_prices(text: str) -> tuple[float, ...]:
    prices = []
    for part in text.replace(";", ",").split(","):
        if part.strip():
            try:
                value = float(part)
            except ValueError:
                raise PricingError(f"candidate prices: {part.strip()!r} is not a price") from None
            if not (np.isfinite(value) and 0 < value <= 1e9):
                raise PricingError(f"candidate prices: {part.strip()!r} must be above 0")
            prices.append(value)
    return tuple(prices)


current = state.scenario()
currency = current.currency
period = current.period
selected = state.view()
st.title("Decision")
st.caption(
    "The price and variant to choose when the market's response is uncertain: by your objective and "
    "constraints, with the chance that each option is the best, its expected regret, and what better "
    "information would be worth."
)
headline.base_case_bar(current, selected["price"], selected["variant"])

with st.container(border=True):
    left, middle, right = st.columns(3)
    objective_label = left.selectbox("Objective", list(OBJECTIVES), key="decision_objective")
    react = left.toggle(
        "Rivals react",
        key="decision_react",
        help="Rivals answer our price (their best response or rule, see Competition) instead of holding. "
        f"Uses the first {state.DECISION_REACT_DRAWS} draws.",
        disabled=current.market.choice_rule == "first_choice",
    )
    min_share = middle.slider("Minimum market share", 0, 100, 0, step=1, format="%d%%", key="decision_share")
    ending = middle.selectbox("Price ending", list(ENDINGS), key="decision_ending")
    grid = current.price_grid()
    floor = right.number_input(
        f"Price floor ({currency})", min_value=0.0, value=float(grid[0]), key="decision_floor", format="%.2f"
    )
    ceiling = right.number_input(
        f"Price ceiling ({currency})",
        min_value=0.0,
        value=float(grid[-1]),
        key="decision_ceiling",
        format="%.2f",
    )
    typed = right.text_input(
        "Also consider these prices",
        key="decision_prices",
        placeholder="e.g. 49, 59.50",
        help="Prices your customers can type in or that you want on the list, comma separated.",
    )

constraints = decide.Constraints(
    min_share=min_share / 100 if min_share else None,
    price_floor=floor,
    price_ceiling=ceiling,
    ending=ENDINGS[ending],
    prices=_typed_prices(typed),
)
decision = state.decision(current, OBJECTIVES[objective_label], react, constraints)
choice = decision.candidates.set_index(["price", "variant"]).loc[
    (decision.choice["price"], decision.choice["variant"])
]
for note in decision.notes:
    st.warning(note)

st.subheader("The choice")
cards = st.columns(4)
cards[0].metric("Price", formatting.money(decision.choice["price"], currency, 2), border=True)
cards[1].metric("Variant", decision.choice["variant"], border=True)
cards[2].metric(
    "P(best)",
    formatting.percent(float(choice.p_best)),
    border=True,
    help="Share of draws in which this option earns the most; ties split evenly.",
)
cards[3].metric(
    f"Expected regret / {period}",
    formatting.money(float(choice.regret), currency),
    border=True,
    help="Expected shortfall against the best option of each draw.",
)
st.caption(
    f"Expected profit {formatting.money(float(choice.expected_profit), currency)} per {period}, expected "
    f"market share {formatting.percent(float(choice.share))}; {decision.draws_used} draws, rivals "
    + ("react." if decision.react else "hold today's prices.")
)

st.markdown("**Risk profile**: profit per draw, the choice against today (our price and first variant today)")
quantiles = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
profile = pd.DataFrame(
    {
        "choice": np.quantile(decision.choice_profit, quantiles),
        "today": np.quantile(decision.today_profit, quantiles),
    },
    index=pd.Index([f"{q:.0%}" for q in quantiles], name="quantile"),
)
st.bar_chart(profile, stack=False, y_label=f"profit / {period} ({currency})")
beats = float((decision.choice_profit > decision.today_profit).mean())
st.caption(f"The choice earns more than today in {formatting.percent(beats)} of the draws.")

st.subheader("What better information is worth")
value = pd.DataFrame(
    {"value": list(decision.evppi.values())}, index=pd.Index(list(decision.evppi), name="input")
).sort_values("value", ascending=False)
st.metric(
    f"Perfect information on everything (EVPI) / {period}",
    formatting.money(decision.evpi, currency),
    help="Expected gain from deciding after learning every uncertain input, against deciding now.",
)
st.bar_chart(value, horizontal=True, x_label=f"expected value of perfect information ({currency} / {period})")
st.caption(
    "Per input group (EVPPI): what learning that input exactly would add to the expected profit of the "
    "decision, estimated by regression over the draws (Strong, Oakley & Brennan 2014). A survey is worth "
    "at most this much."
)

st.markdown("**Options, best first**")
shown = decision.candidates.sort_values("objective", ascending=False).head(12)
as_share = decision.objective == "p_beat_today"
st.dataframe(
    pd.DataFrame(
        {
            f"Price ({currency})": [formatting.money(p, currency, 2) for p in shown.price],
            "Variant": shown.variant,
            objective_label: [
                formatting.percent(v) if as_share else formatting.money(v, currency) for v in shown.objective
            ],
            f"Expected profit / {period}": [formatting.money(v, currency) for v in shown.expected_profit],
            "Share": [formatting.percent(v) for v in shown.share],
            "P(best)": [formatting.percent(v) for v in shown.p_best],
            "Regret": [formatting.money(v, currency) for v in shown.regret],
        }
    ),
    hide_index=True,
    width="stretch",
)
