"""The two conjoint read-outs the app showed wrong: the WTP chart's step from 100%, and a quick look (MAP)
reported as "sampler checks passed" although nothing was sampled."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from pricing import charts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app" / "streamlit_app.py")
sys.path.insert(0, str(ROOT / "tests"))
from test_simulate_conjoint import hb_posterior  # noqa: E402

#: What `fit_choice(method="map")` records: no R-hat, no ESS, nothing to fail.
QUICK_LOOK = {
    "rhat_max": None,
    "ess_bulk_min": None,
    "ess_tail_min": None,
    "divergences": 0,
    "chains": 2,
    "draws": 200,
    "ok": True,
    "problems": [],
    "note": "Laplace approximation: independent draws, no MCMC diagnostics",
}


def test_the_wtp_chart_of_a_one_wtp_segment_stays_within_0_and_100_percent():
    # a multinomial logit's segment: every customer has the same WTP, so the share steps from 100% to 0
    prices = np.geomspace(5, 70, 80)
    step = (prices < 15).astype(float)
    demand = pd.DataFrame({"segment": "students", "price": prices, "q05": step, "q50": step, "q95": step})
    spec = charts.wtp_demand_chart(demand, "EUR")
    for layer in spec["layer"]:
        assert layer["mark"]["clip"] is True
        scale = layer["encoding"]["y"]["scale"]
        assert scale == {"domain": [0, 1], "nice": False, "clamp": True}


def test_a_quick_look_says_nothing_was_sampled(tmp_path):
    hb_posterior(tmp_path, diagnostics=QUICK_LOOK)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/wtp.py").run()
    at.file_uploader(key="wtp_posterior_upload").upload("quick.nc", (tmp_path / "hb.nc").read_bytes()).run()
    assert not at.exception, at.exception
    assert not any("Sampler checks passed" in s.value for s in at.success)
    assert any("nothing was sampled" in i.value for i in at.info)
    # a sampled fit with good diagnostics still says its checks passed
    sampled = QUICK_LOOK | {"rhat_max": 1.002, "ess_bulk_min": 900.0, "ess_tail_min": 850.0}
    hb_posterior(tmp_path, diagnostics=sampled)
    at.file_uploader(key="wtp_posterior_upload").upload("nuts.nc", (tmp_path / "hb.nc").read_bytes()).run()
    at.selectbox(key="wtp_shown_fit").set_value(at.selectbox(key="wtp_shown_fit").options[-1]).run()
    assert any("Sampler checks passed" in s.value for s in at.success)
