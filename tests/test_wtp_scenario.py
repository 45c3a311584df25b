"""Scenarios whose segment WTP points to a saved posterior or to survey data: schema, draws, simulation."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from pricing import wtp
from pricing.errors import DataError, ScenarioError
from pricing.scenario import load_scenario, parse_scenario, with_changes
from pricing.simulate import segment_parameters, simulate
from pricing.wtp.posterior import load_posterior

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "team_plan_survey.yaml"
POSTERIOR = ROOT / "scenarios" / "data" / "team_plan_wtp.nc"


def test_example_segments_take_the_posterior_draws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths resolve against the scenario file, not the working folder
    scenario = load_scenario(EXAMPLE)
    assert [s.wtp.source for s in scenario.segments] == ["posterior", "posterior", "elicited"]
    parameters = segment_parameters(scenario, 600, np.random.default_rng(0))
    posterior = load_posterior(POSTERIOR).posterior
    for column, name in ((0, "Startups"), (1, "SMB")):
        stored = posterior["wtp_log_median"].sel(segment=name).values.reshape(-1)
        drawn = parameters["wtp_log_median"][:, column]
        assert np.isin(drawn, stored).all()  # every draw is one of the posterior's draws
        assert abs(drawn.mean() - stored.mean()) < 0.01
        # median and spread come from the same posterior draw
        spread = posterior["wtp_log_sd"].sel(segment=name).values.reshape(-1)
        index = [int(np.flatnonzero(stored == v)[0]) for v in drawn[:20]]
        np.testing.assert_array_equal(parameters["wtp_log_sd"][:20, column], spread[index])
    # Enterprise keeps its elicited WTP: low 18, high 40 -> median sqrt(18 x 40)
    assert abs(np.exp(parameters["wtp_log_median"][:, 2].mean()) - np.sqrt(18 * 40)) < 1.0
    results = simulate(scenario, draws=100)
    share = results["share"].sel(segment="Startups", variant="meets expectations").isel(offering=0)
    assert float(share.std("draw").max()) > 0  # the survey's uncertainty reaches the results


def test_same_seed_same_draws_and_with_changes_keeps_the_folder(tmp_path, monkeypatch):
    scenario = load_scenario(EXAMPLE)
    first = segment_parameters(scenario, 300, np.random.default_rng(5))
    again = segment_parameters(scenario, 300, np.random.default_rng(5))
    np.testing.assert_array_equal(first["wtp_log_median"], again["wtp_log_median"])
    monkeypatch.chdir(tmp_path)
    changed = with_changes(scenario, {"market.draws": 50})
    assert changed.base_dir == EXAMPLE.parent
    assert segment_parameters(changed, 10, np.random.default_rng(0))["wtp_log_median"].shape == (10, 3)


def scenario_text(wtp: str) -> str:
    return f"""
schema_version: 1
name: survey
segments:
  - {{name: all, size: 100, logit_scale: 2.0, wtp: {wtp}}}
offerings:
  - {{name: ours, owner: us, price: 10}}
"""


@pytest.mark.parametrize(
    ("wtp", "message"),
    [
        ("{posterior: fit.nc, median: 10}", "median: not used with a posterior or data"),
        ("{posterior: fit.nc, uncertainty: 0.2}", "uncertainty: not used with a posterior or data"),
        ("{posterior: fit.nc, data: s.csv, method: stated}", "either a posterior or data, not both"),
        ("{data: s.csv}", "method is required with data"),
        ("{data: s.csv, method: conjoint}", "method"),
        ("{median: 10, spread: 0.3, method: stated}", "method goes with `posterior` or `data`"),
        ("{posterior: fit.nc, columns: {segment: region}}", "method and columns go with `data`"),
    ],
)
def test_schema_errors_name_the_field(wtp, message):
    with pytest.raises(ScenarioError, match=message) as error:
        parse_scenario(scenario_text(wtp))
    assert error.value.problems[0].startswith("segments[0].wtp"), error.value.problems


def test_missing_file_or_segment_is_a_clear_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text("{posterior: data/nope.nc}"))
    scenario = load_scenario(path)
    with pytest.raises(DataError, match=r"segment 'all': wtp.posterior file .*nope.nc' not found"):
        segment_parameters(scenario, 10, np.random.default_rng(0))
    shutil.copy(POSTERIOR, tmp_path / "fit.nc")
    path.write_text(scenario_text("{posterior: fit.nc}"))
    with pytest.raises(DataError, match="no segment 'all'.*Startups, SMB, Enterprise"):
        segment_parameters(load_scenario(path), 10, np.random.default_rng(0))
    path.write_text(scenario_text("{posterior: fit.nc, segment: SMB}"))
    assert segment_parameters(load_scenario(path), 10, np.random.default_rng(0))["wtp_log_sd"].shape == (
        10,
        1,
    )


@pytest.mark.slow
def test_survey_data_is_fitted_on_load_once(tmp_path):
    shutil.copy(ROOT / "scenarios" / "data" / "gabor_granger.csv", tmp_path / "gg.csv")
    path = tmp_path / "s.yaml"
    path.write_text(
        scenario_text("{data: gg.csv, method: gabor_granger, columns: {segment: segment}, segment: SMB}")
    )
    scenario = load_scenario(path)
    before = len(wtp._fits_on_load)
    parameters = segment_parameters(scenario, 200, np.random.default_rng(0))
    # make_data.py's SMB: median 14 EUR, sd of log WTP 0.35
    assert abs(np.exp(np.median(parameters["wtp_log_median"][:, 0])) - 14.0) < 1.5
    assert abs(np.median(parameters["wtp_log_sd"][:, 0]) - 0.35) < 0.08
    simulate(scenario, draws=50)
    assert len(wtp._fits_on_load) == before + 1  # fitted once, reused by the second call


def test_a_replaced_posterior_file_is_read_again(tmp_path):
    """Saved posteriors are cached per file version: a refit written over the file must be seen."""
    from pricing.wtp.posterior import save_posterior

    shutil.copy(POSTERIOR, tmp_path / "fit.nc")
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text("{posterior: fit.nc, segment: SMB}"))
    before = segment_parameters(load_scenario(path), 50, np.random.default_rng(0))["wtp_log_median"]
    idata = load_posterior(POSTERIOR)
    idata.posterior["wtp_log_median"] = idata.posterior["wtp_log_median"] + 1.0  # WTP x e
    save_posterior(idata, tmp_path / "fit.nc")
    after = segment_parameters(load_scenario(path), 50, np.random.default_rng(0))["wtp_log_median"]
    np.testing.assert_allclose(after, before + 1.0)
