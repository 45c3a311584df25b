"""The Sweep page with AppTest: a heat map over two inputs with the best cell marked, lines over one, the
table download, and a cancelled sweep that keeps its points and continues to the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pricing import sweep
from pricing.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")


def sweep_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/sweep.py").run()
    assert not at.exception, at.exception
    return at


def number(at: AppTest, label: str):
    return next(n for n in at.number_input if n.label == label)


def set_up(at: AppTest, inputs: list[str], steps: int, draws: int = 30) -> None:
    at.multiselect[0].set_value(inputs).run()
    for label in inputs:
        number(at, f"{label}: steps").set_value(steps).run()
    number(at, "Draws per point").set_value(draws).run()


def chart_spec(at: AppTest) -> dict:
    (chart,) = at.get("vega_lite_chart")
    return json.loads(chart.proto.spec)


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def mark(layer: dict) -> str:
    return layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]


def test_a_heat_map_over_two_rival_prices_marks_the_most_profitable_cell():
    at = sweep_page()
    set_up(at, ["Price of TaskHub", "Price of BoardPro"], steps=3)
    at.button(key="sweep_start").click().run()
    assert not at.exception, at.exception
    run = at.session_state["sweep_run"]
    assert run["status"] == "done" and run["points"] == 9
    # the numbers are those of the same sweep run through the library
    scenario = load_scenario(ROOT / "scenarios" / "saas_team_plan.yaml")
    spec = sweep.Sweep(
        sweep_version=1,
        scenario="saas_team_plan.yaml",
        changes={"market.draws": 30},
        grid={
            "offerings[1].price": {"from": 7.0, "to": 13.0, "steps": 3},
            "offerings[2].price": {"from": 10.5, "to": 19.5, "steps": 3},
        },
        keep=[{"kind": "at_prices", "prices": ["current"], "metrics": ["profit"]}],
    )
    expected = sweep.run_sweep(spec, scenario).table
    table = sweep.collect(spec, scenario, run["batches"])
    assert table.equals(expected)
    spec_json = chart_spec(at)
    marks = [mark(layer) for layer in layers(spec_json)]
    assert marks == ["rect", "point"]
    profit = expected[(expected.metric == "profit") & (expected.variant == "meets expectations")]
    best = profit.loc[profit["mean"].idxmax()]
    taskhub, boardpro = best["offerings[1].price"], best["offerings[2].price"]
    cell = f"Price of TaskHub = {taskhub:,.4g}, Price of BoardPro = {boardpro:,.4g}"
    assert cell in at.success[0].value
    assert best["offerings[1].price"] == 13  # a dearer rival is better for us
    downloads = [d.proto.label for d in at.main.get("download_button")]
    assert downloads == ["Download the table (CSV)"]


def test_lines_over_one_input_and_a_cancelled_sweep_continues_to_the_same_numbers():
    at = sweep_page()
    set_up(at, ["Median WTP of SMB"], steps=6)
    at.button(key="sweep_start").click().run()
    run = at.session_state["sweep_run"]
    assert run["status"] == "done" and len(run["batches"]) == 6
    chart = chart_spec(at)
    assert [mark(layer) for layer in layers(chart)] == ["area", "line", "point"]
    full = [b.table for b in run["batches"]]

    # a rerun while it runs (Cancel, or any control) leaves the finished batches and the status "running"
    at.session_state["sweep_run"] = run | {"batches": run["batches"][:2], "status": "running"}
    at.run()
    assert "Cancelled after 2 of 6 points" in at.warning[0].value
    assert at.button(key="sweep_start").label == "Continue"
    at.button(key="sweep_start").click().run()
    again = at.session_state["sweep_run"]
    assert again["status"] == "done" and len(again["batches"]) == 6
    by_point = {b.points[0]: b.table for b in again["batches"]}
    for table in full:
        assert by_point[int(table.point.iloc[0])].equals(table)


def test_no_input_and_an_empty_range_say_what_to_do():
    at = sweep_page()
    at.multiselect[0].set_value([]).run()
    assert "Pick an input" in at.info[0].value
    at.multiselect[0].set_value(["Size of SMB"]).run()
    number(at, "Size of SMB: to").set_value(number(at, "Size of SMB: from").value).run()
    assert "'from' must differ from 'to'" in at.error[0].value and not at.exception
