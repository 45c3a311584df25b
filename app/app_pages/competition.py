"""Competition: how each rival answers our price, the market's equilibrium, and our profit with and without
their reaction; every change is measured against the base case, so a rival's price cut shows as a loss."""

from __future__ import annotations

import formatting
import headline
import pandas as pd
import state
import streamlit as st

from pricing import competition
from pricing.errors import ScenarioError
from pricing.scenario import scenario_hash, with_changes

REACTIONS = {
    "best response": {"reacts": True, "reaction": "best_response"},
    "match our price": {"reacts": True, "reaction": "match"},
    "undercut us": {"reacts": True, "reaction": "undercut"},
    "hold its price": {"reacts": False, "reaction": "best_response"},
}


def _reaction_label(offering) -> str:
    if not offering.reacts:
        return "hold its price"
    return {"best_response": "best response", "match": "match our price", "undercut": "undercut us"}[
        offering.reaction
    ]


def _set_reaction(index: int, key: str, cut_key: str) -> None:
    fields = REACTIONS[st.session_state[key]]
    cut = float(st.session_state.get(cut_key) or 5.0) if fields["reaction"] == "undercut" else 0.0
    changes = {f"offerings[{index}].{name}": value for name, value in fields.items()}
    changes[f"offerings[{index}].undercut"] = cut
    try:
        state.set_scenario(with_changes(state.scenario(), changes))
    except ScenarioError as error:
        state.message(f"reaction_{index}", error.problems)
        return
    state.message(f"reaction_{index}", None)


current = state.scenario()
currency = current.currency
selected = state.view()
st.title("Competition")
st.caption(
    "Rivals answer a price move. Each firm (an offering's owner) prices its reacting offerings to maximise "
    "its own profit given the others' prices (Bertrand-Nash, per posterior draw), or follows a simple rule. "
    f"Computed on the first {state.COMPETITION_DRAWS} draws; draws that reach no equilibrium are counted "
    "and left out."
)
headline.base_case_bar(current, selected["price"], selected["variant"])
headline.cards(current, selected["price"], selected["variant"])

if current.market.choice_rule == "first_choice":
    st.warning(
        "First-choice demand jumps at every price tie, so there is no meaningful price equilibrium: switch "
        "the market's choice rule to logit on the Scenario page to let competitors react."
    )
    st.stop()

rivals = [(i, o) for i, o in enumerate(current.offerings) if o.owner != "us"]
st.subheader("How each rival reacts")
digest = scenario_hash(current)[:10]
columns = st.columns(min(max(len(rivals), 1), 4))
for n, (index, offering) in enumerate(rivals):
    column = columns[n % len(columns)]
    key, cut_key = f"reaction_{index}_{digest}", f"undercut_{index}_{digest}"
    firm = current.firms[index]
    column.selectbox(
        f"{offering.name} ({firm})",
        list(REACTIONS),
        index=list(REACTIONS).index(_reaction_label(offering)),
        key=key,
        on_change=_set_reaction,
        args=(index, key, cut_key),
        help="best response: the price that maximises the firm's profit given the others'; match / undercut: "
        "a rule relative to our price; hold: today's price stays.",
    )
    if offering.reaction == "undercut":
        column.number_input(
            "Undercut by (%)",
            min_value=0.0,
            max_value=99.0,
            value=float(offering.undercut),
            step=1.0,
            key=cut_key,
            on_change=_set_reaction,
            args=(index, key, cut_key),
        )
    for problem in state.messages(f"reaction_{index}"):
        column.error(problem)

variant = selected["variant"]
result = state.equilibrium(current)
report = competition.equilibrium_summary(result, variant)
draws = report["draws"]
converged = round(report["converged"] * draws)
st.subheader(f"Equilibrium ({variant})")
rows = []
for offering, firm in zip(current.offerings, current.firms, strict=True):
    price, share, profit = (report[k][offering.name] for k in ("prices", "shares", "profits"))
    rows.append(
        {
            "Offering": offering.name,
            "Firm": firm,
            "Reaction": _reaction_label(offering) if offering.owner != "us" else "best response",
            f"Today ({currency})": formatting.money(offering.price, currency, 2),
            f"Equilibrium price ({currency})": formatting.money(price["mean"], currency, 2),
            "Price 90%": f"{formatting.money(price['q05'], currency, 2)} to "
            f"{formatting.money(price['q95'], currency, 2)}",
            "Share": formatting.percent(share["mean"]) if share["mean"] is not None else "n/a",
            f"Profit / {current.period}": formatting.money(profit["mean"], currency),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
if converged < draws:
    st.warning(f"{draws - converged} of {draws} draws reached no equilibrium; they are left out.")
else:
    st.caption(f"All {draws} draws reached an equilibrium.")

st.subheader(f"Our profit with and without their reaction ({variant})")
leader = state.leader_pricing(current, variant)
curves = state.leader_curves(leader)
best = curves.idxmax()
ours = current.our_offering.name
left, right = st.columns(2)
left.metric(
    "Best price if rivals react",
    formatting.money(float(best["with reaction"]), currency, 2),
    help="Leader pricing (Stackelberg): our price chosen knowing that the rivals then move.",
)
right.metric("Best price if they hold", formatting.money(float(best["without reaction"]), currency, 2))
st.line_chart(curves, x_label=f"{ours} price ({currency})", y_label=f"expected profit / {current.period}")
answers = competition.rival_answers(leader, selected["price"])
today = {o.name: o.price for o in current.offerings}
st.markdown(
    f"**Each rival's answer** to {ours} at {formatting.money(float(answers.answer_to[0]), currency, 2)}"
)
st.dataframe(
    pd.DataFrame(
        {
            "Rival": answers.offering,
            f"Today ({currency})": [formatting.money(today[o], currency, 2) for o in answers.offering],
            f"Answer ({currency})": [formatting.money(v, currency, 2) for v in answers["mean"]],
            "90%": [
                f"{formatting.money(a, currency, 2)} to {formatting.money(b, currency, 2)}"
                for a, b in zip(answers.q05, answers.q95, strict=True)
            ],
        }
    ),
    hide_index=True,
    width="stretch",
)
dropped = int((~leader.converged.all("price")).sum())
st.caption(
    f"Expected profit over {leader.sizes['draw'] - dropped} draws"
    + (f" ({dropped} left out: no equilibrium at some price)" if dropped else "")
    + ". Without reaction every rival keeps today's price; with reaction best responders reach their "
    "equilibrium given our price, rule followers match or undercut it, the others hold."
)
