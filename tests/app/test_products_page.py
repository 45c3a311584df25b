"""The Products page (AppTest): levels from dropdowns, prices typed, shares total and per segment with 90%
intervals against the base case, and the sensitivity tornado and curves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pricing.scenario import dump_scenario, scenario_from_dict
from pricing.shares import market_shares
from pricing.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")
sys.path.insert(0, str(ROOT / "tests"))
from test_simulate_conjoint import storage_dict  # noqa: E402


def plans() -> dict:
    data = storage_dict()
    data["segments"].append({**data["segments"][0], "name": "pros", "size": 3000, "logit_scale": 6.0})
    data["market"] = {"draws": 100, "price_grid": {"min": 10, "max": 30, "steps": 5}}
    return data


def open_products(data: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.sidebar.file_uploader[0].upload("plans.yaml", dump_scenario(scenario_from_dict(data)).encode()).run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/products.py").run()
    assert not at.exception, at.exception
    return at


def share_cell(at: AppTest, product: str, column: str) -> str:
    shares = next(d for d in at.dataframe if not (d.key or "").startswith("products_table"))
    table = shares.value.set_index("Product")
    return table.loc[product, column]


def mean_of(cell: str) -> float:
    return float(cell.split("%")[0]) / 100


def edit(at: AppTest, row: int, column: str, value) -> None:
    """Edit one cell of the products table as the browser reports it (the editor's edited rows)."""
    editor = next(e.key for e in at.data_editor if e.key.startswith("products_table"))
    at.session_state[editor] = {"edited_rows": {row: {column: value}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def test_products_table_and_shares_with_intervals_per_segment():
    data = plans()
    at = open_products(data)
    expected = market_shares(simulate(scenario_from_dict(data)))
    for product in ("Ours", "Lite", "Pro"):
        cell = share_cell(at, product, "Market share [90%]")
        truth = expected["shares"][product]
        assert cell == f"{truth['mean']:.1%} [{truth['q05']:.1%}, {truth['q95']:.1%}]"
        assert share_cell(at, product, "pros share [90%]").startswith(
            f"{expected['segments']['pros'][product]['mean']:.1%}"
        )
        assert share_cell(at, product, "Market vs base") == pytest.approx(0.0)  # nothing changed yet


def test_picking_a_level_and_typing_prices_change_the_shares_against_the_base_case():
    at = open_products(plans())
    before = mean_of(share_cell(at, "Ours", "Market share [90%]"))
    edit(at, 0, "Storage", "50GB")  # our storage from 5TB down to 50GB: a dropdown pick
    assert at.session_state["scenario"].offerings[0].levels["Storage"] == "50GB"
    after = mean_of(share_cell(at, "Ours", "Market share [90%]"))
    assert after < before - 0.1
    assert share_cell(at, "Ours", "Market vs base") == pytest.approx(100 * (after - before), abs=0.2)
    assert share_cell(at, "Pro", "Market vs base") > 0  # the rivals gain
    edit(at, 2, "price", 40.0)  # a rival's price typed
    assert at.session_state["scenario"].offerings[2].price == 40.0
    assert mean_of(share_cell(at, "Ours", "Market share [90%]")) > after
    edit(at, 0, "price", 12.0)  # our price: the selected price, the scenario's stays
    assert at.session_state["view"]["price"] == 12.0
    assert mean_of(share_cell(at, "Ours", "Market share [90%]")) > after
    edit(at, 1, "Support", "(as expected)")  # back to meeting the expectation: the level is unlisted
    assert "Support" not in at.session_state["scenario"].offerings[1].levels


def test_a_bad_price_names_the_field_and_keeps_the_scenario():
    at = open_products(plans())
    edit(at, 1, "price", -5.0)
    assert any("offerings[1].price: Input should be greater than 0" in e.value for e in at.error)
    assert at.session_state["scenario"].offerings[1].price == 12.0


def test_the_sensitivity_tornado_and_curves():
    at = open_products(plans())
    assert not at.get("vega_lite_chart")  # on demand: each setting is a simulation
    at.toggle(key="products_sensitivity").set_value(True).run()
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    # the tornado, then one curve per factor: Storage, Support, speed, our price, Lite's and Pro's prices
    assert len(charts) == 1 + 6
    factors = json.loads(charts[0].proto.spec)["layer"][0]["encoding"]["y"]["sort"]
    assert set(factors) == {
        "Ours: Storage",
        "Ours: Support",
        "Ours: speed",
        "Ours: price",
        "Lite: price",
        "Pro: price",
    }
    assert factors[0] == "Ours: price"  # the widest swing first
    at.segmented_control(key="products_metric").set_value("profit").run()
    assert not at.exception, at.exception
    at.selectbox(key="products_focus").set_value("Pro").run()
    assert not at.exception, at.exception
