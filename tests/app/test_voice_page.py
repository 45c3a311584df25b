"""The voice-of-the-customer page: Kano upload with column mapping, classic table, Kano plot, use in the
scenario; the satisfaction survey's fit and its link to the dynamics (slow: NUTS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    scenario = at.session_state["scenario"]
    retention, referral, _ = scenario.dynamics.for_segment("SMB")
    assert retention.satisfaction_effect.posterior == referral.rate.posterior
    from pricing.dynamics import dynamics_parameters

    k = dynamics_parameters(scenario, 400, np.random.default_rng(0))["retention_effect"][:, 1]
    low, high = np.quantile(k, [0.05, 0.95])
    assert 0 < low < 2.0 < high  # the example's truth for SMB: k = 2.0


def fake_kano_fit(monkeypatch, draws: int = 20):
    """`KanoModel.fit` returning seeded synthetic draws of uptime and onboarding for SMB and Startups."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_wtp_kano_fit import synthetic_fit

    from pricing.wtp import kano

    shares = np.random.default_rng(8).dirichlet(np.ones(6), size=(1, draws, 2, 2))
    fit = synthetic_fit(shares, segments=("SMB", "Startups"))
    names = {"attribute": ["uptime", "onboarding"]}
    fit.posterior = fit.posterior.assign_coords(names)
    fit.constant_data = fit.constant_data.assign_coords(names)

    def fake(self, source, *, seed=0, progressbar=False):
        self.idata = fit
        return fit

    monkeypatch.setattr(kano.KanoModel, "fit", fake)
    return fit


def test_using_a_kano_fit_points_the_scenario_to_it_and_the_zip_carries_it(monkeypatch, tmp_path):
    from pricing.bundle import pack_scenario
    from pricing.scenario import load_scenario
    from pricing.simulate import segment_parameters, simulate

    fit = fake_kano_fit(monkeypatch)
    at = open_voice()
    frame = KANO.rename(columns=lambda c: c.replace("_f", "_functional").replace("_d", "_dysfunctional"))
    upload_kano(at, frame.rename(columns={"seg": "segment"}))
    at.button(key="voice_kano_fit").click().run()
    assert not at.exception and not at.error
    at.button(key="voice_kano_use").click().run()
    assert not at.exception and not at.error
    scenario = at.session_state["scenario"]
    uptime = next(a for a in scenario.attributes if a.name == "uptime")
    assert uptime.kano.posterior.startswith("data/kano-fit-")
    own = {s.name: s.kano for s in scenario.segments}
    assert own["SMB"] == {} and own["Startups"] == {}
    assert own["Enterprise"] == {"uptime": "must_be", "onboarding": "attractive"}  # not in the fit: kept
    assert any("points to the fit" in s.value for s in at.success)
    weights = segment_parameters(scenario, 30, np.random.default_rng(0))["kano_weights"]
    smb = fit.posterior["kano_weights"].sel(attribute="uptime", segment="SMB").values.reshape(-1, 2)
    assert {tuple(w) for w in weights[:, 1, 0]} <= {tuple(w) for w in smb}  # the fit's own draws
    archive = tmp_path / "voice.zip"
    archive.write_bytes(pack_scenario(scenario))
    np.testing.assert_array_equal(
        simulate(load_scenario(archive), draws=50)["profit"].values,
        simulate(scenario, draws=50)["profit"].values,
    )


def test_using_a_satisfaction_fit_points_the_dynamics_to_it(monkeypatch, tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_wtp_satisfaction import _synthetic_fit

    from pricing.bundle import pack_scenario
    from pricing.dynamics import dynamics_parameters
    from pricing.scenario import load_scenario
    from pricing.wtp import satisfaction

    fit = _synthetic_fit()
    fit.posterior = fit.posterior.assign_coords(segment=["SMB", "Startups"])

    def fake(self, source, *, seed=0, progressbar=False):
        self.idata = fit
        return fit

    monkeypatch.setattr(satisfaction.SatisfactionModel, "fit", fake)
    at = open_voice()
    at.segmented_control(key="voice_kind").set_value("satisfaction").run()
    at.button(key="voice_example_satisfaction").click().run()
    at.button(key="voice_sat_fit").click().run()
    assert not at.exception and not at.error
    at.button(key="voice_sat_use").click().run()
    assert not at.exception and not at.error
    scenario = at.session_state["scenario"]
    names = [s.name for s in scenario.segments]
    params = dynamics_parameters(scenario, 400, np.random.default_rng(0))
    k = fit.posterior["retention_effect"].sel(segment="SMB").values.ravel()
    np.testing.assert_array_equal(params["retention_effect"][:, names.index("SMB")], k)
    assert scenario.dynamics.for_segment("Enterprise")[0].satisfaction_effect == 0.0  # not in the fit
    reopened = tmp_path / "s.zip"
    reopened.write_bytes(pack_scenario(scenario))
    again = dynamics_parameters(load_scenario(reopened), 400, np.random.default_rng(0))
    np.testing.assert_array_equal(again["referral_rate"], params["referral_rate"])
