"""The base case, the period in every label, typed prices and the segment filter, in the app (AppTest)."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app import ROOT, card, cards, competitor_input, metric, open_app

from pricing import analysis
from pricing.scenario import dump_scenario, load_scenario, with_changes
from pricing.simulate import simulate

SAAS = ROOT / "scenarios" / "saas_team_plan.yaml"


def typed_price(at: AppTest):
    return next(n for n in at.number_input if n.label.startswith("Exact price"))


def test_a_rivals_price_cut_shows_as_a_loss_against_the_base_case():
    at = open_app()
    assert card(at, "Profit").delta in (None, "")  # the base case as opened: no change yet
    profit = metric(at, "Profit")
    competitor_input(at, "TaskHub").set_value(8.0).run()
    assert metric(at, "Profit") < profit
    delta = card(at, "Profit").delta
    assert delta is not None and delta.startswith("-€"), delta  # a loss, not a gain against a new "today"
    # its size is the drop in expected profit at our unchanged price, from the library
    scenario = load_scenario(SAAS)
    before = analysis.metrics_at(simulate(scenario), 12.0, "meets expectations")
    after = analysis.metrics_at(
        simulate(with_changes(scenario, {"offerings[TaskHub].price": 8})), 12.0, "meets expectations"
    )
    drop = float(before.query("segment == 'all' and metric == 'profit'")["mean"].iloc[0]) - float(
        after.query("segment == 'all' and metric == 'profit'")["mean"].iloc[0]
    )
    assert drop > 0
    assert abs(float(delta.lstrip("-€").rstrip("k")) * 1e3 - drop) <= 0.051e3 + 0.002 * drop
    assert any("offerings[TaskHub].price 10.0 → 8.0" in c.value for c in at.html)  # the cards' base-case line


def test_pinning_makes_the_current_view_the_base_case_and_back():
    at = open_app()
    competitor_input(at, "TaskHub").set_value(8.0).run()
    assert card(at, "Profit").delta.startswith("-")
    at.button(key="pin_base_case").click().run()
    assert card(at, "Profit").delta in (None, "")
    competitor_input(at, "TaskHub").set_value(10.0).run()  # the rival back at 10: a gain against the pin
    assert card(at, "Profit").delta.startswith("+")
    at.button(key="unpin_base_case").click().run()
    assert card(at, "Profit").delta in (None, "")  # as opened again: TaskHub at 10, nothing changed


def test_every_label_states_the_scenarios_period():
    assert load_scenario(SAAS).period == "month"  # the default: existing files stay valid
    at = open_app()
    assert {c.label for c in cards(at)} >= {"Units sold / month", "Profit / month", "Revenue / month"}
    quarterly = with_changes(load_scenario(SAAS), {"period": "quarter"})
    at.sidebar.file_uploader[0].upload(
        "q.yaml", dump_scenario(quarterly).encode(), "application/x-yaml"
    ).run()
    assert not at.exception
    assert {c.label for c in cards(at)} >= {"Units sold / quarter", "Profit / quarter", "Revenue / quarter"}
    assert any("Units and money per quarter" in c.value for c in at.html)
    assert any("per quarter" in m.value for m in at.markdown)  # the profit curve's heading
    bad = dump_scenario(quarterly).replace("period: quarter", "period: fortnight").encode()
    at.sidebar.file_uploader[0].upload("bad.yaml", bad, "application/x-yaml").run()
    assert "period" in " ".join(e.value for e in at.sidebar.error)


@pytest.mark.parametrize("typed", [10.8, 9.99])
def test_a_typed_price_off_the_grid_is_simulated_exactly(typed):
    at = open_app()
    assert typed not in load_scenario(SAAS).price_grid()
    typed_price(at).set_value(typed).run()
    assert not at.exception
    scenario = load_scenario(SAAS)
    exact = analysis.metrics_at(simulate(scenario, prices=[typed]), typed, "meets expectations")
    want = float(exact.query("segment == 'all' and metric == 'share'")["mean"].iloc[0])
    assert metric(at, "Market share") == pytest.approx(want, abs=0.0005)
    assert at.query_params["price"] == str(typed)
    assert any("simulated exactly" in c.value for c in at.caption)
    # the value map places our offering at the typed price and says so (not "value - price > 0")
    text = " ".join(c.value for c in at.caption)
    assert f"Flow Team at €{typed:.2f} (meets expectations)" in text


def test_the_segment_table_adds_up_to_the_headline_profit():
    at = open_app()
    at.session_state["simulate_tabs"] = "Segments"
    at.run()
    frame = next(d.value for d in at.dataframe if "Fixed cost (meets expectations)" in d.value.index)
    column = next(c for c in frame.columns if c.startswith("Contribution"))
    assert "before fixed cost" in column
    assert frame.loc["Profit (after fixed cost)", column] == f"€{metric(at, 'Profit') / 1e3:.1f}k"


def test_the_segment_filter_narrows_the_headline_and_curves():
    at = open_app()
    market = metric(at, "Units sold")
    control = next(s for s in at.segmented_control if s.label == "Customers")
    segment = control.options[1]
    control.set_value(segment).run()
    labels = {c.label for c in cards(at)}
    assert "Contribution / month" in labels and "Share of segment" in labels
    units = metric(at, "Units sold")
    scenario = load_scenario(SAAS)
    table = analysis.metrics_at(simulate(scenario), 12.0, "meets expectations")
    want = float(table.query("segment == @segment and metric == 'volume'")["mean"].iloc[0])
    assert units == pytest.approx(want, rel=0.01) and units < market


def test_simulating_one_price_gives_that_column_of_the_grid():
    scenario = load_scenario(SAAS)
    grid = simulate(scenario)
    price = scenario.price_grid()[7]
    one = simulate(scenario, prices=[price])
    np.testing.assert_allclose(one.profit.values[:, 0], grid.profit.sel(price=price).values, rtol=1e-7)
    np.testing.assert_allclose(one.share.values[..., 0, :], grid.share.sel(price=price).values, atol=1e-8)


def test_every_page_says_when_it_shows_the_last_valid_version():
    at = open_app()
    at.switch_page("app_pages/scenario.py").run()
    next(n for n in at.number_input if n.label.startswith("Lowest price")).set_value(30.0).run()
    for page in ("simulate", "compare", "export", "wtp"):
        at.switch_page(f"app_pages/{page}.py").run()
        warnings = " ".join(w.value for w in at.warning)
        assert "This page shows the last valid version" in warnings, page
        assert "market.price_grid" in warnings, page
        assert at.get("page_link"), page  # a link back to the Scenario page


def test_a_csv_dropped_on_the_scenario_uploader_says_where_it_goes():
    at = open_app()
    at.sidebar.file_uploader[0].upload("answers.csv", b"segment,wtp\nSMB,12\n", "text/csv").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "answers.csv: not a scenario file" in errors and "Willingness to pay page" in errors


def test_a_long_edit_gives_the_message_not_a_wall_of_text():
    at = open_app()
    scenario = at.session_state["scenario"]
    data = scenario.model_dump(mode="json")
    data["segments"].append(data["segments"][0] | {"name": "Agencies"})
    at.session_state["scenario"] = with_changes(scenario, {"segments": data["segments"]})  # an editor edit
    at.run()
    assert len(at.session_state["scenario"].segments) == 4
    code = [c.value for c in at.sidebar.code]
    assert not code  # no link holding the whole segments list
    assert at.query_params["scenario"] == "saas_team_plan" and len(at.query_params) == 1
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "not added or removed items (segments)" in captions and "download the scenario" in captions


def test_a_short_edit_gives_a_short_link():
    at = open_app()
    competitor_input(at, "TaskHub").set_value(8.0).run()
    link = at.sidebar.code[0].value
    assert link.endswith("?scenario=saas_team_plan&offerings%5BTaskHub%5D.price=8") and len(link) < 80


def test_opening_warms_every_variants_table_and_a_step_shows_the_librarys_numbers():
    import state

    from pricing.scenario import scenario_hash

    at = open_app()
    scenario = load_scenario(SAAS)
    opened = scenario_hash(scenario)
    warmed = {variant for key, variant in state._metrics_tables() if key.startswith(opened)}
    assert warmed == {v.name for v in scenario.variants}
    # a grid price never shown before, in another variant: read off the warmed table, the library's numbers
    next(r for r in at.radio if r.label == "Delivery variant").set_value("delight").run()
    next(s for s in at.select_slider if s.label.startswith("Price of")).set_value(14.0).run()
    expected = analysis.metrics_at(simulate(scenario), 14.0, "delight").query("segment == 'all'")
    expected = expected.set_index("metric")["mean"]
    assert metric(at, "Profit") == pytest.approx(expected["profit"], abs=51)  # shown as €x.xk
    assert metric(at, "Market share") == pytest.approx(expected["share"], abs=0.0006)  # shown as x.x%
    # an edited scenario (a rival's price) is not warmed: its steps are computed one price at a time
    competitor_input(at, "TaskHub").set_value(9.37).run()  # a price no other test opens or pins
    edited = scenario_hash(with_changes(scenario, {"offerings[TaskHub].price": 9.37}))
    assert scenario_hash(at.session_state["scenario"]) == edited
    assert not any(key.startswith(edited) for key, _ in state._metrics_tables())
