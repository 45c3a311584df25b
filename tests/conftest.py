"""Shared fixtures: small scenarios built in code, the example scenario files, seeded draws.

Test modules import the builders below with ``from conftest import ...``. Pytest imports every folder's
conftest.py under the one module name ``conftest`` (tests/app has its own), so the last one loaded would
answer that import; `pytest_pycollect_makemodule` points the name back at this module before each test
module under tests/ is imported, and `pytest_runtest_setup` before each test runs.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from pricing.scenario import Scenario, scenario_from_dict

# CI draws the same hypothesis examples on every run (a red CI is then a real regression, not an unlucky
# draw); locally the examples stay random, and the examples that failed are kept in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
EXAMPLE_FILES = sorted(SCENARIOS.glob("*.yaml"))


def small_scenario_dict() -> dict:
    """A small valid scenario as plain data: two attributes, two segments, us + one rival, two variants."""
    return {
        "schema_version": 2,
        "name": "small",
        "currency": "EUR",
        "seed": 7,
        "attributes": [
            {"name": "speed", "unit": "score", "kano": "one_dimensional"},
            {"name": "warranty", "unit": "years", "kano": "must_be"},
        ],
        "segments": [
            {
                "name": "budget",
                "size": 1000,
                "wtp": {"median": 40.0, "spread": 0.3},
                "logit_scale": 4.0,
                "expectations": {"speed": 5, "warranty": 1},
                "value_per_unit": {"speed": 2.0, "warranty": 5.0},
            },
            {
                "name": "premium",
                "size": 250,
                "wtp": {"low": 50.0, "high": 110.0},
                "logit_scale": 8.0,
                "expectations": {"speed": 7, "warranty": 2},
                "value_per_unit": {"speed": 6.0, "warranty": 10.0},
                "value_uncertainty": 0.2,
            },
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 45.0, "unit_cost": 20.0, "levels": {"speed": 6}},
            {"name": "Rival", "price": 40.0, "levels": {"speed": 5, "warranty": 1}},
        ],
        "variants": [
            {"name": "base"},
            {"name": "faster", "levels": {"speed": 8}, "extra_unit_cost": 3.0, "fixed_cost": 2000.0},
        ],
        "market": {"draws": 50, "price_grid": {"min": 20, "max": 90, "steps": 36}},
    }


def monopoly_dict(
    median: float = 50.0,
    spread: float = 0.25,
    logit_scale: float = 5.0,
    unit_cost: float = 10.0,
    price_grid: tuple[float, float, int] = (15.0, 120.0, 211),
) -> dict:
    """One segment, one offering (ours), no attributes and no uncertainty: every draw is the same."""
    low, high, steps = price_grid
    return {
        "schema_version": 2,
        "name": "monopoly",
        "segments": [
            {
                "name": "all customers",
                "size": 1000,
                "wtp": {"median": median, "spread": spread, "uncertainty": 0.0},
                "logit_scale": logit_scale,
            }
        ],
        "offerings": [{"name": "Ours", "owner": "us", "price": median, "unit_cost": unit_cost}],
        "market": {"draws": 4, "price_grid": {"min": low, "max": high, "steps": steps}},
    }


@pytest.fixture
def scenario_dict() -> dict:
    """A fresh copy of the small scenario's plain data, free to mutate."""
    return copy.deepcopy(small_scenario_dict())


@pytest.fixture
def small_scenario() -> Scenario:
    return scenario_from_dict(small_scenario_dict())


@pytest.fixture(params=EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def example_path(request) -> Path:
    """Each example scenario file in `scenarios/`."""
    return request.param


_THIS_MODULE = sys.modules[__name__]


@pytest.fixture(scope="module")
def choice_panel():
    """(design, arrays) of a small simulated choice panel: 16 respondents in two segments, 4 tasks, one
    respondent with a task fewer and one task with an alternative missing (the likelihoods' padding)."""
    from pricing.wtp.choice_data import code_rows, learn_design
    from pricing.wtp.data import read_survey

    sys.path.insert(0, str(SCENARIOS / "data"))
    from make_choice_data import COLUMNS, make_choice_data

    frame = make_choice_data(n_respondents=16, n_tasks=4, seed=3)
    frame = frame[~((frame["id"] == frame["id"].iloc[0]) & (frame["task"] == 4))]  # fewer tasks for one
    first = frame[(frame["id"] == frame["id"].iloc[-1]) & (frame["task"] == 1) & (frame["choice"] == 0)]
    frame = frame.drop(index=first.index[0])  # one task with an alternative missing
    data, label, _ = read_survey(frame)
    design = learn_design(data, COLUMNS, label)
    return design, code_rows(data, design, label)


@pytest.fixture
def two_task_arrays():
    """One respondent's two tasks, one coefficient: x (1, 0) with the first chosen, then (0.5, 2) with the
    second chosen and a third slot missing; the log-likelihoods' hand-worked example."""
    import numpy as np

    from pricing.wtp.choice_data import ChoiceArrays

    return ChoiceArrays(
        x=np.array([[[1.0], [0.0], [0.0]], [[0.5], [2.0], [0.0]]]),
        present=np.array([[True, True, False], [True, True, False]]),
        chosen=np.array([0, 1]),
        alt=np.array([["a", "b", ""], ["a", "b", ""]], dtype=object),
        respondent=np.array([0, 0]),
        respondents=["r"],
        respondent_segment=np.array([0]),
        segments=["all"],
    )


def pytest_pycollect_makemodule(module_path, parent):
    sys.modules["conftest"] = _THIS_MODULE


def pytest_runtest_setup(item):
    sys.modules["conftest"] = _THIS_MODULE


@pytest.fixture(autouse=True)
def _real_main_module():
    """Put back the real ``__main__`` after each test.

    AppTest runs page scripts as ``__main__`` and leaves ``sys.modules["__main__"]`` pointing at the last
    one; a process spawned later in the run (a sweep's pool, a Dask worker started or restarted by its
    nanny) would re-run that script and fail to start.
    """
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
