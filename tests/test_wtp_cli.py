"""`pricing psm`, `pricing gabor-granger` and `pricing fit <survey method>`: output, JSON keys, bad input."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.cli import main
from pricing.wtp.posterior import load_posterior, metadata

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "data"


def run(capsys, *args):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_psm_json_on_a_hand_checked_survey(capsys, tmp_path):
    # the survey of tests/test_wtp_van_westendorp.py: PMC 10, PME 20, IDP 15, OPP 10, NMS optima 12 and 15
    path = tmp_path / "psm.csv"
    pd.DataFrame(
        {
            "tc": [5, 8, 10, 6, 10],
            "c": [10, 12, 15, 10, 8],
            "e": [20, 18, 25, 15, 20],
            "te": [30, 25, 40, 20, 30],
            "pc": [5, 4, 5, 3, 5],
            "pe": [3, 2, 3, 1, 5],
        }
    ).to_csv(path, index=False)
    options = ["--too-cheap", "tc", "--cheap", "c", "--expensive", "e", "--too-expensive", "te"]
    status, out, _ = run(capsys, "psm", path, *options, "--pi-cheap", "pc", "--pi-expensive", "pe", "--json")
    assert status == 0
    assert json.loads(out) == {
        "pmc": 10.0,
        "pme": 20.0,
        "idp": 15.0,
        "opp": 10.0,
        "trial_price": 12.0,
        "revenue_price": 15.0,
        "n_valid": 4,
        "n_invalid": 1,
    }
    status, out, _ = run(capsys, "psm", path, *options)
    assert status == 0 and "optimal price point (OPP): 10.00" in out and "1 dropped" in out
    # OPP: too cheap and too expensive are both 0 from 10 to 18
    status, out, _ = run(capsys, "psm", path, *options, "--intersection-method", "max", "--json")
    assert status == 0 and json.loads(out)["opp"] == 18.0
    status, out, _ = run(
        capsys, "psm", path, *options, "--interpolate", "--interpolation-steps", "1", "--json"
    )
    assert status == 0 and json.loads(out)["pmc"] == 9.0
    status, _, err = run(capsys, "psm", path, *options, "--interpolate", "--interpolation-steps", "0")
    assert status == 2 and "interpolation_steps: 0.0 must be a positive number" in err


def test_gabor_granger_json_and_table(capsys, tmp_path):
    path = tmp_path / "gg.csv"
    # shares 3/4, 2/4, 1/4 at 10, 20, 30 -> revenue 7.5, 10, 7.5
    rows = [
        (r, p, a)
        for r, answers in enumerate(["yyn", "ynn", "yyy", "nnn"])
        for p, a in zip((10, 20, 30), answers, strict=True)
    ]
    pd.DataFrame(rows, columns=["id", "p", "buy"]).assign(
        buy=lambda f: f.buy.map({"y": "yes", "n": "no"})
    ).to_csv(path, index=False)
    status, out, _ = run(
        capsys, "gabor-granger", path, "--respondent", "id", "--price", "p", "--answer", "buy", "--json"
    )
    assert status == 0
    result = json.loads(out)
    assert result["best_price"] == 20 and result["best_revenue"] == 10
    assert result["table"] == [
        {"price": 10.0, "share": 0.75, "revenue": 7.5},
        {"price": 20.0, "share": 0.5, "revenue": 10.0},
        {"price": 30.0, "share": 0.25, "revenue": 7.5},
    ]
    status, out, _ = run(
        capsys, "gabor-granger", path, "--respondent", "id", "--price", "p", "--answer", "buy"
    )
    assert "best tested price: 20.00" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["psm", "{missing}"], r"missing.csv: file not found"),
        (["psm", "{vw}", "--cheap", "cheep"], r"column 'cheep' \(cheap\) not found"),
        (["psm", "{bad_vw}"], r"column 'expensive': line 3 are not numbers \(got 'lots'\)"),
        (["psm", "{bad_vw}", "--pi-cheap", "pc"], r"give both pi_cheap and pi_expensive"),
        (
            ["gabor-granger", "{bad_gg}"],
            r"column 'answer': lines 3, 4 are not valid answers \(got 'perhaps', '2'",
        ),
        (["gabor-granger", "{vw}"], r"column 'price' \(price\) not found"),
        (["fit", "stated", "{bad_stated}"], r"column 'wtp': line 3 are not numbers \(got '12 EUR'\)"),
        (["fit", "gabor-granger", "{bad_gg}"], r"column 'answer': lines 3, 4"),
        (["fit", "van-westendorp", "{vw}", "--segment", "region"], r"column 'region' \(segment\) not found"),
        (["fit", "stated", "{empty}"], r"empty.csv: file is empty"),
        (
            ["fit", "stated", "{stated}", "--priors", '{{"segment_sd": 1}}'],
            r"priors: unknown key\(s\) segment_sd",
        ),
        (["fit", "stated", "{stated}", "--priors", "[1"], r"--priors: not JSON"),
    ],
)
def test_bad_input_is_one_line_naming_column_and_rows_exit_2(capsys, tmp_path, args, message):
    files = {
        "missing": tmp_path / "missing.csv",
        "vw": DATA / "van_westendorp.csv",
        "bad_vw": tmp_path / "bad_vw.csv",
        "bad_gg": tmp_path / "bad_gg.csv",
        "bad_stated": tmp_path / "bad_stated.csv",
        "empty": tmp_path / "empty.csv",
        "stated": DATA / "stated_wtp.csv",
    }
    files["bad_vw"].write_text("too_cheap,cheap,expensive,too_expensive,pc\n5,10,20,30,5\n5,10,lots,30,4\n")
    files["bad_gg"].write_text("respondent,price,answer\n1,10,yes\n1,20,perhaps\n2,10,2\n")
    files["bad_stated"].write_text("wtp\n10\n12 EUR\n")
    files["empty"].write_text("")
    status, out, err = run(capsys, *[a.format(**files) for a in args])
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.slow
def test_fit_stated_json_and_saved_posterior(capsys, tmp_path):
    output = tmp_path / "fit.nc"
    status, out, err = run(
        capsys, "fit", "stated", DATA / "stated_wtp.csv", "--segment", "segment",
        "--draws", 500, "--tune", 500, "--seed", 1, "--output", output, "--json",
        "--priors", '{"segment_sd_sd": 0.2}',
    )  # fmt: skip
    assert status == 0, err
    result = json.loads(out)
    assert result["coefficients"] == {} and result["segments"] == ["Startups", "SMB", "Enterprise"]
    assert set(result["diagnostics"]) >= {"rhat_max", "ess_bulk_min", "divergences"}
    # make_data.py's true medians: 9, 14, 28 (EUR)
    for segment, median in (("Startups", 9.0), ("SMB", 14.0), ("Enterprise", 28.0)):
        assert set(result["wtp"][segment]) == {"mean", "sd", "q05", "q95"}
        assert abs(result["wtp"][segment]["mean"] - median) / median < 0.1
    idata = load_posterior(output)
    assert metadata(idata)["columns"]["segment"] == "segment"
    assert metadata(idata)["priors"]["segment_sd_sd"] == 0.2  # overridden, stored with the fit
    mean = float(np.exp(idata.posterior["wtp_log_median"].sel(segment="SMB")).mean())
    assert result["wtp"]["SMB"]["mean"] == pytest.approx(mean)
