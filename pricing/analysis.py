"""Summaries of simulation results: optimal prices, P(best variant), tidy tables and the value map.

Every figure keeps the posterior's uncertainty: a mean with its 5%, 50% and 95% quantiles over draws.
Market totals (segment ``all``) add volumes over segments; shares are then volume over the market's size;
satisfaction is the size-weighted mean over segments; profit includes the variant's fixed cost, while
per-segment rows report the contribution (fixed costs are not allocated to segments).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from pricing.dims import DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError
from pricing.io import atomic_output, atomic_write_text

ALL = "all"
QUANTILES = (0.05, 0.5, 0.95)


def interval(values: xr.DataArray, dim: str = DRAW) -> xr.Dataset:
    """Mean and 5/50/95% quantiles over `dim`, as variables mean, q05, q50, q95."""
    q = values.quantile(QUANTILES, dim=dim)
    return xr.Dataset(
        {
            "mean": values.mean(dim),
            "q05": q.sel(quantile=0.05, drop=True),
            "q50": q.sel(quantile=0.5, drop=True),
            "q95": q.sel(quantile=0.95, drop=True),
        }
    )


def best_price(results: xr.Dataset) -> xr.DataArray:
    """Profit-maximising price of each variant in each draw (draw, variant): its posterior."""
    return results.profit.idxmax(PRICE)


def expected_best_price(results: xr.Dataset) -> xr.DataArray:
    """Price that maximises expected profit, per variant: the decision under uncertainty."""
    return results.profit.mean(DRAW).idxmax(PRICE)


def probability_most_profitable(results: xr.Dataset) -> xr.DataArray:
    """Share of draws in which each variant, at its own best price, earns the most profit."""
    winner = results.profit.max(PRICE).argmax(VARIANT)
    counts = np.bincount(winner.values, minlength=results.sizes[VARIANT])
    return xr.DataArray(counts / winner.size, coords={VARIANT: results[VARIANT]}, dims=VARIANT)


def market_view(results: xr.Dataset) -> xr.Dataset:
    """Per-draw metrics for every segment plus the market total `all`, for every offering.

    Variables share, volume, revenue (segment, offering, ...), profit (ours only: contribution per segment,
    profit after fixed cost for `all`), surplus and satisfaction.
    """
    size = results.segment_size
    volume = results.share * size
    our_price = xr.where(results.owner == "us", results[PRICE], results.offering_price)
    per_segment = xr.Dataset(
        {
            "share": results.share,
            "volume": volume,
            "revenue": volume * our_price,
            "profit": results.contribution,
            "surplus": results.surplus,
            "satisfaction": results.satisfaction,
        }
    )
    total_volume = volume.sum(SEGMENT)
    totals = xr.Dataset(
        {
            "share": total_volume / size.sum(),
            "volume": total_volume,
            "revenue": total_volume * our_price,
            "profit": results.profit,
            "surplus": results.surplus.sum(SEGMENT),
            "satisfaction": (results.satisfaction * size).sum(SEGMENT) / size.sum(),
        }
    ).expand_dims({SEGMENT: [ALL]})
    return xr.concat([per_segment, totals], dim=SEGMENT, data_vars="all", coords="minimal", join="outer")


def summary_table(results: xr.Dataset, prices: list[float] | None = None) -> pd.DataFrame:
    """Tidy summary: columns variant, segment, offering, price, metric, mean, q05, q50, q95.

    Rows for every variant, segment (and `all`), offering, price (all simulated ones, or `prices`) and
    metric. Profit is ours only; surplus belongs to the whole market (offering `all`).
    """
    if prices is not None:
        results = results.sel({PRICE: prices}, method="nearest")
    view = market_view(results)
    ours = str(results.attrs.get("our_offering", results[OFFERING].values[0]))
    frames = []
    for metric in ("share", "volume", "revenue", "profit", "surplus", "satisfaction"):
        values = view[metric]
        if metric == "profit":
            values = values.expand_dims({OFFERING: [ours]})
        elif metric == "surplus":
            values = values.expand_dims({OFFERING: [ALL]})
        if PRICE not in values.dims:
            values = values.expand_dims({PRICE: results[PRICE].values})
        stats = interval(values).to_dataframe().reset_index()
        stats["metric"] = metric
        frames.append(stats)
    table = pd.concat(frames, ignore_index=True)
    columns = [VARIANT, SEGMENT, OFFERING, PRICE, "metric", "mean", "q05", "q50", "q95"]
    return table[columns].dropna(subset=["mean"]).reset_index(drop=True)


def variant_summary(results: xr.Dataset) -> pd.DataFrame:
    """One row per variant: best price (expected-profit optimum, 90% interval of the per-draw optimum),
    P(most profitable), and our market share, volume, revenue, profit and satisfaction at the best price.
    """
    optimum = expected_best_price(results)
    per_draw = best_price(results).quantile([0.05, 0.95], dim=DRAW)
    p_best = probability_most_profitable(results)
    view = market_view(results).sel({SEGMENT: ALL})
    ours = results.attrs.get("our_offering", str(results[OFFERING].values[0]))
    rows = []
    for variant in results[VARIANT].values:
        at = view.sel({VARIANT: variant, PRICE: optimum.sel({VARIANT: variant}).item(), OFFERING: ours})
        row = {
            VARIANT: variant,
            "best_price": float(optimum.sel({VARIANT: variant})),
            "best_price_q05": float(per_draw.sel({VARIANT: variant, "quantile": 0.05})),
            "best_price_q95": float(per_draw.sel({VARIANT: variant, "quantile": 0.95})),
            "p_most_profitable": float(p_best.sel({VARIANT: variant})),
        }
        for metric in ("share", "volume", "revenue", "profit", "satisfaction"):
            stats = interval(at[metric])
            row |= {f"{metric}_{k}": float(stats[k]) for k in ("mean", "q05", "q95")}
        rows.append(row)
    return pd.DataFrame(rows)


def value_map(results: xr.Dataset, variant: str | None = None) -> pd.DataFrame:
    """Perceived value vs price per segment and offering, with the value-equivalence line.

    Columns segment, offering, owner, price, perceived_value (mean, q05, q95), surplus (value - price) and
    `fair_price`: the price on the value-equivalence line for that perceived value. The line has slope 1 and
    passes through the market's share-weighted average (value, price) at current prices, so an offering
    below it gives more value for money than the market average and gains share; one above it loses share.
    """
    variant = variant if variant is not None else str(results[VARIANT].values[0])
    current = results.attrs.get("current_price", float(results[PRICE].values[0]))
    at = results.sel({VARIANT: variant}).sel({PRICE: current}, method="nearest")
    price = xr.where(at.owner == "us", at[PRICE], at.offering_price)
    value = interval(at.perceived_value)
    share = at.share.mean(DRAW)
    rows = []
    for segment in results[SEGMENT].values:
        weights = share.sel({SEGMENT: segment})
        surplus = value["mean"].sel({SEGMENT: segment}) - price
        total = float(weights.sum())
        offset = float((weights * surplus).sum() / total) if total > 0 else float(surplus.mean())
        for offering in results[OFFERING].values:
            v = value.sel({SEGMENT: segment, OFFERING: offering})
            rows.append(
                {
                    SEGMENT: segment,
                    OFFERING: offering,
                    "owner": str(results.owner.sel({OFFERING: offering}).item()),
                    "price": float(price.sel({OFFERING: offering})),
                    "perceived_value": float(v["mean"]),
                    "perceived_value_q05": float(v["q05"]),
                    "perceived_value_q95": float(v["q95"]),
                    "surplus": float(v["mean"] - price.sel({OFFERING: offering})),
                    "fair_price": float(v["mean"]) - offset,
                }
            )
    return pd.DataFrame(rows)


def check_output_path(path: str | Path) -> Path:
    """The output path if results can be written there (.csv or .nc in an existing folder)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".nc"):
        raise PricingError(f"output {path}: unknown file type {path.suffix!r}; use .csv or .nc")
    if not path.parent.is_dir():
        raise PricingError(f"output {path}: folder {path.parent} does not exist")
    return path


def write_results(results: xr.Dataset, path: str | Path) -> None:
    """Write results atomically: `.csv` the tidy summary, `.nc` every draw as netCDF."""
    path = check_output_path(path)
    if path.suffix.lower() == ".csv":
        atomic_write_text(path, summary_table(results).to_csv(index=False))
    else:
        with atomic_output(path) as tmp:
            results.to_netcdf(tmp, engine="h5netcdf")
