"""The scenario file: one small, versioned YAML file that fully describes a pricing question.

A scenario names the value drivers (attributes), the customer segments with their willingness to pay (WTP) for
a reference offering that exactly meets their expectations, the offerings in the market (ours and the
competitors'), the over-delivery variants of our offering, and the market's choice rule and simulation
settings. `load_scenario` validates a file into an immutable `Scenario`; every problem is reported as one line
``path: what is wrong`` (e.g. ``segments[1].wtp.median: must be > 0 (got -5)``).

Loading never runs code from the file: YAML is read with a safe loader that also refuses aliases (no
"billion laughs"), duplicate keys, deep nesting and files over `MAX_FILE_BYTES`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from pricing.errors import ScenarioError, shown
from pricing.io import atomic_write_text
from pricing.limits import (
    MAX_COUNT,
    MAX_DRAWN_SPREAD,
    MAX_LEVEL,
    MAX_MONEY,
    MAX_SEED,
    MAX_SIMULATION_DRAWS,
    MAX_SPREAD,
)

SCHEMA_VERSION = 2
MAX_FILE_BYTES = 1_000_000
MAX_NESTING = 12
MAX_NODES = 50_000  # YAML nodes (values, lists, mappings) in one file: a real scenario has a few hundred
MAX_ATTRIBUTES = 200
#: How far out (in sds of the normal draws) the schema checks that a drawn WTP spread stays computable.
_DRAW_EXTREME = 8.0

Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
SignedMoney = Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY)]
PositiveMoney = Annotated[float, Field(gt=0, le=MAX_MONEY)]
Level = Annotated[float, Field(ge=-MAX_LEVEL, le=MAX_LEVEL)]
Name = Annotated[str, Field(min_length=1, max_length=80)]
Kano = Literal["must_be", "one_dimensional", "attractive", "indifferent"]
#: An attribute's level: a number (numeric attributes) or a level's name (categorical attributes).
LevelOrName = Level | Name
MAX_LEVELS = 50
#: The time period that units, revenue, costs and profit are counted over (segment sizes are customers in it).
Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: tuple[str, ...] = Period.__args__


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)


FilePath = Annotated[str, Field(min_length=1, max_length=500)]


class PosteriorRef(_Model):
    """A parameter taken from a saved posterior (a ``.nc`` file from ``pricing fit ... --output``).

    Written in place of a number, e.g. ``logit_scale: {posterior: fits/cbc.nc}``; the simulation then uses
    the posterior's draws of that parameter, jointly with every other parameter taken from the same file
    (`pricing.wtp.posterior_parameters`). The path is relative to the scenario file.
    """

    posterior: FilePath = Field(description="Saved posterior (.nc), relative to the scenario file.")
    segment: Name | None = Field(
        None, description="Segment's name in the posterior (default: this segment's name)."
    )
    attribute: Name | None = Field(
        None, description="Attribute's name in the posterior, for value_per_unit (default: the same)."
    )
    variable: Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        None, description="Variable in the posterior (default: the one named like the field)."
    )


#: What a Kano fit gives an attribute per draw and segment (`pricing.wtp.kano`): weights from its CS
#: coefficients (shortfall |CS-|, excess CS+: `pricing.wtp.kano.cs_weights`, the default) or the constant
#: weights of each draw's largest category.
KANO_FIT_VARIABLES = ("kano_weights", "kano_category_weights")


def _kano_tag(value: Any) -> str:
    return "kano:posterior" if isinstance(value, Mapping | PosteriorRef) else "kano:category"


KanoOrFit = Annotated[
    Annotated[Kano, Tag("kano:category")] | Annotated[PosteriorRef, Tag("kano:posterior")],
    Discriminator(_kano_tag),
]


class Attribute(_Model):
    """A value driver customers care about, measured in `unit` (higher levels are better)."""

    name: Name = Field(description="Identifier used by segments, offerings and variants, e.g. 'uptime'.")
    unit: str = Field("", max_length=40, description="Unit of the attribute's levels, e.g. 'hours/day'.")
    kano: KanoOrFit = Field(
        "one_dimensional",
        description="Kano category: must_be (shortfall hurts, excess adds little), one_dimensional (linear), "
        "attractive (excess delights, shortfall is barely noticed), indifferent (no value); or "
        "{posterior: kano.nc} for a Kano fit's weights per draw and segment (`pricing fit kano`; variable "
        "kano_weights from CS+ and CS-, the default, or kano_category_weights; a segment's own category "
        "beats the fit, and a fit of one segment serves every segment).",
    )
    description: str = Field("", max_length=500, description="What the attribute means to customers.")
    levels: tuple[Name, ...] | None = Field(
        None,
        min_length=2,
        max_length=MAX_LEVELS,
        description="Named levels of a categorical attribute, worst first, e.g. [50GB, 2TB, 5TB] (as a "
        "conjoint's data names them); offerings then pick a level by name and segments value each level "
        "in money. Omit for a numeric attribute.",
    )

    @model_validator(mode="after")
    def _kano_variable(self) -> Attribute:
        if isinstance(self.kano, PosteriorRef) and self.kano.variable not in (None, *KANO_FIT_VARIABLES):
            raise ValueError(
                f"kano.variable: {self.kano.variable!r} is not one of {', '.join(KANO_FIT_VARIABLES)}"
            )
        return self

    @model_validator(mode="after")
    def _distinct_levels(self) -> Attribute:
        if self.levels is not None and len(set(self.levels)) != len(self.levels):
            twice = next(level for level in self.levels if self.levels.count(level) > 1)
            raise ValueError(f"levels: {twice!r} is listed twice")
        return self

    @property
    def categorical(self) -> bool:
        return self.levels is not None


def _no_booleans(mapping: Any) -> Any:
    """YAML reads unquoted No/Yes/On/Off as booleans: refuse them rather than read them as 0 or 1."""
    if isinstance(mapping, Mapping):
        for key, value in mapping.items():
            if isinstance(value, bool):
                raise ValueError(
                    f'{key}: {str(value).lower()} is not a level; quote level names such as "No" '
                    "(YAML reads No, Yes, On and Off unquoted as false and true)"
                )
    return mapping


class ElicitedWTP(_Model):
    """WTP of a segment's customers for the reference offering, as a lognormal elicited from experts.

    Give either `median` and `spread` (sd of log WTP across customers) or `low` and `high` (the central
    `coverage` share of customers lies between them). `uncertainty` and `spread_uncertainty` are how unsure we
    are of those numbers themselves (sd of the log median and of the log spread across posterior draws).
    """

    source: Literal["elicited"] = Field(
        "elicited", description="elicited (these numbers), posterior (a saved fit) or data (a survey file)."
    )
    median: PositiveMoney | None = Field(
        None, description="Median customer's WTP for the reference offering."
    )
    spread: Annotated[float, Field(gt=0, le=MAX_SPREAD)] | None = Field(
        None, description="Sd of log WTP across the segment's customers (0.3 = about +-30%)."
    )
    low: PositiveMoney | None = Field(
        None, description="Lower WTP quantile, with `high` instead of median/spread."
    )
    high: PositiveMoney | None = Field(None, description="Upper WTP quantile, with `low`.")
    coverage: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.8, description="Share of customers with WTP between `low` and `high`."
    )
    uncertainty: Annotated[float, Field(ge=0, le=2)] = Field(
        0.1, description="Sd of the log median across draws: our uncertainty about the median (0.1 = +-10%)."
    )
    spread_uncertainty: Annotated[float, Field(ge=0, le=2)] = Field(
        0.0, description="Sd of the log spread across draws."
    )

    @model_validator(mode="after")
    def _one_parametrisation(self) -> ElicitedWTP:
        by_median = self.median is not None or self.spread is not None
        by_range = self.low is not None or self.high is not None
        if by_median == by_range:
            raise ValueError(
                "give either median and spread, or low and high (or source: posterior / data with a file)"
            )
        if by_median and (self.median is None or self.spread is None):
            raise ValueError("median and spread go together: give both")
        if by_range:
            if self.low is None or self.high is None:
                raise ValueError("low and high go together: give both")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
            if self.log_sd > MAX_SPREAD:
                raise ValueError(
                    f"low {self.low:g} and high {self.high:g} with coverage {self.coverage:g} imply a spread "
                    f"of {self.log_sd:.3g}; at most {MAX_SPREAD:g} (widen the coverage or narrow the range)"
                )
        drawn = self.log_sd * math.exp(_DRAW_EXTREME * self.spread_uncertainty)
        if drawn > MAX_DRAWN_SPREAD:
            raise ValueError(
                f"spread {self.log_sd:.3g} with spread_uncertainty {self.spread_uncertainty:g} reaches "
                f"spreads of {drawn:.3g} in the draws; at most {MAX_DRAWN_SPREAD:g}"
            )
        return self

    @property
    def log_median(self) -> float:
        """Log of the median customer's WTP (currency)."""
        return math.log(self.median) if self.median is not None else 0.5 * math.log(self.low * self.high)

    @property
    def log_sd(self) -> float:
        """Sd of log WTP across customers."""
        if self.spread is not None:
            return self.spread
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + self.coverage / 2)
        return math.log(self.high / self.low) / (2 * z)


class PosteriorWTP(_Model):
    """WTP from a saved fit (``pricing fit ... --output fit.nc``): the simulator takes its posterior draws of
    the segment's ``wtp_log_median`` and ``wtp_log_sd``."""

    source: Literal["posterior"] = Field(description="posterior: WTP from a saved fit.")
    file: FilePath = Field(description="Saved WTP posterior (.nc), relative to the scenario file.")
    segment: Name | None = Field(
        None, description="Segment's name in the posterior (default: this segment's name)."
    )


class SurveyWTP(_Model):
    """WTP from survey data, fitted with `method` when the scenario is simulated (once per file and seed)."""

    source: Literal["data"] = Field(description="data: WTP from a survey file fitted on load.")
    file: FilePath = Field(description="Survey CSV, relative to the scenario file.")
    method: Literal["stated", "gabor_granger", "van_westendorp"] = Field(
        description="Survey method of the file: stated, gabor_granger or van_westendorp."
    )
    columns: dict[Name, Name] = Field(
        default_factory=dict, description="Column of each role in the file, e.g. {segment: region}."
    )
    segment: Name | None = Field(
        None, description="Segment's name in the data (default: this segment's name)."
    )


WTP_SOURCES = {"elicited": ElicitedWTP, "posterior": PosteriorWTP, "data": SurveyWTP}


def _wtp_tag(value: Any) -> str | None:
    source = value.get("source", "elicited") if isinstance(value, Mapping) else getattr(value, "source", None)
    return f"wtp:{source}" if source in WTP_SOURCES else None


def _value_tag(value: Any) -> str:
    if isinstance(value, PosteriorRef) or (isinstance(value, Mapping) and "posterior" in value):
        return "value:posterior"
    return "value:levels" if isinstance(value, Mapping) else "value:number"


WTPSource = Annotated[
    Annotated[ElicitedWTP, Tag("wtp:elicited")]
    | Annotated[PosteriorWTP, Tag("wtp:posterior")]
    | Annotated[SurveyWTP, Tag("wtp:data")],
    Discriminator(
        _wtp_tag,
        custom_error_type="wtp_source",
        custom_error_message="source must be elicited (the default), posterior or data",
    ),
]


def _or_posterior(number: Any, levels: bool = False) -> Any:
    """A number field that may instead point to a posterior (`PosteriorRef`); with `levels`, also a mapping
    of a categorical attribute's levels to such values."""
    members = Annotated[number, Tag("value:number")] | Annotated[PosteriorRef, Tag("value:posterior")]
    if levels:
        members = members | Annotated[dict[Name, _or_posterior(number)], Tag("value:levels")]
    return Annotated[members, Discriminator(_value_tag)]


#: Union tags pydantic puts in error locations: left out of the paths we report.
_TAGS = {f"wtp:{s}" for s in WTP_SOURCES} | {"value:number", "value:posterior", "value:levels"}


class Segment(_Model):
    """A group of customers with their own WTP, expectations and value of each attribute."""

    name: Name
    size: Annotated[float, Field(ge=0, le=MAX_COUNT)] = Field(description="Customers in the market.")
    wtp: WTPSource = Field(
        description="WTP for a reference offering that exactly meets expectations: elicited numbers (the "
        "default), a saved posterior (source: posterior) or survey data (source: data)."
    )
    logit_scale: _or_posterior(PositiveMoney) = Field(
        description="Price sensitivity as a money amount: utility = (perceived value - price) / logit_scale. "
        "Small = customers almost surely pick the best value for money; large = choices are noisy. "
        "Or {posterior: fit.nc} for a conjoint fit's draws."
    )
    expectations: dict[Name, LevelOrName] = Field(
        default_factory=dict,
        description="Expected level of each attribute (a categorical one's: a level name); unlisted ones "
        "default to 0 (a categorical one's: its first level).",
    )
    value_per_unit: dict[Name, _or_posterior(SignedMoney, levels=True)] = Field(
        default_factory=dict,
        description="Money value of one unit of each attribute above or below expectation; for a categorical "
        "attribute the money value of each level relative to the expected one, e.g. {Storage: {50GB: -8, "
        "5TB: 6}}; unlisted = 0. A value may be {posterior: fit.nc} for a conjoint fit's draws.",
    )
    value_uncertainty: Annotated[float, Field(ge=0, le=2)] = Field(
        0.0, description="Sd of the log of each value per unit across draws (0.2 = +-20%)."
    )
    kano: dict[Name, Kano] = Field(
        default_factory=dict,
        description="This segment's own Kano category of attributes (customer value is per segment); "
        "unlisted attributes take the attribute's.",
    )
    value_spread: Annotated[float, Field(ge=0, le=2)] = Field(
        0.0,
        description="Sd of the log of each value per unit across the segment's customers (0.3 = customers "
        "value an attribute about +-30% apart); simulated with market.heterogeneity.",
    )

    _check_expectations = field_validator("expectations", mode="before")(_no_booleans)

    def file_fields(self, posteriors_only: bool = False) -> list[tuple[str, str]]:
        """(field, path as written) of each file this segment takes parameters from: its WTP's saved
        posterior or survey data (not with `posteriors_only`), and every `PosteriorRef`."""
        fields = []
        if self.wtp.source == "posterior" or (self.wtp.source == "data" and not posteriors_only):
            fields.append(("wtp.file", self.wtp.file))
        if isinstance(self.logit_scale, PosteriorRef):
            fields.append(("logit_scale.posterior", self.logit_scale.posterior))
        for attribute, value in self.value_per_unit.items():
            levels = value.items() if isinstance(value, dict) else [(None, value)]
            for level, ref in levels:
                if isinstance(ref, PosteriorRef):
                    path = f"value_per_unit.{attribute}" + (f".{level}" if level is not None else "")
                    fields.append((f"{path}.posterior", ref.posterior))
        return fields

    def posterior_files(self) -> list[str]:
        """Files this segment takes parameters from, as written (saved posteriors and survey data)."""
        return [written for _, written in self.file_fields()]


#: `owner` of our offering; and the owner of an independent single-product rival (each such offering is its
#: own firm). Any other owner names a firm that prices all its offerings jointly.
OURS = "us"
INDEPENDENT = "competitor"
#: The central share of draws between `unit_cost_low` and `unit_cost_high`.
COST_RANGE_COVERAGE = 0.8


class Offering(_Model):
    """A product in the market: ours (owner 'us') or a rival's, with its unit cost and how its price reacts.

    The unit cost is `unit_cost` (with `unit_cost_uncertainty`, the sd of its log across draws), or a range
    `unit_cost_low`..`unit_cost_high` holding the central 80% of the draws (lognormal, like elicited WTP).
    """

    name: Name
    owner: Name = Field(
        INDEPENDENT,
        description="Firm setting this offering's price: 'us' for ours; a rival's name (offerings with the "
        "same owner are priced jointly); 'competitor' (default) for an independent single-product rival.",
    )
    price: PositiveMoney = Field(description="Current price per unit.")
    unit_cost: Money = Field(0.0, description="Cost to deliver one unit (the median when uncertain).")
    unit_cost_uncertainty: Annotated[float, Field(ge=0, le=2)] = Field(
        0.0, description="Sd of the log unit cost across draws: how unsure the cost is (0.1 = +-10%)."
    )
    unit_cost_low: PositiveMoney | None = Field(
        None,
        description="Low end of the unit cost's 80% range, with `unit_cost_high` (instead of unit_cost).",
    )
    unit_cost_high: PositiveMoney | None = Field(None, description="High end of the unit cost's 80% range.")
    reacts: bool = Field(
        True,
        description="Whether the price moves when the market reacts (equilibrium, leader pricing); "
        "false holds it at `price`.",
    )
    reaction: Literal["best_response", "match", "undercut"] = Field(
        "best_response",
        description="How a reacting rival answers our price: best_response (maximises its profit), match "
        "(our price) or undercut (our price less `undercut` percent).",
    )
    undercut: Annotated[float, Field(ge=0, lt=100)] = Field(
        0.0, description="Percent below our price, with reaction 'undercut'."
    )
    levels: dict[Name, LevelOrName] = Field(
        default_factory=dict,
        description="Level of each attribute (a categorical one's by name, e.g. {Storage: 2TB, Support: "
        '"No"}); unlisted ones meet each segment\'s expectation.',
    )

    _check_levels = field_validator("levels", mode="before")(_no_booleans)

    @model_validator(mode="after")
    def _cost_and_reaction(self) -> Offering:
        by_range = self.unit_cost_low is not None or self.unit_cost_high is not None
        if by_range:
            if self.unit_cost_low is None or self.unit_cost_high is None:
                raise ValueError("unit_cost_low and unit_cost_high go together: give both")
            if not self.unit_cost_low < self.unit_cost_high:
                low, high = self.unit_cost_low, self.unit_cost_high
                raise ValueError(f"unit_cost_low ({low:g}) must be below unit_cost_high ({high:g})")
            if self.unit_cost or self.unit_cost_uncertainty:
                raise ValueError(
                    "give either unit_cost (with unit_cost_uncertainty) or a unit cost range, not both"
                )
        elif self.unit_cost_uncertainty and not self.unit_cost > 0:
            raise ValueError("unit_cost_uncertainty needs a unit_cost above 0")
        if self.reaction != "best_response" and not self.reacts:
            raise ValueError(f"reaction {self.reaction!r} needs reacts: true (reacts: false holds the price)")
        if self.owner == OURS and self.reaction != "best_response":
            raise ValueError("reaction: our offering cannot match or undercut itself (use best_response)")
        if self.undercut and self.reaction != "undercut":
            raise ValueError("undercut goes with reaction: undercut")
        return self

    @property
    def cost_log_median(self) -> float:
        """Log of the median unit cost (-inf for a cost of 0)."""
        if self.unit_cost_low is not None:
            return 0.5 * math.log(self.unit_cost_low * self.unit_cost_high)
        return math.log(self.unit_cost) if self.unit_cost > 0 else -math.inf

    @property
    def cost_log_sd(self) -> float:
        """Sd of the log unit cost across draws."""
        if self.unit_cost_low is None:
            return self.unit_cost_uncertainty
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + COST_RANGE_COVERAGE / 2)
        return math.log(self.unit_cost_high / self.unit_cost_low) / (2 * z)

    @property
    def median_unit_cost(self) -> float:
        """The median unit cost (currency): the cost where a single number is used."""
        return self.unit_cost if self.unit_cost_low is None else math.exp(self.cost_log_median)


class Variant(_Model):
    """A level of delivery of our offering: attribute changes and the cost they add."""

    name: Name
    description: str = Field("", max_length=500)
    levels: dict[Name, LevelOrName] = Field(
        default_factory=dict, description="Attribute levels this variant changes."
    )

    _check_levels = field_validator("levels", mode="before")(_no_booleans)
    extra_unit_cost: Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY)] = Field(
        0.0, description="Cost per unit added to our unit cost."
    )
    fixed_cost: Money = Field(0.0, description="Fixed cost of delivering this variant over the period.")


class PriceGrid(_Model):
    """Prices of our offering to simulate: `steps` evenly spaced from `min` to `max`, and the current one."""

    min: PositiveMoney
    max: PositiveMoney
    steps: Annotated[int, Field(ge=2, le=2000)] = 61

    @model_validator(mode="after")
    def _ordered(self) -> PriceGrid:
        if not self.min < self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self


class RandomizedFirstChoice(_Model):
    """Sawtooth's randomized first choice: each simulated customer's first choice, repeated under random
    error added to the values of attribute levels (one error per level, shared by every product that has
    it, so near-identical products split their share) and to each product's utility.

    Errors are Gumbel, their scales in units of the segment's logit scale; price carries no error. With
    `product_error` 1 and `attribute_error` 0 the shares are the logit's (the Gumbel-max identity).
    """

    repetitions: Annotated[int, Field(ge=1, le=10000)] = Field(
        200, description="Error draws (shopping trips) per simulated customer and draw."
    )
    attribute_error: Annotated[float, Field(ge=0, le=20)] = Field(
        1.0, description="Scale of the error on each attribute level's value (x the logit scale)."
    )
    product_error: Annotated[float, Field(ge=0, le=20)] = Field(
        0.0, description="Scale of the error on each product's utility, none included (x the logit scale)."
    )


class Heterogeneity(_Model):
    """Customers who differ within a segment: each carries their own value of each attribute (and, from a
    hierarchical Bayes fit, their own WTP and price sensitivity).

    - a segment fitted by hierarchical Bayes (`wtp: {source: posterior}` of a mixed logit):
      `from_fit: respondents` simulates each respondent's own posterior draws, weighted equally within the
      segment (Sawtooth's approach); `population` draws `customers` from the fitted distribution across
      respondents;
    - other segments: `customers` quasi-Monte Carlo points of their `value_spread`.
    """

    customers: Annotated[int, Field(ge=1, le=4096)] = Field(
        64, description="Simulated customers per segment and draw (quasi-Monte Carlo points)."
    )
    sequence: Literal["sobol", "halton"] = Field(
        "sobol", description="Low-discrepancy sequence of the simulated customers (scrambled, seeded)."
    )
    from_fit: Literal["respondents", "population"] = Field(
        "respondents",
        description="Hierarchical Bayes fits: each respondent's draws, or customers from the population.",
    )


class Market(_Model):
    """How customers choose and how the simulation runs."""

    choice_rule: Literal["logit", "first_choice", "randomized_first_choice"] = Field(
        "logit",
        description="logit: share of preference; first_choice: each customer buys the best value; "
        "randomized_first_choice: first choices under random error (Sawtooth's RFC, see `rfc`).",
    )
    rfc: RandomizedFirstChoice = Field(
        RandomizedFirstChoice(), description="Settings of randomized first choice."
    )
    heterogeneity: Heterogeneity | None = Field(
        None,
        description="Customers who differ within a segment (default: every customer of a segment values "
        "the attributes alike, only their WTP differs).",
    )
    none_option: bool = Field(
        True, description="Customers may buy nothing when no offering is worth its price."
    )
    draws: Annotated[int, Field(ge=1, le=MAX_SIMULATION_DRAWS)] = Field(
        1000, description="Posterior draws to simulate."
    )
    price_grid: PriceGrid | None = Field(
        None, description="Our prices to simulate; default 50%..150% of our current price in 61 steps."
    )
    integration_nodes: Annotated[int, Field(ge=1, le=200)] = Field(
        16, description="Quadrature nodes integrating over customers' WTP spread within a segment."
    )


# ---- value over time (`pricing.dynamics`) --------------------------------------------------------------


def _uncertain(low: float, high: float, *, below_high: bool = False) -> Any:
    """A number, or a range ``[low, high]`` of equally plausible values (one uniform draw per posterior
    draw), each within [low, high] (strictly below `high` with `below_high`)."""
    top = f"below {high:g}" if below_high else f"at most {high:g}"

    def check(value: Any) -> Any:
        numbers = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(numbers) not in (1, 2) or not all(
            isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in numbers
        ):
            raise ValueError(f"must be a number or a range [low, high] (got {str(value)[:60]})")
        for n in numbers:
            if n < low or n > high or (below_high and n == high):
                raise ValueError(f"{n:g} is out of range: each value must be at least {low:g} and {top}")
        if len(numbers) == 2 and not numbers[0] <= numbers[1]:
            raise ValueError(f"a range [low, high] needs low <= high (got [{numbers[0]:g}, {numbers[1]:g}])")
        return tuple(float(n) for n in numbers) if isinstance(value, (list, tuple)) else float(value)

    return Annotated[float | tuple[float, float], BeforeValidator(check)]


def _ref_tag(value: Any) -> str:
    return "value:posterior" if isinstance(value, Mapping | PosteriorRef) else "value:number"


def _or_fit(number: Any) -> Any:
    """A dynamics number or range that may instead point to a fit's draws (`PosteriorRef`), e.g. a
    satisfaction fit's (``pricing fit satisfaction``) effect of satisfaction on churn."""
    members = Annotated[number, Tag("value:number")] | Annotated[PosteriorRef, Tag("value:posterior")]
    return Annotated[members, Discriminator(_ref_tag)]


Probability = _uncertain(0.0, 1.0, below_high=True)
Rate = _uncertain(0.0, 1.0)
Effect = _uncertain(-20.0, 20.0)
#: The dynamics' fields that may take a satisfaction fit's draws, and the fit's variable of each.
SATISFACTION_LINK = {
    "retention.churn": "baseline_churn",
    "retention.satisfaction_effect": "retention_effect",
    "referral.rate": "referral_rate",
    "referral.satisfaction_effect": "referral_effect",
}


class Retention(_Model):
    """How a segment's customers stay with the offering they buy, period after period.

    Baseline churn is elicited (`churn`) or a fitted retention posterior (`posterior`, from ``pricing fit
    retention``: shifted-beta-geometric, customers differ in their churn). Satisfaction S (-100..100) with an
    offering multiplies each customer's churn odds by ``exp(-satisfaction_effect * S / 100)``. ``churn`` and
    ``satisfaction_effect`` may point to a satisfaction fit (``{posterior: satisfaction.nc}``,
    `SATISFACTION_LINK`): each draw then takes one joint draw of the fit.
    """

    churn: _or_fit(Probability) | None = Field(
        None,
        description="Share of customers leaving per period, or a range, e.g. [0.02, 0.04], or "
        "{posterior: satisfaction.nc} for a satisfaction fit's churn at satisfaction 0 (baseline_churn).",
    )
    posterior: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        None, description="Fitted retention posterior (.nc, `pricing fit retention`), relative to the file."
    )
    segment: Name | None = Field(
        None, description="Segment's name in the posterior (default: this segment's name)."
    )
    satisfaction_effect: _or_fit(Effect) = Field(
        0.0,
        description="k: churn odds are multiplied by exp(-k * satisfaction / 100); a number or range, or "
        "{posterior: satisfaction.nc} for a satisfaction fit's draws (retention_effect).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Retention:
        if (self.churn is None) == (self.posterior is None):
            raise ValueError("give either churn or a posterior")
        if self.segment is not None and self.posterior is None:
            raise ValueError("segment goes with `posterior`")
        return self


class Referral(_Model):
    """Word of mouth: each active customer wins ``rate * exp(satisfaction_effect * S / 100)`` new customers
    per period (at most 1) from the segment's non-buyers, in proportion to their share of the segment (the
    imitation term of the Bass model)."""

    rate: _or_fit(Rate) = Field(
        0.0,
        description="Referrals per active customer per period at satisfaction 0, or {posterior: "
        "satisfaction.nc} for a satisfaction fit's draws (referral_rate).",
    )
    satisfaction_effect: _or_fit(Effect) = Field(
        0.0,
        description="How referrals grow with satisfaction: rate * exp(effect * satisfaction / 100); or "
        "{posterior: satisfaction.nc} (referral_effect).",
    )


class SegmentDynamics(_Model):
    """A segment's own retention, referral and market entry (unset fields take the section's)."""

    retention: Retention | None = None
    referral: Referral | None = None
    entry_rate: Rate | None = None


class Dynamics(_Model):
    """Value over time: a multi-period simulation of retention, referral, entry and expectation drift.

    Each period is the scenario's `period`; prices stay fixed over the horizon. See `pricing.dynamics`.
    """

    horizon: Annotated[int, Field(ge=1, le=600)] = Field(12, description="Periods to simulate.")
    discount_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, description="Discount rate per period for NPV and customer lifetime value (0.01 = 1%)."
    )
    retention: Retention = Field(
        Retention(churn=0.0), description="Retention of every segment (unless the segment sets its own)."
    )
    referral: Referral = Field(Referral(), description="Referral of every segment (unless set per segment).")
    entry_rate: Rate = Field(
        0.0, description="New customers entering the market per period, as a share of the segment's size."
    )
    adaptation: dict[Name, Rate] = Field(
        default_factory=dict,
        description="Per attribute, the share of the way each segment's expectation moves per period toward "
        "the best level offered so far (1 = last period's best is the expectation); a number or range.",
    )
    segments: dict[Name, SegmentDynamics] = Field(
        default_factory=dict, description="Per segment name, its own retention, referral or entry rate."
    )

    def for_segment(self, name: str) -> tuple[Retention, Referral, Any]:
        """The retention, referral and entry rate that apply to segment `name`."""
        own = self.segments.get(name, SegmentDynamics())
        return (
            own.retention or self.retention,
            own.referral or self.referral,
            self.entry_rate if own.entry_rate is None else own.entry_rate,
        )


class Scenario(_Model):
    """A complete, self-contained pricing question (see the module docstring)."""

    schema_version: Literal[2] = Field(description="Version of this file format (2).")
    name: Name
    description: str = Field("", max_length=5000)
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "EUR"
    period: Period = Field(
        "month",
        description="Period of units sold, revenue, fixed costs and profit (segment sizes are customers in "
        "it): day, week, month, quarter or year.",
    )
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = Field(0, description="Seed of all random draws.")
    attributes: tuple[Attribute, ...] = Field((), max_length=MAX_ATTRIBUTES)
    segments: tuple[Segment, ...] = Field(min_length=1, max_length=50)
    offerings: tuple[Offering, ...] = Field(min_length=1, max_length=50)
    variants: tuple[Variant, ...] = Field(
        (Variant(name="base"),), min_length=1, max_length=50, description="Delivery levels of our offering."
    )
    market: Market = Market()
    dynamics: Dynamics | None = Field(
        None, description="Optional: value over time (retention, referral, drift) over a horizon of periods."
    )

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths (WTP posteriors, survey data) are relative to: the scenario file's
        folder, or the working folder for a scenario not loaded from a file."""
        return _BASE_DIRS.get(id(self), (None, False))[0] or Path.cwd()

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = []
        attribute_names = [a.name for a in self.attributes]
        for field in ("attributes", "segments", "offerings", "variants"):
            seen = set()
            for i, item in enumerate(getattr(self, field)):
                if item.name in seen:
                    problems.append(f"{field}[{i}].name: duplicate name {item.name!r}")
                seen.add(item.name)

        levels_of = {a.name: a.levels for a in self.attributes}

        def check_keys(path: str, mapping: Mapping[str, Any], values: str | None = "levels") -> None:
            for key, given in mapping.items():
                if key not in attribute_names:
                    known = ", ".join(attribute_names) or "none defined"
                    problems.append(f"{path}.{key}: unknown attribute (known: {known})")
                    continue
                levels = levels_of[key]
                if values is None:
                    continue
                if values == "levels":
                    problem = _level_problem(given, levels)
                else:
                    problem = _value_problem(given, levels)
                if problem:
                    problems.append(f"{path}.{key}: {problem}")

        for i, s in enumerate(self.segments):
            check_keys(f"segments[{i}].expectations", s.expectations)
            check_keys(f"segments[{i}].value_per_unit", s.value_per_unit, "values")
            if isinstance(s.logit_scale, PosteriorRef) and s.logit_scale.attribute is not None:
                problems.append(f"segments[{i}].logit_scale.attribute: goes with value_per_unit only")
            check_keys(f"segments[{i}].kano", s.kano, values=None)
        for i, o in enumerate(self.offerings):
            check_keys(f"offerings[{i}].levels", o.levels)
        for i, v in enumerate(self.variants):
            check_keys(f"variants[{i}].levels", v.levels)
        if self.dynamics is not None:
            check_keys("dynamics.adaptation", self.dynamics.adaptation, values=None)
            for name in self.dynamics.adaptation:
                if levels_of.get(name) is not None:
                    problems.append(
                        f"dynamics.adaptation.{name}: {name} has named levels; only numeric attributes' "
                        "expectations drift"
                    )
            segment_names = [s.name for s in self.segments]
            for name in self.dynamics.segments:
                if name not in segment_names:
                    problems.append(
                        f"dynamics.segments.{name}: unknown segment (known: {', '.join(segment_names)})"
                    )
        ours = [o.name for o in self.offerings if o.owner == OURS]
        if len(ours) != 1:
            problems.append(f"offerings: exactly one offering must have owner 'us' (found {len(ours)})")
        if all(s.size == 0 for s in self.segments):
            problems.append("segments: every segment has size 0; give at least one segment customers")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def our_offering(self) -> Offering:
        """The offering we price (owner 'us')."""
        return next(o for o in self.offerings if o.owner == OURS)

    @property
    def firms(self) -> list[str]:
        """The firm pricing each offering (in order): its owner, or its own name for an independent rival."""
        return [o.name if o.owner == INDEPENDENT else o.owner for o in self.offerings]

    @property
    def attribute_names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def value_columns(self) -> list[str]:
        """What a segment values, in the simulator's order: each numeric attribute (money per unit) and each
        level of a categorical attribute as ``attribute=level`` (money of the level), as a conjoint fit
        names its coefficients."""
        columns = []
        for attribute in self.attributes:
            if attribute.levels is None:
                columns.append(attribute.name)
            else:
                columns += [f"{attribute.name}={level}" for level in attribute.levels]
        return columns

    def price_grid(self) -> list[float]:
        """Our prices to simulate: the grid plus our current price, sorted, each once."""
        current = self.our_offering.price
        # the default grid stays within the money bounds, so that every valid price can be simulated
        default = (0.5 * current, min(1.5 * current, MAX_MONEY))
        grid = self.market.price_grid or PriceGrid(min=default[0], max=default[1], steps=61)
        step = (grid.max - grid.min) / (grid.steps - 1)
        prices = {round(grid.min + i * step, 10) for i in range(grid.steps)} | {current}
        return sorted(prices)


def _level_problem(given: Any, levels: tuple[str, ...] | None) -> str | None:
    """What is wrong with an attribute's level (a number for a numeric attribute, a level's name for a
    categorical one), or None."""
    if levels is None:
        if isinstance(given, str):
            return f"{shown(given)} is not a number (the attribute is numeric: it has no named levels)"
        return None
    if not isinstance(given, str) or given not in levels:
        written = f"{given:g}" if isinstance(given, float) and given.is_integer() else given
        return f"{shown(str(written))} is not one of its levels ({', '.join(levels)})"
    return None


def _value_problem(given: Any, levels: tuple[str, ...] | None) -> str | None:
    """What is wrong with a segment's value of an attribute: a money amount per unit (numeric) or a money
    amount per level (categorical), or None."""
    if levels is None:
        if isinstance(given, dict):
            return "a numeric attribute takes one money value per unit, not values per level"
        return None
    if isinstance(given, PosteriorRef):
        example = f"{{{levels[-1]}: {{posterior: fit.nc}}}}"
        return f"give each level its value (a number or a posterior), e.g. {example}"
    if not isinstance(given, dict):
        return f"give the money value of each level, e.g. {{{levels[-1]}: {given:g}}}"
    unknown = [name for name in given if name not in levels]
    if unknown:
        return f"{shown(unknown[0])} is not one of its levels ({', '.join(levels)})"
    return None


# ---- loading -------------------------------------------------------------------------------------------


class _SafeLoader(yaml.SafeLoader):
    """Safe YAML that also refuses aliases and duplicate keys, and limits nesting."""

    def compose_node(self, parent, index):
        self._nodes = getattr(self, "_nodes", 0) + 1
        if self._nodes > MAX_NODES:
            event = self.peek_event()
            raise ScenarioError(
                f"line {event.start_mark.line + 1}: more than {MAX_NODES:,} values; not a scenario file"
            )
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ScenarioError(f"line {event.start_mark.line + 1}: YAML aliases (*name) are not allowed")
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_NESTING:
            event = self.peek_event()
            raise ScenarioError(f"line {event.start_mark.line + 1}: nested deeper than {MAX_NESTING} levels")
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1

    def construct_mapping(self, node, deep=False):
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise ScenarioError(f"line {key_node.start_mark.line + 1}: key {shown(key)} must be text")
            if key in keys:
                raise ScenarioError(f"line {key_node.start_mark.line + 1}: duplicate key {shown(key)}")
            keys.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        digits = node.value.replace("_", "").lstrip("+-")
        if len(digits) > _MAX_DIGITS and digits.isdigit():  # Python refuses to parse (or print) such an int
            return float(node.value.replace("_", ""))  # inf: the schema then names the field
        return super().construct_yaml_int(node)


_MAX_DIGITS = 4000
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)


def _union_tag(part: Any) -> bool:
    """pydantic's name of a union member in an error location (a level is a number or a name; our tagged
    unions' tags, `_TAGS`)."""
    return isinstance(part, str) and (
        part in ("float", "str") or part in _TAGS or part.startswith(("constrained-", "dict[", "kano:"))
    )


def _format_location(loc: tuple) -> str:
    path = ""
    for part in loc:
        if _union_tag(part):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_PYDANTIC_PREFIX = re.compile(r"^(Value error|Assertion failed), ")


def _problems(error: ValidationError) -> list[str]:
    problems = []
    union_paths = set()  # a value fitting no member of a union: report the first member's problem only
    errors = error.errors(include_url=False)
    for e in errors:
        inner = [o for o in errors if len(o["loc"]) > len(e["loc"]) and o["loc"][: len(e["loc"])] == e["loc"]]
        if e["type"] == "too_short" and inner:  # a list left empty by its items' own errors: those say it
            continue
        if any(_union_tag(part) for part in e["loc"]):
            path = _format_location(e["loc"])
            if path in union_paths:
                continue
            union_paths.add(path)
        message = _PYDANTIC_PREFIX.sub("", e["msg"])
        path = _format_location(e["loc"])
        if e["type"] == "value_error":  # our own validators: one problem per line
            problems += [f"{path}: {line}" if path else line for line in message.split("\n")]
            continue
        if e["type"] == "wtp_source":
            source = e["input"].get("source") if isinstance(e["input"], Mapping) else e["input"]
            message += f" (got {repr(source)[:60]})"
        elif e["type"] == "extra_forbidden":
            message = "unknown field (check its spelling and indentation)"
        elif e["type"] == "missing":
            message = "required field is missing"
        elif "input" in e and e["type"] not in ("model_type", "dict_type"):
            message += f" (got {shown(e['input'])})"
        problems.append(f"{path}: {message}" if path else message)
    return problems


def scenario_from_dict(data: Any, base_dir: Path | None = None) -> Scenario:
    """Validate plain data (as read from YAML or JSON) into a `Scenario`, or raise `ScenarioError`.

    Version-1 data is migrated first (`migrate`); `base_dir` is the folder its relative paths start from.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"a scenario must be a mapping of fields, got {type(data).__name__}")
    version = data.get("schema_version")
    if type(version) is not int or version not in (1, SCHEMA_VERSION):  # not `true` or 1.0, which equal 1
        raise ScenarioError(
            f"schema_version: {shown(version)} is not supported "
            f"(this version of pricing reads 1 and {SCHEMA_VERSION}, and saves {SCHEMA_VERSION})"
        )
    if version == 1:
        data = migrate(data, base_dir)
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_problems(error)) from None
    except (OverflowError, RecursionError, ValueError) as error:  # e.g. int parsing past Python's digit limit
        raise ScenarioError(f"a number or structure is too large ({type(error).__name__})") from None


def migrate(data: Mapping[str, Any], base_dir: Path | None = None) -> dict[str, Any]:
    """Version-1 scenario data as version 2 (plain data in, plain data out; anything else is kept as is).

    Version 1 had one WTP mapping whose keys told the source: ``posterior: fit.nc`` or ``data: survey.csv``
    (with ``method`` and ``columns``), else elicited numbers. Version 2 names the source (``source:
    posterior|data``, the path under ``file``). A version-1 WTP from a conjoint (``choice``) posterior also
    took the fit's ``logit_scale`` and the ``value_per_unit`` of the attributes it knows; version 2 writes
    them as references to the same file, so the numbers stay the same. Which attributes a conjoint fit knows
    is read from the file (found from `base_dir`); a file that cannot be read is left for loading to report.
    """
    data = copy.deepcopy(dict(data))
    data["schema_version"] = SCHEMA_VERSION
    segments = data.get("segments")
    for segment in segments if isinstance(segments, list) else []:
        wtp = segment.get("wtp") if isinstance(segment, dict) else None
        if not isinstance(wtp, dict) or "source" in wtp:
            continue
        if "posterior" in wtp:
            wtp["source"], wtp["file"] = "posterior", wtp.pop("posterior")
            fitted = _choice_attributes(base_dir, wtp["file"]) if isinstance(wtp["file"], str) else None
            if fitted is not None:
                ref = {"posterior": wtp["file"]} | ({"segment": wtp["segment"]} if "segment" in wtp else {})
                segment["logit_scale"] = dict(ref)
                values = segment.setdefault("value_per_unit", {})
                attributes = data.get("attributes") or []
                names = [a.get("name") for a in attributes if isinstance(a, dict)]
                for name in names:
                    if name in fitted and isinstance(values, dict):
                        values[name] = dict(ref)
        elif "data" in wtp:
            wtp["source"], wtp["file"] = "data", wtp.pop("data")
        else:
            continue  # elicited: the default source
        segment["wtp"] = {"source": wtp.pop("source"), **wtp}
    return data


def _choice_attributes(base_dir: Path | None, file: str) -> list[str] | None:
    """Attributes of a saved conjoint posterior (None when it is not one, or cannot be read)."""
    path = (base_dir or Path.cwd()) / file
    if not path.is_file():
        return None
    try:
        import warnings

        import xarray as xr

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # netCDF readers warn about files that are not ours
            with xr.open_dataset(path, group="posterior") as posterior:
                if posterior.attrs.get("method") != "choice" or "attribute" not in posterior.coords:
                    return None
                return [str(a) for a in posterior["attribute"].values]
    except Exception:  # a foreign or broken file: loading the scenario reports it
        return None


def parse_scenario(text: str | bytes, base_dir: str | Path | None = None) -> Scenario:
    """Parse and validate the text of a scenario file; relative paths in it resolve against `base_dir`
    (default the working folder), as for a file loaded from that folder (also when migrating version 1)."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(
                f"file is {len(text):,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}"
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ScenarioError(f"file is not UTF-8 text (byte {error.start})") from None
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"file is {len(text):,} characters; scenario files are limited to {MAX_FILE_BYTES:,}"
        )
    if not text.strip():
        raise ScenarioError("file is empty")
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - _SafeLoader is a yaml.SafeLoader
    except ScenarioError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())  # one line
        raise ScenarioError(f"{where}not valid YAML ({problem})") from None
    except RecursionError:
        raise ScenarioError(f"nested deeper than {MAX_NESTING} levels") from None
    scenario = scenario_from_dict(data, None if base_dir is None else Path(base_dir))
    if base_dir is not None:
        _set_base_dir(scenario, Path(base_dir))
    return scenario


# Folder of each loaded scenario, kept beside the model (not a field or private attribute, so equality and
# hashes stay those of the content): id(scenario) -> (folder, confined), dropped when the scenario is
# garbage-collected. A confined scenario (opened from a zip or uploaded) reads only files inside its folder;
# an uploaded YAML file has no folder (None) and reads none.
_BASE_DIRS: dict[int, tuple[Path | None, bool]] = {}


def _set_base_dir(scenario: Scenario, folder: Path | None, confined: bool = False) -> None:
    _BASE_DIRS[id(scenario)] = (folder, confined)
    weakref.finalize(scenario, _BASE_DIRS.pop, id(scenario), None)


def confine(scenario: Scenario, folder: str | Path | None = None) -> Scenario:
    """Mark `scenario` (from a zip or an upload) to read only files inside `folder` (None: no files at all);
    `ScenarioError` names each path that leaves it. `with_changes` keeps the mark and checks again."""
    _set_base_dir(scenario, None if folder is None else Path(folder).resolve(), confined=True)
    problems = []
    for field, written in scenario_file_fields(scenario):
        try:
            data_path(scenario, written, field)
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return scenario


def data_path(scenario: Scenario, written: str, field: str = "file") -> Path:
    """The file a path written in the scenario names (relative to its folder); the one place such paths are
    resolved. A confined scenario's path must stay inside its folder (`ScenarioError` otherwise)."""
    folder, confined = _BASE_DIRS.get(id(scenario), (None, False))
    if not confined:
        return (folder or Path.cwd()) / written
    if folder is None:
        raise ScenarioError(
            f"{field} {shown(written)}: an uploaded scenario file cannot read other files; "
            "upload a zip of it with its data (pricing pack)"
        )
    path = (folder / written).resolve()
    if not path.is_relative_to(folder):
        raise ScenarioError(f"{field} {shown(written)}: a path outside the scenario's folder")
    return path


def file_references(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str, bool]]:
    """(steps, path as written, whether it is a saved posterior) of every file the scenario points to, in
    scenario order: each segment's WTP file (a saved posterior, or survey data fitted on load), a retention
    posterior, and every `PosteriorRef` (values, logit scales, attributes' Kano fits, the dynamics'
    satisfaction link). `steps` address the path's field in `scenario_to_dict`'s data (names of fields and
    mapping keys, indices of list items)."""
    found: list[tuple[tuple[str | int, ...], str, bool]] = []

    def visit(node: Any, steps: tuple[str | int, ...]) -> None:
        if isinstance(node, PosteriorRef):
            found.append(((*steps, "posterior"), node.posterior, True))
        elif isinstance(node, PosteriorWTP | SurveyWTP):
            found.append(((*steps, "file"), node.file, node.source == "posterior"))
        elif isinstance(node, Retention) and node.posterior is not None:
            found.append(((*steps, "posterior"), node.posterior, True))
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                visit(getattr(node, name), (*steps, name))
        elif isinstance(node, tuple | list):
            for index, item in enumerate(node):
                visit(item, (*steps, index))
        elif isinstance(node, dict):
            for key, item in node.items():
                visit(item, (*steps, key))

    visit(scenario, ())
    return found


def field_name(steps: tuple[str | int, ...]) -> str:
    """A scenario field's path as messages write it, e.g. ``segments[0].wtp.file``."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def scenario_file_fields(scenario: Scenario, posteriors_only: bool = False) -> list[tuple[str, str]]:
    """(field, path as written) of every file the scenario points to (`file_references`); with
    `posteriors_only` the saved posteriors only (not survey data, fitted on load)."""
    return [
        (field_name(steps), written)
        for steps, written, posterior in file_references(scenario)
        if posterior or not posteriors_only
    ]


def file_problems(scenario: Scenario) -> list[str]:
    """One line per file the scenario points to that cannot be read (missing, a folder, outside its zip)."""
    problems = []
    for field, written in scenario_file_fields(scenario):
        try:
            path = data_path(scenario, written, field)
        except ScenarioError as error:
            problems += error.problems
            continue
        if not path.is_file():
            problems.append(
                f"{field}: file {shown(str(path), 200)} not found (paths are relative to the "
                "scenario file's folder)"
            )
    return problems


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML, or a zip of it with its data: `pricing.bundle`); problems
    raise `ScenarioError` naming the field."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from pricing.bundle import open_bundle  # imports this module

        return open_bundle(path)
    raw = _read_scenario_file(path)
    scenario = parse_scenario(raw, path.resolve().parent)
    _set_base_dir(scenario, path.resolve().parent)
    return scenario


def _read_scenario_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                f"{path}: file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}"
            )
        with path.open("rb") as file:  # a device or pipe reports size 0: never read more than the limit
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read file ({error.strerror or error})") from None


def migrate_file(path: str | Path, output: str | Path | None = None) -> int:
    """Rewrite a scenario file as version 2 (in place, or to `output`), atomically; returns the version it
    had. The content is validated first: an invalid file is reported and left untouched. Comments and
    formatting are not kept (the file is written as `save_scenario` writes)."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        raise ScenarioError(f"{path}: migrate a scenario's YAML file, not a zip (open the zip and save it)")
    scenario = load_scenario(path)
    data = yaml.load(_read_scenario_file(path), Loader=_SafeLoader)  # noqa: S506 - a yaml.SafeLoader
    save_scenario(scenario, path if output is None else output)
    return data["schema_version"]


# ---- saving --------------------------------------------------------------------------------------------


def scenario_to_dict(scenario: Scenario) -> dict:
    """Plain data of a scenario, fields in schema order, defaults left out for readability."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    return {"schema_version": SCHEMA_VERSION, **data}


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text, as `save_scenario` writes it."""
    return yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True, width=100)


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write the scenario as YAML, atomically: the old file stays intact if anything fails."""
    atomic_write_text(path, dump_scenario(scenario))


def scenario_hash(scenario: Scenario) -> str:
    """Content hash of a scenario (SHA-256 of its canonical JSON): the key for caches."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def json_schema() -> dict:
    """JSON Schema of scenario files, for editors and other tools."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pricing scenario"
    return schema


# ---- changes -------------------------------------------------------------------------------------------

_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def with_changes(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A new, validated scenario with values replaced at dotted paths.

    List items are addressed by name or index: ``{"offerings[RivalA].price": 35, "market.draws": 500,
    "segments[0].wtp.median": 42}``. Used by the app, the URL query parameters and sweeps.
    """
    data = scenario.model_dump(mode="json")
    for path, value in changes.items():
        steps = [name or key for name, key in _STEP.findall(path)]
        if not steps:
            raise ScenarioError(f"{path!r}: empty path")
        node = data
        for i, step in enumerate(steps):
            last = i == len(steps) - 1
            if isinstance(node, list):
                index = _list_index(node, step, ".".join(steps[: i + 1]))
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[step] = value
                else:
                    if step not in node or node[step] is None:
                        node[step] = {}
                    node = node[step]
            else:
                raise ScenarioError(f"{path}: {'.'.join(steps[:i])} is a value, not a group of fields")
    changed = scenario_from_dict(data)
    if id(scenario) in _BASE_DIRS:
        folder, confined = _BASE_DIRS[id(scenario)]
        if confined:
            return confine(changed, folder)
        _set_base_dir(changed, folder)
    return changed


def _list_index(items: list, step: str, where: str) -> int:
    if step.lstrip("-").isdigit():
        index = int(step)
        if -len(items) <= index < len(items):
            return index
        raise ScenarioError(f"{where}: index out of range (there are {len(items)})")
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == step:
            return index
    names = ", ".join(str(item.get("name")) for item in items if isinstance(item, dict))
    raise ScenarioError(f"{where}: no item named {step!r} (known: {names})")
