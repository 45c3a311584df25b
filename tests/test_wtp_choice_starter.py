"""The conjoint starter scenario: the data's attributes and levels, values from the fit, real products.

A fit is built by hand (the data's design and coding, a posterior of known numbers), so no sampling."""

from __future__ import annotations

import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from pricing.scenario import load_scenario, save_scenario, scenario_from_dict
from pricing.simulate import simulate
from pricing.wtp.choice import ChoiceFit
from pricing.wtp.choice_data import code_rows, learn_design
from pricing.wtp.choice_report import chosen_profiles, starter_scenario
from pricing.wtp.data import read_survey

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))
from make_choice_data import COLUMNS, make_choice_data  # noqa: E402

#: Posterior means of each segment's money values (EUR per unit, per level against green).
VALUES = {
    "students": {"storage": 4.0, "speed": 3.3, "colour=red": 2.7, "colour=blue": -2.0},
    "pros": {"storage": 11.0, "speed": 10.0, "colour=red": -2.5, "colour=blue": 3.8},
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return make_choice_data(n_respondents=60, n_tasks=6, seed=1)


@pytest.fixture(scope="module")
def fit(data) -> ChoiceFit:
    frame, label, _ = read_survey(data)
    design = learn_design(frame, COLUMNS, label)
    arrays = code_rows(frame, design, label)
    rng = np.random.default_rng(0)
    attributes = list(VALUES["students"])
    value = np.array([[VALUES[s][a] for a in attributes] for s in ("students", "pros")])
    posterior = {
        "value_per_unit": value + 0.1 * rng.standard_normal((2, 100, 2, 4)),
        "logit_scale": np.full((2, 100, 2), 8.0),
        "wtp_log_median": np.log(20.0) + 0.05 * rng.standard_normal((2, 100, 2)),
        "wtp_log_sd": np.full((2, 100, 2), 0.3),
    }
    dims = {"value_per_unit": ["segment", "attribute"], "logit_scale": ["segment"]}
    dims |= {"wtp_log_median": ["segment"], "wtp_log_sd": ["segment"]}
    idata = az.from_dict(
        posterior=posterior, coords={"segment": ["students", "pros"], "attribute": attributes}, dims=dims
    )
    return ChoiceFit.of_idata(
        idata, design=design, random=(), method="map", priors={}, diagnostics={}, arrays=arrays
    )


def test_starter_uses_the_datas_attributes_and_levels_and_the_fits_values(fit, tmp_path):
    data = starter_scenario(fit, posterior_path="fit.nc")
    scenario = scenario_from_dict(data)
    attributes = {a.name: a.levels for a in scenario.attributes}
    # the reference level first, then in order of appearance in the data
    assert attributes == {"storage": None, "speed": None, "colour": ("green", "blue", "red")}
    pros = scenario.segments[1]
    assert pros.expectations == {"storage": 2.0, "speed": 2.0, "colour": "green"}
    assert set(pros.value_per_unit["colour"]) == {"red", "blue"}
    # with the saved fit every value points to it (the simulator takes its joint draws) ...
    assert pros.value_per_unit["colour"]["blue"].posterior == "fit.nc"
    assert pros.wtp.file == "fit.nc" and pros.wtp.segment == "pros"
    # ... without it, the posterior medians
    numbers = scenario_from_dict(starter_scenario(fit)).segments[1]
    assert numbers.value_per_unit["colour"]["blue"] == pytest.approx(3.8, abs=0.05)
    assert numbers.value_per_unit["storage"] == pytest.approx(11.0, abs=0.05)
    assert "from the saved fit fit.nc" in scenario.description
    save_scenario(scenario, tmp_path / "starter.yaml")
    assert load_scenario(tmp_path / "starter.yaml") == scenario


def test_starter_offerings_are_the_most_chosen_profiles_named_by_their_levels(fit, data):
    chosen = data[(data["choice"] == 1) & (data["alt"] != "none")]
    counts = chosen.groupby(["price", "storage", "speed", "colour"]).size().sort_values(ascending=False)
    profiles = chosen_profiles(fit)
    assert profiles["chosen"].tolist() == sorted(counts.tolist(), reverse=True)
    assert profiles["chosen"].sum() == len(chosen)
    scenario = scenario_from_dict(starter_scenario(fit))
    assert len(scenario.offerings) == 3  # as many as a task offers
    top = profiles.iloc[0]
    ours = scenario.our_offering
    assert ours is scenario.offerings[0]
    assert ours.price == top["price"]
    assert ours.levels == {"storage": top["storage"], "speed": top["speed"], "colour": top["colour"]}
    assert ours.name == f"storage {top['storage']:g}, speed {top['speed']:g}, colour {top['colour']}"
    assert counts.iloc[0] == top["chosen"]


def test_starter_takes_the_users_products_and_simulates_with_level_values(fit):
    products = [
        {"name": "Basic", "price": 15, "levels": {"storage": 1, "colour": "green"}},
        {"name": "Red plus", "price": 25, "levels": {"storage": 4, "speed": 3, "colour": "red"}},
    ]
    scenario = scenario_from_dict(starter_scenario(fit, products=products))
    assert [o.name for o in scenario.offerings] == ["Basic", "Red plus"]
    assert scenario.our_offering.name == "Basic"
    value = simulate(scenario, draws=20).perceived_value.isel(variant=0).mean("draw")
    students = scenario.segments[0]
    expected = (
        students.wtp.median
        + students.value_per_unit["storage"] * 2
        + students.value_per_unit["speed"] * 1
        + students.value_per_unit["colour"]["red"]
    )
    assert float(value.sel(segment="students", offering="Red plus")) == pytest.approx(expected, rel=0.02)


def test_products_from_the_command_line_name_levels_as_the_data_does(fit):
    from pricing.errors import DataError
    from pricing.wtp.choice_report import product_from_text

    product = product_from_text("Red plus: storage=4, colour=red, price=25", fit)
    assert product == {"name": "Red plus", "price": 25.0, "levels": {"storage": 4.0, "colour": "red"}}
    assert product_from_text("speed=3, price=9", fit) == {"price": 9.0, "levels": {"speed": 3.0}}
    for text, message in (
        ("storage=4", "give its price"),
        ("x: size=4, price=3", "unknown attribute 'size'"),
        ("storage=big, price=3", "storage must be a number"),
        ("storage, price=3", "is not ATTRIBUTE=LEVEL"),
    ):
        with pytest.raises(DataError, match=message):
            product_from_text(text, fit)
    with pytest.raises(Exception, match="not one of its levels"):
        scenario_from_dict(starter_scenario(fit, products=[product_from_text("colour=pink, price=3", fit)]))
