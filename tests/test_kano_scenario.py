"""Kano categories in the scenario: per segment, and per draw from a Kano fit, through to the simulation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import small_scenario_dict

from pricing.errors import ScenarioError
from pricing.scenario import scenario_from_dict
from pricing.simulate import differentiation_values, segment_parameters, simulate
from pricing.value import KANO_WEIGHTS


def _scenario(**segment_kano):
    data = copy.deepcopy(small_scenario_dict())
    for segment in data["segments"]:
        segment["value_uncertainty"] = 0.0
        if segment["name"] in segment_kano:
            segment["kano"] = segment_kano[segment["name"]]
    return scenario_from_dict(data)


def test_a_segment_takes_its_own_kano_category():
    base = _scenario()
    own = _scenario(budget={"speed": "attractive"})
    rng = np.random.default_rng(0)
    parameters = segment_parameters(base, 20, rng)
    before = differentiation_values(base, parameters)
    after = differentiation_values(own, parameters)
    # budget expects speed 5; Ours offers 6 in "base" and 8 in "faster"; value 2 per unit. one_dimensional:
    # 2 x gap; attractive: 2 x 2 x gap. Rival offers the expected 5: gap 0 either way.
    offerings, variants = [o.name for o in base.offerings], [v.name for v in base.variants]
    ours, rival = offerings.index("Ours"), offerings.index("Rival")
    for v, gap in zip(range(len(variants)), (1, 3), strict=True):
        assert before[:, 0, ours, v] == pytest.approx(2.0 * gap)
        assert after[:, 0, ours, v] == pytest.approx(2.0 * KANO_WEIGHTS["attractive"][1] * gap)
    np.testing.assert_array_equal(after[:, 1], before[:, 1])  # premium keeps the attribute's category
    np.testing.assert_array_equal(after[:, :, rival], before[:, :, rival])


def test_per_draw_kano_weights_replace_the_categories():
    scenario = _scenario()
    parameters = segment_parameters(scenario, 6, np.random.default_rng(1))
    weights = np.zeros((6, 2, 2, 2))  # draw, segment, attribute, (shortfall, excess)
    weights[:, :, 0] = KANO_WEIGHTS["one_dimensional"]  # the scenario's categories: speed
    weights[:, :, 1] = KANO_WEIGHTS["must_be"]  # warranty
    weights[:, 0, 0, 1] = np.linspace(0.0, 1.0, 6)  # budget's excess weight on speed, per draw
    results = simulate(scenario, parameters=parameters | {"kano_weights": weights})
    plain = simulate(scenario, parameters=parameters)
    reference = np.exp(parameters["wtp_log_median"][:, 0])
    value = results["perceived_value"].sel(segment="budget", offering="Ours", variant="base").values
    np.testing.assert_allclose(value - reference, 2.0 * 1 * np.linspace(0.0, 1.0, 6))
    np.testing.assert_allclose(
        results["perceived_value"].sel(segment="premium").values,
        plain["perceived_value"].sel(segment="premium").values,
    )


def test_segment_kano_names_unknown_attributes_and_categories():
    data = copy.deepcopy(small_scenario_dict())
    data["segments"][0]["kano"] = {"sped": "attractive"}
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.kano\.sped: unknown attribute"):
        scenario_from_dict(data)
    data["segments"][0]["kano"] = {"speed": "delightful"}
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.kano\.speed"):
        scenario_from_dict(data)


def _fit_file(tmp_path, segments=("budget", "premium"), draws=50):
    """A saved Kano fit of attribute 'speed' (named 'a0' in the fit) with random shares per draw."""
    from test_wtp_kano_fit import synthetic_fit

    from pricing.wtp.kano import save_kano_posterior

    shares = np.random.default_rng(5).dirichlet(np.ones(6), size=(1, draws, 1, len(segments)))
    fit = synthetic_fit(shares, segments=segments)
    save_kano_posterior(fit, tmp_path / "kano.nc")
    return fit


def _fitted_scenario(tmp_path, kano: dict, **segment_kano):
    from pricing.scenario import load_scenario, save_scenario

    data = copy.deepcopy(small_scenario_dict())
    data["attributes"][0]["kano"] = kano
    data["market"]["draws"] = 50
    for segment in data["segments"]:
        segment["value_uncertainty"] = 0.0
        if segment["name"] in segment_kano:
            segment["kano"] = segment_kano[segment["name"]]
    save_scenario(scenario_from_dict(data), tmp_path / "s.yaml")
    return load_scenario(tmp_path / "s.yaml")


def test_a_kano_fit_in_the_scenario_simulates_with_its_uncertainty(tmp_path):
    fit = _fit_file(tmp_path)
    scenario = _fitted_scenario(tmp_path, {"posterior": "kano.nc", "attribute": "a0"})
    parameters = segment_parameters(scenario, 50, np.random.default_rng(0))
    # 50 draws from a 50-draw fit: the draws in order; weights = (|CS-|, CS+) of each draw's shares
    expected = fit.posterior["kano_weights"].sel(attribute="a0").transpose("chain", "draw", "segment", "side")
    np.testing.assert_allclose(parameters["kano_weights"][:, :, 0], expected.values.reshape(50, 2, 2))
    warranty = parameters["kano_weights"][:, 1, 1]
    np.testing.assert_allclose(warranty, [KANO_WEIGHTS["must_be"]] * 50)
    results = simulate(scenario, parameters=parameters)
    value = results["perceived_value"].sel(segment="budget", offering="Ours", variant="faster").values
    reference = np.exp(parameters["wtp_log_median"][:, 0])
    # budget: speed 8 vs expected 5 (excess 3, value 2 per unit), warranty unlisted: 2 x 3 x the fit's
    # excess weight (its CS+) in each draw
    excess = expected.sel(segment="budget", side="excess").values.ravel()
    np.testing.assert_allclose(value - reference, 6.0 * excess)
    assert np.std(value - reference) > 0.1  # the posterior's uncertainty reaches the simulation
    again = simulate(scenario)
    np.testing.assert_array_equal(again["profit"].values, simulate(scenario)["profit"].values)


def test_a_segments_own_category_beats_the_fit_and_one_fitted_segment_serves_all(tmp_path):
    _fit_file(tmp_path, segments=("all",))
    scenario = _fitted_scenario(
        tmp_path, {"posterior": "kano.nc", "attribute": "a0"}, premium={"speed": "attractive"}
    )
    weights = segment_parameters(scenario, 20, np.random.default_rng(0))["kano_weights"]
    np.testing.assert_allclose(weights[:, 1, 0], [KANO_WEIGHTS["attractive"]] * 20)
    assert np.ptp(weights[:, 0, 0, 1]) > 0  # budget: the fit's one segment "all"


def test_kano_fit_problems_name_the_field(tmp_path):
    from pricing.errors import DataError

    _fit_file(tmp_path, segments=("x", "y"))
    with pytest.raises(DataError, match=r"attributes\[0\]\.kano: kano.nc has no segment 'budget'"):
        segment_parameters(
            _fitted_scenario(tmp_path, {"posterior": "kano.nc", "attribute": "a0"}),
            5,
            np.random.default_rng(0),
        )
    with pytest.raises(DataError, match=r"attributes\[0\]\.kano: kano.nc has no attribute 'speed'"):
        segment_parameters(_fitted_scenario(tmp_path, {"posterior": "kano.nc"}), 5, np.random.default_rng(0))
    with pytest.raises(DataError, match="not found"):
        segment_parameters(_fitted_scenario(tmp_path, {"posterior": "nope.nc"}), 5, np.random.default_rng(0))
    data = copy.deepcopy(small_scenario_dict())
    data["attributes"][0]["kano"] = {"posterior": "k.nc", "weights": "cs"}
    with pytest.raises(ScenarioError, match=r"attributes\[0\]\.kano\.weights: unknown field"):
        scenario_from_dict(data)


def test_the_bundled_voice_scenario_packs_its_fits(tmp_path):
    from pathlib import Path

    from pricing.bundle import pack_scenario, scenario_files
    from pricing.scenario import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "team_plan_voice.yaml")
    assert "data/kano_team_plan.nc" in scenario_files(scenario)
    zipped = tmp_path / "voice.zip"
    zipped.write_bytes(pack_scenario(scenario))
    unpacked = load_scenario(zipped)
    assert unpacked.attributes[0].kano.posterior.endswith("kano_team_plan.nc")
    retention, referral, _ = unpacked.dynamics.for_segment("SMB")
    fit = "data/satisfaction_team_plan.nc"
    assert retention.satisfaction_effect.posterior == referral.rate.posterior == fit
    from pricing.dynamics import dynamics_parameters

    before = dynamics_parameters(scenario, 200, np.random.default_rng(0))
    after = dynamics_parameters(unpacked, 200, np.random.default_rng(0))
    for name in ("churn", "retention_effect", "referral_rate", "referral_effect"):
        np.testing.assert_array_equal(after[name], before[name])
    # the fit's SMB effect of satisfaction on churn (the example's truth: k = 2.0) reaches the dynamics
    assert 1.0 < np.median(after["retention_effect"][:, 1]) < 3.0
