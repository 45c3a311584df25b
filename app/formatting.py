"""Numbers for people: money in the scenario's currency, shares in percent, intervals in brackets."""

from __future__ import annotations

import math

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}


def money(value: float, currency: str, digits: int | None = None) -> str:
    """`value` in `currency`: `€12.50`, `€1.2M`; unknown codes are written out (`SEK 12.50`)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency} ")
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if digits is None and magnitude >= 1e6:
        text = f"{magnitude / 1e6:,.2f}M"
    elif digits is None and magnitude >= 1e4:
        text = f"{magnitude / 1e3:,.1f}k"
    elif digits is None and magnitude >= 1e3:
        text = f"{magnitude:,.0f}"
    else:
        text = f"{magnitude:,.{2 if digits is None else digits}f}"
    return f"{sign}{symbol}{text}"


def count(value: float) -> str:
    """A number of units: `21,292`, `1.2M`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value / 1e6:,.2f}M" if abs(value) >= 1e6 else f"{value:,.0f}"


def percent(value: float, digits: int = 1) -> str:
    """A share as a percentage: `74.7%`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def metric_value(metric: str, value: float, currency: str) -> str:
    """Format one of the simulator's metrics (share, volume, revenue, profit, satisfaction)."""
    if metric == "share":
        return percent(value)
    if metric == "volume":
        return count(value)
    if metric == "satisfaction":
        return f"{value:+.0f}" if value is not None and math.isfinite(value) else "n/a"
    return money(value, currency)


def metric_delta(metric: str, value: float, currency: str) -> str:
    """A signed difference of a metric: `+3.2 pts`, `+€1.2k`, `-140 units`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "+" if value >= 0 else "-"
    if metric == "share":
        return f"{sign}{100 * abs(value):.1f} pts"
    if metric == "volume":
        return f"{sign}{count(abs(value))} units"
    if metric == "satisfaction":
        return f"{sign}{abs(value):.1f}"
    return f"{sign}{money(abs(value), currency)}"


def interval(metric: str, low: float, high: float, currency: str) -> str:
    """A 90% interval: `[€1.1k, €1.3k]`."""
    return f"[{metric_value(metric, low, currency)}, {metric_value(metric, high, currency)}]"
