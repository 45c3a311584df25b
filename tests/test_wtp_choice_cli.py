"""`pricing fit choice`: readable and JSON output, files written, one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.cli import main
from pricing.scenario import load_scenario
from pricing.simulate import segment_parameters, simulate
from pricing.wtp.choice import load_choice_fit

EXAMPLE = Path(__file__).parents[1] / "scenarios" / "data" / "conjoint_example.csv"
OPTIONS = [
    "--id", "id", "--task", "task", "--alt", "alt", "--choice", "choice", "--price", "price",
    "--attributes", "storage,speed,colour", "--none-alt", "none",
]  # fmt: skip


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["fit", "choice", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.slow
def test_map_fit_prints_json_and_writes_posterior_and_scenario(capsys, tmp_path):
    posterior, scenario = tmp_path / "fit.nc", tmp_path / "starter.yaml"
    status, out, err = run(
        capsys, EXAMPLE, *OPTIONS, "--ref", "colour=green", "--segment", "segment", "--method", "map",
        "--draws", 300, "--chains", 2, "--seed", 3, "--json",
        "--output", posterior, "--scenario-out", scenario,
    )  # fmt: skip
    assert status == 0, err
    result = json.loads(out)
    assert set(result) >= {"coefficients", "wtp", "sd", "segments", "diagnostics"}
    assert result["segments"] == ["students", "pros"]
    assert set(result["coefficients"]["storage"]) == {"students", "pros"}
    assert set(result["coefficients"]["storage"]["pros"]) == {"mean", "sd", "q05", "q50", "q95"}
    assert set(result["diagnostics"]) >= {"rhat_max", "ess_bulk_min", "divergences"}
    fit = load_choice_fit(posterior)
    wtp = fit.posterior["value_per_unit"].sel(segment="pros", attribute="storage")
    assert set(result["wtp"]["storage"]["pros"]) == {"q05", "q50", "q95"}
    assert result["wtp"]["storage"]["pros"]["q50"] == pytest.approx(float(wtp.median()))
    starter = load_scenario(scenario)
    assert [s.name for s in starter.segments] == ["students", "pros"]
    assert starter.segments[1].value_per_unit["storage"].posterior == "fit.nc"
    # the starter's WTP points to the saved fit, so the simulator takes the fit's own draws
    assert starter.segments[0].wtp.file == "fit.nc" and starter.segments[0].wtp.segment == "students"
    assert starter.segments[1].logit_scale.posterior == "fit.nc"
    total = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    drawn = segment_parameters(starter, total, np.random.default_rng(0))
    np.testing.assert_allclose(
        np.sort(drawn["wtp_log_median"][:, 1]),
        np.sort(fit.posterior["wtp_log_median"].sel(segment="pros").values.ravel()),
    )
    # ... and, jointly with the WTP, the fit's money value of each attribute and its logit scale
    storage = starter.attribute_names.index("storage")
    np.testing.assert_allclose(np.sort(drawn["value_per_unit"][:, 1, storage]), np.sort(wtp.values.ravel()))
    scale = fit.posterior["logit_scale"].sel(segment="pros").values.ravel()
    np.testing.assert_allclose(np.sort(drawn["logit_scale"][:, 1]), np.sort(scale))
    results = simulate(starter, draws=200)
    assert float(results["share"].sum("offering").min()) > 0


@pytest.mark.slow
def test_readable_summary_names_coefficients_and_wtp(capsys):
    status, out, _ = run(capsys, EXAMPLE, *OPTIONS, "--method", "map", "--draws", 200, "--chains", 2)
    assert status == 0
    assert "coefficient price:" in out and "WTP storage:" in out and "WTP colour=red:" in out
    assert "segment all:" in out and "log-likelihood at the posterior mode" in out


def bad_copy(tmp_path: Path, change) -> Path:
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    path = tmp_path / "bad.csv"
    change(frame).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda f: f.drop(columns="speed"), [], r"column 'speed' \(attribute 2\) not found"),
        (
            lambda f: f.assign(choice=np.where(f.index < 4, "1", f["choice"])),
            [],
            r"exactly one chosen.*lines 2, 3, 4, 5",
        ),
        (
            lambda f: f.assign(price=np.where(f.index == 1, "12 EUR", f["price"])),
            [],
            r"'price': line 3 are not numbers",
        ),
        (lambda f: f, ["--ref", "colour=purple"], r"--ref colour=purple: level 'purple' does not occur"),
        (lambda f: f, ["--segment", "region"], r"column 'region' \(segment\) not found"),
        (lambda f: f, ["--random", "weight"], r"--random weight: not a coefficient or attribute"),
        (
            lambda f: f,
            ["--random", "all", "--space", "wtp", "--price-distribution", "normal"],
            r"price scale lambda must stay > 0",
        ),
        (lambda f: f, ["--target-ess", "400"], r"target ESS: the Laplace approximation"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, change, extra, message):
    path = bad_copy(tmp_path, change)
    status, out, err = run(capsys, path, *OPTIONS, *extra, "--method", "map")
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.slow
def test_wtp_space_fit_reports_omega_and_the_price_scale(capsys):
    status, out, err = run(capsys, EXAMPLE, *OPTIONS, "--ref", "colour=green", "--method", "map",
                           "--space", "wtp", "--draws", 200, "--chains", 2)  # fmt: skip
    assert status == 0, err
    assert "WTP space: utility = lambda (omega . x - price)" in out
    assert "omega storage:" in out and "log price scale (log lambda):" in out
    assert "log-likelihood: " in out and "exact log-likelihood at the posterior mode" in out
    status, out, err = run(capsys, EXAMPLE, *OPTIONS, "--ref", "colour=green", "--method", "map",
                           "--space", "wtp", "--draws", 200, "--chains", 2, "--json")  # fmt: skip
    result = json.loads(out)
    assert result["space"] == "wtp" and result["warnings"] == []
    omega = result["theta"]["storage"]
    assert omega["q05"] < result["wtp"]["storage"]["q50"] < omega["q95"]
