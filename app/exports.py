"""Files for download: result tables as CSV or an Excel workbook, the charts of the current view by name."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import xarray as xr

from pricing import analysis, charts
from pricing.scenario import Scenario

CHART_NAMES = (
    "profit curve",
    "share curve",
    "volume curve",
    "revenue curve",
    "value map",
    "segment shares",
    "variant probabilities",
)


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per table (sheet names cut to Excel's 31 characters).

    Written by XlsxWriter a column at a time (pandas' `to_excel` through openpyxl took seconds for the
    12,000-row summary sheet). Every text cell
    is written as text (`strings_to_formulas` off): a name starting with ``=`` stays the name, never a live
    formula; nor does text become a link.
    """
    import xlsxwriter

    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True}
    with xlsxwriter.Workbook(buffer, {"in_memory": True, **options}) as workbook:
        for name, frame in sheets.items():
            sheet = workbook.add_worksheet(name[:31])
            sheet.write_row(0, 0, [str(column) for column in frame.columns])
            for j, column in enumerate(frame.columns):  # a column at a time: no per-cell pandas machinery
                sheet.write_column(1, j, frame[column].tolist())
    return buffer.getvalue()


def result_sheets(
    scenario: Scenario,
    results: xr.Dataset,
    price: float,
    variant: str,
    exact: xr.Dataset | None = None,
    summary: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of a simulation for a workbook: variants, selected view, curves, value map, all.

    `exact`: results holding our `price` exactly (a typed price off the grid), default `results`;
    `summary`: `analysis.summary_table(results)` when already made (the app caches it: seconds to make).
    """
    exact = results if exact is None else exact
    at = analysis.metrics_at(exact, price, variant)
    at.insert(0, "variant", variant)
    at.insert(1, "price", analysis.nearest_price(exact, price))
    curves = pd.concat(
        [analysis.price_curves(results, v.name).assign(variant=v.name) for v in scenario.variants],
        ignore_index=True,
    )
    about = pd.DataFrame(
        {
            "field": [
                "scenario",
                "currency",
                "period of units and money",
                "draws",
                "seed",
                "our offering",
                "selected price",
                "selected variant",
            ],
            "value": [
                scenario.name,
                scenario.currency,
                scenario.period,
                results.sizes["draw"],
                results.attrs.get("seed"),
                scenario.our_offering.name,
                analysis.nearest_price(exact, price),
                variant,
            ],
        }
    )
    return {
        "about": about,
        "variants": analysis.variant_summary(results),
        "selected view": at,
        "curves": curves[["variant", "price", "metric", "mean", "q05", "q50", "q95"]],
        "value map": analysis.value_map(exact, variant, price),
        "summary": analysis.summary_table(results) if summary is None else summary,
    }


def chart_builders(
    scenario: Scenario,
    results: xr.Dataset,
    price: float,
    variant: str,
    segment: str | None = None,
    exact: xr.Dataset | None = None,
) -> dict[str, Callable[[], charts.Spec]]:
    """Each exportable chart of the current view, by name, built on demand (`exact`: results holding our
    `price` exactly, default `results`)."""
    exact = results if exact is None else exact
    currency = scenario.currency
    ours = scenario.our_offering.name
    colors = charts.offering_colors([ours] + [o.name for o in scenario.offerings if o.name != ours])
    segment = segment or scenario.segments[0].name

    def curve(metric: str) -> charts.Spec:
        curves = analysis.price_curves(results, variant)
        best = (
            float(analysis.expected_best_price(results).sel(variant=variant)) if metric == "profit" else None
        )
        title = f"{scenario.name}: {metric} over our price ({variant})"
        return charts.curve_chart(
            curves, metric, currency, selected_price=price, optimum=best, title=title, period=scenario.period
        )

    return {
        "profit curve": lambda: curve("profit"),
        "share curve": lambda: curve("share"),
        "volume curve": lambda: curve("volume"),
        "revenue curve": lambda: curve("revenue"),
        "value map": lambda: charts.value_map_chart(
            analysis.value_map(exact, variant, price), currency, colors, segment
        ),
        "segment shares": lambda: charts.share_chart(
            analysis.offering_shares_at(exact, price, variant), colors
        ),
        "variant probabilities": lambda: charts.probability_chart(
            analysis.variant_probabilities(results),
            charts.variant_colors([v.name for v in scenario.variants]),
        ),
    }
