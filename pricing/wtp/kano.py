"""Kano questionnaires: the classic evaluation (Berger et al. 1993) and a Bayesian Dirichlet-multinomial fit.

Data: one row per respondent; for each attribute X a pair of columns, the functional question ("If the product
has X, how do you feel?") in ``X_functional`` and the dysfunctional one ("If it does not have X?") in
``X_dysfunctional`` (the suffixes are options; columns are matched by name, never by position). Answers are
the five usual labels or their codes:

====  ===========================================================  ==========
code  labels (any case; punctuation and spacing ignored)            short name
====  ===========================================================  ==========
1     "I like it", "like", "I like it that way"                     like
2     "I expect it", "It must be that way", "must be", "expect"    must_be
3     "I am neutral", "neutral", "I feel neutral"                   neutral
4     "I can live with it", "I can tolerate it", "live with"       live_with
5     "I dislike it", "dislike", "I dislike it that way"            dislike
====  ===========================================================  ==========

Optional columns: a segment and a respondent weight. A pair with both answers blank is dropped and counted
(``dropped_blank``); a pair with one answer blank is dropped and counted too (``dropped_incomplete``).

Evaluation table (Berger et al. 1993, "Kano's methods for understanding customer-defined quality", Center
for Quality of Management Journal 2(4), table of section IIa), functional answer by row, dysfunctional
answer by column; A attractive, O one-dimensional, M must-be, I indifferent, R reverse, Q questionable::

    functional \\ dysfunctional   like  must_be  neutral  live_with  dislike
    like                          Q     A        A        A          O
    must_be                       R     I        I        I          M
    neutral                       R     I        I        I          M
    live_with                     R     I        I        I          M
    dislike                       R     R        R        R          Q

``table="modified"`` is Pouliot's variant (same journal issue, "Theoretical issues of Kano's methods"): every
identical pair except neutral/neutral is questionable, so must_be/must_be and live_with/live_with become Q
(answering "I expect it" both with and without the feature is contradictory, as is "I can live with it").

Per attribute (and segment), with n the (weighted) number of evaluated pairs:

- ``category`` by ``rule="mode"`` (default): the most frequent of the six; ties go to the category that
  matters most, in Berger's order M > O > A > I > R > Q. ``rule="grouped"``: if A + O + M > I + R + Q the
  largest of M, O, A, else the largest of I, R, Q (ties in the same order).
- total strength ``(A + O + M) / n``: the share for whom the attribute matters at all;
- category strength: share of the most frequent minus that of the second most frequent of A, O, M, I, R
  (Berger et al. suggest reading a category below about 6% as mixed);
- satisfaction coefficients (Berger et al., after Timko) ``CS+ = (A + O) / (A + O + M + I)`` (how much
  satisfaction rises when the attribute is delivered) and ``CS- = -(O + M) / (A + O + M + I)`` (how much it
  falls when it is not); NaN when A + O + M + I = 0;
- Fong's test (Fong 1996, "Using the self-stated importance questionnaire to interpret Kano questionnaire
  results", CQM Journal 5(3)): with a and b the counts of the two most frequent of A, O, M, I, R, the
  category is significantly the top one (at about 10%, z = 1.65) when
  ``|a - b| >= 1.65 * sqrt((a + b) * (2 n - a - b) / (2 n))``; otherwise the top two do not differ and the
  attribute is read as a mix of both.

The Bayesian analysis (`KanoModel`) is below the classic one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pricing.dims import ATTRIBUTE, SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp import data as survey

CATEGORY = "category"
#: The six outcomes of the evaluation table, in the order of every array over them.
CATEGORIES = ("A", "O", "M", "I", "R", "Q")
CATEGORY_NAMES = {
    "A": "attractive",
    "O": "one_dimensional",
    "M": "must_be",
    "I": "indifferent",
    "R": "reverse",
    "Q": "questionable",
}
#: Tie-breaking order of categories (Berger et al.: the one that matters most first).
PRECEDENCE = ("M", "O", "A", "I", "R", "Q")
ANSWERS = ("like", "must_be", "neutral", "live_with", "dislike")  # codes 1..5
TABLES = ("standard", "modified")
RULES = ("mode", "grouped")
FONG_Z = 1.65

_STANDARD = (
    "QAAAO",
    "RIIIM",
    "RIIIM",
    "RIIIM",
    "RRRRQ",
)


def evaluation_table(table: str = "standard") -> tuple[tuple[str, ...], ...]:
    """The 5 x 5 evaluation table: ``[functional - 1][dysfunctional - 1]`` is the category letter."""
    if table not in TABLES:
        raise PricingError(f"table: {table!r} is not one of {', '.join(TABLES)}")
    rows = [list(row) for row in _STANDARD]
    if table == "modified":
        for code in (1, 3):  # must_be/must_be and live_with/live_with (like/like, dislike/dislike already Q)
            rows[code][code] = "Q"
    return tuple(tuple(row) for row in rows)


def evaluate(functional: np.ndarray, dysfunctional: np.ndarray, table: str = "standard") -> np.ndarray:
    """Category index (into `CATEGORIES`) of each answer pair; answers are codes 1..5."""
    lookup = np.array([[CATEGORIES.index(c) for c in row] for row in evaluation_table(table)], dtype=np.int64)
    return lookup[np.asarray(functional, dtype=np.int64) - 1, np.asarray(dysfunctional, dtype=np.int64) - 1]


# ---- reading answers -----------------------------------------------------------------------------------

_LABELS = {
    1: ("i like it", "like", "like it", "i like it that way", "i would like it", "i like"),
    2: (
        "i expect it",
        "expect",
        "expect it",
        "it must be that way",
        "must be",
        "must be that way",
        "i expect it that way",
        "it must be",
    ),
    3: ("i am neutral", "neutral", "i feel neutral", "i m neutral", "im neutral", "indifferent"),
    4: (
        "i can live with it",
        "live with",
        "live with it",
        "i can tolerate it",
        "tolerate",
        "tolerate it",
        "i can live with it that way",
        "i can tolerate it that way",
    ),
    5: ("i dislike it", "dislike", "dislike it", "i dislike it that way", "i would dislike it"),
}
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normalise(label: str) -> str:
    return _NON_WORD.sub(" ", label.lower()).strip()


_CODE_OF = {_normalise(label): code for code, labels in _LABELS.items() for label in labels}
_CODE_OF |= {str(code): code for code in range(1, 6)}


def parse_answer(label: str) -> int | None:
    """Code 1..5 of one answer (a label in any case and punctuation, or a code); None when not recognised."""
    text = _normalise(str(label))
    if text in _CODE_OF:
        return _CODE_OF[text]
    try:
        number = float(str(label).strip())
    except ValueError:
        return None
    return int(number) if number in (1, 2, 3, 4, 5) else None


def answer_column(frame: pd.DataFrame, column: str, label: str) -> np.ndarray:
    """A column of answers as codes 1..5 (0 for a blank cell); `DataError` names the bad lines."""
    cells = frame[column].tolist()
    codes = np.zeros(len(cells), dtype=np.int64)
    bad = []
    for row, cell in enumerate(cells):
        if cell == "":
            continue
        code = parse_answer(cell)
        if code is None:
            bad.append(row)
        else:
            codes[row] = code
    if bad:
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(cells[r] for r in bad))[:3])
        raise DataError(
            f"{label}: column {column!r}: {survey.line_list(bad)} are not Kano answers (got {shown}; "
            "valid: 'I like it', 'I expect it', 'I am neutral', 'I can live with it', 'I dislike it' or 1..5)"
        )
    return codes


@dataclass(frozen=True)
class KanoAnswers:
    """Answer codes of a Kano questionnaire, as read from a file.

    ``functional`` and ``dysfunctional`` are (respondent, attribute) codes 1..5, 0 where the pair was
    dropped (``evaluated`` is False there); ``segment`` codes into ``segments``; ``weight`` per respondent.
    ``notes`` counts dropped pairs per attribute: ``{"dropped_blank": {attr: n}, "dropped_incomplete": ...}``.
    """

    attributes: list[str]
    segments: list[str]
    functional: np.ndarray
    dysfunctional: np.ndarray
    segment: np.ndarray
    weight: np.ndarray
    columns: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluated(self) -> np.ndarray:
        return (self.functional > 0) & (self.dysfunctional > 0)


def kano_columns(
    columns: Sequence[str],
    functional_suffix: str = "_functional",
    dysfunctional_suffix: str = "_dysfunctional",
    attributes: Sequence[str] | None = None,
    label: str = "data",
) -> dict[str, tuple[str, str]]:
    """Attribute -> (functional column, dysfunctional column), recognised by their suffixes.

    Only whole suffixes count and the columns are matched by name; a functional column without its
    dysfunctional partner (or the reverse) is an error naming it.
    """
    if not functional_suffix or not dysfunctional_suffix or functional_suffix == dysfunctional_suffix:
        raise PricingError("suffixes: give two different, non-empty column suffixes")
    names = list(columns)

    def stem(name: str, suffix: str, other: str) -> str | None:
        if not name.endswith(suffix) or len(name) == len(suffix):
            return None
        if other.endswith(suffix) and name.endswith(other):  # "_dysfunctional" also ends in "functional"
            return None
        return name[: -len(suffix)]

    functional = {s: c for c in names if (s := stem(c, functional_suffix, dysfunctional_suffix))}
    dysfunctional = {s: c for c in names if (s := stem(c, dysfunctional_suffix, functional_suffix))}
    if attributes is None:
        unpaired = sorted(set(functional) ^ set(dysfunctional))
        if unpaired:
            first = unpaired[0]
            have, want = (
                (functional[first], first + dysfunctional_suffix)
                if first in functional
                else (dysfunctional[first], first + functional_suffix)
            )
            raise DataError(f"{label}: column {have!r} has no partner column {want!r}")
        attributes = [s for s in functional]
        if not attributes:
            known = ", ".join(repr(c) for c in names)
            raise DataError(
                f"{label}: no Kano question pairs: expected columns named <attribute>{functional_suffix} and "
                f"<attribute>{dysfunctional_suffix}; the file has columns {known}"
            )
    pairs = {}
    for attribute in attributes:
        for suffix, found in ((functional_suffix, functional), (dysfunctional_suffix, dysfunctional)):
            if attribute not in found:
                raise DataError(f"{label}: column {attribute + suffix!r} (attribute {attribute!r}) not found")
        pairs[attribute] = (functional[attribute], dysfunctional[attribute])
    return pairs


def read_kano(
    source: str | os.PathLike | pd.DataFrame,
    *,
    segment: str | None = None,
    weight: str | None = None,
    functional_suffix: str = "_functional",
    dysfunctional_suffix: str = "_dysfunctional",
    attributes: Sequence[str] | None = None,
) -> tuple[KanoAnswers, str]:
    """Read a Kano questionnaire (CSV file or frame); returns the answers and the data's SHA-256."""
    frame, label, sha256 = survey.read_survey(source)
    survey.require_columns(frame, {"segment": segment, "weight": weight}, label)
    pairs = kano_columns(frame.columns, functional_suffix, dysfunctional_suffix, attributes, label)
    functional = np.column_stack([answer_column(frame, f, label) for f, _ in pairs.values()])
    dysfunctional = np.column_stack([answer_column(frame, d, label) for _, d in pairs.values()])
    blank = (functional == 0) & (dysfunctional == 0)
    incomplete = (functional == 0) != (dysfunctional == 0)
    functional = np.where(incomplete, 0, functional)
    dysfunctional = np.where(incomplete, 0, dysfunctional)
    weights = survey.numeric_column(frame, weight, label, positive=True) if weight else np.ones(len(frame))
    names = list(pairs)
    keep = ~(blank | incomplete).all(axis=1)  # respondents with at least one evaluated pair
    if not keep.any():
        raise DataError(f"{label}: every answer pair is blank; nothing to analyse")
    codes, segments = survey.segment_codes(survey.label_column(frame, segment, label)[keep])
    notes = {
        "dropped_blank": {a: int(n) for a, n in zip(names, blank.sum(axis=0), strict=True)},
        "dropped_incomplete": {a: int(n) for a, n in zip(names, incomplete.sum(axis=0), strict=True)},
        "respondents": int(keep.sum()),
    }
    columns = {
        "pairs": {a: list(p) for a, p in pairs.items()},
        "segment": segment,
        "weight": weight,
        "functional_suffix": functional_suffix,
        "dysfunctional_suffix": dysfunctional_suffix,
    }
    answers = KanoAnswers(
        attributes=names,
        segments=segments,
        functional=functional[keep],
        dysfunctional=dysfunctional[keep],
        segment=codes,
        weight=weights[keep],
        columns=columns,
        notes=notes,
    )
    return answers, sha256


def category_counts(answers: KanoAnswers, table: str = "standard") -> xr.DataArray:
    """(Weighted) counts of each category, dims (attribute, segment, category)."""
    n_attr, n_seg = len(answers.attributes), len(answers.segments)
    evaluated = answers.evaluated
    category = evaluate(np.maximum(answers.functional, 1), np.maximum(answers.dysfunctional, 1), table)
    counts = np.zeros((n_attr, n_seg, len(CATEGORIES)))
    for a in range(n_attr):
        rows = evaluated[:, a]
        flat = answers.segment[rows] * len(CATEGORIES) + category[rows, a]
        counts[a] = np.bincount(
            flat, weights=answers.weight[rows], minlength=n_seg * len(CATEGORIES)
        ).reshape(n_seg, len(CATEGORIES))
    return xr.DataArray(
        counts,
        dims=(ATTRIBUTE, SEGMENT, CATEGORY),
        coords={ATTRIBUTE: answers.attributes, SEGMENT: answers.segments, CATEGORY: list(CATEGORIES)},
        name="count",
    )


# ---- classic read-out ----------------------------------------------------------------------------------


def cs_coefficients(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CS+ and CS- from counts (or shares) over `CATEGORIES` in the last axis; NaN where A+O+M+I = 0."""
    counts = np.asarray(counts, dtype=float)
    a, o, m, i = (counts[..., CATEGORIES.index(c)] for c in "AOMI")
    total = a + o + m + i
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (a + o) / total, np.nan), np.where(total > 0, -(o + m) / total, np.nan)


def classify(counts: Mapping[str, float] | Sequence[float], rule: str = "mode") -> str:
    """The category letter of one attribute's counts (mapping letter -> count, or a sequence in order)."""
    if rule not in RULES:
        raise PricingError(f"rule: {rule!r} is not one of {', '.join(RULES)}")
    if not isinstance(counts, Mapping):
        counts = dict(zip(CATEGORIES, counts, strict=True))
    candidates = PRECEDENCE
    if rule == "grouped":
        relevant = sum(counts[c] for c in "AOM")
        candidates = ("M", "O", "A") if relevant > sum(counts[c] for c in "IRQ") else ("I", "R", "Q")
    return max(candidates, key=lambda c: (counts[c], -PRECEDENCE.index(c)))


def fong_test(counts: Mapping[str, float] | Sequence[float]) -> dict[str, Any]:
    """Fong's test of whether the two most frequent of A, O, M, I, R differ (see the module docstring).

    Returns ``first`` and ``second`` (letters), ``difference`` = |a - b|, ``critical`` =
    1.65 sqrt((a + b)(2n - a - b) / 2n) with n all evaluated pairs (Q included), and ``significant``.
    """
    if not isinstance(counts, Mapping):
        counts = dict(zip(CATEGORIES, counts, strict=True))
    n = float(sum(counts[c] for c in CATEGORIES))
    ranked = sorted("AOMIR", key=lambda c: (-counts[c], PRECEDENCE.index(c)))
    a, b = float(counts[ranked[0]]), float(counts[ranked[1]])
    critical = FONG_Z * math.sqrt((a + b) * (2 * n - a - b) / (2 * n)) if n > 0 else math.nan
    difference = abs(a - b)
    return {
        "first": ranked[0],
        "second": ranked[1],
        "difference": difference,
        "critical": critical,
        "significant": bool(n > 0 and difference >= critical),
    }


@dataclass(frozen=True)
class KanoAnalysis:
    """The classic Kano read-out: counts (attribute, segment, category) and one table row per pair of them.

    ``table`` columns: attribute, segment, the six counts A..Q, ``n``, ``category`` (letter),
    ``category_name``, ``total_strength``, ``category_strength``, ``cs_plus``, ``cs_minus``,
    ``fong_first``, ``fong_second``, ``fong_difference``, ``fong_critical``, ``fong_significant``,
    ``dropped_blank``, ``dropped_incomplete``.
    """

    counts: xr.DataArray
    table: pd.DataFrame
    evaluation: str
    rule: str
    segmented: bool
    notes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Attribute -> its read-out (or attribute -> segment -> read-out when segmented): strict JSON."""
        result: dict[str, Any] = {}
        for row in self.table.to_dict(orient="records"):
            record = {c: _finite(row[c]) for c in CATEGORIES}
            record |= {
                "n": _finite(row["n"]),
                "category": CATEGORY_NAMES[row["category"]],
                "cs_plus": _finite(row["cs_plus"]),
                "cs_minus": _finite(row["cs_minus"]),
                "total_strength": _finite(row["total_strength"]),
                "category_strength": _finite(row["category_strength"]),
                "fong": {
                    "first": CATEGORY_NAMES[row["fong_first"]],
                    "second": CATEGORY_NAMES[row["fong_second"]],
                    "difference": _finite(row["fong_difference"]),
                    "critical": _finite(row["fong_critical"]),
                    "significant": bool(row["fong_significant"]),
                },
                "dropped_blank": int(row["dropped_blank"]),
                "dropped_incomplete": int(row["dropped_incomplete"]),
            }
            if self.segmented:
                result.setdefault(row[ATTRIBUTE], {})[row[SEGMENT]] = record
            else:
                result[row[ATTRIBUTE]] = record
        return result


def _finite(value: Any) -> float | None:
    value = float(value)
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def kano_analysis(
    source: str | os.PathLike | pd.DataFrame | KanoAnswers,
    *,
    segment: str | None = None,
    weight: str | None = None,
    table: str = "standard",
    rule: str = "mode",
    functional_suffix: str = "_functional",
    dysfunctional_suffix: str = "_dysfunctional",
    attributes: Sequence[str] | None = None,
) -> KanoAnalysis:
    """The classic analysis of a Kano questionnaire (see the module docstring for every figure)."""
    evaluation_table(table)
    classify({c: 0 for c in CATEGORIES}, rule)  # checks the rule
    if isinstance(source, KanoAnswers):
        answers = source
    else:
        answers, _ = read_kano(
            source,
            segment=segment,
            weight=weight,
            functional_suffix=functional_suffix,
            dysfunctional_suffix=dysfunctional_suffix,
            attributes=attributes,
        )
    counts = category_counts(answers, table)
    cs_plus, cs_minus = cs_coefficients(counts.values)
    rows = []
    for a, attribute in enumerate(answers.attributes):
        for s, segment_name in enumerate(answers.segments):
            row_counts = dict(zip(CATEGORIES, counts.values[a, s], strict=True))
            n = sum(row_counts.values())
            share = {c: row_counts[c] / n if n > 0 else math.nan for c in CATEGORIES}
            top_two = sorted((share[c] for c in "AOMIR"), reverse=True)[:2]
            fong = fong_test(row_counts)
            rows.append(
                {
                    ATTRIBUTE: attribute,
                    SEGMENT: segment_name,
                    **row_counts,
                    "n": n,
                    "category": classify(row_counts, rule),
                    "total_strength": share["A"] + share["O"] + share["M"],
                    "category_strength": top_two[0] - top_two[1],
                    "cs_plus": cs_plus[a, s],
                    "cs_minus": cs_minus[a, s],
                    "fong_first": fong["first"],
                    "fong_second": fong["second"],
                    "fong_difference": fong["difference"],
                    "fong_critical": fong["critical"],
                    "fong_significant": fong["significant"],
                    "dropped_blank": answers.notes["dropped_blank"][attribute],
                    "dropped_incomplete": answers.notes["dropped_incomplete"][attribute],
                }
            )
    frame = pd.DataFrame(rows)
    frame["category_name"] = frame["category"].map(CATEGORY_NAMES)
    segmented = answers.columns.get("segment") is not None
    return KanoAnalysis(counts, frame, table, rule, segmented, dict(answers.notes))


def format_analysis(analysis: KanoAnalysis) -> str:
    """The classic read-out as lines for people."""

    def number(value: float, fmt: str) -> str:
        return "n/a" if not math.isfinite(value) else format(value, fmt)

    shown = pd.DataFrame(
        {
            "attribute": analysis.table[ATTRIBUTE],
            **({"segment": analysis.table[SEGMENT]} if analysis.segmented else {}),
            **{c: analysis.table[c].map(lambda v: f"{v:g}") for c in CATEGORIES},
            "category": analysis.table["category_name"],
            "total str.": analysis.table["total_strength"].map(lambda v: number(v, ".0%")),
            "cat. str.": analysis.table["category_strength"].map(lambda v: number(v, ".0%")),
            "CS+": analysis.table["cs_plus"].map(lambda v: number(v, ".2f")),
            "CS-": analysis.table["cs_minus"].map(lambda v: number(v, ".2f")),
            "Fong": [
                ("top differs" if r.fong_significant else f"{r.fong_first}~{r.fong_second} (mixed)")
                for r in analysis.table.itertuples()
            ],
        }
    )
    lines = [
        shown.to_string(index=False),
        f"evaluation table: {analysis.evaluation}; category rule: {analysis.rule}; "
        "Fong: whether the top two categories differ (z = 1.65)",
    ]
    dropped = {
        kind: sum(analysis.notes.get(kind, {}).values()) for kind in ("dropped_blank", "dropped_incomplete")
    }
    if any(dropped.values()):
        lines.append(
            f"dropped answer pairs: {dropped['dropped_blank']} blank, "
            f"{dropped['dropped_incomplete']} with one answer missing"
        )
    return "\n".join(lines)
