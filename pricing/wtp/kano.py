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
from pricing.limits import MAX_POSTERIOR_VALUES
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
    weights = survey.weight_column(frame, weight, label) if weight else np.ones(len(frame))
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


# ---- Bayesian analysis ---------------------------------------------------------------------------------
#
# Per attribute a and segment s, the six category shares p_as are Dirichlet around the attribute's
# population shares m_a with concentration kappa_a (segments partially pooled: a large kappa pulls every
# segment to m_a, a small one lets each follow its own answers); the (weighted) counts n_as are
# multinomial:
#
#     m_a ~ Dirichlet(population_prior * 1)
#     log kappa_a ~ Normal(log concentration_median, concentration_sd)
#     p_as ~ Dirichlet(kappa_a m_a),    n_as ~ Multinomial(N_as, p_as)
#
# NUTS samples (m, kappa) with p integrated out (the Dirichlet-multinomial likelihood, in gammaln so that
# weighted counts work); each draw's p_as is then drawn exactly from its conditional Dirichlet(kappa_a m_a +
# n_as). A segment with few answers keeps wide intervals (its conditional is dominated by the prior).

SIDE = "side"
SIDES = ("shortfall", "excess")
KANO_FORMAT_METHOD = "kano"
DEFAULT_MODEL_CONFIG: dict[str, float] = {
    "population_prior": 1.0,
    "concentration_median": 10.0,
    "concentration_sd": 1.0,
}
DEFAULT_SAMPLER_CONFIG: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 2, "target_accept": 0.9}
#: Kano categories the scenario knows, for `weights: category` (A, O, M, I; R and Q are no value shape).
SCENARIO_CATEGORIES = ("A", "O", "M", "I")


def share_draws(
    population_share: np.ndarray, concentration: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Exact draws of the segment shares given each posterior draw of (m, kappa): Dirichlet(kappa m + n).

    Shapes: `population_share` (sample, attribute, category), `concentration` (sample, attribute), `counts`
    (attribute, segment, category); returns (sample, attribute, segment, category).
    """
    alpha = concentration[:, :, None, None] * population_share[:, :, None, :] + counts[None]
    gammas = rng.standard_gamma(alpha)
    return gammas / gammas.sum(axis=-1, keepdims=True)


def cs_weights(cs_plus: np.ndarray, cs_minus: np.ndarray) -> np.ndarray:
    """Shortfall and excess weights (last axis, in `SIDES` order) from the CS coefficients.

    ``shortfall = |CS-|`` and ``excess = CS+``: a unit of excess is worth `value_per_unit` to the customers
    for whom delivering the attribute raises satisfaction (A and O answers, the CS+ share) and a unit of
    shortfall costs it to those for whom not delivering lowers it (O and M, the |CS-| share). A purely
    one-dimensional attribute (all O: CS+ = 1, CS- = -1) keeps weights 1 and 1, as `value.KANO_WEIGHTS`
    gives it; a purely attractive one (0, 1), a must-be one (1, 0), an indifferent one (0, 0).
    """
    return np.stack([np.abs(cs_minus), cs_plus], axis=-1)


def category_weights(shares: np.ndarray) -> np.ndarray:
    """Shortfall and excess weights of the most frequent of A, O, M, I per draw (`value.KANO_WEIGHTS`)."""
    from pricing.value import KANO_WEIGHTS

    table = np.array([KANO_WEIGHTS[CATEGORY_NAMES[c]] for c in SCENARIO_CATEGORIES])
    top = np.argmax(shares[..., [CATEGORIES.index(c) for c in SCENARIO_CATEGORIES]], axis=-1)
    return table[top]


class KanoModel:
    """The Bayesian Kano analysis: category shares per attribute and segment (see the comment above).

    Parameters
    ----------
    model_config : dict, optional
        Prior settings over `DEFAULT_MODEL_CONFIG` (stored with the fit).
    sampler_config : dict, optional
        Settings over `DEFAULT_SAMPLER_CONFIG` (draws, tune, chains, target_accept; seed is `fit`'s).
    table : "standard" or "modified"
        The evaluation table.
    read_options :
        `read_kano`'s keyword arguments (segment, weight, functional_suffix, dysfunctional_suffix,
        attributes).
    """

    default_model_config = DEFAULT_MODEL_CONFIG
    default_sampler_config = DEFAULT_SAMPLER_CONFIG

    def __init__(self, model_config=None, sampler_config=None, table: str = "standard", **read_options):
        self.model_config = model_config
        self.sampler_config = sampler_config
        self.table = table
        self.read_options = read_options
        self.idata = None

    def resolved_model_config(self) -> dict[str, float]:
        resolved = survey.merged_config("model_config", self.model_config, DEFAULT_MODEL_CONFIG)
        for key, value in resolved.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise PricingError(f"model_config: {key} must be a number > 0 (got {value!r})")
            if not math.isfinite(value):
                raise PricingError(f"model_config: {key} must be finite (got {value!r})")
        return {k: float(v) for k, v in resolved.items()}

    def resolved_sampler_config(self) -> dict[str, Any]:
        from pricing.wtp.posterior import sampler_settings

        return sampler_settings(self.sampler_config, DEFAULT_SAMPLER_CONFIG)

    def build_model(self, counts: xr.DataArray, config: Mapping[str, float]):
        """The PyMC model of (m, kappa) with the Dirichlet-multinomial likelihood of the counts."""
        import pymc as pm
        import pytensor.tensor as pt

        values = counts.values  # attribute, segment, category
        coords = {ATTRIBUTE: list(counts[ATTRIBUTE].values), CATEGORY: list(CATEGORIES)}
        with pm.Model(coords=coords) as model:
            population = pm.Dirichlet(
                "kano_population_share",
                a=np.full(len(CATEGORIES), config["population_prior"]),
                dims=(ATTRIBUTE, CATEGORY),
            )
            concentration = pm.LogNormal(
                "kano_concentration",
                mu=math.log(config["concentration_median"]),
                sigma=config["concentration_sd"],
                dims=ATTRIBUTE,
            )
            alpha = concentration[:, None, None] * population[:, None, :]  # attribute, segment, category
            total = values.sum(axis=-1)
            loglik = (
                pt.gammaln(alpha.sum(axis=-1))
                - pt.gammaln(total + alpha.sum(axis=-1))
                + pt.sum(pt.gammaln(values + alpha) - pt.gammaln(alpha), axis=-1)
            )
            pm.Potential("kano_loglik", pt.sum(loglik))
        return model

    def fit(self, source, *, seed: int = 0, progressbar: bool = False):
        """Read the answers, sample, draw the segment shares, and keep the posterior in `self.idata`."""
        from pricing.wtp.posterior import diagnose, sample_nuts

        config = self.resolved_model_config()
        sampler = self.resolved_sampler_config()
        if isinstance(source, KanoAnswers):
            answers, sha256 = source, ""
        else:
            answers, sha256 = read_kano(source, **self.read_options)
        label = str(source) if isinstance(source, str | os.PathLike) else "data"
        survey.check_fit_segments(answers.segments, answers.columns.get("segment"), label)
        counts = category_counts(answers, self.table)
        values = sampler["draws"] * sampler["chains"] * counts.size  # of the segment shares' draws
        if values > MAX_POSTERIOR_VALUES:
            raise DataError(
                f"{label}: {len(answers.attributes):,} attributes x {len(answers.segments):,} segments x 6 "
                f"categories x {sampler['draws'] * sampler['chains']:,} draws are {values:,} values; a fit "
                f"keeps at most {MAX_POSTERIOR_VALUES:,} (fewer draws, attributes or segments)"
            )
        idata = sample_nuts(self.build_model(counts, config), sampler, seed, progressbar)
        diagnostics = diagnose(idata, ["kano_population_share", "kano_concentration"])
        idata.posterior = _derived(idata.posterior, counts, np.random.default_rng(seed))
        idata.add_groups(constant_data=xr.Dataset({"kano_count": counts}))
        attrs = idata.posterior.attrs
        attrs.update(
            pricing_format="pricing-wtp-posterior/1",
            method=KANO_FORMAT_METHOD,
            columns=_json(answers.columns),
            data_sha256=sha256,
            priors=_json(config),
            diagnostics=_json(diagnostics),
            table=self.table,
            data_notes=_json(answers.notes),
            seed=seed,
        )
        self.idata = idata
        return idata

    def _fitted(self):
        if self.idata is None:
            raise PricingError("KanoModel: call fit() first")
        return self.idata

    def save(self, path: str | os.PathLike) -> None:
        """Write the fit as netCDF (atomically); a scenario's attribute can point to it."""
        save_kano_posterior(self._fitted(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> KanoModel:
        """A fitted model from a saved posterior."""
        idata = load_kano_posterior(path)
        meta = kano_metadata(idata)
        model = cls(model_config=meta.get("priors"), table=meta.get("table", "standard"))
        model.idata = idata
        return model

    def summary(self) -> pd.DataFrame:
        return kano_fit_summary(self._fitted())


def _derived(posterior: xr.Dataset, counts: xr.DataArray, rng: np.random.Generator) -> xr.Dataset:
    """Segment shares (conjugate draws), CS+ and CS-, and the scenario's Kano weights from them."""
    population = posterior["kano_population_share"].transpose("chain", "draw", ATTRIBUTE, CATEGORY)
    concentration = posterior["kano_concentration"].transpose("chain", "draw", ATTRIBUTE)
    chains, draws = population.shape[:2]
    shares = share_draws(
        population.values.reshape(chains * draws, *population.shape[2:]),
        concentration.values.reshape(chains * draws, -1),
        counts.values,
        rng,
    ).reshape(chains, draws, *counts.shape)
    cs_plus, cs_minus = cs_coefficients(shares)
    sample_dims = ("chain", "draw")
    by_segment = (*sample_dims, SEGMENT, ATTRIBUTE)  # the scenario's (segment, attribute) order
    return posterior.assign(
        kano_share=((*sample_dims, ATTRIBUTE, SEGMENT, CATEGORY), shares),
        cs_plus=((*sample_dims, ATTRIBUTE, SEGMENT), cs_plus),
        cs_minus=((*sample_dims, ATTRIBUTE, SEGMENT), cs_minus),
        kano_weights=(
            (*by_segment, SIDE),
            cs_weights(cs_plus, cs_minus).transpose(0, 1, 3, 2, 4),
        ),
        kano_category_weights=((*by_segment, SIDE), category_weights(shares).transpose(0, 1, 3, 2, 4)),
    ).assign_coords(
        {name: counts[name].values for name in (ATTRIBUTE, SEGMENT, CATEGORY)} | {SIDE: list(SIDES)}
    )


def _json(value: Any) -> str:
    import json

    from pricing.wtp.posterior import _jsonable

    return json.dumps(_jsonable(value))


def kano_metadata(idata) -> dict[str, Any]:
    """The fit's attrs with JSON values decoded."""
    from pricing.wtp.posterior import metadata

    return metadata(idata)


def save_kano_posterior(idata, path: str | os.PathLike) -> None:
    """Write a Kano fit as netCDF atomically (checked first, so that a file we write always loads)."""
    from pricing.wtp.posterior import save_posterior

    _check_kano(idata, str(path))
    save_posterior(idata, path)


def load_kano_posterior(path: str | os.PathLike):
    """Read a saved Kano fit; `DataError` naming the file when it is not one."""
    from pricing.wtp.posterior import load_posterior

    return load_posterior(path, KANO_FORMAT_METHOD)


def _check_kano(idata, where: str) -> None:
    from pricing.wtp.posterior import _validate

    if "posterior" not in idata.groups() or idata.posterior.attrs.get("method") != KANO_FORMAT_METHOD:
        raise DataError(f"{where}: not a Kano fit (make one with `pricing fit kano ... --output`)")
    _validate(idata, where)


def kano_fit_summary(idata) -> pd.DataFrame:
    """Per attribute and segment: posterior mean share and P(largest) of each category, CS+ and CS- (mean,
    q05, q95), the counts, and ``category`` (the one most probably the largest)."""
    posterior = idata.posterior
    shares = posterior["kano_share"].transpose("chain", "draw", ATTRIBUTE, SEGMENT, CATEGORY).values
    shares = shares.reshape(-1, *shares.shape[2:])
    largest = np.argmax(shares, axis=-1)
    counts = idata.constant_data["kano_count"].transpose(ATTRIBUTE, SEGMENT, CATEGORY).values
    cs = {
        name: posterior[name].transpose("chain", "draw", ATTRIBUTE, SEGMENT).values.reshape(shares.shape[:3])
        for name in ("cs_plus", "cs_minus")
    }
    rows = []
    for a, attribute in enumerate(str(x) for x in posterior[ATTRIBUTE].values):
        for s, segment_name in enumerate(str(x) for x in posterior[SEGMENT].values):
            probability = np.bincount(largest[:, a, s], minlength=len(CATEGORIES)) / len(largest)
            row = {ATTRIBUTE: attribute, SEGMENT: segment_name}
            row |= {c: counts[a, s, k] for k, c in enumerate(CATEGORIES)}
            row |= {f"share_{c}": shares[:, a, s, k].mean() for k, c in enumerate(CATEGORIES)}
            row |= {f"p_largest_{c}": probability[k] for k, c in enumerate(CATEGORIES)}
            for name, values in cs.items():
                q05, q50, q95 = np.quantile(values[:, a, s], [0.05, 0.5, 0.95])
                row |= {f"{name}_mean": values[:, a, s].mean(), f"{name}_q05": q05, f"{name}_q50": q50}
                row[f"{name}_q95"] = q95
            row["category"] = CATEGORIES[int(np.argmax(probability))]
            rows.append(row)
    return pd.DataFrame(rows)


def fit_summary_json(idata) -> dict[str, Any]:
    """What ``pricing fit kano --json`` prints: attribute (-> segment) -> counts, category, cs_plus,
    cs_minus (posterior means) with their 90% intervals, the mean shares and the posterior probability of
    each category being the largest; plus ``diagnostics`` and ``notes`` under the key ``_fit``."""
    table = kano_fit_summary(idata)
    meta = kano_metadata(idata)
    segmented = bool((meta.get("columns") or {}).get("segment"))
    result: dict[str, Any] = {}
    for row in table.to_dict(orient="records"):
        record = {c: _finite(row[c]) for c in CATEGORIES}
        record |= {
            "category": CATEGORY_NAMES[row["category"]],
            "cs_plus": _finite(row["cs_plus_mean"]),
            "cs_minus": _finite(row["cs_minus_mean"]),
            "cs_plus_interval": [_finite(row["cs_plus_q05"]), _finite(row["cs_plus_q95"])],
            "cs_minus_interval": [_finite(row["cs_minus_q05"]), _finite(row["cs_minus_q95"])],
            "probability": {CATEGORY_NAMES[c]: _finite(row[f"p_largest_{c}"]) for c in CATEGORIES},
            "share": {CATEGORY_NAMES[c]: _finite(row[f"share_{c}"]) for c in CATEGORIES},
        }
        if segmented:
            result.setdefault(row[ATTRIBUTE], {})[row[SEGMENT]] = record
        else:
            result[row[ATTRIBUTE]] = record
    diagnostics = meta.get("diagnostics") or {}
    result["_fit"] = {
        "table": meta.get("table"),
        "diagnostics": {
            k: diagnostics.get(k)
            for k in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ok", "problems")
        },
        "notes": meta.get("data_notes") or {},
    }
    return result


def format_fit(idata) -> str:
    """The Bayesian read-out as lines for people, with the sampler diagnostics."""
    from pricing.wtp.posterior import format_diagnostics

    table = kano_fit_summary(idata)
    lines = []
    for row in table.itertuples():
        probabilities = ", ".join(
            f"{CATEGORY_NAMES[c]} {getattr(row, f'p_largest_{c}'):.0%}"
            for c in CATEGORIES
            if getattr(row, f"p_largest_{c}") >= 0.005
        )
        lines.append(
            f"{row.attribute} / {row.segment}: {CATEGORY_NAMES[row.category]} (P largest: {probabilities}); "
            f"CS+ {row.cs_plus_mean:.2f} [{row.cs_plus_q05:.2f}, {row.cs_plus_q95:.2f}], "
            f"CS- {row.cs_minus_mean:.2f} [{row.cs_minus_q05:.2f}, {row.cs_minus_q95:.2f}]"
        )
    lines.append(
        "intervals: 90% posterior; sampler: " + format_diagnostics(kano_metadata(idata)["diagnostics"])
    )
    return "\n".join(lines)


def scenario_changes(table: pd.DataFrame, scenario) -> tuple[dict[str, Any], list[str]]:
    """Changes (for `pricing.scenario.with_changes`) that give a scenario the Kano categories of a read-out.

    `table` is `KanoAnalysis.table` or `kano_fit_summary` (columns attribute, segment, category). Attributes
    match by name; a survey segment matching a scenario segment sets that segment's own category
    (``segments[name].kano``), a survey without segments (one segment "all") the attribute's. Reverse and
    questionable results are no value shape: those attributes keep theirs, and the notes say so.
    """
    attributes = set(scenario.attribute_names)
    segments = {s.name for s in scenario.segments}
    changes: dict[str, Any] = {}
    notes = []
    for row in table.itertuples():
        attribute, segment, category = row.attribute, row.segment, row.category
        if attribute not in attributes:
            notes.append(f"{attribute}: not an attribute of the scenario, left out")
            continue
        if category not in SCENARIO_CATEGORIES:
            notes.append(f"{attribute} / {segment}: {CATEGORY_NAMES[category]}, kept the scenario's category")
            continue
        if segment in segments:
            changes[f"segments[{segment}].kano.{attribute}"] = CATEGORY_NAMES[category]
        elif len(set(table["segment"])) == 1:
            changes[f"attributes[{attribute}].kano"] = CATEGORY_NAMES[category]
        else:
            notes.append(f"segment {segment!r}: not a segment of the scenario, left out")
    return changes, list(dict.fromkeys(notes))


def fit_link(scenario, idata, file: str) -> tuple[dict[str, Any], list[str]]:
    """Changes (for `pricing.scenario.with_changes`) that make a scenario's attributes take their Kano
    weights from the fit saved as `file` (``attributes[a].kano: {posterior: file}``), and notes.

    Attributes match by name. Segments of the scenario the fit knows (or all, for a fit of one segment)
    lose their own category of those attributes, so the fit's weights apply; the others keep what they had
    as their own category. `pricing.bundle.with_fit` saves the fit beside the scenario."""
    fitted = [str(a) for a in idata.posterior[ATTRIBUTE].values]
    segments = [str(s) for s in idata.posterior[SEGMENT].values]
    attributes = [a for a in scenario.attributes if a.name in fitted]
    if not attributes:
        raise DataError(
            f"fit: none of the scenario's attributes ({', '.join(scenario.attribute_names)}) is in the "
            f"Kano fit (it has {', '.join(fitted)}); rename them to match"
        )
    changes: dict[str, Any] = {f"attributes[{a.name}].kano": {"posterior": file} for a in attributes}
    served = [s.name for s in scenario.segments if s.name in segments or len(segments) == 1]
    for segment in scenario.segments:
        own = dict(segment.kano)
        for attribute in attributes:
            if segment.name in served:
                own.pop(attribute.name, None)
            elif isinstance(attribute.kano, str):
                own.setdefault(attribute.name, attribute.kano)
        if own != dict(segment.kano):
            changes[f"segments[{segment.name}].kano"] = own
    notes = [f"Kano weights from the fit: {', '.join(a.name for a in attributes)} ({', '.join(served)})"]
    kept = [s.name for s in scenario.segments if s.name not in served]
    if kept:
        notes.append(f"not in the fit, keep their categories: {', '.join(kept)}")
    left_out = [a for a in fitted if a not in scenario.attribute_names]
    if left_out:
        notes.append(f"not attributes of the scenario, left out: {', '.join(left_out)}")
    return changes, notes
