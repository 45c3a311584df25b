"""The market simulator's read-outs as conjoint users know them: every product's share, and sensitivity.

- `market_shares`: every offering's share of each segment's customers and of the whole market (segments
  weighted by size) at the scenario's prices, as mean and 5/50/95% quantiles over posterior draws.
- `sensitivity`: our share and profit as one attribute of one product moves through its levels, or one
  product's price through a range, one at a time (the curves), and the swing of each (the tornado).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pricing.analysis import nearest_price
from pricing.dims import DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import ScenarioError
from pricing.scenario import Scenario, with_changes
from pricing.simulate import simulate

STATS = ("mean", "q05", "q50", "q95")


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean and 5/50/95% quantiles of draws (first axis)."""
    q05, q50, q95 = np.quantile(values, (0.05, 0.5, 0.95), axis=0)
    return {"mean": float(np.mean(values, axis=0)), "q05": float(q05), "q50": float(q50), "q95": float(q95)}


def share_draws(results: xr.Dataset, price: float | None = None, variant: str | None = None) -> xr.DataArray:
    """Shares (draw, segment, offering) at our `price` (default: our current price) and `variant` (default:
    the first), with a segment ``total``: the market's share, segments weighted by their size."""
    price = results.attrs["current_price"] if price is None else price
    variant = str(results[VARIANT].values[0]) if variant is None else variant
    share = results.share.sel({PRICE: nearest_price(results, price), VARIANT: variant}, drop=True)
    size = results.segment_size
    total = (share * size).sum(SEGMENT) / float(size.sum()) if float(size.sum()) > 0 else share.mean(SEGMENT)
    total = total.expand_dims({SEGMENT: ["total"]})
    return xr.concat(
        [share.transpose(DRAW, SEGMENT, OFFERING), total.transpose(DRAW, SEGMENT, OFFERING)], SEGMENT
    )


def market_shares(
    results: xr.Dataset, price: float | None = None, variant: str | None = None
) -> dict[str, Any]:
    """Plain data for ``pricing shares --json``: ``shares`` (offering -> {mean, q05, q50, q95}, the market
    total) and ``segments`` (segment -> offering -> the same), at our `price` and `variant` (default: the
    scenario's current price, the first variant)."""
    draws = share_draws(results, price, variant)
    offerings = [str(o) for o in draws[OFFERING].values]
    values = draws.transpose(DRAW, SEGMENT, OFFERING).values
    segments = [str(s) for s in draws[SEGMENT].values]
    table = {
        segment: {offering: _stats(values[:, s, o]) for o, offering in enumerate(offerings)}
        for s, segment in enumerate(segments)
    }
    return {"shares": table.pop("total"), "segments": table}


def shares_table(results: xr.Dataset, price: float | None = None, variant: str | None = None) -> pd.DataFrame:
    """`market_shares` as a table: one row per offering, columns ``total`` and each segment's share (mean),
    and their 5% and 95% quantiles as ``<segment> q05`` and ``<segment> q95``."""
    data = market_shares(results, price, variant)
    columns = {"total": data["shares"], **data["segments"]}
    rows = []
    for offering in data["shares"]:
        row = {OFFERING: offering}
        for name, table in columns.items():
            row[name] = table[offering]["mean"]
            row[f"{name} q05"] = table[offering]["q05"]
            row[f"{name} q95"] = table[offering]["q95"]
        rows.append(row)
    return pd.DataFrame(rows)


# ---- sensitivity ---------------------------------------------------------------------------------------


def _our_figures(results: xr.Dataset, price: float) -> dict[str, float]:
    """Our market share and profit (first variant) at our `price`: posterior means."""
    at = results.sel({PRICE: nearest_price(results, price)}).isel({VARIANT: 0})
    ours = results.attrs["our_offering"]
    size = at.segment_size
    share = (at.share.sel({OFFERING: ours}) * size).sum(SEGMENT) / max(float(size.sum()), 1e-300)
    return {"share": float(share.mean(DRAW)), "profit": float(at.profit.mean(DRAW))}


def sensitivity(
    scenario: Scenario,
    offering: str | None = None,
    prices: Sequence[float] | None = None,
    rival_prices: dict[str, Sequence[float]] | None = None,
    draws: int | None = None,
) -> pd.DataFrame:
    """Our share and profit as each attribute of `offering` (default ours) moves through its levels and as
    its price moves, one at a time, everything else at the base case; and as each rival's price moves.

    A categorical attribute takes each of its levels; a numeric one each level another offering has (and
    the expectations of the segments). Prices default to 70%..130% of the current price in 7 steps.
    Returns one row per setting: ``factor`` (``"<offering>: <attribute>"`` or ``"<offering>: price"``),
    ``setting`` (the level or price), ``base`` (True for the base case's own setting), ``share`` and
    ``profit`` (posterior means; profit of our first variant at our current price).
    """
    offering = scenario.our_offering.name if offering is None else offering
    names = [o.name for o in scenario.offerings]
    if offering not in names:
        raise ScenarioError(f"offering {offering!r}: not in the scenario (offerings: {', '.join(names)})")
    product = scenario.offerings[names.index(offering)]
    draws = scenario.market.draws if draws is None else draws
    base_scenario = with_changes(scenario, {"market.draws": draws})
    base_results = simulate(base_scenario)
    current = scenario.our_offering.price
    base = _our_figures(base_results, current)
    rows = []

    def add(factor: str, setting: Any, is_base: bool, figures: dict[str, float]) -> None:
        rows.append({"factor": factor, "setting": setting, "base": is_base, **figures})

    for attribute in scenario.attributes:
        if attribute.levels is not None:
            settings = list(attribute.levels)
        else:
            seen = {o.levels[attribute.name] for o in scenario.offerings if attribute.name in o.levels}
            seen |= {s.expectations.get(attribute.name, 0.0) for s in scenario.segments}
            settings = sorted(float(v) for v in seen)
        present = product.levels.get(attribute.name)
        for setting in settings:
            is_base = present == setting
            if is_base:
                figures = base
            else:
                changed = with_changes(
                    base_scenario, {f"offerings[{offering}].levels.{attribute.name}": setting}
                )
                figures = _our_figures(simulate(changed), current)
            add(f"{offering}: {attribute.name}", setting, is_base, figures)

    price_settings = {offering: prices} | dict(rival_prices or {})
    for name, grid in price_settings.items():
        now = scenario.offerings[names.index(name)].price
        grid = list(np.round(np.linspace(0.7 * now, 1.3 * now, 7), 10)) if grid is None else list(grid)
        for price in grid:
            changed = simulate(with_changes(base_scenario, {f"offerings[{name}].price": float(price)}))
            at = price if name == scenario.our_offering.name else current  # our price: the file's is moved
            figures = _our_figures(changed, at)
            add(f"{name}: price", float(price), bool(np.isclose(price, now)), figures)
    frame = pd.DataFrame(rows)
    frame.attrs |= {"base_share": base["share"], "base_profit": base["profit"]}
    return frame


def tornado(table: pd.DataFrame, metric: str = "share") -> pd.DataFrame:
    """The swing of each factor of a `sensitivity` table: columns factor, low, high (the lowest and highest
    `metric` over its settings), low_setting, high_setting and swing (high - low), widest first."""
    rows = []
    for factor, group in table.groupby("factor", sort=False):
        low, high = group[metric].idxmin(), group[metric].idxmax()
        rows.append(
            {
                "factor": factor,
                "low": float(group.loc[low, metric]),
                "high": float(group.loc[high, metric]),
                "low_setting": group.loc[low, "setting"],
                "high_setting": group.loc[high, "setting"],
            }
        )
    frame = pd.DataFrame(rows, columns=["factor", "low", "high", "low_setting", "high_setting"])
    frame["swing"] = frame["high"] - frame["low"]
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
