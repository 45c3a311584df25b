"""The Over time page with AppTest: NPV against one period, the sliders, cohort data fitted to a curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")


def open_page(timeout: float = 120, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/over_time.py").run()
    assert not at.exception, at.exception
    return at


def slider(at: AppTest, label: str):
    return next(s for s in at.slider if s.label.startswith(label))


def test_over_time_says_where_npv_and_one_period_disagree_and_sliders_change_the_scenario():
    at = open_page(scenario="it_managed_service", **{"market.draws": "150"})
    sentence = " ".join(m.value for m in at.markdown)
    assert "By NPV over 24 months the best is 'delight'" in sentence
    assert "by one month's profit it is '+ faster response'" in sentence
    assert len(at.get("vega_lite_chart")) == 2
    churn = slider(at, "Churn per period")
    assert churn.value == pytest.approx((2.5, 4.5))
    churn.set_value((10.0, 12.0)).run()
    assert not at.exception, at.exception
    scenario = at.session_state["scenario"]
    assert scenario.dynamics.retention.churn == pytest.approx((0.10, 0.12))
    assert slider(at, "Churn per period").value == pytest.approx((10.0, 12.0))
    slider(at, "Horizon").set_value(6).run()
    assert at.session_state["scenario"].dynamics.horizon == 6
    assert "over 6 months" in " ".join(m.value for m in at.markdown)


def test_a_scenario_without_dynamics_says_so_and_a_slider_adds_the_section():
    at = open_page(scenario="saas_team_plan", **{"market.draws": "60"})
    assert any("no dynamics section" in i.value for i in at.info)
    slider(at, "Horizon").set_value(3).run()
    assert not at.exception, at.exception
    assert at.session_state["scenario"].dynamics.horizon == 3


@pytest.mark.slow
def test_uploaded_cohort_data_are_fitted_and_drawn_against_the_data():
    rng = np.random.default_rng(4)
    lifetime = rng.geometric(rng.beta(0.8, 2.0, 3000))
    rows = ["period,active"] + [f"{t},{(lifetime > t).sum()}" for t in range(8)]
    at = open_page(timeout=400, scenario="it_managed_service", **{"market.draws": "60"})  # PyMC compiles
    at.main.file_uploader[0].upload("cohorts.csv", "\n".join(rows).encode(), "text/csv").run()
    assert not at.exception, at.exception
    fitted = " ".join(m.value for m in at.markdown)
    assert "**all**: alpha" in fitted
    assert len(at.get("vega_lite_chart")) == 3


def test_numbers_from_a_satisfaction_fit_are_shown_as_such_and_simulate():
    at = open_page(scenario="team_plan_voice", **{"market.draws": "100"})
    captions = " ".join(c.value for c in at.caption)
    assert (
        "Satisfaction effect on churn (k): each draw from the fit 'data/satisfaction_team_plan.nc'"
        in captions
    )
    assert "Churn per period (%): each draw from the fit" in captions
    assert not any(s.label.startswith("Satisfaction effect") for s in at.slider)  # no slider over a fit
    assert len(at.get("vega_lite_chart")) == 2
