"""The scenario editor's draft: a scenario as plain fields and tables (one row per item), and back.

The draft is what the editor's widgets show and edit; `draft_to_data` turns it into the plain data that
`pricing.scenario.scenario_from_dict` validates, so every problem is reported by the library with its path
(`segments[1].wtp.median: ...`). Per-attribute settings are columns named ``expect:<attribute>``,
``value:<attribute>`` and ``level:<attribute>``; an empty cell means "not set" (the schema's default).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from pricing.scenario import ElicitedWTP, Scenario, scenario_to_dict

EXPECT, VALUE, LEVEL = "expect:", "value:", "level:"
KANO_CATEGORIES = ("must_be", "one_dimensional", "attractive", "indifferent")
#: The Kano categories as people read them (the file keeps the schema's names).
KANO_NAMES = {
    "must_be": "Must-be",
    "one_dimensional": "One-dimensional",
    "attractive": "Attractive",
    "indifferent": "Indifferent",
}
CHOICE_RULES = ("logit", "first_choice")

ATTRIBUTE_COLUMNS = ("name", "unit", "kano", "description")
#: WTP fields of a segment, as the schema has them (numbers first, then e.g. a fitted posterior's path).
WTP_FIELDS = tuple(ElicitedWTP.model_fields)
WTP_NUMBERS = ("median", "spread", "low", "high", "coverage", "uncertainty", "spread_uncertainty")
SEGMENT_COLUMNS = ("name", "size", "logit_scale", *(f"wtp_{n}" for n in WTP_FIELDS), "value_uncertainty")
NUMBER_COLUMNS = (
    "size",
    "logit_scale",
    *(f"wtp_{n}" for n in WTP_NUMBERS),
    "value_uncertainty",
    "unit_cost_uncertainty",
    "undercut",
)
MONEY_COLUMNS = ("price", "unit_cost", "unit_cost_low", "unit_cost_high", "extra_unit_cost", "fixed_cost")
#: How a rival's price reacts (`Offering.reaction`).
REACTIONS = ("best_response", "match", "undercut")
OFFERING_COLUMNS = (
    "name",
    "owner",
    "price",
    "unit_cost",
    "unit_cost_uncertainty",
    "unit_cost_low",
    "unit_cost_high",
    "reacts",
    "reaction",
    "undercut",
)
VARIANT_COLUMNS = ("name", "description", "extra_unit_cost", "fixed_cost")
TABLES = ("attributes", "segments", "offerings", "variants")

BLANK = {
    "schema_version": 1,
    "name": "New scenario",
    "description": "Describe the pricing question here.",
    "currency": "EUR",
    "seed": 1,
    "attributes": [{"name": "quality", "unit": "score", "kano": "one_dimensional"}],
    "segments": [
        {
            "name": "Customers",
            "size": 10000,
            "wtp": {"median": 20.0, "spread": 0.4, "uncertainty": 0.1},
            "logit_scale": 3.0,
            "expectations": {"quality": 5},
            "value_per_unit": {"quality": 2.0},
        }
    ],
    "offerings": [
        {"name": "Our product", "owner": "us", "price": 20.0, "unit_cost": 5.0, "levels": {"quality": 5}},
        {"name": "Competitor", "owner": "competitor", "price": 18.0, "levels": {"quality": 4}},
    ],
    "variants": [
        {"name": "base", "description": "As it is today."},
        {"name": "better quality", "levels": {"quality": 7}, "extra_unit_cost": 1.5},
    ],
    "market": {"draws": 500},
}


def _cell(value: Any) -> Any:
    """None for empty cells (NaN, None, blank text), the value otherwise (numpy scalars as Python)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column.startswith((EXPECT, VALUE, LEVEL)) or column in NUMBER_COLUMNS or column in MONEY_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        else:
            frame[column] = frame[column].astype("object")
    return frame


def scenario_to_draft(scenario: Scenario) -> dict[str, Any]:
    """The editor's draft of a scenario: `general`, `market` (dicts) and one DataFrame per list."""
    data = scenario.model_dump(mode="json")
    attributes = [a["name"] for a in data["attributes"]]
    segment_rows = []
    for s in data["segments"]:
        wtp = s["wtp"]
        row = {"name": s["name"], "size": s["size"], "logit_scale": s["logit_scale"]}
        for field in WTP_FIELDS:  # mappings (e.g. a survey's columns) are edited as JSON text
            value = wtp.get(field)
            if isinstance(value, dict):
                value = json.dumps(value) if value else None
            row[f"wtp_{field}"] = value
        row["value_uncertainty"] = s["value_uncertainty"]
        row |= {EXPECT + a: s["expectations"].get(a) for a in attributes}
        row |= {VALUE + a: s["value_per_unit"].get(a) for a in attributes}
        segment_rows.append(row)
    offering_rows = [
        {k: o[k] for k in OFFERING_COLUMNS} | {LEVEL + a: o["levels"].get(a) for a in attributes}
        for o in data["offerings"]
    ]
    variant_rows = [
        {
            "name": v["name"],
            "description": v["description"],
            "extra_unit_cost": v["extra_unit_cost"],
            "fixed_cost": v["fixed_cost"],
        }
        | {LEVEL + a: v["levels"].get(a) for a in attributes}
        for v in data["variants"]
    ]
    market = data["market"]
    grid = market["price_grid"] or {}
    return {
        "general": {k: data[k] for k in ("name", "description", "currency", "period", "seed")},
        "dynamics": data.get("dynamics"),  # edited on the Over time page, carried through the editor as is
        "market": {
            "choice_rule": market["choice_rule"],
            "none_option": market["none_option"],
            "draws": market["draws"],
            "integration_nodes": market["integration_nodes"],
            "custom_grid": bool(grid),
            "grid_min": grid.get("min"),
            "grid_max": grid.get("max"),
            "grid_steps": grid.get("steps", 61),
        },
        "attributes": _frame([dict(a) for a in data["attributes"]], list(ATTRIBUTE_COLUMNS)),
        "segments": _frame(
            segment_rows,
            [*SEGMENT_COLUMNS, *(EXPECT + a for a in attributes), *(VALUE + a for a in attributes)],
        ),
        "offerings": _frame(offering_rows, [*OFFERING_COLUMNS, *(LEVEL + a for a in attributes)]),
        "variants": _frame(variant_rows, [*VARIANT_COLUMNS, *(LEVEL + a for a in attributes)]),
        # each segment's own Kano categories (by segment name), which the tables do not edit: kept as is
        "kept": {"segment_kano": {s["name"]: s["kano"] for s in data["segments"] if s.get("kano")}},
    }


def _json_cell(value: Any) -> Any:
    """Text holding a JSON object (e.g. a survey's columns) as the object; anything else as it is."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _by_attribute(row: dict, prefix: str, attributes: list[str]) -> dict[str, Any]:
    return {a: _cell(row.get(prefix + a)) for a in attributes if _cell(row.get(prefix + a)) is not None}


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _cell(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _present(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v is not None}


def draft_to_data(draft: dict[str, Any]) -> dict[str, Any]:
    """Plain scenario data from the editor's draft (empty cells left out, so schema defaults apply)."""
    attribute_rows = _records(draft["attributes"])
    attributes = [str(r["name"]) for r in attribute_rows if r.get("name") is not None]
    kept = draft.get("kept", {})
    segments = []
    for row in _records(draft["segments"]):
        wtp = _present({k[4:]: _json_cell(row.get(k)) for k in SEGMENT_COLUMNS if k.startswith("wtp_")})
        segments.append(
            _present(
                {
                    "name": row.get("name"),
                    "size": row.get("size"),
                    "logit_scale": row.get("logit_scale"),
                    "wtp": wtp,
                    "value_uncertainty": row.get("value_uncertainty"),
                    "expectations": _by_attribute(row, EXPECT, attributes),
                    "value_per_unit": _by_attribute(row, VALUE, attributes),
                    "kano": {
                        a: k
                        for a, k in kept.get("segment_kano", {}).get(row.get("name"), {}).items()
                        if a in attributes
                    },
                }
            )
        )
    offerings = [
        _present(
            {k: row.get(k) for k in OFFERING_COLUMNS} | {"levels": _by_attribute(row, LEVEL, attributes)}
        )
        for row in _records(draft["offerings"])
    ]
    variants = [
        _present({k: row.get(k) for k in VARIANT_COLUMNS} | {"levels": _by_attribute(row, LEVEL, attributes)})
        for row in _records(draft["variants"])
    ]
    market_draft = draft["market"]
    market = _present(
        {k: market_draft.get(k) for k in ("choice_rule", "none_option", "draws", "integration_nodes")}
    )
    if market_draft.get("custom_grid"):
        market["price_grid"] = _present(
            {
                "min": market_draft.get("grid_min"),
                "max": market_draft.get("grid_max"),
                "steps": market_draft.get("grid_steps"),
            }
        )
    general = _present(dict(draft["general"]))
    return {
        "schema_version": 1,
        **general,
        "attributes": [_present(r) for r in attribute_rows],
        "segments": segments,
        "offerings": offerings,
        "variants": variants,
        "market": market,
    } | ({"dynamics": draft["dynamics"]} if draft.get("dynamics") else {})


def sync_attribute_columns(draft: dict[str, Any], renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """Make the per-attribute columns of the segment, offering and variant tables match the attributes table.

    Columns of renamed attributes (`renamed`: old -> new name) are renamed, columns of removed attributes
    dropped and empty ones added for new attributes. Returns a new draft.
    """
    renamed = renamed or {}
    attributes = [str(n) for n in draft["attributes"]["name"] if _cell(n) is not None]
    result = dict(draft)
    for table, prefixes in (("segments", (EXPECT, VALUE)), ("offerings", (LEVEL,)), ("variants", (LEVEL,))):
        frame = draft[table].rename(
            columns={p + old: p + new for old, new in renamed.items() for p in prefixes}
        )
        base = [c for c in frame.columns if not c.startswith((EXPECT, VALUE, LEVEL))]
        wanted = [p + a for p in prefixes for a in attributes]
        for column in wanted:
            if column not in frame.columns:
                frame[column] = float("nan")
        result[table] = frame[base + wanted]
    return result


def apply_edits(frame: pd.DataFrame, edits: dict[str, Any]) -> pd.DataFrame:
    """A table with `st.data_editor`'s edit state applied (edited_rows, added_rows, deleted_rows)."""
    frame = frame.copy()
    dtypes = frame.dtypes.to_dict()
    for row, changes in (edits.get("edited_rows") or {}).items():
        for column, value in changes.items():
            if column in frame.columns:
                frame.iloc[int(row), frame.columns.get_loc(column)] = value
    deleted = sorted(int(i) for i in edits.get("deleted_rows") or [])
    if deleted:
        frame = frame.drop(index=frame.index[deleted])
    added = [
        {c: r.get(c) for c in frame.columns} for r in edits.get("added_rows") or [] if isinstance(r, dict)
    ]
    if added:
        frame = pd.concat([frame, pd.DataFrame(added, columns=frame.columns)], ignore_index=True)
    frame = frame.reset_index(drop=True)
    for column, dtype in dtypes.items():
        if pd.api.types.is_float_dtype(dtype):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def problems_by_section(problems: list[str]) -> dict[str, list[str]]:
    """Group `ScenarioError.problems` by the editor section they belong to (general, market, tables)."""
    sections: dict[str, list[str]] = {}
    for problem in problems:
        head = problem.split(":", 1)[0].split(".", 1)[0].split("[", 1)[0].strip()
        section = head if head in (*TABLES, "market") else "general"
        sections.setdefault(section, []).append(problem)
    return sections


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario's plain data, as the file holds it."""
    return scenario_to_dict(scenario)


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two tables hold the same cells (empty cells equal, whatever their dtype)."""
    return list(a.columns) == list(b.columns) and _records(a) == _records(b)
