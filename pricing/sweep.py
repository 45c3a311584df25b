"""Sweeps: thousands of variants of one scenario, in this process, on a process pool or on a Dask cluster.

A sweep file (YAML, validated like a scenario; `json_schema` gives its JSON Schema) names a base scenario and
the changes to sweep, each a field path as `pricing.scenario.with_changes` takes it::

    sweep_version: 1
    scenario: saas_team_plan.yaml           # relative to the sweep file (a .yaml or a .zip)
    changes: {market.draws: 500}            # applied to every point
    grid:                                   # every combination
      offerings[TaskHub].price: [8, 9, 10, 11]
      segments[SMB].wtp.median: {from: 10, to: 20, steps: 11}
    zip:                                    # lists taken together (equal lengths)
      offerings[BoardPro].price: [14, 15, 16]
      offerings[BoardPro].unit_cost: [5, 6, 7]
    sample:                                 # a Latin hypercube sample of ranges
      points: 200
      ranges: {segments[Startups].size: {from: 10000, to: 30000}}
    keep:                                   # which results to keep (default: summary)
      - summary                             # per variant at its best price
      - {kind: at_prices, prices: [10, current], metrics: [profit, share]}
      - equilibrium                         # Bertrand-Nash prices of every offering (pricing.competition)
      - {kind: over_time, prices: [current]}  # NPV, CLV, customers at the end (pricing.dynamics)

The points are every combination of the grid's values, the zip's rows and the sample's rows (each block
varies slower than the next, the grid's first path slowest), numbered 0..N-1. Point i simulates the base
scenario with its values and the seed ``SeedSequence(base seed).spawn(N)[i]`` (the base seed is the
scenario's after `changes`): a point's numbers depend on its index alone, never on how the sweep was split
into batches or where they ran. The Latin hypercube is drawn with `scipy.stats.qmc.LatinHypercube` from
``default_rng([base seed, 1])``.

`run_sweep` is the one entry point. It runs batches of points in this process (``workers=1``), on a process
pool, or on a running Dask cluster (``scheduler="tcp://host:port"``), with the base scenario and its data
files shipped to the workers as one zip (`pricing.bundle`). Results are gathered as batches finish; with an
output file, each finished batch is also written beside it, so an interrupted sweep resumes from what it
wrote. A point whose values the scenario's schema refuses is reported in `SweepResult.failures` and the
others run. The result is one tidy table (`COLUMNS`): one row per point, kind of result, variant of ours and
metric, with the swept values as columns, mean and 5/50/95% quantiles over the posterior draws; the same
sweep gives the same bytes in every mode.

Result kinds (`keep:`) are entries of `RESULT_KINDS`: a spec model (one member of `Keep`), the key columns
it fills, a check against the base scenario and a function from a point's scenario (and its simulation, made
once and only when asked for) to rows; a new kind plugs in there.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pricing import __version__, analysis
from pricing.bundle import pack_scenario, unpack_temporary
from pricing.dims import DRAW, OFFERING, PERIOD, PRICE, SEGMENT, VARIANT
from pricing.errors import PricingError, ScenarioError
from pricing.io import atomic_write_bytes, atomic_write_text, csv_text, netcdf_bytes
from pricing.scenario import (
    MAX_FILE_BYTES,
    Scenario,
    _problems,
    _SafeLoader,
    load_scenario,
    with_changes,
)
from pricing.scenario import (
    json_schema as scenario_json_schema,
)

SWEEP_VERSION = 1
MAX_POINTS = 1_000_000  #: points of one sweep (each made from its index; the table of all is held at the end)
MAX_VALUES = 100_000  #: values of one swept path
OUTPUT_TYPES = (".parquet", ".csv", ".nc")
CONNECT_TIMEOUT = "10s"  #: how long to try reaching a Dask scheduler
#: The table's columns, in order; the swept paths come after `point`, and a kind fills only its own keys.
KEY_COLUMNS = ("kind", VARIANT, SEGMENT, OFFERING, PRICE, PERIOD, "metric")
STAT_COLUMNS = ("mean", "q05", "q50", "q95")

Path_ = Annotated[str, Field(min_length=1, max_length=300)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


# ---- the sweep file ------------------------------------------------------------------------------------


class Range(_Model):
    """`steps` evenly spaced values from `from` to `to` (both included; one step is `from` alone)."""

    start: float = Field(alias="from", description="First value.")
    stop: float = Field(alias="to", description="Last value.")
    steps: Annotated[int, Field(ge=1, le=MAX_VALUES)] = Field(description="Number of values.")

    def values(self) -> list[float]:
        if self.steps == 1:
            return [self.start]
        return [float(v) for v in np.linspace(self.start, self.stop, self.steps)]


class Interval(_Model):
    """A range `from`..`to` to sample uniformly (in the Latin hypercube)."""

    start: float = Field(alias="from")
    stop: float = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not self.start < self.stop:
            raise ValueError(f"from ({self.start:g}) must be below to ({self.stop:g}): the range is empty")
        return self


class Sample(_Model):
    """A Latin hypercube sample of `points` points over `ranges` (one dimension per path)."""

    points: Annotated[int, Field(ge=1, le=1_000_000)] = Field(description="Points to sample.")
    ranges: dict[Path_, Interval] = Field(min_length=1, max_length=100, description="Path -> range.")


Values = Annotated[list[Any], Field(min_length=1, max_length=MAX_VALUES)] | Range


class SummaryKeep(_Model):
    """Per variant of ours, at its expected-profit best price: that price (q05..q95 of the per-draw optimum),
    P(most profitable) and our market totals share, volume, revenue, profit and satisfaction."""

    kind: Literal["summary"] = "summary"


class AtPricesKeep(_Model):
    """Selected metrics of ours at selected prices of ours (snapped to the simulated grid), per variant."""

    kind: Literal["at_prices"] = "at_prices"
    prices: list[Annotated[float, Field(gt=0)] | Literal["current"]] = Field(
        ["current"], min_length=1, max_length=100, description="Our prices; `current` is our price today."
    )
    metrics: list[Literal[analysis.METRICS]] = Field(  # type: ignore[valid-type]
        list(analysis.METRICS), min_length=1, description="Metrics to keep."
    )
    segments: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        [analysis.ALL], min_length=1, max_length=50, description="Segments (`all`: the market total)."
    )


class EquilibriumKeep(_Model):
    """Bertrand-Nash prices, shares, units and profits of every offering per variant of ours
    (`pricing.competition.equilibrium`), over the converged draws, and the converged share of draws."""

    kind: Literal["equilibrium"] = "equilibrium"


class OverTimeKeep(_Model):
    """Value over time at our selected prices (`pricing.dynamics.simulate_dynamics`): NPV and one-period
    profit, customers at the end and customer lifetime value per segment, for every variant."""

    kind: Literal["over_time"] = "over_time"
    prices: list[Annotated[float, Field(gt=0)] | Literal["current"]] = Field(
        ["current"], min_length=1, max_length=100, description="Our prices; `current` is our price today."
    )
    horizon: Annotated[int, Field(ge=1, le=600)] | None = Field(
        None, description="Periods (default the scenario's dynamics horizon)."
    )


Keep = Annotated[SummaryKeep | AtPricesKeep | EquilibriumKeep | OverTimeKeep, Field(discriminator="kind")]


class Sweep(_Model):
    """A sweep file (see the module docstring)."""

    sweep_version: Literal[1] = Field(description="Version of this file format.")
    scenario: Path_ = Field(description="The base scenario (.yaml or .zip), relative to the sweep file.")
    changes: dict[Path_, Any] = Field(default_factory=dict, description="Changes applied to every point.")
    grid: dict[Path_, Values] = Field(
        default_factory=dict, max_length=20, description="Path -> values; every combination."
    )
    zip: dict[Path_, Annotated[list[Any], Field(min_length=1, max_length=MAX_VALUES)]] = Field(
        default_factory=dict, max_length=20, description="Path -> values, taken together (equal lengths)."
    )
    sample: Sample | None = Field(None, description="A Latin hypercube sample of ranges.")
    keep: list[Keep] = Field(
        default_factory=lambda: [SummaryKeep()], min_length=1, max_length=20, description="Results to keep."
    )
    batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="Points per task (default: about 8 batches per worker, at most 50 points)."
    )

    @field_validator("keep", mode="before")
    @classmethod
    def _named_kinds(cls, value: Any) -> Any:
        """`keep: [summary]` is short for `keep: [{kind: summary}]`."""
        if isinstance(value, list):
            return [{"kind": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _blocks(self) -> Sweep:
        problems = []
        lengths = {path: len(values) for path, values in self.zip.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{path}: {n}" for path, n in lengths.items())
            problems.append(f"zip: the lists must have equal lengths (got {shown})")
        paths = [*self.grid, *self.zip, *(self.sample.ranges if self.sample else ())]
        if not paths:
            problems.append("give the changes to sweep under grid, zip or sample")
        for path in sorted({p for p in paths if paths.count(p) > 1}):
            problems.append(f"{path}: swept twice (in grid, zip or sample)")
        for path in paths:
            if path in self.changes:
                problems.append(f"{path}: both swept and in changes")
            if path in KEY_COLUMNS or path in ("point", *STAT_COLUMNS):
                problems.append(f"{path}: not a scenario field (it names a column of the results)")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def json_schema() -> dict:
    """JSON Schema of sweep files, for editors and other tools."""
    schema = Sweep.model_json_schema(by_alias=True)
    keep = schema["properties"]["keep"]
    keep["items"] = {"anyOf": [{"enum": list(RESULT_KINDS)}, keep["items"]]}  # `summary` for {kind: summary}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pricing sweep"
    return schema


def parse_sweep(text: str | bytes) -> Sweep:
    """Parse and validate the text of a sweep file (raises `ScenarioError` naming each problem)."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"file is {len(text):,} bytes; sweep files are limited to {MAX_FILE_BYTES:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ScenarioError(f"file is not UTF-8 text (byte {error.start})") from None
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a yaml.SafeLoader without aliases
    except ScenarioError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ScenarioError(f"{where}not valid YAML ({problem})") from None
    except RecursionError:
        raise ScenarioError("nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ScenarioError(f"a sweep must be a mapping of fields, got {type(data).__name__}")
    version = data.get("sweep_version")
    if type(version) is not int or version != SWEEP_VERSION:
        raise ScenarioError(
            f"sweep_version: {version!r} is not supported (this version of pricing reads {SWEEP_VERSION})"
        )
    try:
        return Sweep.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_problems(error)) from None
    except (OverflowError, RecursionError) as error:
        raise ScenarioError(f"a number or structure is too large: {error}") from None


def load_sweep(path: str | Path) -> tuple[Sweep, Scenario]:
    """Read a sweep file and its base scenario; every problem raises `ScenarioError` naming the field."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read file ({error.strerror or error})") from None
    try:
        sweep = parse_sweep(raw)
    except ScenarioError as error:
        raise ScenarioError([f"{path}: {p}" for p in error.problems]) from None
    scenario_path = path.resolve().parent / sweep.scenario
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as error:
        raise ScenarioError([f"{path}: scenario {sweep.scenario}: {p}" for p in error.problems]) from None
    plan(sweep, scenario)  # unknown paths and kinds are problems of the file, before anything runs
    return sweep, scenario


# ---- result kinds --------------------------------------------------------------------------------------


Rows = dict[str, Sequence[Any]]  #: columns of equal length: the kind's keys, `metric` and the statistics


@dataclass(frozen=True)
class ResultKind:
    """What `keep:` can ask for: the keys it fills (of `KEY_COLUMNS`), a check against the base scenario
    (problems, one line each) and its rows for one point (`Rows`, or a DataFrame with those columns), from
    the point's scenario and a function simulating it once (kinds that need no simulation do not pay)."""

    keys: tuple[str, ...]
    rows: Callable[[Scenario, BaseModel, Callable[[], xr.Dataset]], Rows | pd.DataFrame]
    check: Callable[[Scenario, BaseModel], list[str]] = lambda scenario, spec: []


def _summary_rows(scenario: Scenario, spec: SummaryKeep, results: Callable[[], xr.Dataset]) -> Rows:
    simulated = results()
    variants = [str(v) for v in simulated[VARIANT].values]
    grid = simulated[PRICE].values
    profit = simulated.profit.variable.transpose(DRAW, PRICE, VARIANT).values
    best = grid[profit.mean(axis=0).argmax(axis=0)]  # expected-profit optimum per variant (first maximum)
    per_draw = grid[profit.argmax(axis=1)]  # draw, variant
    low, median, high = np.quantile(per_draw, analysis.QUANTILES, axis=0)
    wins = np.bincount(profit.max(axis=1).argmax(axis=1), minlength=len(variants)) / len(profit)
    rows: dict[str, list] = {name: [] for name in (VARIANT, PRICE, "metric", *STAT_COLUMNS)}

    def add(variant: str, price: float, metric: str, *stats: float) -> None:
        keys = (VARIANT, PRICE, "metric", *STAT_COLUMNS)
        for name, value in zip(keys, (variant, price, metric, *stats), strict=True):
            rows[name].append(value)

    for v, variant in enumerate(variants):
        price = float(best[v])
        add(variant, price, "best_price", price, low[v], median[v], high[v])
        add(variant, price, "p_most_profitable", wins[v], np.nan, np.nan, np.nan)
        for metric, stats in analysis.our_stats(simulated, variant, price).items():
            add(variant, price, metric, *(float(stats[k][0]) for k in STAT_COLUMNS))
    return rows


def _at_prices_rows(scenario: Scenario, spec: AtPricesKeep, results: Callable[[], xr.Dataset]) -> Rows:
    simulated = results()
    columns = [str(s) for s in simulated[SEGMENT].values] + [analysis.ALL]
    rows: dict[str, list] = {name: [] for name in (VARIANT, SEGMENT, PRICE, "metric", *STAT_COLUMNS)}
    current = scenario.our_offering.price
    wanted = [current if price == "current" else price for price in spec.prices]
    prices = list(dict.fromkeys(analysis.nearest_price(simulated, price) for price in wanted))  # once each
    for variant in (str(v) for v in simulated[VARIANT].values):
        for price in prices:
            stats = analysis.our_stats(simulated, variant, price, segments=True)
            for metric in spec.metrics:
                for segment in spec.segments:
                    column = columns.index(segment)
                    for name, value in zip(
                        (VARIANT, SEGMENT, PRICE, "metric"), (variant, segment, price, metric), strict=True
                    ):
                        rows[name].append(value)
                    for k in STAT_COLUMNS:
                        rows[k].append(float(stats[metric][k][column]))
    return rows


def _check_segments(scenario: Scenario, spec: AtPricesKeep) -> list[str]:
    known = [s.name for s in scenario.segments] + [analysis.ALL]
    return [
        f"keep: at_prices: segment {name!r} is not in the scenario (known: {', '.join(known)})"
        for name in spec.segments
        if name not in known
    ]


def _equilibrium_rows(scenario: Scenario, spec: EquilibriumKeep, results: Callable[[], xr.Dataset]) -> Rows:
    from pricing.competition import converged_summary, equilibrium

    solved = equilibrium(scenario)
    rows: dict[str, list] = {name: [] for name in (VARIANT, OFFERING, "metric", *STAT_COLUMNS)}
    converged = solved.converged.transpose(DRAW, VARIANT).values.mean(axis=0)
    summaries = {
        m: converged_summary(solved[m], solved.converged) for m in ("price", "share", "units", "profit")
    }
    for v, variant in enumerate(str(x) for x in solved[VARIANT].values):
        rows[VARIANT].append(variant)
        rows[OFFERING].append(None)
        rows["metric"].append("converged")
        for k, value in zip(STAT_COLUMNS, (converged[v], np.nan, np.nan, np.nan), strict=True):
            rows[k].append(float(value))
        for offering in (str(o) for o in solved[OFFERING].values):
            for metric, summary in summaries.items():
                at = summary.sel({VARIANT: variant, OFFERING: offering})
                rows[VARIANT].append(variant)
                rows[OFFERING].append(offering)
                rows["metric"].append(metric)
                for k in STAT_COLUMNS:
                    rows[k].append(float(at[k]))
    return rows


def _check_equilibrium(scenario: Scenario, spec: EquilibriumKeep) -> list[str]:
    if scenario.market.choice_rule == "first_choice":
        return ["keep: equilibrium: first-choice demand has no meaningful price equilibrium (use logit)"]
    return []


def _over_time_rows(scenario: Scenario, spec: OverTimeKeep, results: Callable[[], xr.Dataset]) -> Rows:
    from pricing.dynamics import simulate_dynamics

    current = scenario.our_offering.price
    prices = list(dict.fromkeys(current if p == "current" else float(p) for p in spec.prices))
    over = simulate_dynamics(scenario, horizon=spec.horizon, prices=prices, per_period=False)
    segments = [str(s) for s in over[SEGMENT].values]
    rows: dict[str, list] = {name: [] for name in (VARIANT, SEGMENT, PRICE, "metric", *STAT_COLUMNS)}

    def add(variant: str, segment: str, price: float, metric: str, values: np.ndarray) -> None:
        stats = analysis.interval(xr.DataArray(values, dims=DRAW))
        for name, value in zip(
            (VARIANT, SEGMENT, PRICE, "metric"), (variant, segment, price, metric), strict=True
        ):
            rows[name].append(value)
        for k in STAT_COLUMNS:
            rows[k].append(float(stats[k]))

    for v, variant in enumerate(str(x) for x in over[VARIANT].values):
        for p, price in enumerate(prices):
            for metric in ("npv", "one_period_profit"):
                add(
                    variant,
                    analysis.ALL,
                    price,
                    metric,
                    over[metric].transpose(DRAW, PRICE, VARIANT).values[:, p, v],
                )
            end = over.customers_end.transpose(DRAW, SEGMENT, PRICE, VARIANT).values[:, :, p, v]
            clv = over.clv.transpose(DRAW, SEGMENT, PRICE, VARIANT).values[:, :, p, v]
            for s, segment in enumerate(segments):
                add(variant, segment, price, "customers_end", end[:, s])
                add(variant, segment, price, "clv", clv[:, s])
            add(variant, analysis.ALL, price, "customers_end", end.sum(axis=1))
    return rows


def _check_over_time(scenario: Scenario, spec: OverTimeKeep) -> list[str]:
    if getattr(scenario, "dynamics", None) is None:
        return ["keep: over_time: the scenario has no dynamics section (retention, referral, horizon)"]
    return []


RESULT_KINDS: dict[str, ResultKind] = {
    "summary": ResultKind(keys=(VARIANT, PRICE), rows=_summary_rows),
    "at_prices": ResultKind(keys=(VARIANT, SEGMENT, PRICE), rows=_at_prices_rows, check=_check_segments),
    "equilibrium": ResultKind(keys=(VARIANT, OFFERING), rows=_equilibrium_rows, check=_check_equilibrium),
    "over_time": ResultKind(keys=(VARIANT, SEGMENT, PRICE), rows=_over_time_rows, check=_check_over_time),
}


# ---- the points ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The points of a sweep: blocks of rows (path -> value) whose combinations are the points."""

    paths: tuple[str, ...]
    blocks: tuple[tuple[dict[str, Any], ...], ...]
    base_seed: int
    keys: tuple[str, ...]  #: key columns the kept kinds fill, in `KEY_COLUMNS` order

    @property
    def size(self) -> int:
        return math.prod(len(block) for block in self.blocks)

    def values(self, index: int) -> dict[str, Any]:
        """Path -> value of point `index` (the first block varies slowest)."""
        values: dict[str, Any] = {}
        for block, stride in zip(self.blocks, self._strides, strict=True):
            values |= block[(index // stride) % len(block)]
        return {path: values[path] for path in self.paths}

    @property
    def _strides(self) -> list[int]:
        sizes = [len(block) for block in self.blocks]
        return [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]

    def seed(self, index: int) -> int:
        """Seed of point `index`: from ``SeedSequence(base_seed).spawn(N)[index]``, as a 63-bit integer."""
        child = np.random.SeedSequence(self.base_seed, spawn_key=(index,))
        return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def plan(sweep: Sweep, scenario: Scenario) -> Plan:
    """Check the sweep against its base scenario and lay out its points (raises `ScenarioError`)."""
    problems = []
    try:
        base = with_changes(scenario, sweep.changes) if sweep.changes else scenario
    except ScenarioError as error:
        raise ScenarioError([f"changes: {p}" for p in error.problems]) from None
    data = base.model_dump(mode="json")
    schema = _scenario_schema()
    blocks: list[tuple[dict[str, Any], ...]] = []
    for path, values in sweep.grid.items():
        problems += _path_problems(f"grid.{path}", path, data, schema)
        listed = values.values() if isinstance(values, Range) else values
        blocks.append(tuple({path: value} for value in listed))
    for path in sweep.zip:
        problems += _path_problems(f"zip.{path}", path, data, schema)
    if sweep.zip:
        columns = list(sweep.zip.items())
        n = len(columns[0][1])
        blocks.append(tuple({path: values[i] for path, values in columns} for i in range(n)))
    if sweep.sample is not None:
        for path in sweep.sample.ranges:
            problems += _path_problems(f"sample.ranges.{path}", path, data, schema)
    for spec in sweep.keep:
        problems += RESULT_KINDS[spec.kind].check(base, spec)
    if problems:
        raise ScenarioError(problems)
    if sweep.sample is not None:
        blocks.append(_latin_hypercube(sweep.sample, base.seed))
    paths = (*sweep.grid, *sweep.zip, *(sweep.sample.ranges if sweep.sample else ()))
    size = math.prod(len(block) for block in blocks)
    if size > MAX_POINTS:
        raise ScenarioError(f"the sweep has {size:,} points; the limit is {MAX_POINTS:,}")
    keys = {"kind", "metric"} | {key for spec in sweep.keep for key in RESULT_KINDS[spec.kind].keys}
    return Plan(paths, tuple(blocks), base.seed, tuple(k for k in KEY_COLUMNS if k in keys))


@functools.cache
def _scenario_schema() -> dict:
    return scenario_json_schema()


def _latin_hypercube(sample: Sample, seed: int) -> tuple[dict[str, Any], ...]:
    from scipy.stats import qmc

    ranges = list(sample.ranges.items())
    unit = qmc.LatinHypercube(len(ranges), rng=np.random.default_rng([seed, 1])).random(sample.points)
    low = np.array([r.start for _, r in ranges])
    high = np.array([r.stop for _, r in ranges])
    points = qmc.scale(unit, low, high)
    return tuple({path: float(row[j]) for j, (path, _) in enumerate(ranges)} for row in points)


def _path_problems(where: str, path: str, data: Any, schema: dict) -> list[str]:
    """Problems of a swept path against the base scenario's data and the scenario JSON Schema: an unknown
    field or list item is a problem of the sweep file (a value the schema refuses is one of its point)."""
    from pricing.scenario import _STEP

    steps = [name or key for name, key in _STEP.findall(path)]
    if not steps:
        return [f"{where}: empty path"]
    node, spec, walked = data, schema, ""
    for step in steps:
        spec = _resolve(spec, schema)
        done = walked or "the scenario"
        walked += f"[{step}]" if isinstance(node, list) else f".{step}" if walked else step
        if isinstance(node, list):
            if step.lstrip("-").isdigit():
                if not -len(node) <= int(step) < len(node):
                    return [f"{where}: {done} has {len(node)} items; index {step} is out of range"]
                node = node[int(step)]
            else:
                names = [item.get("name") for item in node if isinstance(item, dict)]
                if step not in names:
                    return [
                        f"{where}: {done} has no item named {step!r} (known: {', '.join(map(str, names))})"
                    ]
                node = node[names.index(step)]
            spec = spec.get("items", spec.get("prefixItems", [{}])[0] if "prefixItems" in spec else {})
            continue
        properties = spec.get("properties")
        if properties is not None and step in properties:
            spec = properties[step]
        elif isinstance(spec.get("additionalProperties"), dict):
            spec = spec["additionalProperties"]
        else:
            known = ", ".join(properties or ()) or "none: it is a value"
            return [f"{where}: {done} has no field {step!r} (known: {known})"]
        node = node.get(step) if isinstance(node, dict) else None
    return []


def _resolve(spec: dict, root: dict) -> dict:
    """A JSON Schema node with its $ref followed and an optional (anyOf with null) unwrapped."""
    while True:
        if "$ref" in spec:
            spec = root["$defs"][spec["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in spec:
            options = [s for s in spec["anyOf"] if s.get("type") != "null"]
            structured = [s for s in options if "$ref" in s or s.get("type") in ("object", "array")]
            spec = (structured or options or [{}])[0]
        else:
            return spec


# ---- one batch: the work of a task ---------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """All a worker needs: the sweep as plain data and the base scenario zipped with its data files."""

    sweep: str  #: the sweep's JSON
    bundle: bytes  #: `pricing.bundle.pack_scenario` of the base scenario

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.sweep.encode() + b"\0" + self.bundle + __version__.encode()).hexdigest()


@dataclass
class Batch:
    """Results of some points: their rows (the table's columns) and the points that failed."""

    points: list[int]
    table: pd.DataFrame
    failures: list[dict[str, Any]] = field(default_factory=list)


_PREPARED: dict[str, tuple[Sweep, Scenario, Plan]] = {}


def _prepare(job: Job) -> tuple[Sweep, Scenario, Plan]:
    """The job's sweep, base scenario (unpacked once per process) and plan."""
    if job.digest not in _PREPARED:
        sweep = Sweep.model_validate_json(job.sweep)
        scenario = unpack_temporary(job.bundle)
        base = with_changes(scenario, sweep.changes) if sweep.changes else scenario
        _PREPARED.clear()  # one sweep at a time per worker: do not keep old scenarios' folders in memory
        _PREPARED[job.digest] = (sweep, base, plan(sweep, scenario))
    return _PREPARED[job.digest]


def run_batch(job: Job, points: Sequence[int]) -> Batch:
    """Simulate the given points of the job's sweep and return their rows (the task run on workers)."""
    from pricing.simulate import simulate

    sweep, base, layout = _prepare(job)
    names = ["point", *layout.paths, "seed", *layout.keys, *STAT_COLUMNS]
    columns: dict[str, list] = {name: [] for name in names}
    failures = []
    for index in points:
        values = layout.values(index)
        changes = {"seed": layout.seed(index)} | values
        try:
            scenario = with_changes(base, changes)
            simulated: list[xr.Dataset] = []

            def results(scenario: Scenario = scenario, simulated: list = simulated) -> xr.Dataset:
                if not simulated:
                    simulated.append(simulate(scenario))
                return simulated[0]

            kept = [(spec.kind, RESULT_KINDS[spec.kind].rows(scenario, spec, results)) for spec in sweep.keep]
        except PricingError as error:  # this point's values: reported, and the other points run
            problems = getattr(error, "problems", [str(error)])
            failures.append({"point": index, "values": _plain(values), "error": "; ".join(problems)})
            continue
        fixed = {"point": index, "seed": changes["seed"]} | _plain(values)
        for kind, rows in kept:
            if isinstance(rows, pd.DataFrame):
                rows = {name: rows[name].tolist() for name in rows.columns}
            n = len(rows["metric"])
            for name in names:
                if name == "kind":
                    columns[name] += [kind] * n
                elif name in fixed:
                    columns[name] += [fixed[name]] * n
                else:
                    columns[name] += list(rows.get(name, [None] * n))
    return Batch(list(points), _tidy([pd.DataFrame(columns)], layout), failures)


def _cell(value: Any) -> Any:
    """A swept value as a table cell: numbers as floats, text as text, anything else as compact JSON."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {path: _cell(value) for path, value in values.items()}


def _tidy(frames: list[pd.DataFrame], layout: Plan) -> pd.DataFrame:
    """The rows in the table's column order and types, whatever they came from (a batch, a file)."""
    columns = ["point", *layout.paths, "seed", *layout.keys, *STAT_COLUMNS]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    for key in layout.keys:
        if key not in table:
            table[key] = np.nan if key in ("price", "period") else None
    table = table[columns].copy()
    table["point"] = table["point"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    for column in (*layout.paths, *layout.keys):
        numeric = column in ("price", "period") or (column in layout.paths and _numeric(layout, column))
        if numeric:
            table[column] = table[column].astype("float64")
        else:  # text; missing (a key another kind fills) is None, however the rows were read
            values = table[column].astype(object)
            table[column] = values.where(values.notna(), None)
    for column in STAT_COLUMNS:
        table[column] = table[column].astype("float64")
    return table


def _numeric(layout: Plan, path: str) -> bool:
    return all(
        isinstance(row[path], int | float) and not isinstance(row[path], bool)
        for block in layout.blocks
        for row in block
        if path in row
    )


# ---- running: in this process, on a process pool, on Dask ---------------------------------------------


@dataclass
class SweepResult:
    """The finished (or cancelled) sweep: the tidy table, the points that failed and how it ran."""

    table: pd.DataFrame
    failures: list[dict[str, Any]]
    points: int  #: points in the sweep
    done: int  #: points with results or a failure
    seconds: float
    mode: str  #: "in-process", "pool of N" or "dask at ADDRESS"
    resumed: int = 0  #: points read back from an earlier run's batches

    @property
    def complete(self) -> bool:
        return self.done == self.points


Progress = Callable[[int, int, float], None]  #: (points done, points in the sweep, seconds so far)


def run_sweep(
    sweep: Sweep | str | Path,
    scenario: Scenario | None = None,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    previous: Sequence[Batch] = (),
    on_batch: Callable[[Batch], None] | None = None,
) -> SweepResult:
    """Run every point of a sweep and return its tidy table (the module docstring says how).

    Parameters
    ----------
    sweep : a sweep file's path, or a `Sweep` with its base `scenario`.
    workers : processes of the local pool; 1 runs in this process, None uses every core.
    scheduler : address of a running Dask scheduler (``tcp://host:8786``): run there instead.
    output : write the table there (.parquet, .csv or .nc); finished batches are kept beside it
        (``.NAME.parts/``) until the sweep completes, so that `resume` can continue an interrupted run.
    progress : called after each batch with (points done, points in all, seconds).
    should_stop : asked after each batch; True cancels the rest (the finished batches are kept).
    previous, on_batch : batches already done (e.g. kept by the app), and a callback for each new one.
    """
    started = time.perf_counter()
    if isinstance(sweep, str | Path):
        sweep, scenario = load_sweep(sweep)
    elif scenario is None:
        raise PricingError("run_sweep: give the base scenario with a Sweep")
    layout = plan(sweep, scenario)
    if output is not None:
        output = check_output_path(output)
    job = Job(sweep.model_dump_json(by_alias=True), pack_scenario(scenario))
    store = _Store(output, job, layout.size) if output is not None else None
    done = list(previous)
    if store is not None:
        done += store.start(resume)
    resumed = sum(len(b.points) for b in done)
    finished = {p for b in done for p in b.points}
    todo = [i for i in range(layout.size) if i not in finished]
    if scheduler is not None:
        mode, runner = f"dask at {scheduler}", _run_dask
        size = sweep.batch_size or _batch_size(len(todo), _dask_workers(scheduler))
    elif workers is None or workers > 1:
        count = workers or os.cpu_count() or 1
        mode, runner = f"pool of {count}", _run_pool
        size = sweep.batch_size or _batch_size(len(todo), count)
    else:
        mode, runner, size = "in-process", _run_here, sweep.batch_size or _batch_size(len(todo), 1)
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    count = len(finished)
    if progress is not None:
        progress(count, layout.size, time.perf_counter() - started)
    cancelled = False
    target = scheduler if scheduler is not None else workers
    for batch in runner(job, batches, target, lambda: bool(should_stop and should_stop())):
        if store is not None:
            store.add(batch)
        if on_batch is not None:
            on_batch(batch)
        done.append(batch)
        count += len(batch.points)
        if progress is not None:
            progress(count, layout.size, time.perf_counter() - started)
        if should_stop is not None and should_stop() and count < layout.size:
            cancelled = True
            break
    table = _collect(layout, done)
    failures = sorted((f for b in done for f in b.failures), key=lambda f: f["point"])
    if store is not None and not cancelled:
        store.finish(table, layout)
    return SweepResult(table, failures, layout.size, count, time.perf_counter() - started, mode, resumed)


def collect(sweep: Sweep, scenario: Scenario, batches: Sequence[Batch]) -> pd.DataFrame:
    """The tidy table of some batches of a sweep (e.g. the ones a cancelled run finished), by point."""
    return _collect(plan(sweep, scenario), batches)


def _collect(layout: Plan, batches: Sequence[Batch]) -> pd.DataFrame:
    table = _tidy([b.table for b in batches], layout)
    return table.sort_values("point", kind="stable", ignore_index=True)


def _batch_size(points: int, workers: int) -> int:
    """About 8 batches per worker (so a lost or slow one costs little), 1..50 points each."""
    return max(1, min(50, math.ceil(points / (8 * max(1, workers)))))


def _run_here(job: Job, batches: list[list[int]], _target, stop: Callable[[], bool]) -> Iterator[Batch]:
    for points in batches:
        yield run_batch(job, points)


_WORKER_JOB: Job | None = None


def _pool_init(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


def _pool_batch(points: list[int]) -> Batch:
    return run_batch(_WORKER_JOB, points)


def _run_pool(job: Job, batches: list[list[int]], workers, stop: Callable[[], bool]) -> Iterator[Batch]:
    count = min(workers or os.cpu_count() or 1, max(1, len(batches)))
    # spawn, not fork: the caller may be a threaded server (the app); the job is sent once per process
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(count, mp_context=context, initializer=_pool_init, initargs=(job,)) as pool:
        with _plain_main():  # the processes start with the first submits
            pending = {pool.submit(_pool_batch, points) for points in batches}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def _plain_main() -> Iterator[None]:
    """Start spawned processes without re-running the caller's main script: spawn imports it in each child,
    which runs an unguarded script again (or, after Streamlit's AppTest, the app). The workers need only
    `pricing`."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _worker_version() -> str:
    from pricing import __version__ as version

    return version


def _connect(address: str):
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise PricingError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        raise PricingError(f"scheduler {address}: cannot connect ({error})") from None


def _dask_workers(address: str) -> int:
    client = _connect(address)
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    finally:
        client.close()


def _run_dask(job: Job, batches: list[list[int]], address: str, stop: Callable[[], bool]) -> Iterator[Batch]:
    from distributed import KilledWorker, as_completed

    client = _connect(address)
    try:
        versions = client.run(_worker_version)
        wrong = {worker: v for worker, v in versions.items() if v != __version__}
        if wrong:
            shown = ", ".join(f"{w}: {v}" for w, v in wrong.items())
            raise PricingError(
                f"scheduler {address}: workers run another pricing than {__version__} ({shown})"
            )
        if not versions:
            raise PricingError(f"scheduler {address}: no workers are connected")
        shipped = client.scatter(job, broadcast=True, hash=False)  # the zip reaches every worker once
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(run_batch, shipped, points, key=f"pricing-sweep-{token}-{points[0]}", pure=False)
            for points in batches
        ]
        completed = as_completed(futures, loop=client.loop)
        try:
            for future in completed:
                try:
                    batch = future.result()
                except KilledWorker as error:  # the scheduler gave up after several workers died on it
                    raise PricingError(
                        f"scheduler {address}: a batch killed every worker that ran it ({error}); "
                        "the batches written so far are kept (--resume)"
                    ) from None
                future.release()
                yield batch
        finally:
            client.cancel(futures)
    finally:
        client.close()


# ---- output and resume ---------------------------------------------------------------------------------


def check_output_path(path: str | Path) -> Path:
    """The output path if the table can be written there (.parquet, .csv or .nc in an existing folder)."""
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_TYPES:
        raise PricingError(f"output {path}: unknown file type {path.suffix!r}; use .parquet, .csv or .nc")
    if not path.parent.is_dir():
        raise PricingError(f"output {path}: folder {path.parent} does not exist")
    return path


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write the sweep's table atomically: Parquet, CSV (text that a spreadsheet would run as a formula is
    quoted with a leading apostrophe) or netCDF (one `row` dim; `Dataset.to_dataframe()` gives it back)."""
    path = check_output_path(path)
    kind = path.suffix.lower()
    try:
        if kind == ".csv":
            atomic_write_text(path, csv_text(table))
        elif kind == ".parquet":
            atomic_write_bytes(path, _parquet_bytes(table))
        else:
            data = xr.Dataset.from_dataframe(table.rename_axis("row"))
            for name in data.variables:
                if data[name].dtype == object:
                    data[name] = data[name].fillna("").astype(str)
            atomic_write_bytes(path, netcdf_bytes(data))
    except OSError as error:
        raise PricingError(f"output {path}: cannot write ({error.strerror or error})") from None


def _parquet_bytes(table: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


class _Store:
    """Finished batches of a sweep with an output file, kept beside it until the sweep completes."""

    def __init__(self, output: Path, job: Job, points: int):
        self.output, self.points = output, points
        self.folder = output.parent / f".{output.name}.parts"
        self.identity = {"sweep": job.digest, "points": points, "pricing": __version__}

    def start(self, resume: bool) -> list[Batch]:
        """The batches an interrupted run of this sweep wrote (with `resume`); else a fresh folder."""
        manifest = self.folder / "sweep.json"
        if self.folder.exists() and not resume:
            raise PricingError(
                f"output {self.output}: an unfinished sweep left its results in {self.folder}; "
                "pass --resume to continue it, or remove that folder"
            )
        if resume and self.folder.exists():
            try:
                identity = json.loads(manifest.read_text())
            except (OSError, ValueError):
                identity = None
            if identity != self.identity:
                raise PricingError(
                    f"output {self.output}: {self.folder} holds another sweep's results (or another "
                    "version's); remove it to start over"
                )
            return [self._read(path) for path in sorted(self.folder.glob("points-*.parquet"))]
        self.folder.mkdir()
        atomic_write_text(manifest, json.dumps(self.identity))
        return []

    def add(self, batch: Batch) -> None:
        name = f"points-{batch.points[0]:09d}-{uuid.uuid4().hex[:8]}"
        record = {"points": batch.points, "failures": batch.failures}
        atomic_write_text(self.folder / f"{name}.json", json.dumps(record))
        atomic_write_bytes(self.folder / f"{name}.parquet", _parquet_bytes(batch.table))  # marks it done

    def _read(self, path: Path) -> Batch:
        try:
            record = json.loads(path.with_suffix(".json").read_text())
            table = pd.read_parquet(path, engine="pyarrow")
        except (OSError, ValueError) as error:
            raise PricingError(f"resume: cannot read {path} ({error}); remove {self.folder}") from None
        return Batch(record["points"], table, record["failures"])

    def finish(self, table: pd.DataFrame, layout: Plan) -> None:
        write_table(table, self.output)
        shutil.rmtree(self.folder, ignore_errors=True)


def best_points(table: pd.DataFrame, metric: str = "profit", kind: str = "summary") -> pd.DataFrame:
    """Per variant, the point with the highest mean of `metric` (rows of `table`)."""
    rows = table[(table["kind"] == kind) & (table["metric"] == metric)]
    if rows.empty:
        return rows
    return rows.loc[rows.groupby(VARIANT, sort=False)["mean"].idxmax()].reset_index(drop=True)


def common_inputs(scenario: Scenario) -> dict[str, tuple[str, float]]:
    """The inputs a pricing manager most often sweeps: label -> (path, today's value). Our price and unit
    cost, each rival's price, each segment's size and median WTP (where elicited as a median)."""
    ours = next(i for i, o in enumerate(scenario.offerings) if o.owner == "us")
    name = scenario.offerings[ours].name
    inputs = {
        f"Price of {name}": (f"offerings[{ours}].price", scenario.offerings[ours].price),
        f"Unit cost of {name}": (f"offerings[{ours}].unit_cost", scenario.offerings[ours].unit_cost),
    }
    for i, offering in enumerate(scenario.offerings):
        if i != ours:
            inputs[f"Price of {offering.name}"] = (f"offerings[{i}].price", offering.price)
    for i, segment in enumerate(scenario.segments):
        if segment.wtp.median is not None:
            inputs[f"Median WTP of {segment.name}"] = (f"segments[{i}].wtp.median", segment.wtp.median)
        inputs[f"Size of {segment.name}"] = (f"segments[{i}].size", segment.size)
    return inputs
