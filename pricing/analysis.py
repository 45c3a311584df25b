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
from pricing.io import atomic_write_bytes, atomic_write_text, check_output, csv_text, netcdf_bytes

ALL = "all"
QUANTILES = (0.05, 0.5, 0.95)
STATS = ("mean", "q05", "q50", "q95")  # the columns of each metric's interval in the tables below
METRICS = ("share", "volume", "revenue", "profit", "satisfaction")  # ours, as the app shows them


def interval(values: xr.DataArray, dim: str = DRAW) -> xr.Dataset:
    """Mean and 5/50/95% quantiles over `dim`, as variables mean, q05, q50, q95 (NaN skipped, as xarray
    does; without NaN the quantiles come from one sort, `_stats`: the Excel's summary sheet in a fraction of
    xarray's time)."""
    raw = values.variable.transpose(dim, ...)
    if not np.issubdtype(raw.dtype, np.floating) or not np.isnan(raw.values).any():
        stats = _stats(raw.values.astype(float, copy=False))
        kept = {name: coord for name, coord in values.coords.items() if dim not in coord.dims}
        dims = raw.dims[1:]
        return xr.Dataset({name: (dims, stats[name]) for name in ("mean", "q05", "q50", "q95")}, coords=kept)
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
    profit = results.profit.transpose(DRAW, PRICE, VARIANT)
    best = results[PRICE].values[profit.values.argmax(axis=1)]  # the first maximum, as idxmax
    return xr.DataArray(best, coords={DRAW: profit[DRAW], VARIANT: profit[VARIANT]}, dims=(DRAW, VARIANT))


def expected_best_price(results: xr.Dataset) -> xr.DataArray:
    """Price that maximises expected profit, per variant: the decision under uncertainty."""
    return results.profit.mean(DRAW).idxmax(PRICE)


def probability_most_profitable(results: xr.Dataset) -> xr.DataArray:
    """Share of draws in which each variant, at its own best price, earns the most profit."""
    profit = results.profit.transpose(DRAW, PRICE, VARIANT)
    winner = profit.values.max(axis=1).argmax(axis=1)
    counts = np.bincount(winner, minlength=results.sizes[VARIANT])
    return xr.DataArray(counts / winner.size, coords={VARIANT: profit[VARIANT]}, dims=VARIANT)


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


def best_price_summary(results: xr.Dataset) -> pd.DataFrame:
    """One row per variant: its best price (the expected-profit optimum, currency) and the 90% interval of the
    per-draw optimum (best_price_q05, best_price_q95). The first columns of `variant_summary`, for a fraction
    of its cost: the profit array only, no metric at the best price."""
    variants = [str(v) for v in results[VARIANT].values]
    optimum = expected_best_price(results).sel({VARIANT: variants}).values
    q05, q95 = np.quantile(best_price(results).transpose(DRAW, VARIANT).values, (0.05, 0.95), axis=0)
    return pd.DataFrame(
        {VARIANT: variants, "best_price": optimum, "best_price_q05": q05, "best_price_q95": q95}
    )


def variant_summary(results: xr.Dataset) -> pd.DataFrame:
    """One row per variant: best price (expected-profit optimum, 90% interval of the per-draw optimum),
    P(most profitable), and our market share, volume, revenue, profit and satisfaction at the best price.
    """
    best = best_price_summary(results)
    variants, optimum = list(best[VARIANT]), best["best_price"].to_numpy()
    columns = {name: best[name].to_numpy() for name in best.columns} | {
        "p_most_profitable": probability_most_profitable(results).values
    }
    columns[VARIANT] = variants
    # each variant at its own best price (pointwise selection), our offering only, market totals
    views = [_ours(results, v, price, segments=False) for v, price in zip(variants, optimum, strict=True)]
    for metric in METRICS:
        stats = _stats(np.concatenate([view[metric] for view in views], axis=1))
        columns |= {f"{metric}_{k}": stats[k] for k in ("mean", "q05", "q95")}
    return pd.DataFrame(columns)


def value_map(results: xr.Dataset, variant: str | None = None, price: float | None = None) -> pd.DataFrame:
    """Perceived value vs price per segment and offering, with the value-equivalence line.

    Our offering is placed at our `price` (default today's; snapped to the nearest simulated price, so pass
    results that hold it), the competitors at theirs. Columns segment, offering, owner, price,
    perceived_value (mean, q05, q95), surplus (value - price) and `fair_price`: the price on the
    value-equivalence line for that perceived value. The line has slope 1 and passes through the market's
    share-weighted average (value, price) at these prices, so an offering below it gives more value for
    money than the market average and gains share; one above it loses share.
    """
    variants = [str(v) for v in results[VARIANT].values]
    variant = variants[0] if variant is None else variant
    if variant not in variants:
        raise PricingError(f"unknown variant {variant!r} (known: {', '.join(variants)})")
    v = variants.index(variant)
    grid = results[PRICE].values
    wanted = results.attrs.get("current_price", grid[0]) if price is None else price
    p = int(np.abs(grid - wanted).argmin())
    segments = [str(s) for s in results[SEGMENT].values]
    offerings = [str(o) for o in results[OFFERING].values]
    owners = results.owner.sel({OFFERING: offerings}).values
    price = np.where(owners == "us", grid[p], results.offering_price.sel({OFFERING: offerings}).values)
    value = _stats(results.perceived_value.transpose(DRAW, SEGMENT, OFFERING, VARIANT).values[..., v])
    share = results.share.transpose(DRAW, SEGMENT, OFFERING, PRICE, VARIANT).values[:, :, :, p, v].mean(0)
    surplus = value["mean"] - price  # segment, offering
    total = share.sum(axis=1)
    weighted = (share * surplus).sum(axis=1) / np.where(total > 0, total, 1.0)
    offset = np.where(total > 0, weighted, surplus.mean(axis=1))  # per segment
    n_seg, n_off = surplus.shape
    return pd.DataFrame(
        {
            SEGMENT: np.repeat(segments, n_off),
            OFFERING: np.tile(offerings, n_seg),
            "owner": np.tile(owners.astype(str), n_seg),
            PRICE: np.tile(price, n_seg).astype(float),
            "perceived_value": value["mean"].ravel(),
            "perceived_value_q05": value["q05"].ravel(),
            "perceived_value_q95": value["q95"].ravel(),
            "surplus": surplus.ravel(),
            "fair_price": (value["mean"] - offset[:, None]).ravel(),
        }
    )


def check_output_path(path: str | Path) -> Path:
    """The output path if results can be written there (.csv or .nc, a writable folder): checked before
    simulating."""
    return check_output(path, (".csv", ".nc"))


def write_results(results: xr.Dataset, path: str | Path) -> None:
    """Write results atomically: `.csv` the tidy summary (text cells escaped against spreadsheet formulas),
    `.nc` every draw as netCDF."""
    path = check_output_path(path)
    if path.suffix.lower() == ".csv":
        atomic_write_text(path, csv_text(summary_table(results)))
    else:
        atomic_write_bytes(path, netcdf_bytes(results))


# ---- views for the app: one price, one variant, curves over price, paired comparisons --------------------


def nearest_price(results: xr.Dataset, price: float) -> float:
    """The simulated price of ours closest to `price` (currency)."""
    prices = results[PRICE].values
    return float(prices[np.abs(prices - price).argmin()])


def _ours(
    results: xr.Dataset, variant: str, price: float | None = None, segments: bool = True
) -> dict[str, np.ndarray]:
    """Our share, volume, revenue, profit and satisfaction per draw, for one variant, from the raw arrays.

    At one `price` (snapped to the grid) each metric is (draw, column); over every price (`price` None) it is
    (draw, price, column), satisfaction excepted (it does not depend on price: (draw, column)). The columns
    are the segments then `all` (market totals, as `market_view` defines them), or `all` alone when
    `segments` is False. Plain numpy indexing: the app calls this on every rerun.
    """
    variants = [str(v) for v in results[VARIANT].values]
    if variant not in variants:
        raise PricingError(f"unknown variant {variant!r} (known: {', '.join(variants)})")
    v = variants.index(variant)
    p = slice(None) if price is None else int(np.abs(results[PRICE].values - price).argmin())
    ours = [str(o) for o in results[OFFERING].values].index(
        str(results.attrs.get("our_offering", results[OFFERING].values[0]))
    )

    def raw(name: str, *dims: str) -> np.ndarray:
        return results[name].variable.transpose(*dims).values  # Variable: no coordinates to carry along

    cells = (DRAW, SEGMENT, PRICE, VARIANT)
    volume = raw("volume", *cells)[..., p, v]  # draw, segment[, price]
    revenue = raw("revenue", *cells)[..., p, v]
    satisfaction = raw("satisfaction", DRAW, SEGMENT, OFFERING, VARIANT)[:, :, ours, v]
    size = raw("segment_size", SEGMENT)
    totals = {
        "share": volume.sum(axis=1) / size.sum(),
        "volume": volume.sum(axis=1),
        "revenue": revenue.sum(axis=1),
        "profit": raw("profit", DRAW, PRICE, VARIANT)[:, p, v],
        "satisfaction": satisfaction @ size / size.sum(),
    }
    if not segments:
        return {metric: total[..., None] for metric, total in totals.items()}
    per_segment = {
        "share": raw("share", DRAW, SEGMENT, OFFERING, PRICE, VARIANT)[:, :, ours, p, v],
        "volume": volume,
        "revenue": revenue,
        "profit": raw("contribution", *cells)[..., p, v],
        "satisfaction": satisfaction,
    }
    return {
        metric: np.concatenate([np.moveaxis(values, 1, -1), totals[metric][..., None]], axis=-1)
        for metric, values in per_segment.items()
    }


def _stats(values: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    """Mean and 5/50/95% quantiles over `axis`: numpy's default (linear) quantiles, from one sort, which is
    about five times faster than `np.quantile` on the app's (draw, price) arrays. NaN propagates."""
    ordered = np.sort(np.moveaxis(values, axis, -1), axis=-1)
    position = (ordered.shape[-1] - 1) * np.array(QUANTILES)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, ordered.shape[-1] - 1)
    below, above = ordered[..., low], ordered[..., high]
    quantiles = below + (above - below) * (position - low)
    quantiles[np.isnan(ordered[..., -1])] = np.nan  # sort puts NaN last
    q05, q50, q95 = np.moveaxis(quantiles, -1, 0)
    return {"mean": values.mean(axis=axis), "q05": q05, "q50": q50, "q95": q95}


def our_stats(
    results: xr.Dataset, variant: str, price: float, segments: bool = False
) -> dict[str, dict[str, np.ndarray]]:
    """The numbers of `metrics_at` as arrays, for callers that need many (a sweep): metric -> {mean, q05,
    q50, q95}, each over the columns (the segments then `all`, or `all` alone when `segments` is False)."""
    return {metric: _stats(values) for metric, values in _ours(results, variant, price, segments).items()}


def metrics_at(results: xr.Dataset, price: float, variant: str) -> pd.DataFrame:
    """Our share, volume, revenue, profit and satisfaction at one price and variant, per segment and `all`.

    Columns segment, metric, mean, q05, q50, q95. `price` is snapped to the nearest simulated price.
    Per-segment profit is the contribution (no fixed cost); the `all` row is profit after fixed cost.
    """
    view = _ours(results, variant, price)
    segments = [str(s) for s in results[SEGMENT].values] + [ALL]
    frames = []
    for metric in METRICS:
        frame = pd.DataFrame(_stats(view[metric]))
        frame.insert(0, "metric", metric)
        frame.insert(0, SEGMENT, segments)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def metrics_table(results: xr.Dataset, variant: str) -> pd.DataFrame:
    """`metrics_at` of every simulated price at once: its columns after a first column price, its rows price
    by price (each price's block ordered as `metrics_at` orders it). One sort over the draws per metric,
    instead of one per price: the app then reads any price of the grid off it."""
    view = _ours(results, variant)
    prices = results[PRICE].values
    segments = [str(s) for s in results[SEGMENT].values] + [ALL]
    per_metric = []
    for metric in METRICS:
        stats = _stats(view[metric])  # each (price, column); satisfaction (column,): the same at every price
        per_metric.append(
            {k: np.broadcast_to(v, (len(prices), len(segments))) for k, v in stats.items() if k in STATS}
        )
    columns = {
        PRICE: np.repeat(prices, len(METRICS) * len(segments)),
        SEGMENT: np.tile(segments, len(prices) * len(METRICS)),
        "metric": np.tile(np.repeat(METRICS, len(segments)), len(prices)),
    }
    for k in STATS:  # price, metric, column
        columns[k] = np.stack([stats[k] for stats in per_metric], axis=1).ravel()
    return pd.DataFrame(columns)


def price_curves(
    results: xr.Dataset, variant: str, metrics: tuple[str, ...] = METRICS, segment: str = ALL
) -> pd.DataFrame:
    """Our metrics over every simulated price for one variant and segment (default the market total).

    Columns price, metric, mean, q05, q50, q95 (90% interval over draws). Satisfaction does not depend
    on price and is left out.
    """
    segments = [str(s) for s in results[SEGMENT].values] + [ALL]
    if segment not in segments:
        raise PricingError(f"unknown segment {segment!r} (known: {', '.join(segments)})")
    view = _ours(results, variant, segments=segment != ALL)
    column = segments.index(segment) if segment != ALL else 0
    frames = []
    for metric in metrics:
        if metric == "satisfaction":
            continue
        frame = pd.DataFrame(_stats(view[metric][..., column]))
        frame.insert(0, "metric", metric)
        frame.insert(0, PRICE, results[PRICE].values)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def offering_shares_at(results: xr.Dataset, price: float, variant: str) -> pd.DataFrame:
    """Every offering's share of each segment's customers (and `none`, who buy nothing) at one price of ours.

    Columns segment, offering, mean, q05, q95; per segment the means add up to 1.
    """
    at = results.sel({VARIANT: variant, PRICE: nearest_price(results, price)})
    share = at.share.transpose(DRAW, SEGMENT, OFFERING).values
    none = 1.0 - share.sum(axis=2, keepdims=True)
    values = np.concatenate([share, np.clip(none, 0.0, 1.0)], axis=2)
    q05, q95 = np.quantile(values, (0.05, 0.95), axis=0)
    mean = values.mean(axis=0)
    offerings = [str(o) for o in results[OFFERING].values] + ["none"]
    rows = []
    for s, segment in enumerate(results[SEGMENT].values):
        for o, offering in enumerate(offerings):
            rows.append(
                {
                    SEGMENT: str(segment),
                    OFFERING: offering,
                    "mean": float(mean[s, o]),
                    "q05": float(q05[s, o]),
                    "q95": float(q95[s, o]),
                }
            )
    return pd.DataFrame(rows)


def variant_probabilities(results: xr.Dataset, price: float | None = None) -> pd.DataFrame:
    """P(each variant is the most profitable): each at its own best price, or all at one `price`.

    Columns variant, probability (share of draws in which that variant earns the most profit).
    """
    if price is None:
        probability = probability_most_profitable(results).values
    else:
        profit = results.profit.sel({PRICE: nearest_price(results, price)}).transpose(DRAW, VARIANT).values
        probability = np.bincount(profit.argmax(axis=1), minlength=profit.shape[1]) / profit.shape[0]
    return pd.DataFrame({VARIANT: [str(v) for v in results[VARIANT].values], "probability": probability})


def compare_options(
    options: dict[str, tuple[xr.Dataset, float, str]], reference: str | None = None
) -> pd.DataFrame:
    """Our market totals for several (results, price, variant) options and their per-draw differences.

    Each option's metrics (share, volume, revenue, profit, satisfaction) come with a 90% interval; the
    difference to the `reference` option (default the first) is taken draw by draw, which pairs the draws
    when the options come from the same scenario or from scenarios simulated with the same seed, segments
    and attributes (the same parameter draws). Columns option, metric, mean, q05, q95, diff_mean,
    diff_q05, diff_q95 and p_higher (share of draws in which the option's value exceeds the reference's).
    """
    if not options:
        raise PricingError("compare: choose at least one option")
    names = list(options)
    reference = names[0] if reference is None else reference
    if reference not in options:
        raise PricingError(f"compare: unknown reference {reference!r} (options: {', '.join(names)})")
    values = {}
    for name, (results, price, variant) in options.items():
        view = _ours(results, variant, price, segments=False)
        values[name] = {metric: view[metric][:, 0] for metric in METRICS}
    draws = {name: len(v["profit"]) for name, v in values.items()}
    if len(set(draws.values())) > 1:
        shown = ", ".join(f"{name}: {n}" for name, n in draws.items())
        raise PricingError(f"compare: options have different numbers of draws ({shown}); use the same draws")
    rows = []
    for name in names:
        for metric in METRICS:
            own = values[name][metric]
            diff = own - values[reference][metric]
            stats, diff_stats = _stats(own), _stats(diff)
            rows.append(
                {
                    "option": name,
                    "metric": metric,
                    "mean": float(stats["mean"]),
                    "q05": float(stats["q05"]),
                    "q95": float(stats["q95"]),
                    "diff_mean": float(diff_stats["mean"]),
                    "diff_q05": float(diff_stats["q05"]),
                    "diff_q95": float(diff_stats["q95"]),
                    "p_higher": float((diff > 0).mean()),
                }
            )
    return pd.DataFrame(rows)
