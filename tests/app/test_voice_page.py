"""The voice-of-the-customer page: Kano upload with column mapping, classic table, Kano plot, use in the
scenario; the satisfaction survey's fit and its link to the dynamics (slow: NUTS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")

# saas_team_plan's attributes, two of its segments; answers as labels in several wordings and as codes
KANO = pd.DataFrame(
    {
        "seg": ["SMB", "SMB", "SMB", "Startups", "Startups", "Startups"],
        "uptime_f": ["I expect it", "neutral", "2", "I can live with it", "3", "I expect it"],
        "uptime_d": ["I dislike it", "I am neutral", "5", "dislike", "5", "i dislike it."],
        "onboarding_f": ["I like it", "I like it", "1", "I like it", "1", "I am neutral"],
        "onboarding_d": ["I am neutral", "I can tolerate it", "3", "I dislike it", "5", "I am neutral"],
    }
)


def open_voice() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    at.switch_page("app_pages/voice.py").run()
    assert not at.exception
    return at


def upload_kano(at: AppTest, frame: pd.DataFrame = KANO, name: str = "kano.csv") -> None:
    at.file_uploader(key="voice_upload_kano").upload(
        name, frame.to_csv(index=False).encode(), "text/csv"
    ).run()
    assert not at.exception


def test_kano_upload_maps_columns_by_suffix_and_shows_the_classic_table():
    at = open_voice()
    upload_kano(at)
    # the default suffixes find no pairs: the page says what it expected
    assert any("no Kano question pairs" in e.value for e in at.error)
    at.text_input(key="voice_kano_functional").set_value("_f")
    at.text_input(key="voice_kano_dys").set_value("_d").run()
    segment_box = next(s for s in at.selectbox if s.label == "Segment")
    segment_box.set_value("seg").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index(["attribute", "segment"])
    # SMB uptime: M, I, M -> must_be; CS- = -(O + M)/(A+O+M+I) = -2/3
    assert table.loc[("uptime", "SMB"), "category"] == "must_be"
    assert table.loc[("uptime", "SMB"), "cs_minus"] == pytest.approx(-2 / 3)
    # Startups onboarding: O, O, I -> one_dimensional; CS+ = 2/3
    assert table.loc[("onboarding", "Startups"), "category"] == "one_dimensional"
    assert table.loc[("onboarding", "Startups"), "cs_plus"] == pytest.approx(2 / 3)
    assert any("uptime (uptime_f / uptime_d)" in c.value for c in at.caption)
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert "CS+: satisfaction when delivered" in spec and "strokeDash" in spec  # axes, quadrant lines


def test_kano_use_in_the_scenario_sets_each_segments_categories():
    at = open_voice()
    frame = KANO.rename(columns=lambda c: c.replace("_f", "_functional").replace("_d", "_dysfunctional"))
    upload_kano(at, frame.rename(columns={"seg": "segment"}))
    assert not at.error
    at.button(key="voice_kano_use").click().run()
    assert not at.exception
    scenario = at.session_state["scenario"]
    kano = {s.name: s.kano for s in scenario.segments}
    assert kano["SMB"] == {"uptime": "must_be", "onboarding": "attractive"}
    assert kano["Startups"] == {"uptime": "must_be", "onboarding": "one_dimensional"}
    assert kano["Enterprise"] == {}
    assert any("takes 4 Kano categories" in s.value for s in at.success)


def test_a_bad_kano_answer_is_named_with_its_line_and_the_page_lives():
    at = open_voice()
    bad = KANO.rename(columns=lambda c: c.replace("_f", "_functional").replace("_d", "_dysfunctional"))
    bad.loc[2, "uptime_functional"] = "I love it"
    upload_kano(at, bad)
    errors = " ".join(e.value for e in at.error)
    assert "column 'uptime_functional': line 4" in errors and "'I love it'" in errors


@pytest.mark.slow
def test_satisfaction_example_fits_and_feeds_the_dynamics():
    at = open_voice()
    at.segmented_control(key="voice_kind").set_value("satisfaction").run()
    at.button(key="voice_example_satisfaction").click().run()
    assert not at.exception and not at.error
    at.number_input(key="voice_draws_satisfaction").set_value(200)
    at.number_input(key="voice_tune_satisfaction").set_value(200)
    at.button(key="voice_sat_fit").click().run()
    assert not at.exception, at.exception
    summary = at.dataframe[0].value
    assert set(summary["segment"]) == {"Startups", "SMB", "Enterprise"}
    at.button(key="voice_sat_use").click().run()
    dynamics = at.session_state["scenario"].dynamics
    retention, referral, _ = dynamics.for_segment("SMB")
    low, high = retention.satisfaction_effect
    assert 0 < low < 2.0 < high  # the example's truth for SMB: k = 2.0
