"""Van Westendorp PSM and NMS: a hand-checked example in pricesensitivitymeter's definitions, bad input."""

import numpy as np
import pandas as pd
import pytest

from pricing.errors import DataError
from pricing.wtp.van_westendorp import psm_analysis, read_psm

# Four valid respondents and one invalid (cheap 8 below too cheap 10): dropped and counted.
SURVEY = pd.DataFrame(
    {
        "too_cheap": [5, 8, 10, 6, 10],
        "cheap": [10, 12, 15, 10, 8],
        "expensive": [20, 18, 25, 15, 20],
        "too_expensive": [30, 25, 40, 20, 30],
        "pi_cheap": ["5", "4", "Very likely", "3", "5"],
        "pi_expensive": ["3", "2", "Neutral", "1", "5"],
    }
)
PI = {"pi_cheap": "pi_cheap", "pi_expensive": "pi_expensive"}


def test_price_points_by_hand():
    result = psm_analysis(SURVEY)
    assert (result.n_valid, result.n_invalid) == (4, 1)
    # grid = sorted unique answers of valid respondents
    assert result.curves.price.tolist() == [5, 6, 8, 10, 12, 15, 18, 20, 25, 30, 40]
    curves = result.curves.set_index("price")
    # too cheap(p) = share too_cheap >= p, too_cheap = 5, 8, 10, 6
    np.testing.assert_allclose(curves.too_cheap.loc[[5, 6, 8, 10, 12]], [1, 0.75, 0.5, 0.25, 0])
    # cheap(p) = share cheap >= p, cheap = 10, 12, 15, 10
    np.testing.assert_allclose(curves.cheap.loc[[10, 12, 15, 18]], [1, 0.5, 0.25, 0])
    # expensive(p) = share expensive <= p, expensive = 20, 18, 25, 15
    np.testing.assert_allclose(curves.expensive.loc[[12, 15, 18, 20, 25]], [0, 0.25, 0.5, 0.75, 1])
    # too expensive(p) = share too_expensive <= p, too_expensive = 30, 25, 40, 20
    np.testing.assert_allclose(curves.too_expensive.loc[[18, 20, 25, 30, 40]], [0, 0.25, 0.5, 0.75, 1])
    # PMC: not cheap >= too cheap first at 12 (0.5 >= 0; at 10: 0 < 0.25)
    assert result.pmc == 12
    # PME: too expensive >= not expensive first at 20 (0.25 >= 0.25; at 18: 0 < 0.5)
    assert result.pme == 20
    # IDP: expensive >= cheap first at 15 (0.25 >= 0.25; at 12: 0 < 0.5)
    assert result.idp == 15
    # OPP: too expensive >= too cheap first at 12 (0 >= 0; at 10: 0 < 0.25)
    assert result.opp == 12
    assert result.nms is None and result.trial_price is None


def test_newton_miller_smith_by_hand():
    result = psm_analysis(SURVEY, PI)
    # Calibrated: r1 0.7/0.3, r2 0.5/0.1, r3 0.7/0.3, r4 0.3/0. Grid positions 5:0 6:1 8:2 10:3 12:4 15:5
    # 18:6 20:7 25:8 30:9 40:10; probability 0 at too cheap/too expensive, linear by position in between.
    # At 12 (pos 4): r1 (c pos 3 -> e pos 7) 0.7 - 0.4/4 = 0.6; r2 at cheap 0.5; r3 (tc pos 3 -> c pos 5)
    # 0.35; r4 (c pos 3 -> e pos 5) 0.3 - 0.3/2 = 0.15 -> trial 1.6 / 4 = 0.4, the highest trial.
    # At 15 (pos 5): 0.5 + 0.3 + 0.7 + 0 = 1.5 -> trial 0.375, revenue 5.625, the highest revenue
    # (12 x 0.4 = 4.8, 18 x (0.4 + 0.1 + 0.5667 + 0) / 4 = 4.8).
    nms = result.nms.set_index("price")
    expected_trial = {5: 0, 6: 0.7 / 3 / 4, 10: 1.25 / 4, 12: 0.4, 15: 0.375, 18: (0.4 + 0.1 + 1.7 / 3) / 4}
    for price, trial in expected_trial.items():
        assert nms.trial.loc[price] == pytest.approx(trial), price
    assert nms.revenue.loc[15] == pytest.approx(5.625)
    assert result.trial_price == 12 and result.revenue_price == 15
    by_price = psm_analysis(SURVEY, PI, nms_interpolation="price").nms.set_index("price")
    # by price at 12: r1 0.7 + (0.3 - 0.7) x (12 - 10) / (20 - 10) = 0.62; r2 0.5 (its cheap price);
    # r3 0.7 x (12 - 10) / (15 - 10) = 0.28; r4 0.3 + (0 - 0.3) x (12 - 10) / (15 - 10) = 0.18
    assert by_price.trial.loc[12] == pytest.approx((0.62 + 0.5 + 0.28 + 0.18) / 4)


def test_weights_scale_the_shares():
    weighted = SURVEY.assign(weight=[3, 1, 1, 1, 1])
    result = psm_analysis(weighted, {"weight": "weight"})
    # too cheap at 6: respondents with too_cheap >= 6 are r2, r3, r4 -> weight 3 of 6
    assert result.curves.set_index("price").too_cheap.loc[6] == pytest.approx(0.5)


def test_bad_input(tmp_path):
    path = tmp_path / "psm.csv"
    path.write_text("too_cheap,cheap,expensive,too_expensive\n5,10,20,30\n5,abc,20,30\n")
    with pytest.raises(DataError, match=r"column 'cheap': line 3 are not numbers \(got 'abc'\)"):
        read_psm(path)
    path.write_text("too_cheap,cheap,expensive,too_expensive,pi_c,pi_e\n5,10,20,30,5,3\n5,10,20,30,7,Maybe\n")
    with pytest.raises(DataError, match=r"column 'pi_c': line 3 are not valid answers \(got '7'"):
        read_psm(path, {"pi_cheap": "pi_c", "pi_expensive": "pi_e"})
    path.write_text("too_cheap,cheap,expensive,too_expensive\n50,10,20,30\n")
    with pytest.raises(DataError, match="no respondent has strictly increasing answers"):
        read_psm(path)
    path.write_text("too_cheap,cheap,expensive\n5,10,20\n")
    with pytest.raises(DataError, match=r"column 'too_expensive' \(too_expensive\) not found"):
        read_psm(path)
    # a blank answer makes the respondent invalid (dropped and counted), as in pricesensitivitymeter
    path.write_text("too_cheap,cheap,expensive,too_expensive\n5,10,20,30\n,10,20,30\n")
    assert psm_analysis(path).n_invalid == 1
