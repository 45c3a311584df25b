"""Exceptions for problems in what users hand us; their messages are one line each and name the field.

Every message is bounded: at most `MAX_PROBLEMS` problems (then a count of the others), values quoted through
`shown` (at most `MAX_SHOWN` characters, whatever the value), and `one_line` caps what the CLI prints.
"""

from __future__ import annotations

from pricing.limits import MAX_LINE, MAX_PROBLEMS, MAX_SHOWN


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """`repr(value)` cut to `limit` characters; never fails (an integer of 5,000 digits has no repr)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, str | bytes) and len(value) > limit:
        value = value[:limit]  # the repr of a 1 MB cell is not built
        return repr(value)[: limit - 1] + "…"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile object's repr: say what it is instead
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """`text` on one line (newlines become '; '), cut to `limit` characters."""
    flat = "; ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def capped(problems: list[str], limit: int = MAX_PROBLEMS) -> list[str]:
    """The first `limit` problems, each on one line, and a count of the others."""
    kept = [one_line(p) for p in problems[:limit]]
    if len(problems) > limit:
        kept.append(f"... and {len(problems) - limit:,} more problems")
    return kept


class PricingError(ValueError):
    """Base of every user-facing error: the CLI and the app show its message, never a traceback."""


class ScenarioError(PricingError):
    """A scenario file or edit is invalid; `problems` lists one line per problem (`path: what is wrong`),
    at most `MAX_PROBLEMS` of them."""

    def __init__(self, problems: list[str] | str):
        self.problems = capped([problems] if isinstance(problems, str) else list(problems))
        super().__init__("; ".join(self.problems))


class DataError(PricingError):
    """A data file (survey CSV, posterior) is unreadable or has missing or mistyped columns."""
