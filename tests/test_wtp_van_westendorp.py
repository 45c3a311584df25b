"""Van Westendorp PSM and NMS: a hand-checked example in pricesensitivitymeter's definitions, bad input."""

import numpy as np
import pandas as pd
import pytest

from pricing.errors import DataError, PricingError
from pricing.wtp.van_westendorp import (
    ANSWER_ROLES,
    PI_CALIBRATED,
    PI_SCALE,
    nms_trial,
    psm_analysis,
    psm_curves,
    read_psm,
)

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
    """pricesensitivitymeter's curves: too cheap / cheap = share strictly above p, the others at or below."""
    result = psm_analysis(SURVEY)
    assert (result.n_valid, result.n_invalid) == (4, 1)
    # grid = sorted unique answers of valid respondents
    assert result.curves.price.tolist() == [5, 6, 8, 10, 12, 15, 18, 20, 25, 30, 40]
    curves = result.curves.set_index("price")
    # too cheap(p) = share too_cheap > p, too_cheap = 5, 8, 10, 6 (at 5 the answer 5 itself is not above)
    np.testing.assert_array_equal(curves.too_cheap.loc[[5, 6, 8, 10, 12]], [0.75, 0.5, 0.25, 0, 0])
    # cheap(p) = share cheap > p, cheap = 10, 12, 15, 10
    np.testing.assert_array_equal(curves.cheap.loc[[8, 10, 12, 15]], [1, 0.5, 0.25, 0])
    # expensive(p) = share expensive <= p, expensive = 20, 18, 25, 15
    np.testing.assert_array_equal(curves.expensive.loc[[12, 15, 18, 20, 25]], [0, 0.25, 0.5, 0.75, 1])
    # too expensive(p) = share too_expensive <= p, too_expensive = 30, 25, 40, 20
    np.testing.assert_array_equal(curves.too_expensive.loc[[18, 20, 25, 30, 40]], [0, 0.25, 0.5, 0.75, 1])
    # PMC: not cheap >= too cheap first at 10 (0.5 >= 0; at 8: 0 < 0.25). With "share >= p" it was 12:
    # the grid price 10 is an answer of two respondents, which that definition still counted as too cheap.
    assert result.pmc == 10
    # PME: too expensive >= not expensive first at 20 (0.25 >= 0.25; at 18: 0 < 0.5)
    assert result.pme == 20
    # IDP: expensive >= cheap first at 15 (0.25 >= 0; at 12: 0 < 0.25)
    assert result.idp == 15
    # OPP: too expensive >= too cheap first at 10 (0 >= 0; at 8: 0 < 0.25)
    assert result.opp == 10
    assert result.nms is None and result.trial_price is None


def test_intersection_methods_pick_among_equal_values():
    # too expensive and too cheap are both 0 at 10, 12, 15 and 18: the OPP is any of them
    opp = {m: psm_analysis(SURVEY, intersection_method=m).opp for m in ("min", "max", "mean", "median")}
    assert opp == {"min": 10, "max": 18, "mean": (10 + 12 + 15 + 18) / 4, "median": (12 + 15) / 2}
    # a single crossing is the same price under every method
    assert {psm_analysis(SURVEY, intersection_method=m).pmc for m in ("min", "max", "mean", "median")} == {10}
    with pytest.raises(PricingError, match="intersection_method: 'first' is not one of 'min'"):
        psm_analysis(SURVEY, intersection_method="first")


def test_interpolation_as_pricesensitivitymeter():
    result = psm_analysis(SURVEY, interpolate=True, interpolation_steps=1)
    curves = result.curves.set_index("price")
    assert curves.index.tolist() == list(range(5, 41))  # seq(5, 40, by = 1)
    # at 9, halfway between 8 and 10: not cheap 0.25 >= too cheap 0.125, and at 8: 0 < 0.25
    assert curves.not_cheap.loc[9] == 0.25 and curves.too_cheap.loc[9] == 0.125
    assert result.pmc == 9
    # IDP: at 13, expensive 1/12 < cheap 1/6; at 14, 1/6 >= 1/12
    assert result.idp == 14
    # OPP: both curves 0 from 10 to 18
    assert result.opp == 10
    assert (
        psm_analysis(SURVEY, interpolate=True, interpolation_steps=1, intersection_method="median").opp == 14
    )
    with pytest.raises(PricingError, match="interpolation_steps: 1e-07 gives 350,000,001 prices"):
        psm_analysis(SURVEY, interpolate=True, interpolation_steps=1e-7)


def _dense_nms_trial(answers, grid, interpolation):
    """The respondents x grid reference (the earlier implementation) for the O(n + grid) NMS."""
    calibration = dict(zip(PI_SCALE, PI_CALIBRATED, strict=True))
    valid = answers.valid
    w = answers.weight[valid] / answers.weight[valid].sum()
    pc = np.array([calibration[v] for v in answers.pi_cheap[valid]])[:, None]
    pe = np.array([calibration[v] for v in answers.pi_expensive[valid]])[:, None]
    position = np.arange(len(grid), dtype=float) if interpolation == "grid" else grid
    tc, ch, ex, te = (
        position[np.searchsorted(grid, getattr(answers, r)[valid])][:, None] for r in ANSWER_ROLES
    )
    x = position[None, :]
    probability = np.zeros((len(w), len(grid)))
    probability = np.where((x >= tc) & (x <= ch), pc * (x - tc) / (ch - tc), probability)
    probability = np.where((x > ch) & (x <= ex), pc + (pe - pc) * (x - ch) / (ex - ch), probability)
    probability = np.where((x > ex) & (x <= te), pe * (te - x) / (te - ex), probability)
    return w @ probability


@pytest.mark.parametrize("interpolation", ["grid", "price"])
def test_nms_from_slope_changes_equals_the_dense_sum(interpolation):
    rng = np.random.default_rng(3)
    n = 400
    low = rng.integers(1, 40, n).astype(float)
    answers = np.cumsum(np.column_stack([low, rng.integers(0, 15, (n, 3))]), axis=1)  # some ties: invalid
    frame = pd.DataFrame(answers, columns=list(ANSWER_ROLES)).assign(
        pi_cheap=rng.integers(1, 6, n).astype(str),
        pi_expensive=rng.integers(1, 6, n).astype(str),
        weight=rng.uniform(0.5, 2, n),
    )
    data = read_psm(frame, PI | {"weight": "weight"})[0]
    grid = psm_curves(data).price.to_numpy()
    fast = nms_trial(data, grid, interpolation=interpolation).trial.to_numpy()
    np.testing.assert_allclose(fast, _dense_nms_trial(data, grid, interpolation), rtol=1e-9, atol=1e-12)


def test_curves_are_rs_ecdf_bit_for_bit():
    rng = np.random.default_rng(5)
    base = rng.integers(100, 10_000, 2_000) / 100  # prices in cents, many ties across questions
    frame = pd.DataFrame(
        {"too_cheap": base, "cheap": base + 1, "expensive": base + 2.5, "too_expensive": base + 4}
    )
    curves = psm_analysis(frame).curves
    grid = curves.price.to_numpy()
    n = len(frame)
    # R: ecdf(x)(p) = cumsum(tabulate(match(x, sort(unique(x)))))/n, i.e. count(x <= p) / n
    for role, reverse in (
        ("too_cheap", True),
        ("cheap", True),
        ("expensive", False),
        ("too_expensive", False),
    ):
        count = (frame[role].to_numpy()[:, None] <= grid).sum(axis=0)
        expected = 1 - count / n if reverse else count / n
        np.testing.assert_array_equal(curves[role].to_numpy(), expected, err_msg=role)


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
    # too cheap at 6: respondents with too_cheap > 6 are r2 and r3 -> weight 2 of 6 (r1's 5 weighs 3)
    assert result.curves.set_index("price").too_cheap.loc[6] == pytest.approx(1 / 3)
    # expensive at 18: expensive <= 18 are r2 (18) and r4 (15) -> 2 of 6; r1's 20 weighs 3 at 20
    assert result.curves.set_index("price").expensive.loc[[18, 20]].tolist() == pytest.approx([1 / 3, 5 / 6])


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
