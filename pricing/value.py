"""Perceived value, over-delivery and satisfaction.

Money-metric value of an offering to a segment (all amounts in the scenario's currency)::

    gap_a                = level_a - expectation_a                (unlisted level: gap 0, meets expectation)
    kano_a(gap)          = shortfall_weight_a * gap   if gap < 0
                           excess_weight_a    * gap   otherwise
    differentiation      = sum_a value_per_unit_a * kano_a(gap_a)
    perceived value      = reference WTP + differentiation

The reference WTP is what the customer pays for an offering that exactly meets their expectations (the
next-best alternative in Economic Value Estimation). The Kano category sets the two weights
(`KANO_WEIGHTS`): falling short on a must-be attribute costs double its unit value while exceeding it adds a
quarter; an attractive attribute is the mirror image (exceeding it delights, missing it is barely noticed); a
one-dimensional one is linear; an indifferent one is worth nothing either way.

Satisfaction follows expectation-disconfirmation: the Kano-shaped disconfirmation in money, relative to the
median customer's reference WTP, squashed into -100..100::

    satisfaction = 100 * tanh(differentiation / reference WTP)

0 means expectations are exactly met; for small gaps the index is about the over-delivery in percent of the
reference WTP (+10 = delivering 10% more value than expected); it saturates for large gaps, as delight does.

Economic Value Estimation against a reference offering R (textbook form)::

    economic value = reference value (R's price) + positive differentiation - negative differentiation

where the differentiation of each attribute is `value_per_unit * (kano(gap_ours) - kano(gap_R))`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (shortfall weight, excess weight) applied to `value_per_unit` below and above expectation.
KANO_WEIGHTS: dict[str, tuple[float, float]] = {
    "must_be": (2.0, 0.25),
    "one_dimensional": (1.0, 1.0),
    "attractive": (0.25, 2.0),
    "indifferent": (0.0, 0.0),
}


def kano_shape(gap: np.ndarray, shortfall_weight: np.ndarray, excess_weight: np.ndarray) -> np.ndarray:
    """Kano-weighted gap (attribute units): asymmetric linear around meeting the expectation exactly."""
    gap = np.asarray(gap, dtype=float)
    return np.where(gap < 0, shortfall_weight * gap, excess_weight * gap)


def kano_weights(kano: list[str]) -> np.ndarray:
    """(attribute, 2) shortfall and excess weights of Kano categories (`KANO_WEIGHTS`)."""
    return np.array([KANO_WEIGHTS[k] for k in kano], dtype=float).reshape(-1, 2)


def differentiation_value(
    levels: np.ndarray,
    expectations: np.ndarray,
    value_per_unit: np.ndarray,
    kano: list[str] | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Money value of how far an offering's attributes fall short of or exceed expectations.

    Parameters
    ----------
    levels, expectations, value_per_unit : arrays broadcasting together, attribute as the last dim.
        NaN levels mean "meets the expectation" (gap 0). `value_per_unit` is currency per attribute unit.
    kano : the Kano category of each attribute, in the order of the last dim.
    weights : instead of `kano`, the (shortfall, excess) weights in a trailing dim of 2, broadcasting with
        the others (e.g. per draw and segment from a Kano fit, `pricing.wtp.kano`).

    Returns
    -------
    The sum over attributes, in currency, with the broadcast shape less the attribute dim.
    """
    gap = np.where(np.isnan(levels), 0.0, levels - expectations)
    weights = kano_weights(kano) if weights is None else np.asarray(weights, dtype=float)
    return (value_per_unit * kano_shape(gap, weights[..., 0], weights[..., 1])).sum(axis=-1)


def level_differentiation(
    offered: np.ndarray,
    expected: np.ndarray,
    level_values: np.ndarray,
    kano: str | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Money value of a categorical attribute's level against the expected level, Kano-shaped.

    Parameters
    ----------
    offered, expected : one-hot rows over the attribute's levels (last dim), broadcasting together; an
        all-NaN row of `offered` means "meets the expectation" (gap 0).
    level_values : money value of each level (currency), broadcasting with them, levels as the last dim.
    kano : the attribute's Kano category, applied to the money gap: a level worth less than the expected
        one is a shortfall, one worth more an excess (for levels ordered worst to best, as numeric levels
        are).
    weights : instead of `kano`, its (shortfall, excess) weights in a trailing dim of 2, broadcasting with
        the gap (e.g. per draw and segment from a Kano fit).

    Returns
    -------
    The Kano-shaped money gap, with the broadcast shape less the level dim.
    """
    gap = (level_values * (np.nan_to_num(offered, nan=0.0) - expected)).sum(axis=-1)
    meets = np.isnan(offered).any(axis=-1)
    shortfall, excess = KANO_WEIGHTS[kano] if weights is None else (weights[..., 0], weights[..., 1])
    return np.where(meets, 0.0, kano_shape(gap, shortfall, excess))


def satisfaction_index(differentiation: np.ndarray, reference_wtp: np.ndarray) -> np.ndarray:
    """Expectation-disconfirmation satisfaction in -100..100 (0 = expectations exactly met)."""
    return 100.0 * np.tanh(np.asarray(differentiation) / np.asarray(reference_wtp))


@dataclass(frozen=True)
class EconomicValue:
    """Economic Value Estimation of one offering for one segment against a reference offering (currency)."""

    reference_value: float
    positive_differentiation: float
    negative_differentiation: float
    by_attribute: dict[str, float]

    @property
    def economic_value(self) -> float:
        """Reference value + positive differentiation - negative differentiation."""
        return self.reference_value + self.positive_differentiation - self.negative_differentiation


def economic_value_estimation(
    reference_price: float,
    levels: dict[str, float],
    reference_levels: dict[str, float],
    expectations: dict[str, float],
    value_per_unit: dict[str, float],
    kano: dict[str, str],
) -> EconomicValue:
    """EVE of an offering against the customer's next-best alternative (the reference offering).

    Attributes missing from `levels` or `reference_levels` meet the expectation. Each attribute's
    differentiation is its unit value times the difference of the Kano-shaped gaps of the two offerings.
    """
    by_attribute = {}
    for name, category in kano.items():
        expected = expectations.get(name, 0.0)
        gaps = np.array([levels.get(name, expected), reference_levels.get(name, expected)]) - expected
        shortfall, excess = KANO_WEIGHTS[category]
        ours, theirs = kano_shape(gaps, shortfall, excess)
        by_attribute[name] = float(value_per_unit.get(name, 0.0) * (ours - theirs))
    return EconomicValue(
        reference_value=float(reference_price),
        positive_differentiation=sum(v for v in by_attribute.values() if v > 0),
        negative_differentiation=-sum(v for v in by_attribute.values() if v < 0),
        by_attribute=by_attribute,
    )
