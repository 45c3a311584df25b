"""Saved what-ifs that last: named options (a scenario, our price, a variant) in a small SQLite file.

The file is `whatifs.sqlite` in the user's data folder (`$PRICING_DATA_DIR`, else `$XDG_DATA_HOME/pricing`
or `~/.local/share/pricing`; `%APPDATA%/pricing` on Windows), so options survive reloads and restarts.
Scenarios are stored as their YAML text and validated again when read (no pickle); an export is a JSON file
of the same rows that `import_options` reads back (checked row by row, each problem one line).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pricing.errors import ScenarioError
from pricing.scenario import Scenario, dump_scenario, parse_scenario

FILE_NAME = "whatifs.sqlite"
EXPORT_FORMAT = "pricing-whatifs/1"
MAX_IMPORT_BYTES = 20_000_000
MAX_NAME = 120

_SCHEMA = """
CREATE TABLE IF NOT EXISTS options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    scenario TEXT NOT NULL,
    base_dir TEXT,
    price REAL NOT NULL,
    variant TEXT NOT NULL,
    saved TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Option:
    """A saved what-if: a scenario with our price and variant, under a name."""

    id: int
    name: str
    scenario: Scenario
    price: float
    variant: str
    saved: str


def data_dir() -> Path:
    """The user's data folder of the app (created when first written)."""
    if os.environ.get("PRICING_DATA_DIR"):
        return Path(os.environ["PRICING_DATA_DIR"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "pricing"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "pricing"


def _connect() -> sqlite3.Connection:
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(folder / FILE_NAME, timeout=10)
    connection.execute(_SCHEMA)
    return connection


def _check(name: str, price: float, variant: str) -> str:
    name = " ".join(str(name).split())
    if not name or len(name) > MAX_NAME:
        raise ScenarioError(f"name: give 1 to {MAX_NAME} characters")
    if not isinstance(price, int | float) or not math.isfinite(price) or price <= 0:
        raise ScenarioError(f"price: must be a positive number (got {price!r})")
    if not isinstance(variant, str) or not variant:
        raise ScenarioError("variant: give the variant's name")
    return name


def unique_name(name: str) -> str:
    """`name`, or `name (2)`, `name (3)`, ... when it is taken."""
    taken = {option.name for option in list_options()}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def save_option(name: str, scenario: Scenario, price: float, variant: str) -> int:
    """Save a what-if under a new name (made unique); returns its id."""
    name = unique_name(_check(name, price, variant))
    if variant not in [v.name for v in scenario.variants]:
        raise ScenarioError(f"variant: {variant!r} is not a variant of the scenario")
    with closing(_connect()) as connection, connection:
        cursor = connection.execute(
            "INSERT INTO options (name, scenario, base_dir, price, variant, saved) VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                dump_scenario(scenario),
                str(scenario.base_dir),
                float(price),
                variant,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        return int(cursor.lastrowid)


def list_options() -> list[Option]:
    """Every saved what-if, oldest first; a row whose scenario no longer validates is left out."""
    with closing(_connect()) as connection:
        rows = connection.execute(
            "SELECT id, name, scenario, base_dir, price, variant, saved FROM options ORDER BY id"
        ).fetchall()
    options = []
    for id_, name, text, base_dir, price, variant, saved in rows:
        try:
            scenario = parse_scenario(text, base_dir=base_dir or None)
        except ScenarioError:
            continue
        options.append(Option(id_, name, scenario, price, variant, saved))
    return options


def rename_option(option_id: int, name: str) -> None:
    """Give a saved what-if another name (raises `ScenarioError` when it is empty or taken)."""
    name = " ".join(str(name).split())
    if not name or len(name) > MAX_NAME:
        raise ScenarioError(f"name: give 1 to {MAX_NAME} characters")
    try:
        with closing(_connect()) as connection, connection:
            connection.execute("UPDATE options SET name = ? WHERE id = ?", (name, option_id))
    except sqlite3.IntegrityError:
        raise ScenarioError(f"name: {name!r} is taken by another saved option") from None


def delete_option(option_id: int) -> None:
    """Forget a saved what-if."""
    with closing(_connect()) as connection, connection:
        connection.execute("DELETE FROM options WHERE id = ?", (option_id,))


def export_options() -> bytes:
    """Every saved what-if as a JSON file (scenarios as YAML text) that `import_options` reads."""
    rows = [
        {
            "name": o.name,
            "scenario": dump_scenario(o.scenario),
            "price": o.price,
            "variant": o.variant,
            "saved": o.saved,
        }
        for o in list_options()
    ]
    return json.dumps({"format": EXPORT_FORMAT, "options": rows}, indent=1, allow_nan=False).encode()


def import_options(content: bytes, base_dir: str | Path | None = None) -> tuple[int, list[str]]:
    """Add the what-ifs of an export (names made unique); returns how many were added and one line per
    row that was not (what is wrong with it)."""
    if len(content) > MAX_IMPORT_BYTES:
        return 0, [f"file is {len(content):,} bytes; exports are limited to {MAX_IMPORT_BYTES:,}"]
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return 0, ["not a JSON file (export saved options from this page, then import that file)"]
    if (
        not isinstance(data, dict)
        or data.get("format") != EXPORT_FORMAT
        or not isinstance(data.get("options"), list)
    ):
        return 0, [f"not an export of saved options (expected format {EXPORT_FORMAT!r})"]
    added, problems = 0, []
    for i, row in enumerate(data["options"]):
        where = f"options[{i}]"
        if not isinstance(row, dict):
            problems.append(f"{where}: not an object")
            continue
        try:
            scenario = parse_scenario(str(row.get("scenario", "")), base_dir=base_dir)
            save_option(str(row.get("name", "")), scenario, row.get("price"), row.get("variant"))
        except ScenarioError as error:
            problems.append(f"{where}: {error.problems[0] if error.problems else error}")
            continue
        added += 1
    return added, problems
