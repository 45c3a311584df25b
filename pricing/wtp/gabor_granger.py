"""Gabor-Granger surveys: "would you buy at price p?" asked at several prices, one row per answer.

Classic read-out (`gabor_granger_table`): at each tested price, the share of respondents answering yes
(weighted when a weight column is given), revenue per respondent = price x share, and the tested price
with the highest revenue (the lowest such price when several tie).

Bayesian read-out (`GaborGrangerWTP`): a yes at p means WTP >= p, a no means WTP < p, so a consistent
respondent's answers give the interval [highest yes, lowest no) for their WTP (0 when they never said yes, inf
when they always did). These intervals go into the interval-censored hierarchical lognormal model of
`pricing.wtp.stated` (closed-form likelihood, no latent variable per respondent), which gives a smooth demand
curve P(WTP >= p) per segment with credible bands (`pricing.wtp.stated.demand_curve`).

Inconsistent respondents (a yes at a higher price than a no) cannot be given such an interval. By default
(``inconsistent="drop"``) they are left out of the Bayesian fit and counted (``data_notes``); with
``inconsistent="span"`` their WTP is taken to lie in the span of the contradiction, [lowest no, highest yes],
i.e. somewhere in the price range where they answered noisily. The classic table always uses every answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pricing.dims import SEGMENT
from pricing.errors import DataError, PricingError
from pricing.wtp import data as survey
from pricing.wtp.model import OptionsError
from pricing.wtp.stated import Intervals, IntervalWTPModel

ANSWERS = {
    "yes": 1.0,
    "y": 1.0,
    "1": 1.0,
    "true": 1.0,
    "buy": 1.0,
    "no": 0.0,
    "n": 0.0,
    "0": 0.0,
    "false": 0.0,
    "not buy": 0.0,
}
ROLES = {"respondent": "respondent", "price": "price", "answer": "answer", "segment": None, "weight": None}


@dataclass(frozen=True)
class Answers:
    """Validated answers, one entry per (respondent, price): price in currency, answer 1 = yes, 0 = no."""

    respondent: np.ndarray
    price: np.ndarray
    answer: np.ndarray
    segment: np.ndarray
    weight: np.ndarray


def read_answers(
    source: str | os.PathLike | pd.DataFrame, columns: dict[str, str | None] | None = None
) -> tuple[Answers, str, str, dict[str, str]]:
    """Read and check a Gabor-Granger file: the answers, a label for messages, the SHA-256, the columns used.

    Errors (`DataError`, naming column and lines): missing columns, non-numeric or non-positive prices,
    answers other than yes/no (also y/n, 1/0, true/false), a respondent answering twice at one price, a
    respondent in two segments, weights that are not positive numbers or that differ within a respondent.
    """
    resolved = survey.resolve_columns(columns, ROLES)
    numbers = [column for column in (resolved["price"], resolved["weight"]) if column]
    frame, label, sha256 = survey.read_survey(source, numbers)
    survey.require_columns(frame, resolved, label)
    respondent = survey.label_column(frame, resolved["respondent"], label)
    price = survey.money_column(frame, resolved["price"], label)
    answer = survey.choice_column(frame, resolved["answer"], label, ANSWERS)
    segment = survey.label_column(frame, resolved["segment"], label)
    weight = (
        survey.weight_column(frame, resolved["weight"], label) if resolved["weight"] else np.ones(len(frame))
    )
    table = pd.DataFrame({"respondent": respondent, "price": price, "segment": segment, "weight": weight})
    duplicated = table.duplicated(["respondent", "price"], keep="first").to_numpy()
    if duplicated.any():
        raise DataError(
            f"{label}: columns {resolved['respondent']!r}/{resolved['price']!r}: "
            f"{survey.line_list(np.flatnonzero(duplicated))} "
            "repeat a respondent's answer at the same price"
        )
    for role in ("segment", "weight"):
        if resolved[role] is None:
            continue
        per_respondent = table.groupby("respondent")[role].transform("nunique").to_numpy()
        if (per_respondent > 1).any():
            raise DataError(
                f"{label}: column {resolved[role]!r}: {survey.line_list(np.flatnonzero(per_respondent > 1))} "
                f"give a respondent more than one {role}"
            )
    used = {role: name for role, name in resolved.items() if name is not None}
    return Answers(respondent, price, answer, segment, weight), label, sha256, used


# ---- classic read-out ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaborGrangerTable:
    """The classic read-out: demand and revenue per tested price, and the best tested price.

    ``table`` has columns price, respondents, share (share answering yes, weighted), revenue (price x share,
    per respondent asked); ``by_segment`` holds the same per segment (segment, price, ...).
    """

    table: pd.DataFrame
    best_price: float
    best_revenue: float
    by_segment: pd.DataFrame


def gabor_granger_table(
    source: str | os.PathLike | pd.DataFrame | Answers, columns: dict[str, str | None] | None = None
) -> GaborGrangerTable:
    """Share buying, revenue per respondent at each tested price, and the revenue-maximising tested price.

    One sort of the prices and weighted counts per (segment, price) cell: O(n log n) time and
    O(n + segments x prices) memory in the number of answers.
    """
    answers = source if isinstance(source, Answers) else read_answers(source, columns)[0]
    tested, at = np.unique(answers.price, return_inverse=True)
    codes, names = survey.segment_codes(answers.segment)
    cell = codes * len(tested) + at
    size = len(names) * len(tested)

    def counts(weights=None) -> np.ndarray:  # (segment, price)
        return np.bincount(cell, weights=weights, minlength=size).reshape(len(names), len(tested))

    respondents, weight = counts(), counts(answers.weight)
    yes = counts(answers.answer * answers.weight)

    def demand(respondents, yes, weight, price) -> pd.DataFrame:
        share = yes / weight
        return pd.DataFrame(
            {"price": price, "respondents": respondents, "share": share, "revenue": price * share}
        )

    table = demand(respondents.sum(0), yes.sum(0), weight.sum(0), tested)
    best = int(np.argmax(table.revenue.to_numpy()))  # first maximum = lowest price among ties
    asked = respondents > 0
    segment_of, price_of = np.nonzero(asked)
    by_segment = demand(respondents[asked], yes[asked], weight[asked], tested[price_of])
    by_segment.insert(0, SEGMENT, np.asarray(names, dtype=object)[segment_of])
    return GaborGrangerTable(
        table=table,
        best_price=float(table.price.iloc[best]),
        best_revenue=float(table.revenue.iloc[best]),
        by_segment=by_segment.sort_values([SEGMENT, "price"], kind="stable", ignore_index=True),
    )


# ---- Bayesian read-out ---------------------------------------------------------------------------------


def answer_intervals(answers: Answers, inconsistent: str = "drop") -> Intervals:
    """Each respondent's WTP bounds from their answers: [highest yes, lowest no).

    Parameters
    ----------
    answers : Answers
        Validated answers.
    inconsistent : {"drop", "span"}
        Treatment of respondents with a yes above a no: leave them out (counted in ``notes``), or bound their
        WTP by [lowest no, highest yes].
    """
    if inconsistent not in ("drop", "span"):
        raise PricingError(f"inconsistent: {inconsistent!r} is not one of 'drop', 'span'")
    frame = pd.DataFrame(
        {
            "respondent": answers.respondent.astype(str),
            "segment": answers.segment.astype(str),
            "weight": answers.weight,
            "yes_price": np.where(answers.answer == 1, answers.price, 0.0),
            "no_price": np.where(answers.answer == 0, answers.price, np.inf),
        }
    )
    per = frame.groupby("respondent", sort=False).agg(
        segment=("segment", "first"),
        weight=("weight", "first"),
        highest_yes=("yes_price", "max"),
        lowest_no=("no_price", "min"),
    )
    consistent = (per.highest_yes < per.lowest_no).to_numpy()
    lower = np.minimum(per.highest_yes, per.lowest_no).to_numpy()
    upper = np.maximum(per.highest_yes, per.lowest_no).to_numpy()
    keep = consistent if inconsistent == "drop" else np.ones(len(per), dtype=bool)
    if not keep.any():
        raise DataError("every respondent answered inconsistently (a yes above a no); nothing to fit")
    codes, names = survey.segment_codes(per.segment.to_numpy()[keep])
    return Intervals(
        segment=codes,
        segments=names,
        lower=lower[keep],
        upper=upper[keep],
        weight=per.weight.to_numpy()[keep],
        respondent=per.index.to_numpy()[keep],
        notes={
            "inconsistent": int((~consistent).sum()),
            "dropped_inconsistent": int((~consistent & ~keep).sum()),
        },
    )


class GaborGrangerWTP(IntervalWTPModel):
    """Bayesian Gabor-Granger: per-segment lognormal WTP from each respondent's [highest yes, lowest no).

    Roles (default column): ``respondent`` ("respondent"), ``price`` ("price"), ``answer`` ("answer"),
    ``segment`` (none: one segment "all"), ``weight`` (none). Priors as in `pricing.wtp.stated`.

    Parameters
    ----------
    model_config, sampler_config, columns : dict, optional
        See `IntervalWTPModel`.
    inconsistent : {"drop", "span"}
        Treatment of respondents with a yes above a no (see the module docstring).
    """

    model_type = "gabor_granger"
    roles = ROLES

    def __init__(self, model_config=None, sampler_config=None, columns=None, inconsistent: str = "drop"):
        super().__init__(model_config, sampler_config, columns)
        if inconsistent not in ("drop", "span"):
            raise OptionsError(f"inconsistent: {inconsistent!r} is not one of 'drop', 'span'")
        self.inconsistent = inconsistent

    def options(self) -> dict:
        return super().options() | {"inconsistent": self.inconsistent}

    @classmethod
    def legacy_options(cls, info) -> dict:
        notes = info.get("data_notes") or {}
        spanned = notes.get("inconsistent", 0) > notes.get("dropped_inconsistent", 0)
        return super().legacy_options(info) | {"inconsistent": "span" if spanned else "drop"}

    def read(self, source):
        answers, _, sha256, used = read_answers(source, self.columns)
        return answer_intervals(answers, self.inconsistent), sha256, used
