"""The `pricing` command: validate, simulate, pack, schema; bad input is one line and exit status 2."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import EXAMPLE_FILES, ROOT, small_scenario_dict

from pricing.cli import EXIT_USAGE, main


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_dict(), sort_keys=False))
    return path


@pytest.fixture
def broken_file(tmp_path):
    data = small_scenario_dict()
    data["segments"][0]["size"] = -1
    data["offerings"][1]["colour"] = "red"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(capsys, *argv):
    """Run the CLI in-process: (exit status, stdout lines, stderr lines)."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse exits on bad options
        status = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out.splitlines(), err.splitlines()


# ---- validate ------------------------------------------------------------------------------------------


def test_validate_examples(capsys):
    status, out, err = run(capsys, "validate", *EXAMPLE_FILES)
    assert status == 0 and err == []
    assert len(out) == len(EXAMPLE_FILES)
    assert all(": ok (" in line for line in out)


def test_validate_reports_one_line_per_problem(capsys, scenario_file, broken_file):
    status, out, err = run(capsys, "validate", scenario_file, broken_file)
    assert status == EXIT_USAGE
    assert out[0].startswith(f"{scenario_file}: ok")
    assert out[1:] == [
        f"{broken_file}: segments[0].size: Input should be greater than or equal to 0 (got -1)",
        f"{broken_file}: offerings[1].colour: unknown field (check its spelling and indentation)",
    ]


def test_validate_missing_and_empty_files(capsys, tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    status, out, _ = run(capsys, "validate", tmp_path / "missing.yaml", tmp_path / "empty.yaml")
    assert status == EXIT_USAGE
    assert len(out) == 2
    assert "cannot read file" in out[0] and out[1].endswith("empty.yaml: file is empty")


# ---- simulate ------------------------------------------------------------------------------------------


def test_simulate_prints_a_summary(capsys, scenario_file):
    status, out, err = run(capsys, "simulate", scenario_file, "--draws", 40)
    assert status == 0 and err == []
    assert out[0] == "small: 40 draws, seed 7, Ours at 45 EUR today"
    assert "P(most profitable)" in out[1] and "best price (EUR)" in out[1]
    assert "profit (EUR/month)" in out[1]  # the scenario's period (default month)
    assert out[2].split()[0] == "base" and out[3].split()[0] == "faster"
    assert out[-1].startswith("best price: maximises expected profit")


def test_simulate_writes_csv_and_netcdf_honouring_draws_and_seed(capsys, scenario_file, tmp_path):
    csv, nc = tmp_path / "out.csv", tmp_path / "out.nc"
    assert run(capsys, "simulate", scenario_file, "--output", csv, "--draws", 30)[0] == 0
    table = pd.read_csv(csv)
    assert list(table.columns) == [
        "variant",
        "segment",
        "offering",
        "price",
        "metric",
        "mean",
        "q05",
        "q50",
        "q95",
    ]
    assert set(table["segment"]) == {"budget", "premium", "all"}
    status, out, _ = run(capsys, "simulate", scenario_file, "-o", nc, "--draws", 30, "--seed", 11)
    assert status == 0 and out[-1] == f"wrote {nc}"
    with xr.open_dataset(nc, engine="h5netcdf") as first:
        assert first.sizes["draw"] == 30 and first.attrs["seed"] == 11
        first_share = first.share.values
    run(capsys, "simulate", scenario_file, "-o", nc, "--draws", 30, "--seed", 11)
    with xr.open_dataset(nc, engine="h5netcdf") as again:
        assert (again.share.values == first_share).all()
    run(capsys, "simulate", scenario_file, "-o", nc, "--draws", 30, "--seed", 12)
    with xr.open_dataset(nc, engine="h5netcdf") as other:
        assert not (other.share.values == first_share).all()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--draws", "abc"], "argument --draws: 'abc' is not a whole number"),
        (["--draws", "-3"], "argument --draws: '-3' must be from 1 to 20,000"),
        (["--draws", "0"], "argument --draws: '0' must be from 1 to 20,000"),
        (["--draws", "1000000"], "argument --draws: '1000000' must be from 1 to 20,000"),
        (["--seed", "1.5"], "argument --seed: '1.5' is not a whole number"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--output", "out.xlsx"], "unknown file type '.xlsx'; use .csv or .nc"),
        (["--output", "no/such/folder/out.csv"], "does not exist"),
    ],
)
def test_simulate_bad_options_are_one_line(capsys, scenario_file, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "simulate", scenario_file, *argv)
    assert status == EXIT_USAGE
    assert out == []
    assert len(err) == 1 and fragment in err[0], err


def test_simulate_bad_files_are_one_line(capsys, tmp_path, broken_file):
    (tmp_path / "taken.csv").mkdir()
    status, _, err = run(capsys, "simulate", broken_file)
    assert status == EXIT_USAGE and len(err) == 1
    assert err[0].startswith("pricing simulate: error: segments[0].size:") and "offerings[1].colour" in err[0]
    status, _, err = run(capsys, "simulate", tmp_path / "missing.yaml")
    assert status == EXIT_USAGE and len(err) == 1 and "cannot read file" in err[0]
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(small_scenario_dict()))
    status, out, err = run(capsys, "simulate", good, "--draws", 5, "--output", tmp_path / "taken.csv")
    assert status == EXIT_USAGE and len(err) == 1 and "is a folder" in err[0]


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == EXIT_USAGE and len(err) == 1 and "required" in err[0]


# ---- schema --------------------------------------------------------------------------------------------


def test_schema_prints_valid_json(capsys):
    status, out, _ = run(capsys, "schema")
    assert status == 0
    schema = json.loads("\n".join(out))
    assert schema["title"] == "pricing scenario"
    assert {"schema_version", "segments", "offerings", "variants", "market"} <= set(schema["properties"])


# ---- as a real process ---------------------------------------------------------------------------------


def test_cli_in_a_subprocess(tmp_path, scenario_file, broken_file):
    command = [sys.executable, "-m", "pricing.cli"]
    done = subprocess.run(
        [*command, "simulate", scenario_file, "--draws", "20", "-o", tmp_path / "out.csv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "P(most profitable)" in done.stdout and (tmp_path / "out.csv").exists()
    done = subprocess.run(
        [*command, "validate", broken_file], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == EXIT_USAGE
    assert len(done.stdout.splitlines()) == 2 and "Traceback" not in done.stdout + done.stderr
    done = subprocess.run(
        [*command, "simulate", broken_file, "--draws", "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == EXIT_USAGE
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_reader_that_stops_early_gets_no_traceback():
    # `pricing schema | head -c 10`: the pipe closes before the command writes.
    process = subprocess.Popen(
        [sys.executable, "-m", "pricing.cli", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    process.stdout.close()
    errors = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in errors and "BrokenPipeError" not in errors


# ---- pack ------------------------------------------------------------------------------------------------


def test_pack_then_validate_and_simulate_the_zip_elsewhere(capsys, tmp_path):
    bundle = tmp_path / "survey.zip"
    status, out, _ = run(capsys, "pack", ROOT / "scenarios" / "team_plan_survey.yaml", "-o", bundle)
    assert status == 0 and out[0].startswith(f"wrote {bundle}") and "data/team_plan_wtp.nc" in out[0]
    status, out, _ = run(capsys, "validate", bundle)
    assert status == 0 and "ok ('B2B SaaS team plan, WTP from a survey'" in out[0]
    status, packed, _ = run(capsys, "simulate", bundle, "--draws", "200")
    status_yaml, direct, _ = run(
        capsys, "simulate", ROOT / "scenarios" / "team_plan_survey.yaml", "--draws", "200"
    )
    assert status == status_yaml == 0 and packed == direct  # the same numbers from the zip


def test_pack_problems_are_one_line(capsys, tmp_path, scenario_file):
    status, _, err = run(capsys, "pack", scenario_file, "-o", tmp_path / "x.tar")
    assert status == EXIT_USAGE and "unknown file type '.tar'; use .zip" in err[0]
    moved = tmp_path / "moved.yaml"
    moved.write_text((ROOT / "scenarios" / "team_plan_survey.yaml").read_text())
    status, _, err = run(capsys, "pack", moved, "-o", tmp_path / "x.zip")
    assert status == EXIT_USAGE and "data/team_plan_wtp.nc: file not found" in err[0]
    assert not (tmp_path / "x.zip").exists()
    status, _, err = run(capsys, "validate", tmp_path / "missing.zip")
    assert status == EXIT_USAGE
