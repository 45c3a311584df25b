"""The app's plain helpers: share links, the editor's draft tables, number formatting, export files."""

from __future__ import annotations

import io
from pathlib import Path

import exports
import formatting
import links
import numpy as np
import openpyxl
import pandas as pd
import pytest
import tables

from pricing import charts
from pricing.scenario import load_scenario, scenario_from_dict, scenario_hash, with_changes
from pricing.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
SAAS = ROOT / "scenarios" / "saas_team_plan.yaml"


@pytest.fixture(scope="module")
def saas():
    return load_scenario(SAAS)


def test_link_round_trip(saas):
    changed = with_changes(
        saas,
        {
            "offerings[TaskHub].price": 9,
            "segments[SMB].wtp.median": 15.5,
            "market.draws": 300,
            "variants[delight].description": "42",
            "market.none_option": False,
        },
    )
    changes = links.scenario_changes(saas, changed)
    assert changes == {
        "segments[SMB].wtp.median": 15.5,
        "offerings[TaskHub].price": 9.0,
        "variants[delight].description": "42",
        "market.none_option": False,
        "market.draws": 300,
    }
    query = links.to_query("saas_team_plan", changes, {"price": 13.0, "variant": "delight"})
    assert query["offerings[TaskHub].price"] == "9" and query["variants[delight].description"] == '"42"'
    assert query["market.none_option"] == "false" and query["price"] == "13"
    reopened, view, problems = links.from_query(query, saas)
    assert problems == []
    assert scenario_hash(reopened) == scenario_hash(changed)
    assert view == {"price": 13.0, "variant": "delight"}


def test_link_with_structural_changes_round_trips(saas):
    data = saas.model_dump(mode="json")
    data["offerings"].append({"name": "NewRival", "price": 11.0})
    data["segments"][0]["expectations"].pop("onboarding")
    changed = scenario_from_dict(data)
    changes = links.scenario_changes(saas, changed)
    assert set(changes) == {"offerings", "segments[Startups].expectations"}
    reopened, _, problems = links.from_query(links.to_query("x", changes), saas)
    assert problems == [] and scenario_hash(reopened) == scenario_hash(changed)


def test_bad_link_parameters_are_reported_one_by_one(saas):
    query = {
        "scenario": "x",
        "offerings[TaskHub].price": "-1",
        "seed": "5",
        "price": "cheap",
        "variant": "gold",
    }
    scenario, view, problems = links.from_query(query, saas)
    assert scenario.seed == 5 and scenario.offerings[1].price == 10.0  # the good one still applies
    assert view == {}
    assert len(problems) == 3
    assert problems[0].startswith("link parameter offerings[TaskHub].price=-1: offerings[1].price")


def test_draft_round_trips_every_bundled_scenario():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        back = scenario_from_dict(tables.draft_to_data(tables.scenario_to_draft(scenario)))
        assert scenario_hash(back) == scenario_hash(scenario), path.name
    blank = scenario_from_dict(tables.BLANK)
    assert scenario_hash(
        scenario_from_dict(tables.draft_to_data(tables.scenario_to_draft(blank)))
    ) == scenario_hash(blank)


def test_apply_edits_as_the_data_editor_reports_them(saas):
    offerings = tables.scenario_to_draft(saas)["offerings"]
    edited = tables.apply_edits(
        offerings,
        {
            "edited_rows": {1: {"price": 11.0}},
            "added_rows": [{"name": "New", "owner": "competitor", "price": 5.0}],
            "deleted_rows": [2],
        },
    )
    assert list(edited["name"]) == ["Flow Team", "TaskHub", "New"]
    assert list(edited["price"]) == [12.0, 11.0, 5.0]
    assert np.isnan(edited.loc[2, "level:uptime"]) and edited["level:uptime"].dtype == np.float64


def test_empty_cells_fall_back_to_schema_defaults_and_problems_name_the_row(saas):
    draft = tables.scenario_to_draft(saas)
    draft["offerings"].loc[1, "price"] = np.nan
    draft["segments"].loc[0, "wtp_median"] = -5.0
    with pytest.raises(Exception) as error:
        scenario_from_dict(tables.draft_to_data(draft))
    problems = error.value.problems
    assert "offerings[1].price: required field is missing" in problems
    assert any(p.startswith("segments[0].wtp.median: Input should be greater than 0") for p in problems)
    sections = tables.problems_by_section(problems + ["name: too long", "market.draws: bad"])
    assert set(sections) == {"offerings", "segments", "general", "market"}


def test_attribute_columns_follow_renames_and_removals(saas):
    draft = tables.scenario_to_draft(saas)
    draft["attributes"].loc[0, "name"] = "availability"
    draft["attributes"] = draft["attributes"].drop(index=3).reset_index(drop=True)
    synced = tables.sync_attribute_columns(draft, {"uptime": "availability"})
    assert "expect:availability" in synced["segments"] and "expect:uptime" not in synced["segments"]
    assert "level:integrations" not in synced["offerings"]
    assert synced["segments"]["expect:availability"].tolist() == [99.5, 99.9, 99.95]
    scenario = scenario_from_dict(tables.draft_to_data(synced))
    assert scenario.segments[0].expectations == {"availability": 99.5, "support_hours": 8, "onboarding": 0}


def test_formatting():
    assert formatting.money(12.5, "EUR") == "€12.50"
    assert formatting.money(9579.25, "EUR") == "€9,579"
    assert formatting.money(41_700, "USD") == "$41.7k"
    assert formatting.money(-2_345_678, "SEK") == "-SEK 2.35M"
    assert formatting.money(12, "EUR", 0) == "€12"
    # compact: three significant digits, so a headline card reads whole at 1024 px
    assert formatting.money(61_512, "EUR") == "€61.5k"
    assert formatting.money(27_712_000, "EUR") == "€27.7M"
    assert formatting.money(999_600, "EUR") == "€1M"  # not "€1e+03k"
    assert formatting.money(1.234e9, "EUR") == "€1.23B"
    assert formatting.count(21_292) == "21.3k" and formatting.count(8_120) == "8,120"
    assert formatting.price(9.99, "EUR") == "€9.99" and formatting.price(389, "EUR") == "€389"
    assert formatting.per_period("Profit", "quarter") == "Profit / quarter"
    assert formatting.percent(0.1364) == "13.6%"
    assert formatting.metric_delta("share", -0.048, "EUR") == "-4.8 pts"
    assert formatting.metric_delta("volume", 1372, "EUR") == "+1,372 units"
    assert formatting.metric_value("satisfaction", 15.2, "EUR") == "+15"
    assert formatting.interval("profit", 34_700, 49_400, "EUR") == "[€34.7k, €49.4k]"
    assert formatting.money(float("nan"), "EUR") == "n/a"


def test_excel_workbook_holds_every_table(small_scenario):
    results = simulate(small_scenario, draws=40)
    sheets = exports.result_sheets(small_scenario, results, 45.0, "faster")
    workbook = openpyxl.load_workbook(io.BytesIO(exports.excel_bytes(sheets)))
    assert workbook.sheetnames == ["about", "variants", "selected view", "curves", "value map", "summary"]
    back = pd.read_excel(io.BytesIO(exports.excel_bytes(sheets)), sheet_name="selected view")
    assert back["mean"].tolist() == pytest.approx(sheets["selected view"]["mean"].tolist())
    assert set(back["variant"]) == {"faster"}


def test_every_exported_chart_renders(small_scenario):
    results = simulate(small_scenario, draws=20)
    builders = exports.chart_builders(small_scenario, results, 45.0, "base")
    assert tuple(builders) == exports.CHART_NAMES
    for name, build in builders.items():
        svg = charts.chart_bytes(build(), "svg")
        assert svg.lstrip().startswith(b"<svg") and b"NaN" not in svg, name


@pytest.mark.skipif("posterior" not in tables.WTP_FIELDS, reason="the schema has no fitted WTP sources")
def test_draft_keeps_a_segment_whose_wtp_comes_from_survey_data(saas):
    data = saas.model_dump(mode="json")
    data["segments"][1]["wtp"] = {"data": "survey.csv", "method": "stated", "columns": {"amount": "wtp_eur"}}
    scenario = scenario_from_dict(data)
    draft = tables.scenario_to_draft(scenario)
    assert draft["segments"].loc[1, "wtp_columns"] == '{"amount": "wtp_eur"}'
    back = scenario_from_dict(tables.draft_to_data(draft))
    assert back.segments[1].wtp.columns == {"amount": "wtp_eur"} and back.segments[1].wtp.data == "survey.csv"
    assert scenario_hash(back) == scenario_hash(scenario)


def test_excel_export_writes_formula_like_names_as_text(small_scenario):
    """A scenario whose names start with =, +, - or @ exports no live formula: each cell is text, as named."""
    names = {"segments[0].name": "=cmd|' /C calc'!A0", "variants[1].name": "+ 24/7 support"}
    scenario = with_changes(small_scenario, names)
    results = simulate(scenario, draws=20)
    sheets = exports.result_sheets(scenario, results, 45.0, "+ 24/7 support")
    workbook = openpyxl.load_workbook(io.BytesIO(exports.excel_bytes(sheets)))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert {"=cmd|' /C calc'!A0", "+ 24/7 support"} <= texts
