"""Customers who differ within a segment: quasi-Monte Carlo customers of an elicited spread of value, or a
hierarchical Bayes fit's respondents (or its population distribution), for `pricing.simulate`.

The simulator computes each simulated customer's choices as rows of their own and averages them with the
customers' weights (each segment's sum to 1), so a segment's share is its customers' mean share.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from pricing.scenario import Scenario


def quasi_random_normal(points: int, dims: int, sequence: str, seed: int) -> np.ndarray:
    """(points, dims) standard normal quasi-Monte Carlo points: a scrambled Sobol or Halton sequence mapped
    through the normal quantile function (scipy.stats.qmc), the same for the same seed."""
    if dims == 0:
        return np.zeros((points, 0))
    engine = qmc.Sobol(dims, rng=seed) if sequence == "sobol" else qmc.Halton(dims, rng=seed)
    if sequence == "sobol" and points & (points - 1) == 0:
        u = engine.random_base2(int(math.log2(points)))
    else:
        u = engine.random(points)
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def customer_parameters(
    scenario: Scenario, parameters: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Simulated customers of every segment, who differ in their value of each attribute.

    Returns `customer_value_per_unit` (draw, customer, segment, value column) and `customer_weight`
    (customer, segment; each segment's weights sum to 1). A segment with a `value_spread` has
    `market.heterogeneity.customers` quasi-Monte Carlo customers: value = the draw's value x exp(spread x z),
    z standard normal per customer and column (its median customer values as the segment does); a segment
    fitted by hierarchical Bayes takes its customers from the fit (``parameters["fitted_customers"]``, filled
    by `pricing.wtp.posterior_parameters` with `pricing.wtp.fitted_customer_draws`),
    which also gives their own `customer_wtp_log_median`, `customer_wtp_log_sd`, `customer_logit_scale`
    and `customer_value_offset` (draw, customer, segment; money added to every offering's value: a
    respondent who prefers none to the reference offering). Other segments' customers all value as the
    segment.
    """
    settings = scenario.market.heterogeneity
    unit = parameters["value_per_unit"]
    draws, n_seg, n_cols = unit.shape
    fitted: dict[int, dict[str, np.ndarray]] = {}
    for (i,), found in parameters.get("fitted_customers", {}).items():
        found = dict(found)
        known = ~np.isnan(found["value_per_unit"])  # columns the fit does not know: the segment's
        found["value_per_unit"] = np.where(known, found["value_per_unit"], unit[:, None, i, :])
        fitted[i] = found
    count = max([settings.customers, *(f["value_per_unit"].shape[1] for f in fitted.values())])
    z = quasi_random_normal(settings.customers, n_cols, settings.sequence, scenario.seed)
    spread = np.array([s.value_spread for s in scenario.segments])
    values = np.empty((draws, count, n_seg, n_cols))
    weight = np.zeros((count, n_seg))
    wtp = {
        name: np.repeat(parameters[name][:, None, :], count, axis=1)
        for name in ("wtp_log_median", "wtp_log_sd", "logit_scale")
    }
    wtp["value_offset"] = np.zeros((draws, count, n_seg))
    for i in range(n_seg):
        if i in fitted:
            own = fitted[i]
            n = own["value_per_unit"].shape[1]
            values[:, :n, i] = own["value_per_unit"]
            values[:, n:, i] = own["value_per_unit"][:, :1]  # padding, weight 0
            for name in wtp:
                if name in own:
                    wtp[name][:, :n, i] = own[name]
                    wtp[name][:, n:, i] = own[name][:, :1]
            weight[:n, i] = 1.0 / n
        else:
            n = settings.customers if spread[i] > 0 else 1
            values[:, :, i] = unit[:, None, i, :]
            values[:, :n, i] *= np.exp(spread[i] * z[:n])
            weight[:n, i] = 1.0 / n
    result = {"customer_value_per_unit": values, "customer_weight": weight}
    if fitted:
        result |= {f"customer_{name}": array for name, array in wtp.items()}
    return result
