"""Saved what-ifs last: the SQLite store, and the Compare page's save, rename, delete, export and import."""

from __future__ import annotations

import json

import store
from test_app import ROOT, metric, open_app

from pricing.scenario import load_scenario, with_changes

SAAS = ROOT / "scenarios" / "saas_team_plan.yaml"


def test_options_survive_a_new_connection_and_round_trip_through_an_export(tmp_path, monkeypatch):
    scenario = with_changes(load_scenario(SAAS), {"offerings[TaskHub].price": 8})
    first = store.save_option("rival cut", scenario, 9.99, "delight")
    assert store.save_option("rival cut", scenario, 11.0, "delight") != first
    options = store.list_options()  # read back from the file (a fresh connection each call)
    assert [o.name for o in options] == ["rival cut", "rival cut (2)"]
    assert options[0].scenario == scenario and options[0].price == 9.99 and options[0].variant == "delight"
    assert (tmp_path / "pricing-data" / "whatifs.sqlite").is_file()

    store.rename_option(first, "TaskHub at 8")
    store.delete_option(options[1].id)
    assert [o.name for o in store.list_options()] == ["TaskHub at 8"]
    exported = store.export_options()
    assert json.loads(exported)["options"][0]["price"] == 9.99

    monkeypatch.setenv("PRICING_DATA_DIR", str(tmp_path / "elsewhere"))  # another machine
    assert store.list_options() == []
    added, problems = store.import_options(exported)
    assert (added, problems) == (1, [])
    assert store.list_options()[0].scenario == scenario


def test_a_bad_import_says_what_is_wrong_row_by_row():
    assert store.import_options(b"not json")[1] == [
        "not a JSON file (export saved options from this page, then import that file)"
    ]
    assert "not an export of saved options" in store.import_options(b'{"options": []}')[1][0]
    rows = {
        "format": store.EXPORT_FORMAT,
        "options": [
            {"name": "x", "scenario": "schema_version: 1\nname: x\n", "price": 1, "variant": "base"},
            {"name": "y", "scenario": SAAS.read_text(), "price": -3, "variant": "delight"},
            "text",
        ],
    }
    added, problems = store.import_options(json.dumps(rows).encode())
    assert added == 0 and len(problems) == 3
    assert problems[0].startswith("options[0]: segments")
    assert problems[1] == "options[1]: price: must be a positive number (got -3)"
    assert problems[2] == "options[2]: not an object"


def _compare_saved(at):
    at.switch_page("app_pages/compare.py").run()
    at.segmented_control(key="compare_mode").set_value("Saved options").run()


def test_a_saved_option_is_there_after_a_reload_and_can_be_renamed_opened_and_deleted():
    at = open_app()
    profit = metric(at, "Profit")
    _compare_saved(at)
    at.text_input(key="option_name").set_value("today").run()
    next(b for b in at.button if b.label == "Save the current view").click().run()
    assert not at.exception

    at = open_app()  # a reload: a new session, the same store
    _compare_saved(at)
    rename = next(t for t in at.text_input if t.key.startswith("rename_"))
    assert rename.value == "today"
    rename.set_value("as it is today").run()
    assert [o.name for o in store.list_options()] == ["as it is today"]
    at.switch_page("app_pages/simulate.py").run()
    at.switch_page("app_pages/compare.py").run()
    next(b for b in at.button if b.label == "Open").click().run()
    at.switch_page("app_pages/simulate.py").run()
    assert metric(at, "Profit") == profit
    at.switch_page("app_pages/compare.py").run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert store.list_options() == []
