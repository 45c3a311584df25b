"""Kano categories in the scenario: per segment, and per draw from a Kano fit, through to the simulation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import small_scenario_dict

from pricing.errors import ScenarioError
from pricing.scenario import scenario_from_dict
from pricing.simulate import differentiation_values, segment_parameters, simulate
from pricing.value import KANO_WEIGHTS


def _scenario(**segment_kano):
    data = copy.deepcopy(small_scenario_dict())
    for segment in data["segments"]:
        segment["value_uncertainty"] = 0.0
        if segment["name"] in segment_kano:
            segment["kano"] = segment_kano[segment["name"]]
    return scenario_from_dict(data)


def test_a_segment_takes_its_own_kano_category():
    base = _scenario()
    own = _scenario(budget={"speed": "attractive"})
    rng = np.random.default_rng(0)
    parameters = segment_parameters(base, 20, rng)
    before = differentiation_values(base, parameters)
    after = differentiation_values(own, parameters)
    # budget expects speed 5; Ours offers 6 in "base" and 8 in "faster"; value 2 per unit. one_dimensional:
    # 2 x gap; attractive: 2 x 2 x gap. Rival offers the expected 5: gap 0 either way.
    offerings, variants = [o.name for o in base.offerings], [v.name for v in base.variants]
    ours, rival = offerings.index("Ours"), offerings.index("Rival")
    for v, gap in zip(range(len(variants)), (1, 3), strict=True):
        assert before[:, 0, ours, v] == pytest.approx(2.0 * gap)
        assert after[:, 0, ours, v] == pytest.approx(2.0 * KANO_WEIGHTS["attractive"][1] * gap)
    np.testing.assert_array_equal(after[:, 1], before[:, 1])  # premium keeps the attribute's category
    np.testing.assert_array_equal(after[:, :, rival], before[:, :, rival])


def test_per_draw_kano_weights_replace_the_categories():
    scenario = _scenario()
    parameters = segment_parameters(scenario, 6, np.random.default_rng(1))
    weights = np.zeros((6, 2, 2, 2))  # draw, segment, attribute, (shortfall, excess)
    weights[:, :, 0] = KANO_WEIGHTS["one_dimensional"]  # the scenario's categories: speed
    weights[:, :, 1] = KANO_WEIGHTS["must_be"]  # warranty
    weights[:, 0, 0, 1] = np.linspace(0.0, 1.0, 6)  # budget's excess weight on speed, per draw
    results = simulate(scenario, parameters=parameters | {"kano_weights": weights})
    plain = simulate(scenario, parameters=parameters)
    reference = np.exp(parameters["wtp_log_median"][:, 0])
    value = results["perceived_value"].sel(segment="budget", offering="Ours", variant="base").values
    np.testing.assert_allclose(value - reference, 2.0 * 1 * np.linspace(0.0, 1.0, 6))
    np.testing.assert_allclose(
        results["perceived_value"].sel(segment="premium").values,
        plain["perceived_value"].sel(segment="premium").values,
    )


def test_segment_kano_names_unknown_attributes_and_categories():
    data = copy.deepcopy(small_scenario_dict())
    data["segments"][0]["kano"] = {"sped": "attractive"}
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.kano\.sped: unknown attribute"):
        scenario_from_dict(data)
    data["segments"][0]["kano"] = {"speed": "delightful"}
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.kano\.speed"):
        scenario_from_dict(data)
