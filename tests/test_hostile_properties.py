"""Hypothesis strategies over scenario files, survey CSVs and CLI options: whatever they hold, the answer is
a valid result with finite numbers, or one bounded message (`ScenarioError` / `DataError`, CLI exit 2)."""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from pathlib import Path

import numpy as np
import pymc  # noqa: F401 - imported here, not inside a property (it raises the recursion limit)
import pytest
import yaml
from conftest import small_scenario_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.cli import main
from pricing.errors import PricingError, ScenarioError
from pricing.limits import MAX_LINE, MAX_PROBLEMS
from pricing.scenario import parse_scenario
from pricing.simulate import simulate
from pricing.wtp.gabor_granger import gabor_granger_table
from pricing.wtp.stated import StatedWTP

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: numbers as hostile users write them: huge, tiny, signed, non-finite, binary and hex, thousands of digits
hostile_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-308, 5e-324, 2**63, 2**64, 10**400, 8e8, 1.5e9, 1e-12]),
)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "=cmd|' /C calc'!A0", "@SUM(A1)", "+ 24/7 support", "nan", "inf", "1,234.5"]),
    st.just("x" * 5000),
)
hostile_values = st.one_of(
    hostile_numbers,
    hostile_text,
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(data, prefix=()):
    """Every (path, value) in nested scenario data: where a hostile value may go."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


BASE = small_scenario_dict()
PATHS = [p for p in _paths(BASE) if p]


@st.composite
def hostile_scenarios(draw) -> str:
    """The YAML text of a valid scenario with one to three values replaced by hostile ones."""
    data = copy.deepcopy(BASE)
    data["market"] = {**data.get("market", {}), "draws": 20}
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        node = data
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = draw(hostile_values)
        except (KeyError, IndexError, TypeError):  # an earlier replacement removed the place
            continue
    return yaml.safe_dump(data, allow_unicode=True)


def _assert_bounded(problems: list[str]) -> None:
    assert 1 <= len(problems) <= MAX_PROBLEMS + 1
    assert all("\n" not in p and len(p) <= MAX_LINE for p in problems)


@SETTINGS
@given(hostile_scenarios())
def test_a_scenario_file_simulates_to_finite_numbers_or_is_refused_in_bounded_lines(text):
    try:
        scenario = parse_scenario(text)
    except ScenarioError as error:
        _assert_bounded(error.problems)
        return
    try:
        results = simulate(scenario)
    except PricingError as error:  # e.g. a posterior file that is not there
        _assert_bounded([str(error)])
        return
    for name, values in results.data_vars.items():
        assert np.isfinite(values.values).all(), name


# ---- survey CSVs ---------------------------------------------------------------------------------------

cells = st.one_of(
    hostile_text,
    hostile_numbers.map(lambda v: str(v) if not isinstance(v, int) or abs(v) < 10**300 else "9" * 400),
    st.sampled_from(["yes", "no", "1", "0", "10", "12.5", '"quoted, cell"']),
)


@st.composite
def survey_csvs(draw) -> bytes:
    """A Gabor-Granger / stated survey: a header, rows of hostile cells, any line ending."""
    header = draw(
        st.sampled_from(["respondent,price,answer,weight", "respondent;price;answer;weight", "wtp"])
    )
    width = len(header.replace(";", ",").split(","))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=0, max_size=12))
    separator = ";" if ";" in header else ","
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [header] + [separator.join(c.replace("\n", " ").replace("\r", " ") for c in row) for row in rows]
    return (newline.join(lines) + newline).encode("utf-8", errors="replace")


@SETTINGS
@given(survey_csvs())
def test_a_survey_csv_reads_to_finite_numbers_or_is_one_line(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "survey.csv"
        path.write_bytes(content)
        for read in (
            lambda: gabor_granger_table(path, {"weight": "weight"}).table[["share", "revenue"]].to_numpy(),
            lambda: StatedWTP().read(path)[0].lower,
        ):
            try:
                values = np.asarray(read(), dtype=float)
            except PricingError as error:
                message = str(error)
                assert "\n" not in message and len(message) <= MAX_LINE, message[:300]
                continue
            assert not np.isnan(values).any()


# ---- CLI options ---------------------------------------------------------------------------------------

option_values = st.one_of(
    st.integers(min_value=-5, max_value=60).map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["", " ", "abc", "1e3", "0x10", "+3", "-0", "٣", "²", "9" * 5000, "1.5", "nan"]),
)
outputs = st.sampled_from(["", "/", "/proc/x.csv", "{tmp}/x.txt", "{tmp}/a.csv", "{tmp}", "/dev/null", None])


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "s.yaml"
    data = small_scenario_dict()
    data["market"] = {"draws": 20}
    path.write_text(yaml.safe_dump(data))
    return path


@SETTINGS
@given(draws=option_values, seed=option_values, output=outputs)
def test_simulate_options_give_a_result_or_one_line(scenario_file, draws, seed, output):
    argv = ["simulate", str(scenario_file), "--draws", draws, "--seed", seed]
    with tempfile.TemporaryDirectory() as folder:
        if output is not None:
            argv += ["-o", output.replace("{tmp}", folder)]
        status, out, err = _run(argv)
    assert status in (0, 2), (status, err)
    if status == 2:
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    else:
        assert "best price" in out and "nan" not in out.lower()


@SETTINGS
@given(
    draws=option_values,
    tune=option_values,
    chains=option_values,
    priors=st.one_of(st.none(), hostile_text, st.sampled_from(['{"segment_sd_sd": 1e308}', "[]", "{}"])),
)
def test_fit_options_are_checked_before_any_sampling(tmp_path_factory, draws, tune, chains, priors):
    """The data file has no WTP column: valid options reach it (one line naming it), bad ones are named."""
    survey = tmp_path_factory.getbasetemp() / "no_wtp.csv"
    survey.write_text("amount_eur\n10\n")
    argv = ["fit", "stated", str(survey), "--draws", draws, "--tune", tune, "--chains", chains]
    if priors is not None:
        argv += ["--priors", priors]
    status, out, err = _run(argv)
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_strategies_reach_both_outcomes():
    """The scenario strategy yields valid and refused files (else the property above tests one side)."""
    outcomes = set()

    @settings(max_examples=60, deadline=None)
    @given(hostile_scenarios())
    def collect(text):
        try:
            parse_scenario(text)
            outcomes.add("valid")
        except ScenarioError:
            outcomes.add("refused")

    collect()
    assert outcomes == {"valid", "refused"}
