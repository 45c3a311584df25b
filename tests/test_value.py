"""Perceived value: Kano shapes, differentiation value, satisfaction and Economic Value Estimation."""

import math

import numpy as np
import pytest

from pricing.value import (
    KANO_WEIGHTS,
    differentiation_value,
    economic_value_estimation,
    kano_shape,
    satisfaction_index,
)

# A textbook-style EVE: our team plan against the customer's next-best alternative (the reference offering,
# priced 100 EUR/month). Four attributes, one of each Kano shape that matters:
#
#   attribute      kano             value/unit  expected  ours  reference
#   support_hours  must_be            3.0          8        6      8
#   storage_tb     must_be            2.0         10       18     10
#   integrations   one_dimensional    1.5         10       16     12
#   onboarding     attractive         4.0          0        3      0
#   branding       indifferent       50.0          0        5      0
#
# Kano-shaped gaps (shortfall weight x gap below expectation, excess weight x gap above it):
#   support_hours: ours 2 x (6 - 8) = -4, reference 0          -> 3.0 x (-4 - 0) = -12  (must-be shortfall)
#   storage_tb:    ours 0.25 x (18 - 10) = 2, reference 0      -> 2.0 x (2 - 0)  =  +4  (must-be excess)
#   integrations:  ours 1 x 6 = 6, reference 1 x 2 = 2          -> 1.5 x (6 - 2)  =  +6
#   onboarding:    ours 2 x 3 = 6, reference 0                 -> 4.0 x (6 - 0)  = +24  (attractive excess)
#   branding:      indifferent                                  ->                    0
# positive differentiation = 4 + 6 + 24 = 34, negative differentiation = 12
# economic value = reference value 100 + 34 - 12 = 122 EUR/month.
EVE = {
    "kano": {
        "support_hours": "must_be",
        "storage_tb": "must_be",
        "integrations": "one_dimensional",
        "onboarding": "attractive",
        "branding": "indifferent",
    },
    "value_per_unit": {
        "support_hours": 3.0,
        "storage_tb": 2.0,
        "integrations": 1.5,
        "onboarding": 4.0,
        "branding": 50.0,
    },
    "expectations": {
        "support_hours": 8,
        "storage_tb": 10,
        "integrations": 10,
        "onboarding": 0,
        "branding": 0,
    },
    "ours": {"support_hours": 6, "storage_tb": 18, "integrations": 16, "onboarding": 3, "branding": 5},
    "reference": {"support_hours": 8, "storage_tb": 10, "integrations": 12, "onboarding": 0, "branding": 0},
}


def _eve():
    return economic_value_estimation(
        reference_price=100.0,
        levels=EVE["ours"],
        reference_levels=EVE["reference"],
        expectations=EVE["expectations"],
        value_per_unit=EVE["value_per_unit"],
        kano=EVE["kano"],
    )


def test_eve_worked_example():
    eve = _eve()
    assert eve.by_attribute == pytest.approx(
        {"support_hours": -12.0, "storage_tb": 4.0, "integrations": 6.0, "onboarding": 24.0, "branding": 0.0}
    )
    assert eve.reference_value == 100.0
    assert eve.positive_differentiation == pytest.approx(34.0)
    assert eve.negative_differentiation == pytest.approx(12.0)
    assert eve.economic_value == pytest.approx(122.0)


def test_eve_against_itself_is_the_reference_price():
    eve = economic_value_estimation(
        100.0, EVE["ours"], EVE["ours"], EVE["expectations"], EVE["value_per_unit"], EVE["kano"]
    )
    assert eve.economic_value == pytest.approx(100.0)
    assert eve.positive_differentiation == 0 and eve.negative_differentiation == 0


def test_eve_missing_levels_meet_expectations():
    # Leaving out our onboarding level means "meets the expectation" (gap 0): the +24 disappears.
    ours = {k: v for k, v in EVE["ours"].items() if k != "onboarding"}
    eve = economic_value_estimation(
        100.0, ours, EVE["reference"], EVE["expectations"], EVE["value_per_unit"], EVE["kano"]
    )
    assert eve.by_attribute["onboarding"] == 0.0
    assert eve.economic_value == pytest.approx(98.0)


def test_differentiation_value_matches_eve():
    # Differentiation against expectations: ours -12 + 4 + 9 + 24 + 0 = 25, the reference 1.5 x 2 = 3;
    # EVE's net differentiation is their difference, 22 = 34 - 12.
    names = list(EVE["kano"])
    kano = [EVE["kano"][n] for n in names]
    unit = np.array([EVE["value_per_unit"][n] for n in names])
    expected = np.array([EVE["expectations"][n] for n in names], dtype=float)
    levels = np.array([[EVE["ours"][n] for n in names], [EVE["reference"][n] for n in names]], dtype=float)
    diff = differentiation_value(levels, expected, unit, kano)
    np.testing.assert_allclose(diff, [25.0, 3.0])
    eve = _eve()
    assert diff[0] - diff[1] == pytest.approx(eve.positive_differentiation - eve.negative_differentiation)


def test_differentiation_value_nan_level_meets_expectation_and_broadcasts():
    # (segment=2, offering=3, attribute=2): NaN levels count as gap 0 whatever the expectation.
    levels = np.array([[[np.nan, np.nan], [7.0, np.nan], [3.0, 4.0]]])  # (1, 3, 2)
    expected = np.array([[[5.0, 1.0]], [[6.0, 2.0]]])  # (2, 1, 2)
    unit = np.array([[[2.0, 10.0]], [[4.0, 20.0]]])
    diff = differentiation_value(levels, expected, unit, ["one_dimensional", "attractive"])
    assert diff.shape == (2, 3)
    # segment 0: [0, 2*(7-5)=4, 2*(3-5) + 10*2*(4-1) = -4 + 60 = 56]
    # segment 1: [0, 4*(7-6)=4, 4*(3-6) + 20*2*(4-2) = -12 + 80 = 68]
    np.testing.assert_allclose(diff, [[0, 4, 56], [0, 4, 68]])


@pytest.mark.parametrize(
    ("kano", "gaps", "expected"),
    [
        ("must_be", [-2.0, 0.0, 4.0], [-4.0, 0.0, 1.0]),  # shortfall hurts double, excess adds a quarter
        ("one_dimensional", [-2.0, 0.0, 4.0], [-2.0, 0.0, 4.0]),
        ("attractive", [-2.0, 0.0, 4.0], [-0.5, 0.0, 8.0]),  # missing barely noticed, excess delights
        ("indifferent", [-2.0, 0.0, 4.0], [0.0, 0.0, 0.0]),
    ],
)
def test_kano_shapes(kano, gaps, expected):
    shortfall, excess = KANO_WEIGHTS[kano]
    np.testing.assert_allclose(kano_shape(np.array(gaps), shortfall, excess), expected)


def test_kano_shapes_are_monotone_and_asymmetric_as_documented():
    gaps = np.linspace(-5, 5, 101)
    for kano, (shortfall, excess) in KANO_WEIGHTS.items():
        shaped = kano_shape(gaps, shortfall, excess)
        assert np.all(np.diff(shaped) >= 0), kano
    must_short, must_excess = KANO_WEIGHTS["must_be"]
    attr_short, attr_excess = KANO_WEIGHTS["attractive"]
    assert must_short > 1 > must_excess and attr_excess > 1 > attr_short


def test_satisfaction_index():
    # 100 tanh(differentiation / reference WTP): 0 when expectations are met, about the over-delivery in
    # percent for small gaps, saturating at +-100.
    assert satisfaction_index(0.0, 80.0) == 0.0
    assert satisfaction_index(10.0, 100.0) == pytest.approx(100 * math.tanh(0.1))  # 9.967
    assert satisfaction_index(10.0, 100.0) == pytest.approx(9.9668, abs=1e-4)
    assert satisfaction_index(-10.0, 100.0) == pytest.approx(-9.9668, abs=1e-4)
    assert satisfaction_index(1e6, 10.0) == pytest.approx(100.0)
    assert satisfaction_index(-1e6, 10.0) == pytest.approx(-100.0)
    values = satisfaction_index(np.linspace(-50, 50, 11), np.full(11, 25.0))
    assert np.all(np.diff(values) > 0)
