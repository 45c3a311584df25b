"""Classic Kano analysis: the evaluation tables cell by cell, a hand-worked survey, labels, Fong's test."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from pricing.cli import main
from pricing.errors import DataError, PricingError
from pricing.wtp.kano import (
    CATEGORIES,
    classify,
    cs_coefficients,
    evaluate,
    evaluation_table,
    fong_test,
    kano_analysis,
    kano_columns,
    parse_answer,
    read_kano,
)

ANSWERS = ("like", "must_be", "neutral", "live_with", "dislike")

# Berger et al. (1993), written out cell by cell: (functional, dysfunctional) -> category.
STANDARD = {
    ("like", "like"): "Q",
    ("like", "must_be"): "A",
    ("like", "neutral"): "A",
    ("like", "live_with"): "A",
    ("like", "dislike"): "O",
    ("must_be", "like"): "R",
    ("must_be", "must_be"): "I",
    ("must_be", "neutral"): "I",
    ("must_be", "live_with"): "I",
    ("must_be", "dislike"): "M",
    ("neutral", "like"): "R",
    ("neutral", "must_be"): "I",
    ("neutral", "neutral"): "I",
    ("neutral", "live_with"): "I",
    ("neutral", "dislike"): "M",
    ("live_with", "like"): "R",
    ("live_with", "must_be"): "I",
    ("live_with", "neutral"): "I",
    ("live_with", "live_with"): "I",
    ("live_with", "dislike"): "M",
    ("dislike", "like"): "R",
    ("dislike", "must_be"): "R",
    ("dislike", "neutral"): "R",
    ("dislike", "live_with"): "R",
    ("dislike", "dislike"): "Q",
}
# Pouliot's modified table: every identical pair but neutral/neutral is questionable.
MODIFIED = STANDARD | {("must_be", "must_be"): "Q", ("live_with", "live_with"): "Q"}


@pytest.mark.parametrize("table, expected", [("standard", STANDARD), ("modified", MODIFIED)])
@pytest.mark.parametrize("functional", ANSWERS)
@pytest.mark.parametrize("dysfunctional", ANSWERS)
def test_evaluation_table_cell_by_cell(table, expected, functional, dysfunctional):
    f, d = ANSWERS.index(functional) + 1, ANSWERS.index(dysfunctional) + 1
    assert evaluation_table(table)[f - 1][d - 1] == expected[functional, dysfunctional]
    evaluated = evaluate(np.array([f]), np.array([d]), table)
    assert CATEGORIES[int(evaluated[0])] == expected[functional, dysfunctional]


def test_tables_differ_in_exactly_the_two_identical_pairs():
    standard, modified = evaluation_table("standard"), evaluation_table("modified")
    differ = {(f, d) for f in range(5) for d in range(5) if standard[f][d] != modified[f][d]}
    assert differ == {(1, 1), (3, 3)}
    with pytest.raises(PricingError, match="table"):
        evaluation_table("pouliot")


@pytest.mark.parametrize(
    "label, code",
    [
        ("I like it", 1),
        ("i LIKE it!", 1),
        ("  I like it that way. ", 1),
        ("Like", 1),
        ("I expect it", 2),
        ("It must be that way", 2),
        ("It must-be that way!", 2),
        ("must be", 2),
        ("I am neutral", 3),
        ("I'm neutral", 3),
        ("I can live with it", 4),
        ("I can tolerate it", 4),
        ("i can TOLERATE it...", 4),
        ("I dislike it", 5),
        ("I dislike it that way", 5),
        ("1", 1),
        ("5", 5),
        ("3.0", 3),
    ],
)
def test_parse_answer_variants_and_codes(label, code):
    assert parse_answer(label) == code


@pytest.mark.parametrize("label", ["I love it", "0", "6", "2.5", "yes", "like it a lot"])
def test_parse_answer_refuses_other_text(label):
    assert parse_answer(label) is None


def _frame(rows: list[tuple], columns=("segment", "a_functional", "a_dysfunctional")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def test_bad_labels_are_named_with_their_lines():
    frame = _frame([("x", "I like it", "I dislike it"), ("x", "I love it", "5"), ("x", "1", "maybe")])
    with pytest.raises(DataError) as error:
        read_kano(frame)
    message = str(error.value)
    assert "column 'a_functional': line 3 are not Kano answers" in message
    assert "'I love it'" in message and "\n" not in message


def test_columns_are_matched_by_name_and_suffix_not_position():
    columns = ["b_dysfunctional", "id", "a_functional", "b_functional", "a_dysfunctional"]
    assert kano_columns(columns) == {
        "a": ("a_functional", "a_dysfunctional"),
        "b": ("b_functional", "b_dysfunctional"),
    }
    assert kano_columns(["x_f", "x_df", "y_f", "y_df"], "_f", "_df") == {
        "x": ("x_f", "x_df"),
        "y": ("y_f", "y_df"),
    }
    with pytest.raises(DataError, match="'c_functional' has no partner column 'c_dysfunctional'"):
        kano_columns(["c_functional", "a_functional", "a_dysfunctional"])
    with pytest.raises(DataError, match="no Kano question pairs"):
        kano_columns(["x", "y"])


# A hand-made survey: 10 respondents, attribute "speed", two segments. The evaluation of each pair (standard
# table) is written beside it; blank pairs are dropped and counted.
HAND = [
    ("SMB", "I like it", "I dislike it"),  # O
    ("SMB", "I like it", "I dislike it"),  # O
    ("SMB", "I like it", "I am neutral"),  # A
    ("SMB", "I expect it", "I dislike it"),  # M
    ("SMB", "I am neutral", "I am neutral"),  # I
    ("SMB", "", ""),  # blank: dropped
    ("Ent", "I expect it", "I dislike it"),  # M
    ("Ent", "I am neutral", "I dislike it"),  # M
    ("Ent", "I dislike it", "I like it"),  # R
    ("Ent", "I like it", "I like it"),  # Q
    ("Ent", "I expect it", ""),  # incomplete: dropped
]


def test_hand_worked_counts_and_coefficients():
    result = kano_analysis(_frame(HAND), segment="segment")
    rows = result.table.set_index("segment")
    smb, ent = rows.loc["SMB"], rows.loc["Ent"]
    assert [smb[c] for c in CATEGORIES] == [1, 2, 1, 1, 0, 0]
    assert [ent[c] for c in CATEGORIES] == [0, 0, 2, 0, 1, 1]
    # SMB: CS+ = (A + O)/(A+O+M+I) = 3/5, CS- = -(O + M)/5 = -3/5; the mode is O (2 of 5)
    assert smb.cs_plus == pytest.approx(0.6) and smb.cs_minus == pytest.approx(-0.6)
    assert smb.category == "O" and smb.category_name == "one_dimensional"
    assert smb.total_strength == pytest.approx(4 / 5)  # A + O + M of n = 5
    assert smb.category_strength == pytest.approx(2 / 5 - 1 / 5)
    # Ent: A+O+M+I = 2 (M, M): CS+ = 0, CS- = -1; M is 2 of 4
    assert ent.cs_plus == 0 and ent.cs_minus == -1
    assert ent.category == "M" and ent.total_strength == pytest.approx(0.5)
    assert ent.category_strength == pytest.approx(2 / 4 - 1 / 4)
    assert result.notes["dropped_blank"] == {"a": 1} and result.notes["dropped_incomplete"] == {"a": 1}
    # Pouliot's table changes nothing here (no must_be/must_be or live_with/live_with pair)
    assert (
        kano_analysis(_frame(HAND), segment="segment", table="modified")
        .table[list(CATEGORIES)]
        .equals(result.table[list(CATEGORIES)])
    )


def test_modified_table_counts_identical_pairs_as_questionable():
    rows = [("x", "I expect it", "I expect it"), ("x", "live with", "live with"), ("x", "3", "3")]
    standard = kano_analysis(_frame(rows)).table.iloc[0]
    modified = kano_analysis(_frame(rows), table="modified").table.iloc[0]
    assert (standard.I, standard.Q) == (3, 0)
    assert (modified.I, modified.Q) == (1, 2)


def test_weights_scale_counts_and_leave_shares():
    frame = _frame(HAND[:5]).assign(w=["2", "2", "1", "1", "0.5"])
    result = kano_analysis(frame, weight="w").table.iloc[0]
    assert [result[c] for c in CATEGORIES] == [1, 4, 1, 0.5, 0, 0]
    assert result.cs_plus == pytest.approx(5 / 6.5)


@pytest.mark.parametrize(
    "counts, mode, grouped",
    [
        ({"A": 3, "O": 3, "M": 0, "I": 4, "R": 0, "Q": 0}, "I", "O"),  # A+O+M = 6 > 4; O beats A on a tie
        ({"A": 3, "O": 0, "M": 0, "I": 4, "R": 0, "Q": 0}, "I", "I"),
        ({"A": 2, "O": 2, "M": 2, "I": 2, "R": 0, "Q": 0}, "M", "M"),  # ties: M > O > A > I
        ({"A": 1, "O": 0, "M": 0, "I": 1, "R": 2, "Q": 0}, "R", "R"),
    ],
)
def test_category_rules(counts, mode, grouped):
    assert classify(counts, "mode") == mode
    assert classify(counts, "grouped") == grouped


def test_fong_worked_example():
    # a = 20 (M), b = 12 (O), n = 40: 1.65 sqrt(32 * 48 / 80) = 1.65 * 4.3818 = 7.230; |20 - 12| = 8 >= 7.23
    result = fong_test({"A": 5, "O": 12, "M": 20, "I": 3, "R": 0, "Q": 0})
    assert (result["first"], result["second"]) == ("M", "O")
    assert result["critical"] == pytest.approx(1.65 * math.sqrt(19.2))
    assert result["critical"] == pytest.approx(7.2299, abs=1e-4)
    assert result["difference"] == 8 and result["significant"]
    # a = 18, b = 14: |4| < 7.23, the two top categories do not differ
    close = fong_test({"A": 5, "O": 14, "M": 18, "I": 3, "R": 0, "Q": 0})
    assert close["difference"] == 4 and not close["significant"]


def test_cs_coefficients_of_pure_categories_and_of_no_relevant_answer():
    pure = np.eye(6)[:4] * 10  # all A, all O, all M, all I
    plus, minus = cs_coefficients(pure)
    np.testing.assert_allclose(plus, [1, 1, 0, 0])
    np.testing.assert_allclose(minus, [0, -1, -1, 0])
    plus, minus = cs_coefficients(np.array([0, 0, 0, 0, 3, 2]))
    assert np.isnan(plus) and np.isnan(minus)


def test_cli_json_shapes(tmp_path, capsys):
    path = tmp_path / "kano.csv"
    _frame(HAND).to_csv(path, index=False)
    assert main(["kano", str(path), "--json"]) == 0
    flat = json.loads(capsys.readouterr().out)
    assert set(flat) == {"a"}
    assert {k: flat["a"][k] for k in CATEGORIES} == {"A": 1, "O": 2, "M": 3, "I": 1, "R": 1, "Q": 1}
    assert flat["a"]["category"] == "must_be"
    assert flat["a"]["cs_plus"] == pytest.approx(3 / 7) and flat["a"]["cs_minus"] == pytest.approx(-5 / 7)
    assert main(["kano", str(path), "--segment", "segment", "--json", "--table", "modified"]) == 0
    segmented = json.loads(capsys.readouterr().out)
    assert set(segmented["a"]) == {"SMB", "Ent"}
    assert segmented["a"]["Ent"]["cs_plus"] == 0 and segmented["a"]["SMB"]["category"] == "one_dimensional"
    assert main(["kano", str(path)]) == 0
    text = capsys.readouterr().out
    assert "must_be" in text and "dropped answer pairs: 1 blank, 1 with one answer missing" in text


def test_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    _frame([("x", "I like it", "nope")]).to_csv(path, index=False)
    assert main(["kano", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'a_dysfunctional': line 2" in error
    assert main(["kano", str(path), "--segment", "region"]) == 2
    assert "column 'region' (segment) not found" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    _frame([("x", "", "")]).to_csv(empty, index=False)
    assert main(["kano", str(empty)]) == 2
    assert "every answer pair is blank" in capsys.readouterr().err
