"""Shared survey CSV helpers: reading, column checks and one-line errors naming column and file lines."""

import numpy as np
import pandas as pd
import pytest

from pricing.errors import DataError
from pricing.wtp.data import (
    choice_column,
    label_column,
    line_list,
    numeric_column,
    read_survey,
    require_columns,
    segment_codes,
)


def test_reads_comma_semicolon_and_tab_files_as_stripped_text(tmp_path):
    for separator in (",", ";", "\t"):
        path = tmp_path / "s.csv"
        path.write_text(f"\ufeffsegment{separator} wtp \nA{separator} 10\nB{separator}\n")
        frame, label, sha256 = read_survey(path)
        assert list(frame.columns) == ["segment", "wtp"]
        assert frame.wtp.tolist() == ["10", ""]
        assert label == str(path) and len(sha256) == 64
    frame, label, _ = read_survey(pd.DataFrame({"x": [1, 2]}))
    assert label == "data" and frame.x.tolist() == ["1", "2"]


def test_unreadable_files(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"wtp\n\xff\xfe10\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_survey(path)
    path.write_text("wtp\n")
    with pytest.raises(DataError, match="has a header but no data rows"):
        read_survey(path)
    path.write_text("a,a\n1,2\n")
    with pytest.raises(DataError, match="duplicate column name.*'a'"):
        read_survey(path)
    with pytest.raises(DataError, match="file not found"):
        read_survey(tmp_path / "nope.csv")


def test_numeric_and_choice_columns_name_file_lines():
    frame = pd.DataFrame({"p": ["1", "x", "", "-2", "3", "y", "z", "w", "v", "u"]})
    with pytest.raises(DataError, match=r"f: column 'p': lines 3, 7, 8, 9, 10 and 1 more are not numbers"):
        numeric_column(frame, "p", "f")
    ok = pd.DataFrame({"p": ["1.5", "", "-2"]})
    with pytest.raises(DataError, match=r"column 'p': line 3 are blank"):
        numeric_column(ok, "p", "f")
    with pytest.raises(DataError, match=r"column 'p': line 4 must be > 0 \(got '-2'\)"):
        numeric_column(ok, "p", "f", allow_blank=True, positive=True)
    values = numeric_column(ok, "p", "f", allow_blank=True)
    assert values[0] == 1.5 and np.isnan(values[1]) and values[2] == -2
    answers = pd.DataFrame({"a": ["Yes", "no", "1.0", "maybe"]})
    with pytest.raises(
        DataError, match=r"column 'a': line 5 are not valid answers \(got 'maybe'; valid: 'yes', 'no', '1'"
    ):
        choice_column(answers, "a", "f", {"yes": 1, "no": 0, "1": 1})
    assert choice_column(answers.iloc[:3], "a", "f", {"yes": 1, "no": 0, "1": 1}).tolist() == [1, 0, 1]


def test_columns_labels_and_segments():
    frame = pd.DataFrame({"seg": ["B", "A", "B"]})
    with pytest.raises(
        DataError, match=r"f: column 'region' \(segment\) not found; the file has columns 'seg'"
    ):
        require_columns(frame, {"segment": "region", "weight": None}, "f")
    assert label_column(frame, None, "f").tolist() == ["all"] * 3
    codes, names = segment_codes(label_column(frame, "seg", "f"))
    assert names == ["B", "A"] and codes.tolist() == [0, 1, 0]
    assert line_list([0]) == "line 2"


# ---- the numeric fast path (`read_survey(numbers=...)`) ------------------------------------------------


def test_numbers_are_parsed_at_once_and_equal_the_text_path_bit_for_bit(tmp_path):
    from pricing.wtp.van_westendorp import psm_analysis

    rng = np.random.default_rng(4)
    base = np.round(np.exp(rng.normal(np.log(20), 0.4, 3000)), 2)
    steps = np.round(np.exp(rng.normal(np.log(4), 0.5, (3000, 3))), 2)
    answers = np.cumsum(np.column_stack([base, steps]), axis=1)
    path = tmp_path / "psm.csv"
    roles = ["too_cheap", "cheap", "expensive", "too_expensive"]
    frame = pd.DataFrame(answers, columns=roles).assign(segment=rng.choice(["a", "b"], 3000))
    frame.to_csv(path, index=False)
    fast, _, _ = read_survey(path, roles)
    text, _, _ = read_survey(path)
    assert all(fast[r].dtype == np.float64 for r in roles) and fast.segment.tolist() == text.segment.tolist()
    for role in roles:
        np.testing.assert_array_equal(numeric_column(fast, role, "f"), numeric_column(text, role, "f"))
    ours, plain = psm_analysis(path), psm_analysis(text)  # the file (fast path) and a text frame
    assert (ours.pmc, ours.opp, ours.idp, ours.pme) == (plain.pmc, plain.opp, plain.idp, plain.pme)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("lots", r"column 'p': line 3 are not numbers \(got 'lots'\)"),
        ("nan", r"column 'p': line 3 are not numbers \(got 'nan'\)"),
        ("inf", r"column 'p': line 3 are not numbers \(got 'inf'\)"),
        ("1_000", r"column 'p': line 3 are not numbers \(got '1_000'\)"),
        ("", r"column 'p': line 3 are blank"),
        ("-5", r"column 'p': line 3 must be > 0 \(got '-5'\)"),  # parsed fast: quoted as written
        ("1e300", r"column 'p': line 3 must be <= .* \(got '1e300'\)"),
    ],
)
def test_a_bad_number_reads_as_without_the_fast_path(tmp_path, cell, message):
    from pricing.wtp.data import money_column

    path = tmp_path / "s.csv"
    path.write_text(f"p,segment\n10,a\n{cell},b\n12.5,a\n")
    for numbers in ((), ("p",)):
        frame, label, _ = read_survey(path, numbers)
        with pytest.raises(DataError, match=message):
            money_column(frame, "p", label)
