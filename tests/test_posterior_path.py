"""Every kind of posterior reaches the simulation through `pricing.wtp.posterior_parameters`, and every file a
scenario points to travels in its zip: WTP fits, Kano fits, retention posteriors, satisfaction fits and a
hierarchical Bayes fit's respondents."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr
from conftest import small_scenario_dict

from pricing.bundle import pack_scenario
from pricing.dynamics import dynamics_parameters, loyalty_classes, simulate_dynamics
from pricing.errors import DataError, ScenarioError
from pricing.scenario import load_scenario, save_scenario, scenario_file_fields, scenario_from_dict
from pricing.simulate import segment_parameters, simulate
from pricing.wtp import posterior_parameters, posterior_requests

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("budget", "premium")


def satisfaction_fit(path: Path, draws: int = 60, segments=SEGMENTS) -> xr.Dataset:
    """A satisfaction fit whose every draw ties its variables together (baseline churn = 0.02 + 0.01 k,
    referral rate = 0.01 + 0.02 r), so that draws taken jointly are checkable exactly."""
    rng = np.random.default_rng(3)
    shape = (2, draws // 2, len(segments))
    k = 1.5 + 0.5 * rng.standard_normal(shape)
    r = 0.8 + 0.3 * rng.standard_normal(shape)
    dims = ("chain", "draw", "segment")
    posterior = xr.Dataset(
        {
            "retention_effect": (dims, k),
            "baseline_churn": (dims, 0.02 + 0.01 * np.abs(k)),
            "referral_effect": (dims, r),
            "referral_rate": (dims, 0.01 + 0.02 * np.abs(r)),
        },
        coords={"segment": list(segments)},
        attrs={"method": "satisfaction", "pricing_format": "pricing-wtp-posterior/1"},
    )
    az.InferenceData(posterior=posterior).to_netcdf(path)
    return posterior


def retention_fit(path: Path, draws: int = 80) -> xr.Dataset:
    """A retention (sBG) posterior of both segments in which premium's alpha is budget's + 1 in every draw."""
    from test_wtp_retention import synthetic_fit

    fit = synthetic_fit({"budget": 0.7, "premium": 1.7}, {"budget": 1.2, "premium": 3.0}, draws=draws)
    posterior = fit.idata.posterior
    posterior["alpha"].loc[{"segment": "premium"}] = posterior["alpha"].sel(segment="budget").values + 1.0
    fit.save(path)
    return posterior


def kano_fit(path: Path, draws: int = 50):
    from test_wtp_kano_fit import synthetic_fit

    from pricing.wtp.kano import save_kano_posterior

    shares = np.random.default_rng(5).dirichlet(np.ones(6), size=(1, draws, 1, 2))
    fit = synthetic_fit(shares, segments=SEGMENTS)
    save_kano_posterior(fit, path)
    return fit


def every_kind(tmp_path: Path, draws: int = 40):
    """A scenario taking WTP from a saved fit, Kano weights from a Kano fit, budget's retention from an sBG
    posterior and premium's retention and referral from a satisfaction fit."""
    import shutil

    shutil.copy(ROOT / "scenarios" / "data" / "team_plan_wtp.nc", tmp_path / "wtp.nc")
    (tmp_path / "fits").mkdir()
    kano_fit(tmp_path / "fits" / "kano.nc")
    retention_fit(tmp_path / "fits" / "retention.nc")
    satisfaction_fit(tmp_path / "satisfaction.nc")
    data = copy.deepcopy(small_scenario_dict())
    data["market"]["draws"] = draws
    data["attributes"][0]["kano"] = {"posterior": "fits/kano.nc", "attribute": "a0"}
    data["segments"][1]["wtp"] = {"source": "posterior", "file": "wtp.nc", "segment": "SMB"}
    link = {"posterior": "satisfaction.nc"}
    data["dynamics"] = {
        "horizon": 4,
        "segments": {
            "budget": {"retention": {"posterior": "fits/retention.nc"}},
            "premium": {
                "retention": {"churn": link, "satisfaction_effect": link},
                "referral": {"rate": link, "satisfaction_effect": link},
            },
        },
    }
    save_scenario(scenario_from_dict(data), tmp_path / "s.yaml")
    return load_scenario(tmp_path / "s.yaml")


def test_every_reference_is_one_kind_of_field_and_listed(tmp_path):
    scenario = every_kind(tmp_path)
    assert scenario_file_fields(scenario) == [
        ("attributes[0].kano.posterior", "fits/kano.nc"),
        ("segments[1].wtp.file", "wtp.nc"),
        ("dynamics.segments.budget.retention.posterior", "fits/retention.nc"),
        ("dynamics.segments.premium.retention.churn.posterior", "satisfaction.nc"),
        ("dynamics.segments.premium.retention.satisfaction_effect.posterior", "satisfaction.nc"),
        ("dynamics.segments.premium.referral.rate.posterior", "satisfaction.nc"),
        ("dynamics.segments.premium.referral.satisfaction_effect.posterior", "satisfaction.nc"),
    ]
    market = [(r.target, r.index, r.variable) for r in posterior_requests(scenario)]
    assert market == [
        ("wtp_log_median", (1,), "wtp_log_median"),
        ("wtp_log_sd", (1,), "wtp_log_sd"),
        ("kano_weights", (0, 0), "kano_weights"),
        ("kano_weights", (1, 0), "kano_weights"),
    ]
    dynamics = [(r.target, r.index, r.variable) for r in posterior_requests(scenario, "dynamics")]
    assert dynamics == [
        ("retention_alpha", (0,), "alpha"),
        ("retention_beta", (0,), "beta"),
        ("baseline_churn", (1,), "baseline_churn"),
        ("retention_effect", (1,), "retention_effect"),
        ("referral_rate", (1,), "referral_rate"),
        ("referral_effect", (1,), "referral_effect"),
    ]


def test_the_satisfaction_link_takes_joint_draws_of_the_fit(tmp_path):
    scenario = every_kind(tmp_path)
    fit = satisfaction_fit(tmp_path / "satisfaction.nc")
    # as many draws as the file: the file's draws in order
    params = dynamics_parameters(scenario, 60, np.random.default_rng(0))
    k = fit["retention_effect"].sel(segment="premium").values.ravel()
    np.testing.assert_array_equal(params["retention_effect"][:, 1], k)
    np.testing.assert_allclose(params["churn"][:, 1, 0], 0.02 + 0.01 * np.abs(k))
    # fewer draws: resampled, but churn, k, rate and effect of each draw come from one draw of the file
    params = dynamics_parameters(scenario, 25, np.random.default_rng(1))
    k, r = params["retention_effect"][:, 1], params["referral_effect"][:, 1]
    assert len(set(k)) == 25 and set(k) <= set(fit["retention_effect"].values.ravel())
    np.testing.assert_allclose(params["churn"][:, 1, 0], 0.02 + 0.01 * np.abs(k))
    np.testing.assert_allclose(params["referral_rate"][:, 1], 0.01 + 0.02 * np.abs(r))
    # budget keeps the scenario's own (default) effects
    assert np.all(params["retention_effect"][:, 0] == 0.0)


def test_a_retention_posterior_keeps_its_segments_joint(tmp_path):
    scenario = every_kind(tmp_path)
    posterior = retention_fit(tmp_path / "fits" / "retention.nc")
    both = scenario_from_dict(
        scenario.model_dump(mode="json")
        | {"dynamics": {"retention": {"posterior": "fits/retention.nc"}, "horizon": 4}}
    )
    from pricing.scenario import _set_base_dir

    _set_base_dir(both, tmp_path)
    base = {name: np.ones((30, 2)) for name in ("retention_alpha", "retention_beta")}
    filled = posterior_parameters(both, base, np.random.default_rng(2), posterior_requests(both, "dynamics"))
    alpha = filled["retention_alpha"]
    np.testing.assert_allclose(alpha[:, 1], alpha[:, 0] + 1.0)  # one set of draw indices for the file
    assert set(alpha[:, 0]) <= set(posterior["alpha"].sel(segment="budget").values.ravel())
    params = dynamics_parameters(both, 30, np.random.default_rng(2))
    theta, weight = loyalty_classes(alpha, filled["retention_beta"])
    np.testing.assert_allclose(params["churn"], np.clip(theta, 0, 1 - 1e-12))
    np.testing.assert_allclose(params["class_weight"], weight)


def test_the_kano_fit_and_the_wtp_fit_fill_the_market_parameters(tmp_path):
    scenario = every_kind(tmp_path, draws=50)
    fit = kano_fit(tmp_path / "fits" / "kano.nc")
    parameters = segment_parameters(scenario, 50, np.random.default_rng(0))
    expected = fit.posterior["kano_weights"].sel(attribute="a0").transpose("chain", "draw", "segment", "side")
    np.testing.assert_allclose(parameters["kano_weights"][:, :, 0], expected.values.reshape(50, 2, 2))
    wtp = az.from_netcdf(tmp_path / "wtp.nc").posterior["wtp_log_median"].sel(segment="SMB").values.ravel()
    assert set(parameters["wtp_log_median"][:, 1]) <= set(wtp)


def test_zip_round_trip_gives_identical_numbers_for_every_kind_of_posterior(tmp_path):
    scenario = every_kind(tmp_path)
    before = simulate(scenario)
    before_over_time = simulate_dynamics(scenario, per_period=False)
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(pack_scenario(scenario))
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == [
            "data/kano.nc",
            "data/retention.nc",
            "data/satisfaction.nc",
            "data/wtp.nc",
            "scenario.yaml",
        ]
    for name in ("wtp.nc", "satisfaction.nc", "fits/kano.nc", "fits/retention.nc"):
        (tmp_path / name).unlink()  # the zip must carry everything
    reopened = load_scenario(archive)
    assert {written for _, written in scenario_file_fields(reopened)} == {
        "data/kano.nc",
        "data/retention.nc",
        "data/satisfaction.nc",
        "data/wtp.nc",
    }
    after = simulate(reopened)
    np.testing.assert_array_equal(after["profit"].values, before["profit"].values)
    np.testing.assert_array_equal(after["perceived_value"].values, before["perceived_value"].values)
    after_over_time = simulate_dynamics(reopened, per_period=False)
    np.testing.assert_array_equal(after_over_time["npv"].values, before_over_time["npv"].values)
    assert np.ptp(before_over_time["npv"].values) > 0


def test_zip_round_trip_of_hierarchical_bayes_respondents(tmp_path):
    from test_simulate_conjoint import hb_posterior, hb_scenario

    hb_posterior(tmp_path)
    scenario = hb_scenario(tmp_path, "respondents")
    before = simulate(scenario)
    archive = tmp_path / "hb.zip"
    archive.write_bytes(pack_scenario(scenario))
    (tmp_path / "hb.nc").unlink()
    after = simulate(load_scenario(archive))
    np.testing.assert_array_equal(after["share"].values, before["share"].values)


def test_hb_respondents_take_the_same_draws_as_the_rest_of_the_fit(tmp_path):
    from test_simulate_conjoint import hb_posterior, hb_scenario

    beta, segment_of = hb_posterior(tmp_path, draws=40)  # draw, respondent, coefficient
    scenario = hb_scenario(tmp_path, "respondents")
    parameters = segment_parameters(scenario, 15, np.random.default_rng(3))
    # the customers' logit scale is 1/|price coefficient| of each respondent's draw; the draw indices are
    # the file's one set, so they match the population draws taken for the segment's WTP in that draw
    scale = parameters["customer_logit_scale"][:, :3, 0]  # draw, customer (A's three respondents)
    rows = [int(np.flatnonzero(np.isclose(1 / np.abs(beta[:, 0, 0]), s))[0]) for s in scale[:, 0]]
    np.testing.assert_allclose(scale, 1 / np.abs(beta[rows][:, segment_of == "A", 0]))
    assert len(set(rows)) == 15  # 15 of 40 draws, without replacement


def test_bad_references_name_the_field(tmp_path):
    scenario = every_kind(tmp_path)
    satisfaction_fit(tmp_path / "satisfaction.nc", segments=("x", "y"))
    with pytest.raises(
        DataError, match=r"dynamics\.segments\.premium\.retention\.churn: .* no segment 'premium'"
    ):
        dynamics_parameters(scenario, 10, np.random.default_rng(0))
    satisfaction_fit(tmp_path / "satisfaction.nc", segments=("all",))  # one segment serves every one
    assert dynamics_parameters(scenario, 10, np.random.default_rng(0))["retention_effect"][:, 1].std() > 0
    (tmp_path / "fits" / "retention.nc").unlink()
    with pytest.raises(DataError, match=r"dynamics\.segments\.budget\.retention\.posterior: .*not found"):
        dynamics_parameters(scenario, 10, np.random.default_rng(0))
    data = copy.deepcopy(small_scenario_dict())
    data["dynamics"] = {"referral": {"rate": {"posterior": "s.nc", "colour": "red"}}}
    with pytest.raises(ScenarioError, match=r"dynamics\.referral\.rate\.colour: unknown field"):
        scenario_from_dict(data)
    data["dynamics"] = {}
    data["attributes"][0]["kano"] = {"posterior": "k.nc", "variable": "cs_plus"}
    with pytest.raises(ScenarioError, match=r"attributes\[0\].*kano_weights, kano_category_weights"):
        scenario_from_dict(data)


def test_a_wtp_fit_is_not_a_satisfaction_fit(tmp_path):
    scenario = every_kind(tmp_path)
    import shutil

    shutil.copy(tmp_path / "wtp.nc", tmp_path / "satisfaction.nc")
    with pytest.raises(DataError, match="no variable 'baseline_churn'"):
        dynamics_parameters(scenario, 10, np.random.default_rng(0))
