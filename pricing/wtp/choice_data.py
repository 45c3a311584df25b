"""Choice-based conjoint data: long-format CSV to a padded task x alternative x coefficient design.

One row per respondent, choice task and alternative; the choice column is 1 for the chosen alternative and 0
otherwise. Coefficients are named after what they multiply:

- the price column (its own name, e.g. ``price``);
- each numeric attribute (its column name, e.g. ``storage``), per unit of the attribute;
- each non-reference level of a categorical attribute, dummy-coded: ``color=red`` (reference level: the one
  given with ``refs``, else the first level in order of appearance);
- alternative-specific constants ``alt=gc`` for every alternative but the reference one (``asc_ref``, default
  the first alternative), when ``asc=True``;
- the none alternative's constant ``alt=none`` when `none_alt` names one; the none alternative's price and
  attributes are ignored (they may be blank) and it has no other coefficient.

A column is categorical when its cells are not all numbers or when a reference level is given for it.
Numeric columns (price included) are divided by their standard deviation inside the model so that the
sampler sees coefficients of similar size; coefficients are reported in the data's own units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pricing.errors import DataError, shown
from pricing.limits import MAX_ALTERNATIVES, MAX_DESIGN_CELLS, MAX_LEVELS
from pricing.wtp.data import (
    label_column,
    level_column,
    line_list,
    money_column,
    numeric_column,
    require_columns,
    segment_codes,
)

#: Utility given to padded (absent) alternatives: exp() of it is exactly 0 in float64.
PAD_UTILITY = -1e10


@dataclass(frozen=True)
class ChoiceColumns:
    """Which column plays which role, and how to code the attributes (stored with the fit)."""

    id: str
    task: str
    alt: str
    choice: str
    price: str
    attributes: tuple[str, ...] = ()
    asc: bool = False
    asc_ref: str | None = None
    none_alt: str | None = None
    segment: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "alt": self.alt,
            "choice": self.choice,
            "price": self.price,
            "attributes": list(self.attributes),
            "asc": self.asc,
            "asc_ref": self.asc_ref,
            "none_alt": self.none_alt,
            "segment": self.segment,
            "refs": dict(self.refs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChoiceColumns:
        return cls(**{**data, "attributes": tuple(data["attributes"]), "refs": dict(data.get("refs") or {})})


@dataclass(frozen=True)
class Design:
    """How rows become coefficients: learnt from the fitting data, reused to code new data for `predict`.

    Attributes
    ----------
    columns : the column roles.
    coefficients : coefficient names, in model order.
    kinds : per coefficient: "price", "numeric", "dummy", "asc" or "none".
    scales : per coefficient, the sd a numeric column is divided by inside the model (1 for dummies).
    levels : categorical attribute -> its levels, the reference level first.
    alternatives : alternative labels in order of appearance (the none alternative included).
    reference : the reference offering's level of each attribute: numeric -> the column's median over the
        non-none rows, categorical -> the reference level; ``asc_ref`` for labelled designs (under the
        alternative column's name); and the median price (under the price column's name).
    """

    columns: ChoiceColumns
    coefficients: tuple[str, ...]
    kinds: tuple[str, ...]
    scales: tuple[float, ...]
    levels: Mapping[str, tuple[str, ...]]
    alternatives: tuple[str, ...]
    reference: Mapping[str, Any]

    @property
    def price_index(self) -> int:
        return self.kinds.index("price")

    @property
    def attribute_coefficients(self) -> list[str]:
        """Coefficients valued in money per unit (everything but price and the none constant)."""
        return [c for c, k in zip(self.coefficients, self.kinds, strict=True) if k not in ("price", "none")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns.to_dict(),
            "coefficients": list(self.coefficients),
            "kinds": list(self.kinds),
            "scales": list(self.scales),
            "levels": {k: list(v) for k, v in self.levels.items()},
            "alternatives": list(self.alternatives),
            "reference": dict(self.reference),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Design:
        return cls(
            columns=ChoiceColumns.from_dict(data["columns"]),
            coefficients=tuple(data["coefficients"]),
            kinds=tuple(data["kinds"]),
            scales=tuple(float(s) for s in data["scales"]),
            levels={k: tuple(v) for k, v in data["levels"].items()},
            alternatives=tuple(data["alternatives"]),
            reference=dict(data["reference"]),
        )


@dataclass(frozen=True)
class ChoiceArrays:
    """Padded arrays of a data set coded with a `Design`.

    x : (task, slot, coefficient) float, in the data's units (0 in padded slots).
    present : (task, slot) bool, False for padded slots.
    chosen : (task,) int, the chosen slot (-1 when the data has no choices, e.g. for prediction).
    alt : (task, slot) object, the alternative label in each slot ("" when padded).
    respondent : (task,) int index into `respondents`.
    respondents : respondent ids in order of first appearance.
    respondent_segment : (respondent,) int index into `segments`.
    segments : segment names in order of first appearance.
    """

    x: np.ndarray
    present: np.ndarray
    chosen: np.ndarray
    alt: np.ndarray
    respondent: np.ndarray
    respondents: list[str]
    respondent_segment: np.ndarray
    segments: list[str]


def _is_numeric(cells: pd.Series, column: str, label: str) -> bool:
    """True when every filled cell is a number; a column of mostly numbers with a few text cells ("abc",
    "12 EUR") is a mistake, not a categorical attribute: `DataError` naming its lines."""
    filled = cells[cells.ne("")]
    numbers = pd.to_numeric(filled, errors="coerce").notna()
    if numbers.all():
        return bool(len(filled))
    if numbers.mean() > 0.5:
        bad = filled[~numbers]
        examples = ", ".join(shown(v) for v in dict.fromkeys(bad.tolist()[:3]))
        raise DataError(
            f"{label}: column {column!r}: {line_list(bad.index)} are not numbers (got {examples}) in a "
            f"numeric attribute; fix them, or declare the attribute categorical with --ref {column}=LEVEL"
        )
    return False


def _check_attributes_present(
    frame: pd.DataFrame, columns: ChoiceColumns, not_none: np.ndarray, label: str
) -> None:
    for column in (columns.price, *columns.attributes):
        blank = frame[column].eq("").to_numpy() & not_none
        if blank.any():
            raise DataError(f"{label}: column {column!r}: {line_list(np.flatnonzero(blank))} are blank")


def _offered_numbers(
    frame: pd.DataFrame, column: str, offered: np.ndarray, label: str, *, price: bool = False
) -> np.ndarray:
    """A numeric column over all rows (line numbers stay those of the file): money amounts for the price,
    attribute levels otherwise; the none alternative's cells are ignored (NaN) whatever they hold."""
    blanked = frame.assign(**{column: frame[column].where(offered, "")})
    if price:
        return money_column(blanked, column, label, allow_blank=True, zero=True)
    return level_column(blanked, column, label, allow_blank=True)


def learn_design(frame: pd.DataFrame, columns: ChoiceColumns, label: str) -> Design:
    """Decide the coefficients (levels, references, scales) from the fitting data; DataError on bad input."""
    roles = {
        "id": columns.id,
        "task": columns.task,
        "alt": columns.alt,
        "choice": columns.choice,
        "price": columns.price,
        "segment": columns.segment,
    }
    roles |= {f"attribute {i + 1}": a for i, a in enumerate(columns.attributes)}
    require_columns(frame, roles, label)
    for attr in columns.refs:
        if attr not in columns.attributes:
            raise DataError(
                f"--ref {attr}=...: {attr!r} is not one of the attributes "
                f"({', '.join(columns.attributes) or 'none'})"
            )
    duplicated = [a for a in columns.attributes if columns.attributes.count(a) > 1]
    if duplicated or columns.price in columns.attributes:
        bad = duplicated[0] if duplicated else columns.price
        raise DataError(f"{label}: column {bad!r} is given twice (as price or attribute)")
    alternatives = tuple(dict.fromkeys(frame[columns.alt].tolist()))
    if "" in alternatives:
        blank = np.flatnonzero(frame[columns.alt].eq("").to_numpy())
        raise DataError(f"{label}: column {columns.alt!r}: {line_list(blank)} are blank")
    if columns.none_alt is not None and columns.none_alt not in alternatives:
        raise DataError(
            f"{label}: column {columns.alt!r}: the none alternative {columns.none_alt!r} does not occur "
            f"(alternatives: {', '.join(alternatives)})"
        )
    not_none = (
        frame[columns.alt].ne(columns.none_alt).to_numpy() if columns.none_alt else np.ones(len(frame), bool)
    )
    if not not_none.any():
        raise DataError(
            f"{label}: column {columns.alt!r}: every row is the none alternative {columns.none_alt!r}; "
            "nothing was offered"
        )
    _check_attributes_present(frame, columns, not_none, label)
    rows = frame[not_none]
    price = _offered_numbers(frame, columns.price, not_none, label, price=True)[not_none]
    if np.ptp(price) == 0:
        raise DataError(
            f"{label}: column {columns.price!r} has the single value {price[0]:g}; price must vary"
        )

    names, kinds, scales = [columns.price], ["price"], [float(np.std(price))]
    levels: dict[str, tuple[str, ...]] = {}
    reference: dict[str, Any] = {columns.price: float(np.median(price))}
    for attr in columns.attributes:
        cells = rows[attr]
        if attr not in columns.refs and _is_numeric(cells, attr, label):
            values = _offered_numbers(frame, attr, not_none, label)[not_none]
            if np.ptp(values) == 0:
                raise DataError(f"{label}: column {attr!r} has the single value {values[0]:g}; it must vary")
            names.append(attr)
            kinds.append("numeric")
            scales.append(float(np.std(values)))
            reference[attr] = float(np.median(values))
            continue
        found = list(dict.fromkeys(cells.tolist()))
        ref = columns.refs.get(attr, found[0])
        if ref not in found:
            raise DataError(
                f"--ref {attr}={ref}: level {ref!r} does not occur in column {attr!r} "
                f"(levels: {', '.join(found)})"
            )
        if len(found) < 2:
            raise DataError(f"{label}: column {attr!r} has the single level {ref!r}; it must vary")
        if len(found) > MAX_LEVELS:
            raise DataError(
                f"{label}: column {attr!r} has {len(found):,} levels; at most {MAX_LEVELS} per categorical "
                "attribute (is it free text, or a number with a unit?)"
            )
        levels[attr] = (ref, *[level for level in found if level != ref])
        reference[attr] = ref
        for level in levels[attr][1:]:
            names.append(f"{attr}={level}")
            kinds.append("dummy")
            scales.append(1.0)
    offered = [a for a in alternatives if a != columns.none_alt]
    if columns.asc:
        asc_ref = columns.asc_ref if columns.asc_ref is not None else offered[0]
        if asc_ref not in offered:
            raise DataError(
                f"--asc-ref {asc_ref}: not an alternative in column {columns.alt!r} "
                f"(alternatives: {', '.join(offered)})"
            )
        reference[columns.alt] = asc_ref
        for alt in offered:
            if alt != asc_ref:
                names.append(f"{columns.alt}={alt}")
                kinds.append("asc")
                scales.append(1.0)
    elif columns.asc_ref is not None:
        raise DataError(f"--asc-ref {columns.asc_ref}: give --asc too (alternative-specific constants)")
    if columns.none_alt is not None:
        names.append(f"{columns.alt}={columns.none_alt}")
        kinds.append("none")
        scales.append(1.0)
    if len(set(names)) != len(names):
        clash = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{label}: coefficient name {clash!r} arises twice; rename a column or level")
    return Design(
        columns=columns,
        coefficients=tuple(names),
        kinds=tuple(kinds),
        scales=tuple(s if s > 0 else 1.0 for s in scales),
        levels=levels,
        alternatives=alternatives,
        reference=reference,
    )


def code_rows(
    frame: pd.DataFrame,
    design: Design,
    label: str,
    *,
    with_choice: bool = True,
    asc_of: Mapping[str, str] | None = None,
) -> ChoiceArrays:
    """Code a long-format frame into padded arrays with `design`; `DataError` names bad columns and lines.

    Parameters
    ----------
    frame : all cells as text (as `pricing.wtp.data.read_survey` returns).
    design : from `learn_design` on the fitting data.
    with_choice : require and check the choice column (exactly one chosen alternative per task).
    asc_of : for prediction with constants: new alternative label -> existing alternative whose constant it
        takes (e.g. ``{"new": "ec"}``).
    """
    columns = design.columns
    roles = {"id": columns.id, "task": columns.task, "alt": columns.alt, "price": columns.price}
    roles |= {f"attribute {i + 1}": a for i, a in enumerate(columns.attributes)}
    if with_choice:
        roles["choice"] = columns.choice
    if columns.segment is not None:
        roles["segment"] = columns.segment
    require_columns(frame, roles, label)
    n_rows = len(frame)
    alt = frame[columns.alt].to_numpy(dtype=object)
    is_none = alt == columns.none_alt if columns.none_alt is not None else np.zeros(n_rows, bool)
    _check_attributes_present(frame, columns, ~is_none, label)

    x = np.zeros((n_rows, len(design.coefficients)))
    position = {name: i for i, name in enumerate(design.coefficients)}
    price = _offered_numbers(frame, columns.price, ~is_none, label, price=True)
    x[:, design.price_index] = np.where(is_none, 0.0, price)
    for attr in columns.attributes:
        if attr in design.levels:
            cells = frame[attr].to_numpy(dtype=object)
            unknown = ~is_none & ~np.isin(cells, list(design.levels[attr]))
            if unknown.any():
                rows = np.flatnonzero(unknown)
                raise DataError(
                    f"{label}: column {attr!r}: {line_list(rows)} have level(s) "
                    f"{', '.join(sorted({repr(c) for c in cells[rows]}))} not in the fitted data "
                    f"(levels: {', '.join(design.levels[attr])})"
                )
            for level in design.levels[attr][1:]:
                x[:, position[f"{attr}={level}"]] = (cells == level) & ~is_none
        else:
            values = _offered_numbers(frame, attr, ~is_none, label)
            x[:, position[attr]] = np.where(is_none, 0.0, values)
    if columns.asc:
        mapping = dict(asc_of or {})
        known = [a for a in design.alternatives if a != columns.none_alt]
        for new, existing in mapping.items():
            if existing not in known:
                raise DataError(f"asc_of: {new!r} -> {existing!r}: {existing!r} is not a fitted alternative")
        unknown = ~is_none & ~np.isin(alt, known + list(mapping))
        if unknown.any():
            rows = np.flatnonzero(unknown)
            raise DataError(
                f"{label}: column {columns.alt!r}: {line_list(rows)} have alternative(s) "
                f"{', '.join(sorted({repr(a) for a in alt[rows]}))} without a constant; map each to a fitted "
                f"alternative's constant (asc_of) or use one of {', '.join(known)}"
            )
        constant_of = np.array([mapping.get(a, a) for a in alt], dtype=object)
        for name, kind in zip(design.coefficients, design.kinds, strict=True):
            if kind == "asc":
                x[:, position[name]] = constant_of == name.split("=", 1)[1]
    if columns.none_alt is not None:
        x[:, position[f"{columns.alt}={columns.none_alt}"]] = is_none

    ids = frame[columns.id].to_numpy(dtype=object)
    tasks = frame[columns.task].to_numpy(dtype=object)
    for column, values in ((columns.id, ids), (columns.task, tasks)):
        blank = values == ""
        if blank.any():
            raise DataError(f"{label}: column {column!r}: {line_list(np.flatnonzero(blank))} are blank")
    task_keys = pd.MultiIndex.from_arrays([ids, tasks])
    task_index, task_labels = pd.factorize(task_keys, sort=False)
    duplicated = pd.MultiIndex.from_arrays([ids, tasks, alt]).duplicated(keep=False)
    if duplicated.any():
        raise DataError(
            f"{label}: column {columns.alt!r}: {line_list(np.flatnonzero(duplicated))} repeat an alternative "
            f"within the same respondent and task"
        )
    n_tasks = len(task_labels)
    slot = pd.Series(np.arange(n_rows)).groupby(task_index).cumcount().to_numpy()
    n_slots = int(slot.max()) + 1
    if n_slots > MAX_ALTERNATIVES:
        first = task_labels[int(task_index[np.argmax(slot)])]
        raise DataError(
            f"{label}: column {columns.alt!r}: {columns.id} {shown(first[0])} task {shown(first[1])} has "
            f"{n_slots:,} alternatives; at most {MAX_ALTERNATIVES} per task"
        )
    if n_tasks * n_slots * len(design.coefficients) > MAX_DESIGN_CELLS:
        raise DataError(
            f"{label}: {n_tasks:,} tasks x {n_slots} alternatives x {len(design.coefficients)} coefficients "
            f"is a design of over {MAX_DESIGN_CELLS:,} numbers; fit fewer tasks, alternatives or levels"
        )

    chosen = np.full(n_tasks, -1)
    if with_choice:
        choice = numeric_column(frame, columns.choice, label)
        not_binary = ~np.isin(choice, (0.0, 1.0))
        if not_binary.any():
            rows = np.flatnonzero(not_binary)
            raise DataError(
                f"{label}: column {columns.choice!r}: {line_list(rows)} must be 1 (chosen) or 0 (not chosen)"
            )
        per_task = np.bincount(task_index, weights=choice, minlength=n_tasks)
        bad_tasks = np.flatnonzero(per_task != 1)
        if bad_tasks.size:
            rows = np.flatnonzero(np.isin(task_index, bad_tasks))
            first = task_labels[bad_tasks[0]]
            count = int(per_task[bad_tasks[0]])
            raise DataError(
                f"{label}: column {columns.choice!r}: {bad_tasks.size} task(s) do not have exactly one "
                f"chosen alternative (e.g. {columns.id} {first[0]!r} task {first[1]!r} has {count}); "
                f"{line_list(rows)}"
            )
        chosen_rows = np.flatnonzero(choice == 1)
        chosen[task_index[chosen_rows]] = slot[chosen_rows]
        by_task = pd.Series(np.where(is_none, np.nan, price)).groupby(task_index)
        if columns.none_alt is None and not ((by_task.max() - by_task.min()).to_numpy() > 0).any():
            raise DataError(
                f"{label}: column {columns.price!r}: the price is the same for every alternative within each "
                "task, and there is no none alternative (--none-alt): the price coefficient is not identified"
            )

    respondent_of_task, respondents = pd.factorize(pd.Index([k[0] for k in task_labels]), sort=False)
    segment_cells = label_column(frame, columns.segment, label)
    segment_of_row, segments = segment_codes(segment_cells)
    respondent_of_row = respondent_of_task[task_index]
    first_segment = np.full(len(respondents), -1)
    first_segment[respondent_of_row[::-1]] = segment_of_row[::-1]
    varying = segment_of_row != first_segment[respondent_of_row]
    if varying.any():
        raise DataError(
            f"{label}: column {columns.segment!r}: {line_list(np.flatnonzero(varying))} give a respondent a "
            f"different segment than their first row; a respondent belongs to one segment"
        )

    x_padded = np.zeros((n_tasks, n_slots, len(design.coefficients)))
    x_padded[task_index, slot] = x
    present = np.zeros((n_tasks, n_slots), bool)
    present[task_index, slot] = True
    alt_padded = np.full((n_tasks, n_slots), "", dtype=object)
    alt_padded[task_index, slot] = alt
    return ChoiceArrays(
        x=x_padded,
        present=present,
        chosen=chosen,
        alt=alt_padded,
        respondent=respondent_of_task.astype(int),
        respondents=[str(r) for r in respondents],
        respondent_segment=first_segment,
        segments=list(segments),
    )


def alternative_shares(
    arrays: ChoiceArrays, probabilities: np.ndarray, alternatives: Sequence[str]
) -> np.ndarray:
    """Mean over tasks of each alternative's probability (0 where it is absent), as mlogit's `predict`.

    probabilities : (..., task, slot); returns (..., alternative).
    """
    onehot = np.stack([arrays.alt == a for a in alternatives], axis=-1).astype(float)  # task, slot, alt
    return np.einsum("...ts,tsa->...a", probabilities, onehot) / probabilities.shape[-2]
