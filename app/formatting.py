"""Numbers for people: money in the scenario's currency, shares in percent, intervals in brackets."""

from __future__ import annotations

import math

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}


_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def compact(magnitude: float) -> str:
    """A non-negative number in three significant digits with a suffix: `61.5k`, `27.7M`, `1.23B`; below
    10,000 in full (`8,120`), so that a headline stays short enough to read whole on a laptop."""
    if magnitude < 1e4:
        return f"{magnitude:,.0f}"
    for size, suffix in _SUFFIXES:
        if magnitude >= size * 0.9995:
            scaled = magnitude / size
            text = f"{scaled:.3g}" if scaled < 1000 else f"{scaled:,.0f}"
            if "e" in text:  # 3 significant digits of e.g. 999.6 read as 1e+03
                text = f"{scaled:,.0f}"
            return f"{text}{suffix}"
    return f"{magnitude:,.0f}"


def money(value: float, currency: str, digits: int | None = None) -> str:
    """`value` in `currency`: `€12.50`, `€8,120`, `€61.5k`, `€27.7M`; unknown codes are written out
    (`SEK 12.50`). With `digits`, the amount in full with that many decimals (prices)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency} ")
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if digits is not None:
        text = f"{magnitude:,.{digits}f}"
    elif magnitude >= 1e3:
        text = compact(magnitude)
    else:
        text = f"{magnitude:,.2f}"
    return f"{sign}{symbol}{text}"


def price(value: float, currency: str) -> str:
    """A price: cents shown only when there are any (`€12`, `€9.99`, `€389`)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return money(value, currency, 0 if abs(value - round(value)) < 5e-3 else 2)


def count(value: float) -> str:
    """A number of units: `8,120`, `21.3k`, `1.23M`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return ("-" if value < 0 else "") + compact(abs(value))


def per_period(label: str, period: str) -> str:
    """A label with the scenario's period: `Profit / month`."""
    return f"{label} / {period}"


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
