"""The Competition and Decision pages with AppTest: a rival's cut is a loss against the base case, reaction
rules change the scenario, the equilibrium and the choice match the library's numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import state
from streamlit.testing.v1 import AppTest
from test_app import cards

from pricing import competition, decide
from pricing.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")
SAAS = load_scenario(ROOT / "scenarios" / "saas_team_plan.yaml")


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.setattr(state, "COMPETITION_DRAWS", 60)
    monkeypatch.setattr(state, "DECISION_REACT_DRAWS", 12)
    monkeypatch.setattr(state, "LEADER_PRICES", 9)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def card(at: AppTest, label: str):
    """A headline card (`test_app.cards`) or another `st.metric` whose label starts with `label`."""
    return next(m for m in [*cards(at), *at.metric] if m.label.startswith(label))


def money(text: str) -> float:
    number = float(re.sub(r"[^0-9.\-]", "", text.replace("k", "")))
    return number * (1e3 if text.rstrip().endswith("k") else 1)


def test_competition_page_shows_the_equilibrium_and_a_rivals_cut_as_a_loss(app):
    at = app.switch_page("app_pages/competition.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("Offering")
    expected = competition.equilibrium_summary(competition.equilibrium(SAAS, draws=60), SAAS.variants[0].name)
    for name in ("Flow Team", "TaskHub", "BoardPro"):
        shown = money(table.loc[name, "Equilibrium price (EUR)"])
        assert shown == pytest.approx(expected["prices"][name]["mean"], abs=0.006)
    assert "All 60 draws reached an equilibrium." in [c.value for c in at.caption]
    assert money(card(at, "Best price if rivals react").value) > 0
    answers = at.dataframe[1].value.set_index("Rival")
    assert (
        list(answers.index) == ["TaskHub", "BoardPro"] and answers.loc["TaskHub", "Today (EUR)"] == "€10.00"
    )
    assert not card(at, "Profit").delta  # nothing changed yet
    # a rival's price cut on the Simulate page: against the base case ("today") it is a loss
    at.switch_page("app_pages/simulate.py").run()
    next(n for n in at.number_input if n.label.startswith("TaskHub price")).set_value(7.0).run()
    at.switch_page("app_pages/competition.py").run()
    assert not at.exception, at.exception
    delta = card(at, "Profit").delta
    assert delta and delta.strip().startswith(("-", "−"))


def test_a_reaction_rule_is_a_scenario_change(app):
    at = app.switch_page("app_pages/competition.py").run()
    select = next(s for s in at.selectbox if s.label.startswith("TaskHub"))
    select.set_value("hold its price").run()
    assert not at.exception, at.exception
    offering = next(o for o in state_scenario(at).offerings if o.name == "TaskHub")
    assert offering.reacts is False
    table = at.dataframe[0].value.set_index("Offering")
    assert table.loc["TaskHub", "Reaction"] == "hold its price"
    assert table.loc["TaskHub", "Equilibrium price (EUR)"] == "€10.00"  # held at today's price
    select = next(s for s in at.selectbox if s.label.startswith("BoardPro"))
    select.set_value("undercut us").run()
    assert not at.exception, at.exception
    cut = next(n for n in at.number_input if n.label.startswith("Undercut by"))
    cut.set_value(10.0).run()
    offering = next(o for o in state_scenario(at).offerings if o.name == "BoardPro")
    assert (offering.reaction, offering.undercut) == ("undercut", 10.0)


def state_scenario(at: AppTest):
    return at.session_state[state.SCENARIO]


def test_decision_page_choice_risk_and_value_of_information(app):
    at = app.switch_page("app_pages/decision.py").run()
    assert not at.exception, at.exception
    expected = decide.decide(SAAS)
    assert card(at, "Price").value == f"€{expected.choice['price']:.2f}"
    assert card(at, "Variant").value == expected.choice["variant"]
    assert money(card(at, "Perfect information").value) == pytest.approx(expected.evpi, rel=0.01)
    assert len(at.get("vega_lite_chart")) == 2  # the risk profile and the value of information
    at.selectbox(key="decision_objective").set_value("Worst 10% of draws (CVaR)").run()
    assert not at.exception, at.exception
    cvar = decide.decide(SAAS, objective="cvar:0.1")
    assert card(at, "Price").value == f"€{cvar.choice['price']:.2f}"
    at.slider(key="decision_share").set_value(60).run()
    assert not at.exception, at.exception
    shares = at.dataframe[0].value["Share"].str.rstrip("%").astype(float)
    assert (shares >= 60).all()
    at.slider(key="decision_share").set_value(100).run()
    assert any("no candidate reaches it" in e.value for e in at.error)  # one line, the app stays up
    at.slider(key="decision_share").set_value(0).run()
    at.toggle(key="decision_react").set_value(True).run()
    assert not at.exception, at.exception
    reacting = decide.decide(SAAS, objective="cvar:0.1", react=True, draws=12)
    assert card(at, "Price").value == f"€{reacting.choice['price']:.2f}"
    assert np.isfinite(money(card(at, "Expected regret").value))


def test_the_scenario_editor_keeps_owners_costs_and_reactions():
    import tables

    from pricing.scenario import scenario_from_dict

    data = SAAS.model_dump(mode="json")
    data["offerings"][1] |= {
        "owner": "Hub Inc",
        "unit_cost_low": 1.0,
        "unit_cost_high": 3.0,
        "unit_cost": 0.0,
    }
    data["offerings"][2] |= {
        "reaction": "undercut",
        "undercut": 5.0,
        "unit_cost_uncertainty": 0.2,
        "unit_cost": 4,
    }
    scenario = scenario_from_dict(data)
    assert scenario_from_dict(tables.draft_to_data(tables.scenario_to_draft(scenario))) == scenario
