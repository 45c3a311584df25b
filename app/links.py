"""Shareable links: a bundled scenario's name plus the settings changed from it, as URL query parameters.

``?scenario=saas_team_plan&offerings[TaskHub].price=9&price=13&variant=delight`` reopens the bundled
scenario with TaskHub at 9 (`pricing.scenario.with_changes` paths), our price 13 and the variant `delight`
selected. Values are JSON (numbers, true/false, lists) or plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pricing.errors import ScenarioError
from pricing.scenario import Scenario, with_changes

SCENARIO_PARAM = "scenario"
PRICE_PARAM = "price"
VARIANT_PARAM = "variant"
VIEW_PARAMS = (PRICE_PARAM, VARIANT_PARAM)
RESERVED = (SCENARIO_PARAM, *VIEW_PARAMS)
_UNSAFE = set(".[]")


def _safe_name(name: Any) -> bool:
    return (
        isinstance(name, str) and bool(name) and not (_UNSAFE & set(name)) and not name.lstrip("-").isdigit()
    )


def _diff(old: Any, new: Any, path: str, changes: dict[str, Any]) -> None:
    if old == new:
        return
    if (
        isinstance(old, dict)
        and isinstance(new, dict)
        and old.keys() == new.keys()
        and all(map(_safe_name, old))
    ):
        for key in new:
            _diff(old[key], new[key], f"{path}.{key}" if path else key, changes)
        return
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and all(isinstance(item, dict) for item in old + new)
    ):
        old_names = [item.get("name") for item in old]
        new_names = [item.get("name") for item in new]
        if (
            old_names == new_names
            and all(map(_safe_name, new_names))
            and len(set(new_names)) == len(new_names)
        ):
            for name, a, b in zip(new_names, old, new, strict=True):
                _diff(a, b, f"{path}[{name}]", changes)
            return
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", changes)
        return
    changes[path] = new


def is_leaf(value: Any) -> bool:
    """Whether a changed value is a leaf field a link can carry: a number, text, true/false, or a list of
    those (a range), not a whole item or list of items."""
    if isinstance(value, list):
        return all(isinstance(v, int | float | str | bool) or v is None for v in value)
    return not isinstance(value, dict)


def scenario_changes(base: Scenario, scenario: Scenario) -> dict[str, Any]:
    """The fewest `with_changes` paths and values that turn `base` into `scenario`."""
    changes: dict[str, Any] = {}
    _diff(base.model_dump(mode="json"), scenario.model_dump(mode="json"), "", changes)
    return changes


def encode_value(value: Any) -> str:
    """A query-parameter value: text as it is unless it would read as JSON, everything else as JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, separators=(",", ":"))


def decode_value(text: str) -> Any:
    """The value of a query parameter: JSON when it parses, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_query(name: str, changes: Mapping[str, Any], view: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Query parameters for a bundled scenario `name`, its `changes` and the view (price, variant)."""
    query = {SCENARIO_PARAM: name}
    query |= {path: encode_value(value) for path, value in changes.items()}
    query |= {key: encode_value(value) for key, value in (view or {}).items() if value is not None}
    return query


def from_query(query: Mapping[str, str], base: Scenario) -> tuple[Scenario, dict[str, Any], list[str]]:
    """Apply a link's changes to `base`: the scenario, the view settings, and one message per bad parameter.

    A parameter that does not apply (unknown path, invalid value) is reported and skipped; the others
    still apply, so a link with one stale setting still opens.
    """
    problems = []
    scenario = base
    for key, text in query.items():
        if key in RESERVED:
            continue
        try:
            scenario = with_changes(scenario, {key: decode_value(text)})
        except ScenarioError as error:
            problems += [f"link parameter {key}={text}: {p}" for p in error.problems]
    view: dict[str, Any] = {}
    if PRICE_PARAM in query:
        price = decode_value(query[PRICE_PARAM])
        if isinstance(price, int | float) and not isinstance(price, bool) and price > 0:
            view[PRICE_PARAM] = float(price)
        else:
            problems.append(f"link parameter price={query[PRICE_PARAM]}: must be a positive number")
    if VARIANT_PARAM in query:
        names = [v.name for v in scenario.variants]
        if query[VARIANT_PARAM] in names:
            view[VARIANT_PARAM] = query[VARIANT_PARAM]
        else:
            problems.append(
                f"link parameter variant={query[VARIANT_PARAM]}: no such variant (known: {', '.join(names)})"
            )
    return scenario, view, problems
