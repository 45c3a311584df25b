"""`pricing equilibrium` and `pricing decide`: the --json shapes, the text, and one-line errors (exit 2)."""

import json

import pytest
from conftest import small_scenario_dict

from pricing.cli import main
from pricing.scenario import save_scenario, scenario_from_dict

STATS = {"mean", "q05", "q50", "q95"}


@pytest.fixture
def scenario_file(tmp_path):
    data = small_scenario_dict()
    data["offerings"].append({"name": "Other", "owner": "Acme", "price": 50.0, "unit_cost": 18.0})
    data["offerings"][1] |= {"owner": "Acme", "unit_cost": 12.0, "unit_cost_uncertainty": 0.1}
    data["market"] = {"draws": 30, "price_grid": {"min": 30, "max": 70, "steps": 9}}
    path = tmp_path / "market.yaml"
    save_scenario(scenario_from_dict(data), path)
    return path


def run(capsys, *argv):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse refuses a bad option before the command runs
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def test_equilibrium_json_shape(scenario_file, capsys):
    status, out, _ = run(capsys, "equilibrium", scenario_file, "--variant", "faster", "--json")
    assert status == 0
    report = json.loads(out)
    assert set(report) == {"prices", "shares", "profits", "converged"}
    for key in ("prices", "shares", "profits"):
        assert set(report[key]) == {"Ours", "Rival", "Other"}
        for stats in report[key].values():
            assert set(stats) == STATS and stats["q05"] <= stats["q50"] <= stats["q95"]
    assert report["converged"] == 1.0
    assert 0 < report["shares"]["Ours"]["mean"] < 1


def test_equilibrium_text(scenario_file, capsys):
    status, out, _ = run(capsys, "equilibrium", scenario_file)
    assert status == 0 and "converged in 30 of 30 draws" in out and "Acme" in out


def test_decide_json_shape(scenario_file, capsys):
    status, out, _ = run(
        capsys, "decide", scenario_file, "--objective", "cvar:0.1", "--min-share", "5%", "--json"
    )
    assert status == 0
    report = json.loads(out)
    assert {"choice", "candidates", "evpi", "evppi"} <= set(report)
    assert set(report["choice"]) == {"price", "variant"}
    assert all(set(c) == {"price", "variant", "objective", "p_best", "regret"} for c in report["candidates"])
    assert sum(c["p_best"] for c in report["candidates"]) == pytest.approx(1.0)
    assert set(report["evppi"]) >= {"WTP: budget", "WTP: premium", "value of speed", "competitor costs"}
    best = max(report["candidates"], key=lambda c: c["objective"])
    assert report["choice"] == {"price": best["price"], "variant": best["variant"]}


def test_decide_with_reaction_text(scenario_file, capsys):
    status, out, _ = run(capsys, "decide", scenario_file, "--react", "--ending", "0.99", "--draws", "10")
    assert status == 0 and "rivals react" in out and "EVPPI" in out and ".99 EUR" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decide", "{f}", "--objective", "median"], "objective 'median'"),
        (["decide", "{f}", "--min-share", "150%"], "between 0 and 1"),
        (["decide", "{f}", "--min-share", "0.99"], "min share 99.0%: no candidate reaches it"),
        (["decide", "{f}", "--floor", "abc"], "not a price"),
        (["decide", "{f}", "--ending", "1.5"], "ending 1.5"),
        (["equilibrium", "{f}", "--variant", "nope"], "--variant 'nope': unknown variant"),
        (["equilibrium", "{first_choice}"], "first_choice"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(scenario_file, tmp_path, capsys, argv, message):
    data = small_scenario_dict()
    data["market"] = {"choice_rule": "first_choice", "draws": 5}
    first_choice = tmp_path / "fc.yaml"
    save_scenario(scenario_from_dict(data), first_choice)
    argv = [a.format(f=scenario_file, first_choice=first_choice) for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_every_subcommand_help_prints(capsys):
    # a bare "%" in any subcommand's help breaks `pricing --help` for everyone
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0 and "equilibrium" in capsys.readouterr().out
    for command in ("equilibrium", "decide"):
        with pytest.raises(SystemExit) as exit:
            main([command, "--help"])
        assert exit.value.code == 0
