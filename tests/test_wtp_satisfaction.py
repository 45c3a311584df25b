"""Satisfaction surveys: scales, reading, NPS by hand, the link to the dynamics; recovery of known effects."""

from __future__ import annotations

import copy
import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import small_scenario_dict
from scipy.special import expit

from pricing.cli import main
from pricing.errors import DataError
from pricing.scenario import scenario_from_dict
from pricing.wtp.satisfaction import (
    SatisfactionModel,
    dynamics_snippet,
    infer_scale,
    load_satisfaction_posterior,
    nps_counts,
    nps_draws,
    read_satisfaction,
    satisfaction_index,
)


def test_ratings_map_to_the_satisfaction_index_by_midpoint_and_ends():
    np.testing.assert_allclose(satisfaction_index([1, 2, 3, 4, 5], "1-5"), [-100, -50, 0, 50, 100])
    np.testing.assert_allclose(satisfaction_index([1, 4, 7], "1-7"), [-100, 0, 100])
    np.testing.assert_allclose(satisfaction_index([0, 5, 9, 10], "0-10"), [-100, 0, 80, 100])
    assert infer_scale(np.array([1, 5, 3])) == "1-5"
    assert infer_scale(np.array([1, 6])) == "1-7"
    assert infer_scale(np.array([0, 3])) == "0-10" and infer_scale(np.array([2, 9])) == "0-10"


def _survey(**columns) -> pd.DataFrame:
    base = {"satisfaction": ["5", "1", "3", "4"], "churned": ["no", "yes", "", "No"]}
    return pd.DataFrame(base | columns)


def test_reading_outcomes_blanks_and_counts():
    data, _ = read_satisfaction(_survey(referred=["2", "0", "1", ""]), scale="1-5")
    np.testing.assert_array_equal(data.churned, [0, 1, np.nan, 0])
    np.testing.assert_array_equal(data.referred, [2, 0, 1, np.nan])
    assert data.referral_counts and data.notes["churn_known"] == 3 and data.notes["referral_known"] == 3
    yes_no, _ = read_satisfaction(_survey(referred=["yes", "no", "true", "0"]))
    assert not yes_no.referral_counts and yes_no.scale == "1-5"


@pytest.mark.parametrize(
    "frame, scale, message",
    [
        (_survey(churned=["no", "maybe", "yes", "no"]), None, "column 'churned': line 3 are not yes/no"),
        (_survey(referred=["1", "-1", "0", "2.5"]), None, "column 'referred': lines 3, 5 are not yes/no"),
        (_survey(satisfaction=["5", "6", "3", "1"]), "1-5", "line 3 are not whole ratings 1..5"),
        (pd.DataFrame({"satisfaction": ["1"], "x": ["2"]}), None, "no outcome column"),
    ],
)
def test_bad_input_is_named(frame, scale, message):
    with pytest.raises(DataError, match=message):
        read_satisfaction(frame, scale=scale)


def test_nps_by_hand():
    ratings = [0] * 10 + [6] * 10 + [7] * 15 + [8] * 15 + [9] * 25 + [10] * 25  # 20 / 30 / 50 of 100
    data, _ = read_satisfaction(pd.DataFrame({"satisfaction": ratings, "churned": 0}), scale="0-10")
    counts = nps_counts(data)
    np.testing.assert_allclose(counts, [[20, 30, 50]])
    draws = nps_draws(counts, 20000, np.random.default_rng(0))
    # flat Dirichlet: shares (21, 31, 51) / 103 -> posterior mean NPS 100 * 30 / 103
    assert draws.mean() == pytest.approx(100 * 30 / 103, abs=0.3)
    # sd of p_pro - p_det under Dirichlet(21, 31, 51), A = 103:
    # var = [a_p (A - a_p) + a_d (A - a_d) + 2 a_p a_d] / (A^2 (A + 1))
    a_p, a_d, total = 51, 21, 103
    var = (a_p * (total - a_p) + a_d * (total - a_d) + 2 * a_p * a_d) / (total**2 * (total + 1))
    assert draws.std() == pytest.approx(100 * np.sqrt(var), rel=0.03)
    assert nps_counts(read_satisfaction(_survey())[0]) is None  # CSAT 1..5: no NPS


def _synthetic_fit() -> az.InferenceData:
    rng = np.random.default_rng(0)
    shape = (2, 200, 2)
    posterior = xr.Dataset(
        {
            "retention_effect": (("chain", "draw", "segment"), 1.5 + 0.1 * rng.standard_normal(shape)),
            "baseline_churn": (("chain", "draw", "segment"), 0.04 + 0.002 * rng.standard_normal(shape)),
            "referral_rate": (("chain", "draw", "segment"), 0.05 + 0.002 * rng.standard_normal(shape)),
            "referral_effect": (("chain", "draw", "segment"), 0.8 + 0.1 * rng.standard_normal(shape)),
        },
        coords={"segment": ["budget", "premium"]},
        attrs={"method": "satisfaction", "scale": "1-5", "diagnostics": json.dumps({"ok": True})},
    )
    return az.InferenceData(posterior=posterior)


def test_dynamics_snippet_is_a_valid_dynamics_section():
    snippet = dynamics_snippet(_synthetic_fit())
    effect = snippet["segments"]["budget"]["retention"]["satisfaction_effect"]
    assert effect[0] == pytest.approx(1.5 - 1.645 * 0.1, abs=0.05) and effect[1] == pytest.approx(
        1.66, abs=0.05
    )
    data = copy.deepcopy(small_scenario_dict())
    data["dynamics"] = {"horizon": 6, **snippet}
    scenario = scenario_from_dict(data)
    retention, referral, _ = scenario.dynamics.for_segment("premium")
    assert retention.satisfaction_effect == tuple(
        snippet["segments"]["premium"]["retention"]["satisfaction_effect"]
    )
    assert referral.rate == tuple(snippet["segments"]["premium"]["referral"]["rate"])


def test_loading_a_foreign_file_is_one_clear_error(tmp_path):
    path = tmp_path / "x.nc"
    path.write_text("nope")
    with pytest.raises(DataError, match="not a readable netCDF"):
        load_satisfaction_posterior(path)


TRUTH = {"SMB": (0.06, 1.5, 0.08, 1.0), "Ent": (0.04, 2.0, 0.05, 0.5)}  # churn at 0, k, rate at 0, r


def simulated_customers(n: int, seed: int) -> pd.DataFrame:
    """Customers whose churn and referrals follow the module's models with the parameters in `TRUTH`."""
    rng = np.random.default_rng(seed)
    frames = []
    for segment, (churn, k, rate, r) in TRUTH.items():
        rating = rng.integers(0, 11, size=n)
        x = (rating - 5) / 5
        left = rng.random(n) < expit(np.log(churn / (1 - churn)) - k * x)
        referred = rng.random(n) < 1 - np.exp(-rate * np.exp(r * x))
        frames.append(
            pd.DataFrame(
                {
                    "segment": segment,
                    "nps_score": rating,
                    "left": np.where(left, "yes", "no"),
                    "referred": referred.astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
def test_fit_recovers_known_effects(tmp_path):
    model = SatisfactionModel(
        columns={"rating": "nps_score", "churned": "left", "segment": "segment"},
        sampler_config={"draws": 600, "tune": 600},
    )
    model.fit(simulated_customers(3000, seed=2), seed=2)
    summary = model.summary()
    assert summary["scale"] == "0-10" and summary["diagnostics"]["divergences"] <= 2
    posterior = model.idata.posterior
    for segment, values in TRUTH.items():
        for name, true in zip(
            ("baseline_churn", "retention_effect", "referral_rate", "referral_effect"), values, strict=True
        ):
            draws = posterior[name].sel(segment=segment).values.ravel()
            low, high = np.quantile(draws, [0.005, 0.995])
            assert low < true < high, (segment, name, low, high)
    # satisfied customers stay: k > 0 with certainty in both segments
    assert all(summary["segments"][s]["retention_effect"]["q05"] > 0.5 for s in TRUTH)
    model.save(tmp_path / "sat.nc")
    assert "retention_effect" in load_satisfaction_posterior(tmp_path / "sat.nc").posterior


@pytest.mark.slow
def test_cli_fit_satisfaction_json(tmp_path, capsys):
    path = tmp_path / "survey.csv"
    simulated_customers(300, seed=12).to_csv(path, index=False)
    args = [
        "fit",
        "satisfaction",
        str(path),
        "--rating",
        "nps_score",
        "--churned",
        "left",
        "--segment",
        "segment",
    ]
    assert main([*args, "--json", "--draws", "300", "--tune", "300"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["segments"]) == {"SMB", "Ent"}
    nps = printed["segments"]["SMB"]["nps"]
    assert nps["q05"] < printed["segments"]["SMB"]["nps_answers"] < nps["q95"]
    assert set(printed["dynamics"]["segments"]["Ent"]) == {"retention", "referral"}
    assert main([*args, "--scale", "1-5"]) == 2
    assert "not whole ratings 1..5" in capsys.readouterr().err
