"""Shifted-beta-geometric retention: closed forms against simulated customers, data checks, recovery, CLI."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario_dict

from pricing.cli import main
from pricing.dynamics import simulate_dynamics
from pricing.errors import DataError
from pricing.scenario import load_scenario, save_scenario, scenario_from_dict
from pricing.wtp import retention
from pricing.wtp.retention import (
    FORMAT,
    RetentionFit,
    churn_probability,
    discounted_expected_lifetime,
    fit_retention,
    load_retention,
    read_cohorts,
    retention_draws,
    retention_rate,
    survival,
)


def simulated_cohorts(truth: dict, customers=1500, periods=9, cohorts=3, seed=1) -> pd.DataFrame:
    """Cohorts of customers with churn theta ~ Beta(alpha, beta): active after t periods = lifetime > t."""
    rng = np.random.default_rng(seed)
    rows = []
    for segment, (alpha, beta) in truth.items():
        for c in range(cohorts):
            lifetime = rng.geometric(rng.beta(alpha, beta, customers))  # lost in period `lifetime` >= 1
            for t in range(periods - c):
                rows.append(
                    {"segment": segment, "cohort": f"c{c}", "period": t, "active": (lifetime > t).sum()}
                )
    return pd.DataFrame(rows)


def synthetic_fit(alpha: dict, beta: dict, draws=400, seed=0) -> RetentionFit:
    """A fit whose posterior draws are lognormal around the given alpha and beta (no sampling)."""
    rng = np.random.default_rng(seed)
    names = list(alpha)
    a = np.array([alpha[n] for n in names]) * np.exp(0.05 * rng.standard_normal((1, draws, len(names))))
    b = np.array([beta[n] for n in names]) * np.exp(0.05 * rng.standard_normal((1, draws, len(names))))
    idata = az.from_dict(
        posterior={"alpha": a, "beta": b},
        dims={"alpha": ["segment"], "beta": ["segment"]},
        coords={"segment": names},
    )
    idata.posterior.attrs.update(
        pricing_format=FORMAT, method="retention", fit_method="nuts", diagnostics=json.dumps({"ok": True})
    )
    return RetentionFit(idata)


def test_closed_forms_match_brute_force_customers():
    rng = np.random.default_rng(3)
    alpha, beta, n = 0.7, 1.2, 400_000
    lifetime = rng.geometric(rng.beta(alpha, beta, n))
    t = np.arange(0, 13)
    simulated = (lifetime[:, None] > t).mean(axis=0)
    exact = survival(alpha, beta, t)
    np.testing.assert_allclose(simulated, exact, atol=4 * np.sqrt(0.25 / n))
    assert exact[0] == 1.0
    np.testing.assert_allclose(retention_rate(alpha, beta, t[1:]), exact[1:] / exact[:-1], rtol=1e-12)
    np.testing.assert_allclose(churn_probability(alpha, beta, t[1:]), exact[:-1] - exact[1:], rtol=1e-10)
    # Fader & Hardie (2007) "regular" customers: alpha 0.704, beta 1.182 -> r(1) = 0.627
    np.testing.assert_allclose(retention_rate(0.704, 1.182, 1), 1.182 / 1.886)
    discount = 0.1
    x = 1 / (1 + discount)
    brute = ((1 - x ** lifetime.astype(float)) / (1 - x)).mean()  # each customer pays periods 0..lifetime-1
    closed = discounted_expected_lifetime(alpha, beta, discount)
    assert abs(brute - closed) < 0.02 * closed
    np.testing.assert_allclose(
        discounted_expected_lifetime(alpha, beta, discount, horizon=4000), closed, rtol=1e-6
    )


def test_read_cohorts_reduces_counts_to_lost_and_censored_by_hand():
    frame = pd.DataFrame(
        {"period": [0, 1, 2, 0, 1], "active": [100, 60, 45, 50, 35], "cohort": ["a", "a", "a", "b", "b"]}
    ).astype(str)
    cohorts = read_cohorts(frame, {"cohort": "cohort"})
    assert cohorts.segments == ["all"]
    np.testing.assert_array_equal(cohorts.lost, [[40 + 15, 15]])
    np.testing.assert_array_equal(cohorts.censored, [[35, 45]])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"period": ["0", "1"], "active": ["10", "12"]}, "customers rise at line 3"),
        ({"period": ["0", "2"], "active": ["10", "8"]}, "without gaps"),
        ({"period": ["0", "1.5"], "active": ["10", "8"]}, "not whole numbers"),
        ({"period": ["0", "1"], "active": ["10", "x"]}, "column 'active': line 3 are not numbers"),
        ({"period": ["0", "1"], "active": ["0", "0"]}, "no customers in period 0"),
        ({"period": ["0"], "active": ["10"]}, "periods after 0"),
        ({"period": ["0", "1"], "customers": ["10", "8"]}, "column 'active' \\(active\\) not found"),
    ],
)
def test_bad_cohort_data_names_the_problem(rows, message):
    with pytest.raises(DataError, match=message):
        read_cohorts(pd.DataFrame(rows))


def test_summary_is_strict_json_with_closed_form_curves():
    fit = synthetic_fit({"SMB": 0.7, "Enterprise": 3.0}, {"SMB": 1.2, "Enterprise": 8.0})
    summary = json.loads(json.dumps(fit.summary_dict(horizon=3), allow_nan=False))
    smb = summary["segments"]["SMB"]
    assert set(smb["alpha"]) == {"mean", "q05", "q50", "q95"}
    assert smb["retention"][0]["mean"] is None  # no retention before the first renewal
    a = fit.idata.posterior["alpha"].sel(segment="SMB").values.ravel()
    b = fit.idata.posterior["beta"].sel(segment="SMB").values.ravel()
    np.testing.assert_allclose(smb["survival"][2]["mean"], survival(a, b, 2).mean())
    np.testing.assert_allclose(smb["retention"][3]["q50"], np.median(retention_rate(a, b, 3)))
    assert len(smb["survival"]) == 4


def test_saved_posterior_round_trips_and_refuses_foreign_files(tmp_path):
    fit = synthetic_fit({"SMB": 0.7}, {"SMB": 1.2})
    fit.save(tmp_path / "retention.nc")
    alpha, beta = retention_draws(tmp_path / "retention.nc", "SMB", 400, np.random.default_rng(0))
    np.testing.assert_array_equal(alpha, fit.idata.posterior["alpha"].values.ravel())
    with pytest.raises(DataError, match="no segment 'Startups'"):
        retention_draws(tmp_path / "retention.nc", "Startups", 10, np.random.default_rng(0))
    (tmp_path / "junk.nc").write_bytes(b"not netcdf")
    with pytest.raises(DataError, match="not a readable netCDF"):
        load_retention(tmp_path / "junk.nc")


def test_dynamics_with_a_fitted_posterior_keeps_the_sbg_survival(tmp_path):
    """No satisfaction effect: our period-0 customers survive as the sBG says (CLV per unit margin)."""
    alpha, beta = 0.9, 2.5
    fit = synthetic_fit({"budget": alpha, "premium": alpha}, {"budget": beta, "premium": beta})
    fit.idata.posterior["alpha"][:] = alpha  # no posterior spread: the closed form is exact
    fit.idata.posterior["beta"][:] = beta
    fit.save(tmp_path / "retention.nc")
    data = small_scenario_dict()
    data["market"]["draws"] = 4
    data["dynamics"] = {"horizon": 24, "discount_rate": 0.02, "retention": {"posterior": "retention.nc"}}
    save_scenario(scenario_from_dict(data), tmp_path / "s.yaml")
    scenario = load_scenario(tmp_path / "s.yaml")
    result = simulate_dynamics(scenario, per_period=False)
    margin = result.price - scenario.our_offering.unit_cost
    per_unit = (result.clv.isel(variant=0) / margin).where(margin > 0, drop=True).values
    expected = discounted_expected_lifetime(alpha, beta, 0.02, horizon=24)
    np.testing.assert_allclose(per_unit, expected, rtol=5e-3)


def test_cli_fit_retention_bad_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "cohorts.csv"
    path.write_text("period,active\n0,100\n1,120\n")
    assert main(["fit", "retention", str(path), "--method", "map"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "customers rise" in err[0]
    assert main(["fit", "retention", str(tmp_path / "missing.csv")]) == 2
    assert main(["fit", "retention", str(path), "--priors", '{"nope": 1}']) == 2


@pytest.mark.slow
def test_map_recovers_simulated_parameters():
    truth = {"A": (0.7, 1.2), "B": (3.0, 8.0)}
    fit = fit_retention(
        simulated_cohorts(truth).astype(str), {"segment": "segment", "cohort": "cohort"}, method="map"
    )
    posterior = fit.idata.posterior
    for segment, (alpha, beta) in truth.items():
        for name, value in (("alpha", alpha), ("beta", beta)):
            draws = posterior[name].sel(segment=segment).values
            q05, q95 = np.quantile(draws, (0.02, 0.98))
            assert q05 < value < q95, (segment, name, q05, value, q95)
    assert "not sampled" in fit.diagnostics["note"]


@pytest.mark.slow
def test_nuts_recovers_simulated_parameters_and_cli_prints_json(tmp_path, capsys):
    truth = {"A": (0.7, 1.2), "B": (3.0, 8.0)}
    path = tmp_path / "cohorts.csv"
    simulated_cohorts(truth, seed=5).to_csv(path, index=False)
    output = tmp_path / "retention.nc"
    status = main(
        ["fit", "retention", str(path), "--segment", "segment", "--cohort", "cohort", "--horizon", "4"]
        + ["--draws", "500", "--tune", "500", "--seed", "2", "--output", str(output), "--json"]
    )
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["diagnostics"]["divergences"] == 0
    for segment, (alpha, beta) in truth.items():
        s = summary["segments"][segment]
        assert s["alpha"]["q05"] < alpha < s["alpha"]["q95"]
        assert s["beta"]["q05"] < beta < s["beta"]["q95"]
        assert len(s["survival"]) == 5
    assert retention.load_retention(output).segments == ["A", "B"]
