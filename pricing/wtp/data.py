"""Reading survey CSV files and checking their columns, with one-line errors that name column and lines.

Every reader in `pricing.wtp` goes through these helpers, so a bad file reads the same whatever the method:
``DataError("survey.csv: column 'price': lines 3, 7 are not numbers (got 'abc', 'n/a')")``. Line numbers are
those of the file (the header is line 1), as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pricing.errors import DataError, PricingError, shown
from pricing.limits import MAX_LEVEL, MAX_MONEY, MAX_WEIGHT, MIN_MONEY

MAX_FILE_BYTES = 200_000_000
_SHOWN = 5


def read_survey(
    source: str | os.PathLike | pd.DataFrame, numbers: Iterable[str] = ()
) -> tuple[pd.DataFrame, str, str]:
    """Read a survey as text cells: returns the frame, a label for messages and the data's SHA-256.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV file (UTF-8, comma, semicolon or tab separated, header row first) or a frame already in memory
        (its label is ``"data"`` and its hash is that of its CSV text).
    numbers : column names
        Columns the caller reads with `numeric_column` only (the fast path for big files): when every cell
        of them is a plain finite number they are parsed as floats by pandas' C parser straight away (a
        million rows in a second instead of many); otherwise, or when one is blank, everything is read as
        text as usual, so that a bad cell gets the same message.

    Returns
    -------
    frame : pandas.DataFrame
        All cells as stripped strings (blank cells are ``""``), except `numbers` columns parsed as floats,
        column names stripped, index 0..n-1.
    label : str
        The file's path (or ``"data"``), to start error messages with.
    sha256 : str
        Hex SHA-256 of the file's bytes.
    """
    if isinstance(source, pd.DataFrame):
        text = source.to_csv(index=False)
        frame = _read_text(text, "data", numbers)
        return frame, "data", hashlib.sha256(text.encode()).hexdigest()
    path = Path(source)
    label = str(path)
    try:
        if not path.is_file():
            raise DataError(f"{label}: file not found")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataError(
                f"{label}: file is {size:,} bytes; survey files are limited to {MAX_FILE_BYTES:,}"
            )
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{label}: cannot read file ({error.strerror or error})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{label}: not UTF-8 text (byte {error.start}); save the file as CSV UTF-8") from None
    return _read_text(text, label, numbers), label, hashlib.sha256(raw).hexdigest()


#: where a frame read with `numbers` keeps its source text: the messages about a number out of range quote
#: the cells as written (the attrs of a frame are copied by reference for a string)
_TEXT = "pricing_survey_text"


def _read_numbers(text: str, separator: str, numbers: Iterable[str]) -> pd.DataFrame | None:
    """The frame with `numbers` columns as floats, or None when a cell in them is not a plain finite
    number (blank, text, 'nan', 'inf', '1_000', a decimal comma ...): the caller then reads text."""
    try:
        header = next(csv.reader(io.StringIO(text[:100_000]), delimiter=separator))
    except (csv.Error, StopIteration):
        return None
    wanted = set(numbers)
    types = {name: "float64" for name in header if name.strip() in wanted}
    if not types or len(set(header)) < len(header):
        return None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=defaultdict(lambda: str, types),
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError, csv.Error, OverflowError):
        return None
    if any(not np.isfinite(frame[name].to_numpy()).all() for name in types):
        return None
    frame.attrs[_TEXT] = (text, separator)
    return frame


def _read_text(text: str, label: str, numbers: Iterable[str] = ()) -> pd.DataFrame:
    # old Mac and some Excel exports end lines with CR alone; the csv module splits on LF only
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError(f"{label}: file is empty; expected a header row and one row per answer")
    try:
        dialect = csv.Sniffer().sniff(text[:20_000].splitlines()[0], delimiters=",;\t")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    frame = _read_numbers(text, separator, numbers) if numbers else None
    try:
        if frame is None:
            frame = pd.read_csv(
                io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True
            )
    except (pd.errors.ParserError, ValueError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{label}: not a valid CSV file ({shown(first_line, 200)})") from None
    except csv.Error as error:
        raise DataError(f"{label}: not a valid CSV file ({shown(str(error), 200)})") from None
    # pandas renames a repeated header to "a.1": check the header as written
    try:
        header = [c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=separator))]
    except csv.Error as error:
        raise DataError(f"{label}: not a valid CSV header ({shown(str(error), 200)})") from None
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{label}: duplicate column name(s) {', '.join(map(shown, duplicated[:5]))}")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{label}: has a header but no data rows")
    text_columns = [c for c in frame.columns if frame[c].dtype.kind != "f"]
    for column in text_columns:
        frame[column] = frame[column].astype(str).str.strip()
    return frame.reset_index(drop=True)


def require_columns(frame: pd.DataFrame, columns: Mapping[str, str | None], label: str) -> None:
    """Check that every named column exists; `columns` maps a role (e.g. ``"price"``) to a column name."""
    for role, name in columns.items():
        if name is not None and name not in frame.columns:
            known = ", ".join(shown(c) for c in list(frame.columns)[:20])
            more = f" and {len(frame.columns) - 20} more" if len(frame.columns) > 20 else ""
            raise DataError(
                f"{label}: column {shown(name)} ({role}) not found; the file has columns {known}{more}"
            )


def resolve_columns(columns: Mapping[str, str | None] | None, roles: Mapping[str, str | None]) -> dict:
    """Role -> column: the defaults (`roles`) overridden by `columns`; an unknown role is an error."""
    unknown = sorted(set(columns or {}) - set(roles))
    if unknown:
        raise PricingError(f"columns: unknown role(s) {', '.join(unknown)} (known: {', '.join(roles)})")
    return {**roles, **(columns or {})}


def merged_config(name: str, given: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict:
    """`defaults` overridden by `given` (priors, a model or sampler config); an unknown key is an error that
    names the setting and the known keys."""
    given = dict(given or {})
    unknown = sorted(map(str, set(given) - set(defaults)))
    if unknown:
        raise PricingError(f"{name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(defaults)})")
    return {**defaults, **given}


def line_list(rows: Iterable[int]) -> str:
    """File line numbers of frame rows (header = line 1), a few then a count: ``lines 3, 7 and 12 more``."""
    lines = [int(r) + 2 for r in rows]
    shown = ", ".join(str(n) for n in lines[:_SHOWN])
    more = f" and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _examples(values: Sequence[str]) -> str:
    unique = list(dict.fromkeys(values))[:3]
    return ", ".join(shown(v) for v in unique)


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    label: str,
    *,
    allow_blank: bool = False,
    minimum: float | None = None,
    positive: bool = False,
    maximum: float | None = None,
    what: str = "",
) -> np.ndarray:
    """A column as floats (NaN for blank cells when `allow_blank`), or `DataError` naming the bad lines.

    Plain numbers only: ``1,234.5`` (ambiguous) and currency symbols are refused. Values must be finite,
    at least `minimum` (> 0 when `positive`) and at most `maximum`; `what` names the kind of value in the
    message ("a money amount").
    """
    cells = frame[column]
    if cells.dtype.kind == "f":  # parsed by `read_survey(numbers=...)`: every cell a finite number
        values = cells.to_numpy(dtype=float)
        blank = np.zeros(len(values), dtype=bool)
    else:
        blank = cells.eq("").to_numpy()
        values = pd.to_numeric(cells.where(~blank, None), errors="coerce").to_numpy(dtype=float)
    bad = ~blank & ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{label}: column {column!r}: {line_list(rows)} are not numbers "
            f"(got {_examples(_as_written(frame, column, rows))})"
        )
    if blank.any() and not allow_blank:
        raise DataError(f"{label}: column {column!r}: {line_list(np.flatnonzero(blank))} are blank")
    if positive:
        low = np.isfinite(values) & (values <= 0)
        if low.any():
            rows = np.flatnonzero(low)
            raise DataError(
                f"{label}: column {column!r}: {line_list(rows)} must be > 0 "
                f"(got {_examples(_as_written(frame, column, rows))})"
            )
    for bound, outside, relation in (
        (minimum, lambda v: v < minimum, ">="),
        (maximum, lambda v: v > maximum, "<="),
    ):
        if bound is None:
            continue
        out = np.isfinite(values) & outside(values)
        if out.any():
            rows = np.flatnonzero(out)
            kind = f" ({what})" if what else ""
            raise DataError(
                f"{label}: column {column!r}: {line_list(rows)} must be {relation} {bound:g}{kind} "
                f"(got {_examples(_as_written(frame, column, rows))})"
            )
    return values


def _as_written(frame: pd.DataFrame, column: str, rows: np.ndarray) -> list[str]:
    """Cells of `column` at `rows` as the file has them (a column `read_survey` parsed as numbers: its text
    is read again, only when a message quotes it)."""
    cells = frame[column]
    if cells.dtype.kind != "f":
        return cells.iloc[rows].tolist()
    text, separator = frame.attrs.get(_TEXT, (None, None))
    if text is not None:
        written = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True
        )
        written.columns = [str(c).strip() for c in written.columns]
        if len(written) == len(frame) and column in written.columns:
            return written[column].iloc[rows].str.strip().tolist()
    return [f"{v:g}" for v in cells.iloc[rows]]


def money_column(
    frame: pd.DataFrame, column: str, label: str, *, allow_blank: bool = False, zero: bool = False
) -> np.ndarray:
    """A column of money amounts (currency): between `MIN_MONEY` (or 0 when `zero`) and `MAX_MONEY`.

    Amounts outside are typos or unit errors (1e308, 1e-300) that would fit nonsense, not prices.
    """
    return numeric_column(
        frame,
        column,
        label,
        allow_blank=allow_blank,
        positive=not zero,
        minimum=0.0 if zero else MIN_MONEY,
        maximum=MAX_MONEY,
        what="a money amount",
    )


def weight_column(frame: pd.DataFrame, column: str, label: str) -> np.ndarray:
    """A column of respondent weights: > 0 and at most `MAX_WEIGHT` (sums of weights must stay exact)."""
    return numeric_column(frame, column, label, positive=True, maximum=MAX_WEIGHT, what="a weight")


def level_column(frame: pd.DataFrame, column: str, label: str, *, allow_blank: bool = False) -> np.ndarray:
    """A column of numeric attribute levels, within +-`MAX_LEVEL`."""
    return numeric_column(
        frame,
        column,
        label,
        allow_blank=allow_blank,
        minimum=-MAX_LEVEL,
        maximum=MAX_LEVEL,
        what="an attribute level",
    )


def label_column(frame: pd.DataFrame, column: str | None, label: str, default: str = "all") -> np.ndarray:
    """A text column (e.g. segment) as an array of str; every row is `default` when `column` is None."""
    if column is None:
        return np.full(len(frame), default, dtype=object)
    cells = frame[column]
    blank = cells.eq("").to_numpy()
    if blank.any():
        raise DataError(f"{label}: column {column!r}: {line_list(np.flatnonzero(blank))} are blank")
    return cells.to_numpy(dtype=object)


def choice_column(
    frame: pd.DataFrame, column: str, label: str, mapping: Mapping[str, float], *, allow_blank: bool = False
) -> np.ndarray:
    """Map answers (labels, any case, or numbers) to floats; `DataError` names lines outside `mapping`."""
    lookup = {str(k).strip().lower(): v for k, v in mapping.items()}
    cells = frame[column]
    values = np.full(len(frame), np.nan)
    bad = []
    for row, cell in enumerate(cells.tolist()):
        key = cell.lower()
        if key == "" and allow_blank:
            continue
        if key not in lookup:
            try:
                key = f"{float(key):g}"
            except ValueError:
                pass
        if key in lookup:
            values[row] = lookup[key]
        else:
            bad.append(row)
    if bad:
        valid = ", ".join(repr(k) for k in mapping)
        raise DataError(
            f"{label}: column {column!r}: {line_list(bad)} are not valid answers "
            f"(got {_examples(cells.iloc[bad].tolist())}; valid: {valid})"
        )
    return values


def segment_codes(segments: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the segment names in order of first appearance."""
    segments = np.asarray(segments, dtype=object)
    if len(segments) and (segments == segments[0]).all():  # one segment (often "all"): no hashing
        return np.zeros(len(segments), dtype=int), [str(segments[0])]
    codes, uniques = pd.factorize(segments, sort=False)
    names = [str(name) for name in uniques]
    if len(set(names)) < len(names):  # e.g. 3 and "3": one segment by its name
        codes, uniques = pd.factorize(np.array(names, dtype=object)[codes], sort=False)
        names = list(uniques)
    return codes.astype(int), names


def check_fit_segments(segments, column: str | None, label: str) -> None:
    """`DataError` when a survey to be fitted has more segments than `pricing.limits.MAX_FIT_SEGMENTS` (each
    segment is parameters of the model and slices of every posterior draw)."""
    from pricing.limits import MAX_FIT_SEGMENTS

    if len(segments) > MAX_FIT_SEGMENTS:
        raise DataError(
            f"{label}: column {column!r}: {len(segments):,} segments; a fit takes at most "
            f"{MAX_FIT_SEGMENTS:,} (is it an id column?)"
        )
