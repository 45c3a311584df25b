"""Sweeps: the file, the points and their seeds, the numbers against direct simulations, the pool, resume."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS, small_scenario_dict

from pricing import analysis, sweep
from pricing.cli import main
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import load_scenario, save_scenario, scenario_from_dict, with_changes
from pricing.simulate import simulate

EXAMPLE = SCENARIOS / "sweeps" / "saas_rivals.yaml"


def write_sweep(folder: Path, body: dict, scenario: dict | None = None) -> Path:
    """A scenario file (the small test scenario unless given) and a sweep file of it in `folder`."""
    save_scenario(scenario_from_dict(scenario or small_scenario_dict()), folder / "base.yaml")
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep_version": 1, "scenario": "base.yaml", **body}, sort_keys=False))
    return path


SMALL = {
    "changes": {"market.draws": 40},
    "grid": {
        "offerings[Rival].price": [30, 40, 50],
        "segments[budget].wtp.median": {"from": 30, "to": 50, "steps": 2},
    },
    "keep": [
        "summary",
        {
            "kind": "at_prices",
            "prices": [60, "current"],
            "metrics": ["profit", "share"],
            "segments": ["all", "premium"],
        },
    ],
}


def test_points_are_every_combination_of_grid_zip_and_sample(tmp_path):
    body = {
        "grid": {"offerings[Rival].price": [30, 40], "market.none_option": [True, False]},
        "zip": {"segments[budget].size": [100, 200, 300], "segments[premium].size": [1, 2, 3]},
        "sample": {"points": 4, "ranges": {"offerings[Ours].unit_cost": {"from": 10, "to": 30}}},
    }
    layout = sweep.plan(*sweep.load_sweep(write_sweep(tmp_path, body)))
    assert layout.size == 2 * 2 * 3 * 4
    assert layout.paths == (
        "offerings[Rival].price",
        "market.none_option",
        "segments[budget].size",
        "segments[premium].size",
        "offerings[Ours].unit_cost",
    )
    # the first path varies slowest, the sample fastest
    first, last = layout.values(0), layout.values(47)
    assert first["offerings[Rival].price"] == 30 and last["offerings[Rival].price"] == 40
    assert first["market.none_option"] is True and last["market.none_option"] is False
    point = layout.values(2 * 12 + 1 * 4 + 3)  # Rival 40, none_option True, zip row 1, sample row 3
    assert point["offerings[Rival].price"] == 40 and point["market.none_option"] is True
    assert (point["segments[budget].size"], point["segments[premium].size"]) == (200, 2)
    combos = {tuple(layout.values(i).values())[:4] for i in range(layout.size)}
    assert len(combos) == 2 * 2 * 3


def test_range_includes_both_ends():
    assert sweep.Range.model_validate({"from": 10, "to": 20, "steps": 11}).values() == list(
        np.linspace(10, 20, 11)
    )
    assert sweep.Range.model_validate({"from": 5, "to": 9, "steps": 1}).values() == [5.0]


def test_latin_hypercube_puts_one_point_in_every_stratum(tmp_path):
    body = {
        "sample": {
            "points": 20,
            "ranges": {
                "offerings[Rival].price": {"from": 30, "to": 50},
                "segments[budget].wtp.median": {"from": 20, "to": 60},
            },
        }
    }
    layout = sweep.plan(*sweep.load_sweep(write_sweep(tmp_path, body)))
    rival = np.array([layout.values(i)["offerings[Rival].price"] for i in range(20)])
    median = np.array([layout.values(i)["segments[budget].wtp.median"] for i in range(20)])
    assert sorted(np.floor((rival - 30) / 1.0).astype(int)) == list(range(20))  # 20 strata of width 1
    assert sorted(np.floor((median - 20) / 2.0).astype(int)) == list(range(20))  # 20 strata of width 2
    # drawn from the base seed: the same sample again
    again = sweep.plan(*sweep.load_sweep(tmp_path / "sweep.yaml"))
    assert [again.values(i) for i in range(20)] == [layout.values(i) for i in range(20)]


def test_point_seeds_come_from_seed_sequence_spawn():
    layout = sweep.Plan(paths=(), blocks=((({}),) * 5,), base_seed=7, keys=("kind", "metric"))
    children = np.random.SeedSequence(7).spawn(5)
    for i, child in enumerate(children):
        assert layout.seed(i) == int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert len({layout.seed(i) for i in range(5)}) == 5


def test_each_point_matches_a_direct_simulation_of_its_scenario(tmp_path):
    path = write_sweep(tmp_path, SMALL)
    result = sweep.run_sweep(path)
    assert result.complete and not result.failures
    layout = sweep.plan(*sweep.load_sweep(path))
    base = load_scenario(tmp_path / "base.yaml")
    for point in (0, 4):
        scenario = with_changes(base, {"market.draws": 40, "seed": layout.seed(point)} | layout.values(point))
        simulated = simulate(scenario)
        expected = analysis.variant_summary(simulated).set_index("variant")
        rows = result.table[(result.table.point == point) & (result.table.kind == "summary")]
        got = rows.set_index(["variant", "metric"])
        for variant, row in expected.iterrows():
            assert got.loc[(variant, "best_price"), "mean"] == row["best_price"]
            assert got.loc[(variant, "best_price"), "q05"] == pytest.approx(row["best_price_q05"])
            assert got.loc[(variant, "p_most_profitable"), "mean"] == row["p_most_profitable"]
            for metric in analysis.METRICS:
                assert got.loc[(variant, metric), "mean"] == pytest.approx(row[f"{metric}_mean"], rel=1e-12)
                assert got.loc[(variant, metric), "q95"] == pytest.approx(row[f"{metric}_q95"], rel=1e-12)
        at = result.table[(result.table.point == point) & (result.table.kind == "at_prices")]
        for price in (60.0, scenario.our_offering.price):
            snapped = analysis.nearest_price(simulated, price)
            direct = analysis.metrics_at(simulated, snapped, "faster").set_index(["segment", "metric"])
            mine = at[(at.price == snapped) & (at.variant == "faster")].set_index(["segment", "metric"])
            assert len(mine) == 4  # profit and share for all and premium
            for key, row in mine.iterrows():
                assert row["q50"] == pytest.approx(direct.loc[key, "q50"], rel=1e-12)
    # the swept values are columns of every row
    assert set(result.table["offerings[Rival].price"]) == {30.0, 40.0, 50.0}
    assert set(result.table["segments[budget].wtp.median"]) == {30.0, 50.0}


def test_a_dearer_rival_raises_our_share(tmp_path):
    body = {
        "changes": {"market.draws": 40},
        "grid": {"offerings[Rival].price": [25, 35, 45, 55]},
        "keep": [{"kind": "at_prices", "metrics": ["share", "volume"]}],
    }
    table = sweep.run_sweep(write_sweep(tmp_path, body)).table
    share = table[(table.metric == "share") & (table.variant == "base")]
    # at our current price, a logit share rises with the rival's price, draw by draw and so on average
    assert share.sort_values("offerings[Rival].price")["mean"].is_monotonic_increasing
    assert len(share) == 4 and share["mean"].is_unique


def test_a_point_the_schema_refuses_is_reported_and_the_rest_runs(tmp_path):
    body = {"changes": {"market.draws": 20}, "grid": {"segments[premium].wtp.low": [60, 200, 70]}}
    result = sweep.run_sweep(write_sweep(tmp_path, body))
    assert [f["point"] for f in result.failures] == [1]
    failure = result.failures[0]
    assert failure["values"] == {"segments[premium].wtp.low": 200.0}
    assert "segments[1].wtp" in failure["error"] and "below high" in failure["error"]
    assert sorted(set(result.table.point)) == [0, 2] and result.done == 3


def test_a_point_splits_the_same_in_any_batch(tmp_path):
    path = write_sweep(tmp_path, SMALL)
    whole = sweep.run_sweep(path).table
    swept, scenario = sweep.load_sweep(path)
    job = sweep.Job(
        swept.model_dump_json(by_alias=True), __import__("pricing.bundle").bundle.pack_scenario(scenario)
    )
    alone = sweep.run_batch(job, [4]).table
    pd.testing.assert_frame_equal(alone, whole[whole.point == 4].reset_index(drop=True))
    single = sweep.run_sweep(swept.model_copy(update={"batch_size": 1}), scenario).table
    pd.testing.assert_frame_equal(single, whole)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"grid": {"offerings[Ours].prize": [1, 2]}},
            "grid.offerings[Ours].prize: offerings[Ours] has no field 'prize'",
        ),
        (
            {"grid": {"offerings[Nobody].price": [1]}},
            "offerings has no item named 'Nobody' (known: Ours, Rival)",
        ),
        ({"grid": {"segments[5].size": [1]}}, "segments has 2 items; index 5 is out of range"),
        ({"grid": {"market.draws.x": [1]}}, "market.draws has no field 'x'"),
        ({"grid": {"offerings[Rival].price": []}}, "grid.offerings[Rival].price"),
        (
            {"grid": {"offerings[Rival].price": {"from": 1, "to": 2, "steps": 0}}},
            "greater than or equal to 1",
        ),
        (
            {"sample": {"points": 5, "ranges": {"offerings[Rival].price": {"from": 3, "to": 3}}}},
            "range is empty",
        ),
        ({"zip": {"offerings[Rival].price": [1, 2], "offerings[Ours].price": [1]}}, "equal lengths"),
        ({}, "give the changes to sweep under grid, zip or sample"),
        ({"grid": {"seed": [1]}, "zip": {"seed": [2]}}, "seed: swept twice"),
        ({"grid": {"seed": [1]}, "keep": ["equilibria"]}, "keep[0]"),
        (
            {"grid": {"seed": [1]}, "keep": [{"kind": "at_prices", "segments": ["nobody"]}]},
            "segment 'nobody'",
        ),
        ({"grid": {"seed": [1]}, "scenario": "missing.yaml"}, "cannot read file"),
        ({"grid": {"seed": [1]}, "sweep_version": 2}, "sweep_version: 2 is not supported"),
        ({"grid": {"seed": [1]}, "extra": 1}, "extra: unknown field"),
    ],
)
def test_bad_sweep_files_name_the_problem(tmp_path, capsys, body, message):
    path = write_sweep(tmp_path, {})
    data = {"sweep_version": 1, "scenario": "base.yaml", **body}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=None) as error:
        sweep.load_sweep(path)
    assert any(message in problem for problem in error.value.problems), error.value.problems
    assert main(["sweep", str(path), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_hostile_sweep_files(tmp_path):
    path = tmp_path / "sweep.yaml"
    for text, message in [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("sweep_version: 1\nsweep_version: 1\n", "duplicate key"),
        ("[1, 2]", "must be a mapping"),
        ("sweep_version: 1\nscenario: [", "not valid YAML"),
        ("x" * (2_000_000), "limited to"),
    ]:
        path.write_text(text)
        with pytest.raises(ScenarioError, match=message):
            sweep.load_sweep(path)


def test_the_json_schema_accepts_the_example_and_refuses_mistakes():
    schema = sweep.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load(EXAMPLE.read_text())
    jsonschema.validate(example, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example, "grid": {"x": {"from": 1, "to": 2}}}, schema)  # steps missing
    assert "from" in json.dumps(schema) and "LatinHypercube" not in json.dumps(schema)


@pytest.mark.slow  # starts two processes: seconds
def test_pool_and_in_process_write_the_same_bytes(tmp_path, monkeypatch):
    path = write_sweep(tmp_path, SMALL)
    sweep.run_sweep(path, workers=1, output=tmp_path / "here.parquet")
    # the pool's processes must not run the caller's main script again (an unguarded one, or AppTest's app)
    script = tmp_path / "main.py"
    script.write_text("raise SystemExit('the main script ran again')\n")
    main_module = type(sys)("__main__")
    main_module.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main_module)
    result = sweep.run_sweep(path, workers=2, output=tmp_path / "pool.parquet")
    assert result.mode == "pool of 2" and result.complete
    assert (tmp_path / "here.parquet").read_bytes() == (tmp_path / "pool.parquet").read_bytes()
    assert not list(tmp_path.glob(".*.parts"))  # the batches are removed once the table is written


def test_resume_continues_from_the_written_batches(tmp_path):
    path = write_sweep(tmp_path, SMALL | {"batch_size": 2})
    whole = tmp_path / "whole.csv"
    sweep.run_sweep(path, output=whole)
    out = tmp_path / "out.csv"
    batches = []
    stopped = sweep.run_sweep(
        path, output=out, should_stop=lambda: len(batches) >= 2, on_batch=batches.append
    )
    assert not stopped.complete and stopped.done == 4 and not out.exists()
    parts = tmp_path / ".out.csv.parts"
    assert len(list(parts.glob("points-*.parquet"))) == 2
    with pytest.raises(PricingError, match="pass --resume"):
        sweep.run_sweep(path, output=out)
    resumed = sweep.run_sweep(path, output=out, resume=True)
    assert resumed.complete and resumed.resumed == 4
    assert out.read_bytes() == whole.read_bytes()
    assert not parts.exists()


def test_resume_refuses_another_sweeps_batches(tmp_path):
    path = write_sweep(tmp_path, SMALL | {"batch_size": 2})
    out = tmp_path / "out.parquet"
    sweep.run_sweep(path, output=out, should_stop=lambda: True)
    path.write_text(path.read_text().replace("draws: 40", "draws: 41"))
    with pytest.raises(PricingError, match="another sweep"):
        sweep.run_sweep(path, output=out, resume=True)


def test_outputs_csv_netcdf_and_formula_cells(tmp_path):
    scenario = small_scenario_dict()
    scenario["variants"][1]["name"] = "=HYPERLINK(1)"
    body = {"changes": {"market.draws": 20}, "grid": {"offerings[Rival].price": [30, 40]}}
    path = write_sweep(tmp_path, body, scenario)
    result = sweep.run_sweep(path, output=tmp_path / "out.nc")
    import xarray as xr

    with xr.open_dataset(tmp_path / "out.nc", engine="h5netcdf") as data:
        back = data.to_dataframe()
    assert np.array_equal(back["mean"].values, result.table["mean"].values)
    assert list(back["variant"].unique()) == ["base", "=HYPERLINK(1)"]
    sweep.write_table(result.table, tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_text()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    with pytest.raises(PricingError, match="use .parquet, .csv or .nc"):
        sweep.write_table(result.table, tmp_path / "out.xlsx")


def test_cli_sweep(tmp_path, capsys):
    path = write_sweep(tmp_path, SMALL)
    out = tmp_path / "out.parquet"
    assert main(["sweep", str(path), "--workers", "1", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sweep: 6 points, 0 failed" in printed and f"wrote {out}" in printed
    assert "best expected profit of base" in printed
    table = pd.read_parquet(out)
    assert len(table) == 6 * (2 * 7 + 2 * 2 * 2 * 2) and "\r" not in printed  # no progress bar when piped
    assert main(["sweep", str(path), "--workers", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["points"] == 6 and report["failed"] == [] and len(report["rows"]) == len(table)
    best = report["best_by_profit"]
    profits = table[(table.kind == "summary") & (table.metric == "profit")]
    assert [b["mean"] for b in best] == list(profits.groupby("variant", sort=False)["mean"].max())
    assert main(["sweep", str(path), "--workers", "1"]) == 0  # the table as CSV on stdout
    captured = capsys.readouterr()
    assert captured.out.startswith("point,offerings[Rival].price,segments[budget].wtp.median,seed,kind")
    assert "sweep: 6 points" in captured.err
    for args, message in [
        (["--resume"], "give --output"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (["--workers", "0"], "at least 1"),
        (["--output", str(tmp_path / "x.txt")], "unknown file type"),
    ]:
        assert main(["sweep", str(path), *args]) == 2
        assert message in capsys.readouterr().err


def test_cli_exit_status_1_when_points_failed(tmp_path, capsys):
    body = {"changes": {"market.draws": 20}, "grid": {"offerings[Rival].price": [30, -1]}}
    assert main(["sweep", str(write_sweep(tmp_path, body)), "--workers", "1", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed"][0]["point"] == 1 and "greater than 0" in report["failed"][0]["error"]


def test_progress_bar_draws_rate_and_time_left():
    import io

    from pricing.cli import _ProgressBar

    stream = io.StringIO()
    bar = _ProgressBar(stream)
    bar(0, 100, 0.0)
    bar(50, 100, 10.0)
    bar.close()
    assert "50/100 points  5.0/s  10s left" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_example_sweep_file_is_valid():
    swept, scenario = sweep.load_sweep(EXAMPLE)
    assert sweep.plan(swept, scenario).size == 5 * 4 * 3


def test_sweep_chart_marks_the_best_cell():
    from pricing import charts

    cells = pd.DataFrame(
        {"a": [1.0, 1.0, 2.0, 2.0], "b": [5.0, 6.0, 5.0, 6.0], "mean": [1, 4, 2, 3], "q05": 0, "q95": 5}
    )
    heat = charts.sweep_chart(cells, "a", "profit", "EUR", y="b", best={"a": 1.0, "b": 6.0})
    assert [layer["mark"]["type"] for layer in heat["layer"]] == ["rect", "point"]
    assert heat["datasets"][heat["layer"][1]["data"]["name"]] == [{"x": 1.0, "y": 6.0}]
    lines = charts.sweep_chart(cells, "a", "share", "EUR", y="b", best={"a": 1.0, "b": 6.0}, lines=True)
    assert [layer["mark"]["type"] for layer in lines["layer"]] == ["line", "point"]
    assert lines["datasets"][lines["layer"][1]["data"]["name"]] == [{"x": 1.0, "mean": 4}]
    one = charts.sweep_chart(cells[cells.b == 5], "a", "best_price", "EUR", best={"a": 2.0})
    assert [layer["mark"]["type"] for layer in one["layer"]] == ["area", "line", "point"]
    assert one["layer"][1]["encoding"]["y"]["title"] == "Best price (EUR)"


def test_common_inputs_name_the_paths_and_todays_values():
    inputs = sweep.common_inputs(load_scenario(SCENARIOS / "saas_team_plan.yaml"))
    assert inputs["Price of Flow Team"] == ("offerings[0].price", 12.0)
    assert inputs["Price of BoardPro"] == ("offerings[2].price", 15.0)
    assert inputs["Median WTP of SMB"] == ("segments[1].wtp.median", 14.0)
    assert "Median WTP of Enterprise" not in inputs  # elicited as a range, not a median
    survey = sweep.common_inputs(load_scenario(SCENARIOS / "team_plan_survey.yaml"))
    assert not [label for label in survey if label.startswith("Median WTP")]  # WTP from a posterior
    assert survey["Size of SMB"][0] == "segments[1].size"


def dynamic_market() -> dict:
    """The small scenario with a rival that reprices and three periods of churn that satisfaction lowers."""
    data = small_scenario_dict()
    data["dynamics"] = {"horizon": 3, "retention": {"churn": 0.05, "satisfaction_effect": 1.0}}
    data["offerings"][1]["reacts"] = True
    return data


def test_equilibrium_and_over_time_rows_match_their_modules(tmp_path):
    from pricing.competition import converged_summary, equilibrium
    from pricing.dynamics import simulate_dynamics

    body = {
        "changes": {"market.draws": 30},
        "grid": {"offerings[Rival].unit_cost": [5, 15]},
        "keep": ["equilibrium", {"kind": "over_time", "prices": ["current", 50]}],
    }
    path = write_sweep(tmp_path, body, dynamic_market())
    table = sweep.run_sweep(path).table
    layout = sweep.plan(*sweep.load_sweep(path))
    base = load_scenario(tmp_path / "base.yaml")
    point = 1
    scenario = with_changes(base, {"market.draws": 30, "seed": layout.seed(point)} | layout.values(point))
    solved = equilibrium(scenario)
    price = converged_summary(solved.price, solved.converged).sel(variant="faster", offering="Rival")
    eq = table[(table.point == point) & (table.kind == "equilibrium")]
    mine = eq[(eq.variant == "faster") & (eq.offering == "Rival") & (eq.metric == "price")].iloc[0]
    assert mine["mean"] == pytest.approx(float(price["mean"]), rel=1e-12)
    assert mine["q95"] == pytest.approx(float(price["q95"]), rel=1e-12)
    share = eq[(eq.variant == "base") & (eq.metric == "converged")]["mean"].iloc[0]
    assert share == pytest.approx(float(solved.converged.sel(variant="base").mean()))
    # a costlier rival prices higher in equilibrium
    rival = table[(table.kind == "equilibrium") & (table.offering == "Rival") & (table.metric == "price")]
    by_cost = rival[rival.variant == "base"].set_index("offerings[Rival].unit_cost")["mean"]
    assert by_cost[15.0] > by_cost[5.0]
    over = simulate_dynamics(scenario, prices=[45.0, 50.0], per_period=False)
    ot = table[(table.point == point) & (table.kind == "over_time")]
    npv = ot[(ot.metric == "npv") & (ot.variant == "base") & (ot.price == 50.0)].iloc[0]
    assert npv["mean"] == pytest.approx(float(over.npv.sel(price=50.0, variant="base").mean()), rel=1e-12)
    clv = ot[(ot.metric == "clv") & (ot.segment == "premium") & (ot.price == 45.0) & (ot.variant == "faster")]
    expected = over.clv.sel(segment="premium", price=45.0, variant="faster").quantile(0.05)
    assert clv["q05"].iloc[0] == pytest.approx(float(expected), rel=1e-12)


def test_kinds_the_scenario_cannot_give_are_problems_of_the_file(tmp_path):
    body = {"grid": {"seed": [1]}, "keep": ["over_time"]}
    with pytest.raises(ScenarioError, match="over_time: the scenario has no dynamics section"):
        sweep.load_sweep(write_sweep(tmp_path, body))
    data = dynamic_market()
    data["market"]["choice_rule"] = "first_choice"
    with pytest.raises(ScenarioError, match="equilibrium: first-choice demand"):
        sweep.load_sweep(write_sweep(tmp_path, {"grid": {"seed": [1]}, "keep": ["equilibrium"]}, data))


def test_a_point_whose_data_file_is_missing_is_reported(tmp_path):
    body = {
        "changes": {"market.draws": 20},
        "grid": {"segments[budget].wtp": [{"median": 40, "spread": 0.3}, {"posterior": "missing.nc"}]},
    }
    result = sweep.run_sweep(write_sweep(tmp_path, body))
    assert [f["point"] for f in result.failures] == [1] and "missing.nc' not found" in result.failures[0][
        "error"
    ]
    assert result.failures[0]["values"] == {"segments[budget].wtp": '{"posterior":"missing.nc"}'}
    assert list(result.table.point.unique()) == [0]


def test_a_sweep_too_large_to_hold_is_refused_before_it_runs(tmp_path):
    body = {
        "grid": {"offerings[Rival].price": {"from": 1, "to": 2, "steps": 1001}, "seed": list(range(1000))}
    }
    with pytest.raises(ScenarioError, match="1,001,000 points; the limit is 1,000,000"):
        sweep.load_sweep(write_sweep(tmp_path, body))
