"""The app's main flows with AppTest: open, move prices, switch variants, edit, upload, compare."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import NamedTuple

import pytest
from streamlit.testing.v1 import AppTest

from pricing.bundle import pack_scenario
from pricing.scenario import dump_scenario, load_scenario, with_changes

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
TIMEOUT = 60


def open_app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


class Card(NamedTuple):
    """One headline card as the page shows it (`headline.cards_html`)."""

    metric: str
    label: str
    value: str
    delta: str
    interval: str


CARD = re.compile(
    r'<div class="pricing-card" data-metric="(?P<metric>\w+)"[^>]*>'
    r'<div class="pricing-card-label">(?P<label>[^<]*)</div>'
    r'<div class="pricing-card-value">(?P<value>[^<]*)</div>'
    r'<div class="pricing-card-change[^"]*">.*?<span class="pricing-card-delta">(?P<delta>[^<]*)</span></div>'
    r'<div class="pricing-card-interval">(?P<interval>[^<]*)</div>'
)


def cards(at: AppTest) -> list[Card]:
    """The headline cards on the page, in order."""
    return [
        Card(**{name: html.unescape(text) for name, text in found.groupdict().items()})
        for block in at.html
        for found in CARD.finditer(block.value)
    ]


def card(at: AppTest, label: str) -> Card:
    """The headline card whose label (before its period, " / month") is `label`."""
    return next(c for c in cards(at) if c.label.split(" / ")[0] == label)


def metric(at: AppTest, label: str) -> float:
    """A headline metric's value as a number (12.5% -> 0.125, EUR 41.7k -> 41700)."""
    text = card(at, label).value
    number = float(re.sub(r"[^0-9.\-]", "", text.replace("k", "").replace("M", "")))
    if text.endswith("%"):
        return number / 100
    if text.endswith("k"):
        return number * 1e3
    if text.endswith("M"):
        return number * 1e6
    return number


def price_slider(at: AppTest):
    return next(s for s in at.select_slider if s.label.startswith("Price of"))


def competitor_input(at: AppTest, name: str):
    return next(n for n in at.number_input if n.label.startswith(f"{name} price"))


@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_scenario_opens_on_every_page(name):
    at = open_app(scenario=name)
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert at.title[0].value == scenario.name
    period = scenario.period
    assert {c.label for c in cards(at)} == {
        "Market share",
        f"Units sold / {period}",
        f"Revenue / {period}",
        f"Profit / {period}",
        "Satisfaction",
    }
    for page in ("scenario", "compare", "export", "wtp"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)


def test_our_share_falls_and_the_link_follows_as_our_price_rises():
    at = open_app()
    slider = price_slider(at)
    assert slider.value == 12.0
    share_at_12 = metric(at, "Market share")
    slider.set_value(14.0).run()
    assert metric(at, "Market share") < share_at_12
    assert at.query_params["price"] == "14"
    slider = price_slider(at)
    slider.set_value(10.0).run()
    assert metric(at, "Market share") > share_at_12


def test_raising_a_competitors_price_raises_our_share_and_enters_the_link():
    at = open_app()
    share = metric(at, "Market share")
    competitor_input(at, "TaskHub").set_value(14.0).run()
    assert not at.exception
    assert metric(at, "Market share") > share
    assert at.session_state["scenario"].offerings[1].price == 14.0
    assert at.query_params["offerings[TaskHub].price"] == "14"


def test_over_delivery_variant_raises_satisfaction_and_cost():
    at = open_app()
    satisfaction = metric(at, "Satisfaction")
    at.radio(key=next(r.key for r in at.radio if r.label == "Delivery variant")).set_value("delight").run()
    assert metric(at, "Satisfaction") > satisfaction
    assert at.query_params["variant"] == "delight"


def test_a_link_reopens_the_scenario_with_its_changes():
    at = open_app(
        scenario="saas_team_plan", **{"offerings[TaskHub].price": "9", "price": "13", "variant": "delight"}
    )
    scenario = at.session_state["scenario"]
    assert scenario.offerings[1].price == 9
    assert price_slider(at).value == 13.0
    assert next(r for r in at.radio if r.label == "Delivery variant").value == "delight"
    assert not at.sidebar.warning


def test_a_bad_link_gives_messages_and_opens_the_rest():
    at = open_app(scenario="saas_team_plan", **{"offerings[Nobody].price": "9", "market.draws": "lots"})
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "offerings[Nobody].price" in warnings and "no item named 'Nobody'" in warnings
    assert "market.draws" in warnings
    assert at.title[0].value == "B2B SaaS team plan"
    at = open_app(scenario="no_such_scenario")
    assert "no such bundled scenario" in " ".join(w.value for w in at.sidebar.warning)
    assert cards(at)


def test_an_invalid_edit_shows_the_field_and_keeps_the_app_and_the_input():
    at = open_app()
    at.switch_page("app_pages/scenario.py").run()
    lowest = next(n for n in at.number_input if n.label.startswith("Lowest price"))
    lowest.set_value(30.0).run()
    errors = [e.value for e in at.error]
    assert any("market.price_grid: min (30) must be below max (24)" in e for e in errors)
    assert next(n for n in at.number_input if n.label.startswith("Lowest price")).value == 30.0
    # the other pages go on with the last valid scenario, and the draft survives the page switch
    at.switch_page("app_pages/simulate.py").run()
    assert not at.exception and metric(at, "Profit") > 0
    at.switch_page("app_pages/scenario.py").run()
    assert next(n for n in at.number_input if n.label.startswith("Lowest price")).value == 30.0
    assert any("price_grid" in e.value for e in at.error)


def test_an_invalid_table_edit_names_the_row_and_a_valid_one_applies():
    at = open_app()
    at.switch_page("app_pages/scenario.py").run()
    editor = next(d.key for d in at.data_editor if d.key.startswith("edit_offerings"))
    at.session_state[editor] = {"edited_rows": {1: {"price": -3.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert any("offerings[1].price" in e.value and "greater than 0" in e.value for e in at.error)
    assert at.session_state["scenario"].offerings[1].price == 10.0

    at = open_app()
    at.switch_page("app_pages/scenario.py").run()
    editor = next(d.key for d in at.data_editor if d.key.startswith("edit_offerings"))
    at.session_state[editor] = {"edited_rows": {1: {"price": 11.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not any("offerings" in e.value for e in at.error)
    assert at.session_state["scenario"].offerings[1].price == 11.0


def test_renaming_the_scenario_applies_at_once():
    at = open_app()
    at.switch_page("app_pages/scenario.py").run()
    at.text_input(key=next(t.key for t in at.text_input if t.label == "Name")).set_value("Renamed").run()
    assert at.session_state["scenario"].name == "Renamed"
    assert at.success


def test_uploading_a_scenario_file_opens_it_and_a_bad_one_says_why():
    scenario = with_changes(
        load_scenario(ROOT / "scenarios" / "saas_team_plan.yaml"), {"name": "Uploaded one"}
    )
    at = open_app()
    uploader = at.sidebar.file_uploader[0]
    uploader.upload("mine.yaml", dump_scenario(scenario).encode(), "application/x-yaml").run()
    assert not at.exception
    assert at.title[0].value == "Uploaded one"
    assert not at.query_params.get("scenario")

    at = open_app()
    at.sidebar.file_uploader[0].upload("bad.yaml", b"schema_version: 1\nname: x\nsegments: 3\n").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "bad.yaml" in errors and "segments" in errors
    assert at.title[0].value == "B2B SaaS team plan"


def test_a_survey_scenario_travels_as_a_zip_with_its_posterior():
    at = open_app(scenario="team_plan_survey")
    zipped = [b for b in at.sidebar.get("download_button") if "zip" in b.proto.label]
    assert len(zipped) == 1  # the bundled survey scenario takes WTP from a posterior file
    profit = metric(at, "Profit")
    packed = pack_scenario(load_scenario(ROOT / "scenarios" / "team_plan_survey.yaml"))

    at = open_app()  # another session, another scenario: upload the zip
    at.sidebar.file_uploader[0].upload("survey.zip", packed, "application/zip").run()
    assert not at.exception and not at.sidebar.error
    assert at.title[0].value == "B2B SaaS team plan, WTP from a survey"
    assert metric(at, "Profit") == profit  # the posterior came along: the same numbers

    at = open_app()
    at.sidebar.file_uploader[0].upload("evil.zip", zip_bytes({"a.yaml": b"x", "../x": b"x"})).run()
    assert not at.exception
    assert "evil.zip: ../x: a path outside the zip's folder" in " ".join(e.value for e in at.sidebar.error)
    assert at.title[0].value == "B2B SaaS team plan"
    assert not [b for b in at.sidebar.get("download_button") if "zip" in b.proto.label]  # no files: no zip


def zip_bytes(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_blank_template_is_a_valid_scenario():
    at = open_app()
    next(b for b in at.sidebar.button if b.label.startswith("Start from a blank")).click().run()
    assert not at.exception
    assert at.title[0].value == "New scenario"
    assert metric(at, "Profit") > 0


def test_compare_variants_shows_paired_differences():
    at = open_app()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    values, differences = at.dataframe[0].value, at.dataframe[1].value
    assert len(values.columns) == 3 and len(differences.columns) == 2  # options as columns: fits the page
    assert any(c.startswith("delight @ €") for c in differences.columns)
    assert "P(profit higher)" in differences.index


def test_compare_saved_options():
    at = open_app()
    at.switch_page("app_pages/compare.py").run()
    at.segmented_control(key="compare_mode").set_value("Saved options").run()
    save = next(b for b in at.button if b.label.startswith("Save the current view"))
    save.click().run()
    at.switch_page("app_pages/simulate.py").run()
    competitor_input(at, "BoardPro").set_value(18.0).run()
    at.switch_page("app_pages/compare.py").run()
    next(b for b in at.button if b.label.startswith("Save the current view")).click().run()
    assert not at.exception
    assert len(at.dataframe[1].value.columns) == 1  # one difference column, against the first option
    names = list(at.dataframe[0].value.columns)
    assert names == ["meets expectations @ €12", "meets expectations @ €12; BoardPro price 18.0"]


def test_export_offers_every_download():
    at = open_app()
    at.switch_page("app_pages/export.py").run()
    assert not at.exception
    labels = {b.label for b in at.download_button}
    assert {"Download scenario (.yaml)", "Download results (.csv)", "Download workbook (.xlsx)"} <= labels
    assert {"Download PNG", "Download SVG"} <= labels
    for name in ("value map", "segment shares", "variant probabilities"):
        at.selectbox(key="export_chart").set_value(name).run()
        assert not at.exception, name


def test_the_session_keeps_no_element_of_a_past_run_and_the_sidebar_one_share_link():
    """An element kept in the session state outlives its run: the Simulate fragment once filled the share
    link into an `st.empty` of the last full run, which blanked the page now and then ("Cannot set a node at
    a delta path") when a rival's price reran the app. The fragment writes to the sidebar itself; every page
    shows one link."""
    from streamlit.delta_generator import DeltaGenerator

    at = open_app()
    competitor_input(at, "TaskHub").set_value(14.0).run()
    price_slider(at).set_value(13.0).run()
    assert not at.exception
    kept = [key for key, value in at.session_state.to_dict().items() if isinstance(value, DeltaGenerator)]
    assert kept == []
    links = [c.value for c in at.sidebar.code]
    assert len(links) == 1 and "offerings%5BTaskHub%5D.price=14" in links[0] and "price=13" in links[0], links
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert len(at.sidebar.code) == 1


def test_a_pricing_error_in_the_simulate_fragment_is_one_line_and_keeps_the_share_link(monkeypatch):
    """A `PricingError` raised inside Simulate's fragment (`explore`) showed a traceback on a rerun of the
    fragment alone, which the app's handler never sees: the fragment says it in the app's one line and still
    draws the share link it owns (without it, the full run drew none)."""
    import sys

    from pricing.errors import PricingError

    at = open_app()
    assert len(at.sidebar.code) == 1

    def fails(current=None):
        raise PricingError("segments[SMB].wtp: the posterior file went missing")

    monkeypatch.setattr(sys.modules["state"], "results", fails)
    price_slider(at).set_value(13.0).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert errors == ["This page cannot be shown: segments[SMB].wtp: the posterior file went missing"], errors
    links = [c.value for c in at.sidebar.code]
    assert len(links) == 1 and "scenario=saas_team_plan" in links[0], links
    monkeypatch.undo()  # the cause gone, the page is back, with its link
    at.run()
    assert not at.exception and not at.error
    assert price_slider(at).value == 13.0
    assert len(at.sidebar.code) == 1 and "price=13" in at.sidebar.code[0].value
