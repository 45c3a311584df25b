"""The schema of prior settings: every number a user may give a fit's priors, with its bounds.

A prior setting is known by its name wherever it sits (``segment_sd_sd``, ``priors.coefficients.sigma``), so
one table bounds the settings of every model: finite, within what the sampler can start from (1e308 or
1e-308 make it fail to initialise) and what means something (a prior sd of log WTP of 1e-300 is a typo).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pricing.errors import DataError, shown
from pricing.limits import MAX_MONEY, MAX_SPREAD, MIN_MONEY

_SD = (1e-3, 10.0)
#: setting name -> (lowest, highest) value, inclusive
PRIOR_BOUNDS: dict[str, tuple[float, float]] = {
    "log_wtp_center": (math.log(MIN_MONEY), math.log(MAX_MONEY)),
    "log_wtp_center_sd": _SD,
    "segment_median_sd": _SD,
    "wtp_sd_center": (1e-3, MAX_SPREAD),
    "log_wtp_sd_center_sd": _SD,
    "segment_sd_sd": _SD,
    "mu": (-100.0, 100.0),  # utility coefficients, per sd of their attribute
    # up to 1e6: a flat prior, whose mode is the maximum-likelihood estimate (the checks against mlogit)
    "sigma": (1e-3, 1e6),
}
#: nesting of a priors mapping at most (``{"by_coefficient": {"price": {"sigma": 1}}}`` is 3)
MAX_DEPTH = 3


def prior_value(path: str, value: Any) -> float:
    """`value` of the setting at `path` (e.g. ``priors.coefficients.sigma``) as a float within its bounds,
    or `PricingError` naming the setting and its valid range."""
    low, high = PRIOR_BOUNDS.get(path.rsplit(".", 1)[-1], (-1e3, 1e3))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{path}: must be a number in [{low:g}, {high:g}] (got {shown(value)})")
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    if not (math.isfinite(number) and low <= number <= high):
        raise DataError(f"{path}: must be a number in [{low:g}, {high:g}] (got {shown(value)})")
    return number


def check_depth(priors: Any, path: str = "priors", depth: int = 1) -> None:
    """`DataError` when `priors` nests mappings or lists deeper than `MAX_DEPTH`."""
    if isinstance(priors, Mapping | list):
        if depth > MAX_DEPTH:
            raise DataError(f"{path}: nested deeper than {MAX_DEPTH} levels")
        items = priors.items() if isinstance(priors, Mapping) else enumerate(priors)
        for key, value in items:
            check_depth(value, f"{path}.{str(key)[:40]}", depth + 1)
