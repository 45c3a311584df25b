"""Gabor-Granger: the classic table on a hand-checked example, answers -> WTP bounds, bad input."""

import numpy as np
import pytest

from pricing.errors import DataError, PricingError
from pricing.wtp.gabor_granger import answer_intervals, gabor_granger_table, read_answers

# Prices 10, 20, 30. Answers (yes = would buy):
#   r1: yes yes no  -> WTP in [20, 30)
#   r2: yes no  no  -> [10, 20)
#   r3: yes yes yes -> [30, inf)
#   r4: no  no  no  -> [0, 10)
#   r5: no  yes no  -> inconsistent (yes at 20 above a no at 10)
ANSWERS = {
    "r1": ("yes", "yes", "no"),
    "r2": ("yes", "no", "no"),
    "r3": ("yes", "yes", "yes"),
    "r4": ("no", "no", "no"),
    "r5": ("no", "yes", "no"),
}


def survey_csv(tmp_path, respondents=ANSWERS, segments=None):
    lines = ["respondent,segment,price,answer"]
    for r, answers in respondents.items():
        for price, answer in zip((10, 20, 30), answers, strict=True):
            lines.append(f"{r},{(segments or {}).get(r, 'all')},{price},{answer}")
    path = tmp_path / "gg.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_classic_table_by_hand(tmp_path):
    result = gabor_granger_table(survey_csv(tmp_path))
    # share yes: 10 -> r1 r2 r3 = 3/5; 20 -> r1 r3 r5 = 3/5; 30 -> r3 = 1/5
    np.testing.assert_allclose(result.table.share, [0.6, 0.6, 0.2])
    # revenue per respondent = price x share: 6, 12, 6 -> best tested price 20
    np.testing.assert_allclose(result.table.revenue, [6.0, 12.0, 6.0])
    assert result.best_price == 20 and result.best_revenue == pytest.approx(12.0)
    assert result.table.respondents.tolist() == [5, 5, 5]


def test_classic_table_ties_pick_the_lowest_price_and_segments(tmp_path):
    four = {k: v for k, v in ANSWERS.items() if k != "r5"}
    path = survey_csv(tmp_path, four, {"r1": "A", "r2": "A", "r3": "B", "r4": "B"})
    result = gabor_granger_table(path, {"segment": "segment"})
    # shares 3/4, 2/4, 1/4 -> revenue 7.5, 10, 7.5
    np.testing.assert_allclose(result.table.revenue, [7.5, 10.0, 7.5])
    assert result.best_price == 20
    a = result.by_segment[result.by_segment.segment == "A"]
    np.testing.assert_allclose(a.share, [1.0, 0.5, 0.0])  # r1, r2
    tie = {"r1": ("yes", "yes", "no"), "r2": ("yes", "no", "no")}
    # shares 1, 1/2, 0 -> revenue 10, 10, 0: a tie, the lower price wins
    assert gabor_granger_table(survey_csv(tmp_path, tie)).best_price == 10


def test_answers_to_bounds_and_inconsistent_respondents(tmp_path):
    answers, *_ = read_answers(survey_csv(tmp_path))
    dropped = answer_intervals(answers, "drop")
    assert dropped.respondent.tolist() == ["r1", "r2", "r3", "r4"]
    np.testing.assert_array_equal(dropped.lower, [20, 10, 30, 0])
    np.testing.assert_array_equal(dropped.upper, [30, 20, np.inf, 10])
    assert dropped.notes == {"inconsistent": 1, "dropped_inconsistent": 1}
    spanned = answer_intervals(answers, "span")
    # r5: lowest no 10, highest yes 20 -> WTP somewhere in [10, 20]
    assert spanned.lower[-1] == 10 and spanned.upper[-1] == 20
    assert spanned.notes == {"inconsistent": 1, "dropped_inconsistent": 0}
    with pytest.raises(PricingError, match="inconsistent: 'keep'"):
        answer_intervals(answers, "keep")


def test_bad_input_names_column_and_lines(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("respondent,price,answer\n1,10,yes\n1,20,maybe\n2,ten,no\n")
    with pytest.raises(DataError, match=r"column 'price': line 4 are not numbers \(got 'ten'\)"):
        read_answers(path)
    path.write_text("respondent,price,answer\n1,10,yes\n1,20,maybe\n")
    with pytest.raises(
        DataError, match=r"column 'answer': line 3 are not valid answers \(got 'maybe'; valid:"
    ):
        read_answers(path)
    path.write_text("respondent,price,answer\n1,10,yes\n1,10,no\n")
    with pytest.raises(DataError, match="line 3 repeat a respondent's answer at the same price"):
        read_answers(path)
    path.write_text("respondent,price,answer,seg\n1,10,yes,A\n1,20,no,B\n")
    with pytest.raises(DataError, match=r"column 'seg': lines 2, 3 give a respondent more than one segment"):
        read_answers(path, {"segment": "seg"})
    path.write_text("id,price,answer\n1,10,yes\n")
    with pytest.raises(
        DataError, match=r"column 'respondent' \(respondent\) not found.*'id', 'price', 'answer'"
    ):
        read_answers(path)
    path.write_text("respondent,price,answer\n1,0,yes\n")
    with pytest.raises(DataError, match="column 'price': line 2 must be > 0"):
        read_answers(path)
