"""WTP space (logitr's utility lambda (omega . x - price)), random price distributions, the marginal simulated
log-likelihood, PSIS-LOO and the target-ESS loop: closed forms and hand-checked cases (fast), Train's Heating
data (MAP, slow) and parameter recovery on simulated panels (NUTS, slow)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pricing.errors import DataError
from pricing.wtp.choice import (
    fit_choice,
    load_choice_fit,
    reference_wtp,
    resolve_specification,
)
from pricing.wtp.choice_data import code_rows, learn_design
from pricing.wtp.choice_likelihood import (
    LL_MAX_ERROR,
    Parametrisation,
    Specification,
    marginal_log_likelihood,
)
from pricing.wtp.data import read_survey
from pricing.wtp.posterior import sample_until

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))
from make_choice_data import COLUMNS as CONJOINT  # noqa: E402
from make_choice_data import TRUE_WTP_MEAN, TRUE_WTP_SD, make_choice_data  # noqa: E402
from test_wtp_choice import MODEL_A, MODEL_B, TINY, heating_long, tiny_frame  # noqa: E402

#: flat priors in both spaces: the mode is the maximum-likelihood estimate
FLAT = {"coefficients": {"sigma": 1e6}, "price_scale": {"sigma": 1e6}}


def coded(frame: pd.DataFrame | None = None, columns=TINY):
    frame, label, _ = read_survey(tiny_frame() if frame is None else frame)
    design = learn_design(frame, columns, label)
    return design, code_rows(frame, design, label)


# ---- fast: parametrisation, closed forms -----------------------------------------------------------------


def test_wtp_space_parameters_map_to_preference_coefficients_by_hand():
    design, _ = coded()
    # coefficients: price, size, color=red, color=blue, alt=b, alt=none
    assert design.coefficients[0] == "price"
    wtp = Parametrisation.of(design, Specification("wtp"))
    theta = np.array([np.log(0.2), 3.0, -5.0, 1.0, 0.5, -10.0])
    # beta_k = lambda * omega_k, beta_price = -lambda
    np.testing.assert_allclose(wtp.preference(theta), [-0.2, 0.6, -1.0, 0.2, 0.1, -2.0])
    lognormal = Parametrisation.of(design, Specification("preference", ("price",), "lognormal"))
    np.testing.assert_allclose(lognormal.preference(theta), [-0.2, 3.0, -5.0, 1.0, 0.5, -10.0])
    normal = Parametrisation.of(design, Specification("preference", ("price",), "normal"))
    np.testing.assert_array_equal(normal.preference(theta), theta)
    # scaled -> data units: omega_k = omega_scaled * sd(price) / sd(k); log lambda - log sd(price)
    scales = np.array(design.scales)
    scaled = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    data = wtp.data_units(scaled.copy())
    assert data[0] == pytest.approx(-np.log(scales[0]))
    np.testing.assert_allclose(data[1:], scales[0] / scales[1:])
    # and the likelihood is unchanged: lambda_s (omega_s . x_s - p_s) == lambda (omega . x - p)
    x = np.array([12.0, 3.0, 1.0, 0.0, 1.0, 0.0])
    theta_s = np.array([0.3, 0.7, -0.4, 0.2, 0.1, 0.9])
    utility_scaled = wtp.preference(theta_s) @ (x / scales)
    utility_data = wtp.preference(wtp.data_units(theta_s.copy())) @ x
    assert utility_scaled == pytest.approx(utility_data, rel=1e-12)


def test_options_are_checked_and_random_all_includes_price():
    design, _ = coded()
    spec = resolve_specification(design, "all")
    assert spec.random == design.coefficients and spec.price_distribution == "normal"
    assert resolve_specification(design, "all", "wtp").price_distribution == "lognormal"
    with pytest.raises(DataError, match=r"price scale lambda must stay > 0"):
        resolve_specification(design, "all", "wtp", "normal")
    with pytest.raises(DataError, match=r"space 'utility': use 'preference' or 'wtp'"):
        resolve_specification(design, None, "utility")
    with pytest.raises(DataError, match=r"price distribution 'gamma'"):
        resolve_specification(design, None, "preference", "gamma")


def test_reference_wtp_in_wtp_space_is_linear_in_omega_and_exact():
    design, _ = coded()
    # reference: size 2, green, alt a; w = omega . x_ref = 2 * omega_size - omega_none: no division
    theta = np.array([np.log(0.1), 5.0, 3.0, -2.0, 4.0, -10.0])
    random = ("size", "alt=none")
    spec = Specification("wtp", random, "lognormal")
    log_median, log_sd, clipped = reference_wtp(theta, np.array([1.0, 5.0]), design, spec, seed=0)
    spread = np.sqrt((1.0 * 2) ** 2 + 5.0**2)
    assert np.exp(log_median) == pytest.approx(20.0) and clipped == 0
    assert log_sd == pytest.approx(np.log((20 + 0.6744897501960817 * spread) / 20) / 0.6744897501960817)
    # a random price scale changes nothing: WTP does not depend on lambda
    spec_price = Specification("wtp", ("price", *random), "lognormal")
    same = reference_wtp(theta, np.array([0.8, 1.0, 5.0]), design, spec_price, seed=0)
    assert same[0] == pytest.approx(log_median) and same[1] == pytest.approx(log_sd)


def gauss_hermite_log_likelihood(arrays, design, spec, theta, sd, nodes=60):
    """The marginal log-likelihood with one random coefficient by Gauss-Hermite quadrature (near exact)."""
    layout = Parametrisation.of(design, spec)
    z, weight = np.polynomial.hermite_e.hermegauss(nodes)
    weight = weight / weight.sum()
    k = layout.random_index[0]
    total = 0.0
    for n in range(len(arrays.respondents)):
        tasks = np.flatnonzero(arrays.respondent == n)
        own = np.repeat(theta[arrays.respondent_segment[n]][None], nodes, axis=0)
        own[:, k] += sd[0] * z
        beta = layout.preference(own)  # node, coefficient
        utility = np.einsum("tsk,rk->rts", arrays.x[tasks], beta)
        utility = np.where(arrays.present[tasks][None], utility, -np.inf)
        log_p = utility[:, np.arange(len(tasks)), arrays.chosen[tasks]] - np.logaddexp.reduce(
            utility, axis=-1
        )
        total += np.log(weight @ np.exp(log_p.sum(axis=1)))
    return total


@pytest.mark.parametrize("space", ["preference", "wtp"])
def test_marginal_log_likelihood_agrees_with_quadrature_within_its_reported_error(space):
    data = make_choice_data(n_respondents=40, n_tasks=6, seed=2, segments=("students",))
    frame, label, _ = read_survey(data)
    design = learn_design(frame, CONJOINT, label)
    arrays = code_rows(frame, design, label)
    spec = Specification(space, ("alt=none",), "lognormal")
    theta = np.array([[-0.15, 0.6, 0.5, 0.4, -0.3, -1.0]])
    if space == "wtp":
        theta = np.array([[np.log(0.15), 4.0, 3.3, 2.7, -2.0, -6.7]])
    sd = np.array([6.0 if space == "wtp" else 1.0])
    result = marginal_log_likelihood(arrays, design, spec, theta, sd, seed=0)
    exact = gauss_hermite_log_likelihood(arrays, design, spec, theta, sd)
    assert result["mc_error"] < LL_MAX_ERROR
    assert abs(result["value"] - exact) < max(4 * result["mc_error"], 0.05), (result, exact)
    assert "Halton" in result["how"] and "posterior mean" in result["how"]
    # no heterogeneity: the simulated marginal is the exact multinomial log-likelihood
    none = marginal_log_likelihood(arrays, design, spec, theta, np.array([0.0]), seed=0)
    mnl = marginal_log_likelihood(arrays, design, Specification(space), theta, None, seed=0)
    assert none["value"] == pytest.approx(mnl["value"], rel=1e-12) and mnl["mc_error"] == 0


def ar1_batch(rho: float, draws: int = 400, chains: int = 2):
    """A sampler stand-in: chains of an AR(1) process (bulk ESS about draws x chains x (1-rho)/(1+rho))."""

    def sample(index: int) -> az.InferenceData:
        rng = np.random.default_rng(index)
        values = np.empty((chains, draws))
        values[:, 0] = rng.standard_normal(chains)
        for t in range(1, draws):
            values[:, t] = rho * values[:, t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(chains)
        return az.InferenceData(posterior=xr.Dataset({"mu": (("chain", "draw"), values)}))

    return sample


def test_sample_until_adds_chains_until_the_target_or_the_budget():
    # ESS per batch about 800 * 0.6 / 1.4 = 340: a target of 900 takes three batches
    idata, report = sample_until(ar1_batch(0.4), ["mu"], target_ess=900, time_budget=600)
    assert report["target_reached"] and report["batches"] == 3
    assert idata.posterior.sizes["chain"] == 6 and list(idata.posterior["chain"].values) == list(range(6))
    assert float(az.ess(idata.posterior, method="bulk")["mu"]) >= 900
    assert "target ESS 900 reached" in report["stopped"]
    # strongly autocorrelated chains and a budget shorter than one batch: stops after one, says why
    idata, report = sample_until(ar1_batch(0.99), ["mu"], target_ess=10_000, time_budget=1e-6)
    assert not report["target_reached"] and report["batches"] == 1
    assert "time budget" in report["stopped"] and "ran out" in report["stopped"]
    with pytest.raises(DataError, match="target ESS"):
        sample_until(ar1_batch(0.1), ["mu"], target_ess=0)


# ---- slow: Heating (MAP), the simulator's contract, LOO ---------------------------------------------------


@pytest.fixture(scope="module")
def heating() -> pd.DataFrame:
    return heating_long()


@pytest.mark.slow
@pytest.mark.parametrize("columns", [MODEL_A, MODEL_B], ids=["model_a", "model_b"])
def test_heating_wtp_space_mode_equals_the_preference_space_ratio(heating, columns):
    """The same likelihood reparametrised: at the flat-prior mode omega = -beta / beta_ic, lambda = -beta_ic
    (Train's Heating data, mlogit's models with and without constants)."""
    preference = fit_choice(heating, columns, method="map", priors=FLAT, draws=200, chains=2, warn=False)
    wtp = fit_choice(
        heating, columns, method="map", priors=FLAT, draws=200, chains=2, space="wtp", warn=False
    )
    beta = dict(zip(preference.design.coefficients, preference.mode["beta"][0], strict=True))
    theta = dict(zip(wtp.design.coefficients, wtp.mode["theta"][0], strict=True))
    assert np.exp(theta["ic"]) == pytest.approx(-beta["ic"], rel=1e-5)
    for name in wtp.design.coefficients[1:]:
        assert theta[name] == pytest.approx(-beta[name] / beta["ic"], rel=1e-5), name
    assert wtp.log_likelihood == pytest.approx(preference.log_likelihood, abs=1e-6)
    if columns is MODEL_A:
        assert theta["oc"] == pytest.approx(-0.7349453, rel=1e-5)  # mlogit: -b_oc / b_ic (a cost)
    # the contract in WTP space: value_per_unit is omega itself, logit_scale 1 / lambda
    posterior = wtp.posterior.sel(segment="all")
    np.testing.assert_array_equal(
        posterior["value_per_unit"].sel(attribute="oc").values,
        posterior["theta"].sel(coefficient="oc").values,
    )
    np.testing.assert_allclose(
        posterior["logit_scale"].values, np.exp(-posterior["theta"].sel(coefficient="ic").values)
    )
    assert wtp.warnings() == []  # nothing divides by the price coefficient


@pytest.mark.slow
def test_wtp_space_fit_reaches_the_simulation_through_posterior_parameters(tmp_path):
    """A saved WTP-space fit, pointed to by a starter scenario, gives the simulation its omega draws
    (value_per_unit), 1 / lambda (logit_scale) and the reference WTP, draw for draw."""
    from pricing.scenario import load_scenario, save_scenario, scenario_from_dict
    from pricing.simulate import segment_parameters
    from pricing.wtp.choice_report import starter_scenario

    data = make_choice_data(n_respondents=200, n_tasks=8, seed=12, sd_scale=0.0)
    fit = fit_choice(data, CONJOINT, method="map", space="wtp", draws=250, chains=2, seed=3)
    fit.save(tmp_path / "fit.nc")
    assert load_choice_fit(tmp_path / "fit.nc").space == "wtp"
    save_scenario(scenario_from_dict(starter_scenario(fit, posterior_path="fit.nc")), tmp_path / "s.yaml")
    scenario = load_scenario(tmp_path / "s.yaml")
    parameters = segment_parameters(scenario, 500, np.random.default_rng(0))
    posterior = fit.posterior.stack(sample=("chain", "draw"))
    columns = scenario.value_columns()
    for i, segment in enumerate(("students", "pros")):
        omega = posterior["theta"].sel(segment=segment, coefficient="storage").values
        drawn = parameters["value_per_unit"][:, i, columns.index("storage")]
        assert set(np.round(drawn, 12)) <= set(np.round(omega, 12))  # omega draws themselves
        lam = np.exp(posterior["theta"].sel(segment=segment, coefficient="price").values)
        assert set(np.round(parameters["logit_scale"][:, i], 12)) <= set(np.round(1 / lam, 12))
        assert np.median(parameters["value_per_unit"][:, i, columns.index("storage")]) == pytest.approx(
            np.median(omega), rel=0.05
        )


@pytest.mark.slow
def test_loo_of_a_multinomial_logit_counts_its_parameters():
    """PSIS-LOO per respondent: for a well-identified MNL elpd_loo is about the log-likelihood less the number
    of parameters (p_loo about 6, as AIC's penalty), with every Pareto k small."""
    data = make_choice_data(n_respondents=300, n_tasks=8, seed=13, segments=("students",), sd_scale=0.0)
    fit = fit_choice(data, CONJOINT, method="map", priors=FLAT, draws=500, chains=2, seed=4, loo=True)
    loo = fit.loo_summary()
    assert loo["respondents"] == 300 and loo["pareto_k_over_0_7"] == 0
    assert loo["p_loo"] == pytest.approx(6, abs=1.5)
    assert loo["elpd_loo"] == pytest.approx(fit.log_likelihood - loo["p_loo"], abs=1.0)
    assert fit.to_json()["loo"]["elpd_loo"] == pytest.approx(loo["elpd_loo"])


# ---- slow: NUTS recovery of a WTP-space mixed logit ----------------------------------------------------


@pytest.mark.slow
def test_wtp_space_mixed_logit_recovers_the_wtp_distribution():
    """Simulated panel: omega normal and lambda lognormal across respondents (all six random); the posterior
    of every population mean and sd covers the truth, and WTP comes out directly (no ratio)."""
    data = make_choice_data(
        n_respondents=250,
        n_tasks=10,
        seed=41,
        segments=("all",),
        space="wtp",
        mean=TRUE_WTP_MEAN,
        sd=TRUE_WTP_SD,
    )
    columns = CONJOINT.__class__(**{**CONJOINT.to_dict(), "segment": None, "attributes": CONJOINT.attributes})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_choice(data, columns, random="all", space="wtp", draws=500, tune=600, chains=2, seed=41)
    assert fit.diagnostics["divergences"] == 0
    inside90, checked = 0, 0
    theta, sd = fit.posterior["theta"].sel(segment="all"), fit.posterior["sd"]
    for name, value in TRUE_WTP_MEAN.items():
        for label, draws, truth in (
            (f"mean {name}", theta.sel(coefficient=name), value),
            (f"sd {name}", sd.sel(random_coefficient=name), TRUE_WTP_SD[name]),
        ):
            q005, q05, q95, q995 = np.quantile(draws.values, [0.005, 0.05, 0.95, 0.995])
            assert q005 <= truth <= q995, (label, truth, q005, q995)
            inside90 += q05 <= truth <= q95
            checked += 1
    assert inside90 >= 9, f"{inside90}/{checked}"  # 12 intervals at 90%: P(fewer than 9) is about 3%
    # the simulator contract takes omega's segment mean as WTP per unit
    np.testing.assert_array_equal(
        fit.posterior["value_per_unit"].sel(segment="all", attribute="storage").values,
        theta.sel(coefficient="storage").values,
    )
    likelihood = fit.log_likelihood_info
    assert likelihood["mc_error"] < 0.5 and "marginal simulated" in likelihood["how"]
