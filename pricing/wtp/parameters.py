"""The one path from any posterior into the simulation: scenario references -> per-draw parameters.

A scenario points to posteriors in three ways: a segment's WTP (``wtp: {source: posterior, file: fit.nc}``
or ``{source: data, file: survey.csv, method: ...}``, fitted on load), a retention posterior
(``dynamics.retention.posterior``), and any number written as a `pricing.scenario.PosteriorRef`
(``logit_scale: {posterior: fit.nc}``, ``value_per_unit: {uptime: {posterior: fit.nc}}``, an attribute's
``kano: {posterior: kano.nc}``, the dynamics' ``satisfaction_effect: {posterior: satisfaction.nc}``).
`posterior_requests` lists every such reference as a `PosteriorRequest`: which slot of the simulation's
parameter arrays it fills and from which variable of which file. `posterior_parameters` fills them, for the
one-period market (`pricing.simulate.segment_parameters`) and for the dynamics
(`pricing.dynamics.dynamics_parameters`); a hierarchical Bayes fit's respondents come the same way
(`READERS`). Nothing else lays posterior draws over the simulation's parameters: the app's "use this fit"
writes a scenario that points to the fit (`scenario_with_fit`), so a saved or zipped scenario reproduces the
same numbers.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pricing.dims import ATTRIBUTE, CHAIN, DRAW, SEGMENT
from pricing.errors import DataError
from pricing.wtp.posterior import draw_index

#: Draws and chains of a survey fitted when a scenario is simulated (`source: data`).
FIT_ON_LOAD = {"draws": 1000, "tune": 1000, "chains": 2}
_fits_on_load: dict[tuple, Any] = {}


@dataclass(frozen=True)
class PosteriorRequest:
    """One slot of the simulation's parameters to fill from a posterior variable.

    ``parameters[target][:, *index]`` receives the (draws, ...) values of ``variable`` selected at
    ``coords``; its remaining dims (e.g. a pair of Kano weights) must match the slot's trailing shape.
    ``fit`` is (method, columns) for survey data fitted on load, None for a saved posterior. ``where`` is the
    scenario path that asked, for messages. With ``any_segment`` a file holding one segment serves this one
    whatever its name (the reference names no segment: e.g. a Kano survey without segments). A target in
    `READERS` is not a slot: its reader turns the file's draws into new parameters (e.g. a hierarchical
    Bayes fit's respondents).
    """

    target: str
    index: tuple[int, ...]
    file: str
    variable: str
    coords: tuple[tuple[str, str], ...]
    where: str
    fit: tuple[str, str] | None = None
    label: str = field(default="", compare=False)
    any_segment: bool = False


#: Where posteriors reach the simulation: ``market`` (the one-period simulator's per-draw parameters,
#: `pricing.simulate.segment_parameters`) and ``dynamics`` (`pricing.dynamics.dynamics_parameters`).
STAGES = ("market", "dynamics")


def posterior_requests(scenario, stage: str = "market") -> list[PosteriorRequest]:
    """Every reference of the scenario to a posterior used at `stage`, as requests (in scenario order).

    ``market``: segments' WTP (``wtp_log_median``, ``wtp_log_sd``), ``logit_scale``, ``value_per_unit``;
    attributes' Kano fits (``kano_weights`` (draw, segment, attribute, side), for every segment without a
    category of its own); with ``market.heterogeneity``, a WTP fit's respondents (``fitted_customers``,
    `READERS`). ``dynamics``: a retention posterior's ``retention_alpha`` and ``retention_beta`` and the
    satisfaction link (``baseline_churn``, ``retention_effect``, ``referral_rate``, ``referral_effect``),
    each (draw, segment). A new kind of posterior adds its fields' references here, with ``target`` the key
    of the parameters dict its simulation code reads.
    """
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    return _market_requests(scenario) if stage == "market" else _dynamics_requests(scenario)


def _market_requests(scenario) -> list[PosteriorRequest]:
    from pricing.scenario import PosteriorRef

    requests = []
    columns = scenario.value_columns()
    for i, segment in enumerate(scenario.segments):
        where = f"segments[{i}]"
        wtp = segment.wtp
        if wtp.source != "elicited":
            fit = (
                (wtp.method, json.dumps(dict(wtp.columns), sort_keys=True)) if wtp.source == "data" else None
            )
            coords = ((SEGMENT, wtp.segment or segment.name),)
            for variable in ("wtp_log_median", "wtp_log_sd"):
                requests.append(
                    PosteriorRequest(variable, (i,), wtp.file, variable, coords, f"{where}.wtp", fit)
                )
        if isinstance(segment.logit_scale, PosteriorRef):
            ref = segment.logit_scale
            requests.append(_request("logit_scale", (i,), ref, segment.name, f"{where}.logit_scale"))
        for column, path, ref in _value_refs(segment):
            coords_attribute = ((ATTRIBUTE, ref.attribute or column),)
            index = (i, columns.index(column))
            requests.append(
                _request("value_per_unit", index, ref, segment.name, f"{where}.{path}", coords_attribute)
            )
    for j, attribute in enumerate(scenario.attributes):
        ref = attribute.kano
        if not isinstance(ref, PosteriorRef):
            continue
        for i, segment in enumerate(scenario.segments):
            if attribute.name in segment.kano:
                continue  # the segment's own category beats the fit
            coords = ((ATTRIBUTE, ref.attribute or attribute.name),)
            requests.append(
                _request("kano_weights", (i, j), ref, segment.name, f"attributes[{j}].kano", coords, True)
            )
    if scenario.market.heterogeneity is not None:
        for i, segment in enumerate(scenario.segments):
            if segment.wtp.source == "posterior":
                coords = ((SEGMENT, segment.wtp.segment or segment.name),)
                requests.append(
                    PosteriorRequest(
                        "fitted_customers", (i,), segment.wtp.file, "", coords, f"segments[{i}].wtp"
                    )
                )
    return requests


def _dynamics_requests(scenario) -> list[PosteriorRequest]:
    from pricing.scenario import SATISFACTION_LINK, PosteriorRef

    dynamics = scenario.dynamics
    if dynamics is None:
        return []
    requests = []
    for i, segment in enumerate(scenario.segments):
        own = dynamics.segments.get(segment.name)
        retention, referral, _ = dynamics.for_segment(segment.name)
        parts = {"retention": retention, "referral": referral}
        for part, spec in parts.items():
            where = (
                f"dynamics.segments.{segment.name}.{part}"
                if own is not None and getattr(own, part) is not None
                else f"dynamics.{part}"
            )
            if part == "retention" and spec.posterior is not None:
                coords = ((SEGMENT, spec.segment or segment.name),)
                for name in ("alpha", "beta"):
                    requests.append(
                        PosteriorRequest(
                            f"retention_{name}", (i,), spec.posterior, name, coords, f"{where}.posterior"
                        )
                    )
            for path, variable in SATISFACTION_LINK.items():
                field_part, name = path.split(".")
                ref = getattr(spec, name) if field_part == part else None
                if isinstance(ref, PosteriorRef):
                    requests.append(
                        _request(variable, (i,), ref, segment.name, f"{where}.{name}", (), True, variable)
                    )
    return requests


def _value_refs(segment):
    """(value column, scenario path, reference) of each value a segment takes from a posterior: a numeric
    attribute's column is its name, a categorical level's ``attribute=level`` (as a conjoint names it)."""
    from pricing.scenario import PosteriorRef

    found = []
    for attribute, value in segment.value_per_unit.items():
        if isinstance(value, PosteriorRef):
            found.append((attribute, f"value_per_unit.{attribute}", value))
        elif isinstance(value, dict):
            for level, ref in value.items():
                if isinstance(ref, PosteriorRef):
                    found.append((f"{attribute}={level}", f"value_per_unit.{attribute}.{level}", ref))
    return found


def _request(
    target, index, ref, segment_name, where, extra_coords=(), any_segment=False, variable=None
) -> PosteriorRequest:
    """The request of a `PosteriorRef`: its variable defaults to `variable` or else the target's name; with
    `any_segment`, a file of one segment serves when the reference names no segment."""
    coords = ((SEGMENT, ref.segment or segment_name), *extra_coords)
    return PosteriorRequest(
        target,
        index,
        ref.posterior,
        ref.variable or variable or target,
        coords,
        where,
        any_segment=any_segment and ref.segment is None,
    )


def posterior_parameters(
    scenario,
    parameters: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    requests: Sequence[PosteriorRequest] | None = None,
) -> dict[str, np.ndarray]:
    """The simulation's per-draw parameters with every slot the scenario points to a posterior filled.

    This is the only function through which posterior draws reach the simulation: WTP (``wtp_log_median``,
    ``wtp_log_sd``), ``logit_scale``, ``value_per_unit``, Kano weights (``kano_weights``), a hierarchical
    Bayes fit's respondents (``fitted_customers``), and for the dynamics the retention posterior and the
    satisfaction link (see `posterior_requests`). A later kind of posterior comes the same way: give the
    scenario a `pricing.scenario.PosteriorRef` field, add its requests to `posterior_requests` (target = the
    parameters key your code reads, index = the slot) and make sure ``parameters`` has that key, shaped
    (draw, ...).

    Each file is read once (cached by path, modification time and size) and one set of draw indices is
    chosen per file (`pricing.wtp.posterior.draw_index`), so all parameters taken from one fit keep their
    joint posterior (e.g. a conjoint's price scale and attribute values, or segments of one hierarchical
    fit). Files are visited in the order the scenario first names them, so the same scenario and `rng` state
    give the same draws.

    Parameters
    ----------
    scenario : pricing.scenario.Scenario
        Its ``base_dir`` resolves the relative paths; its seed seeds a survey fitted on load.
    parameters : dict of str to numpy.ndarray
        The scenario's own per-draw parameters (`pricing.simulate.segment_parameters`), each (draw, ...).
        Not modified: the result holds copies of the arrays it changes.
    rng : numpy.random.Generator
        Source of the draw indices.
    requests : list of PosteriorRequest, optional
        Default: `posterior_requests` of the scenario (the market's).

    Returns
    -------
    dict of str to numpy.ndarray
        ``parameters`` with the requested slots replaced by posterior draws. Raises `DataError` naming the
        scenario field when a file is missing or lacks the variable, segment or attribute asked for.
    """
    requests = posterior_requests(scenario) if requests is None else list(requests)
    result = dict(parameters)
    if not requests:
        return result
    draws = len(next(iter(parameters.values())))
    by_source: dict[tuple, list[PosteriorRequest]] = defaultdict(list)
    for request in requests:
        by_source[(request.file, request.fit)].append(request)
    copied = set()
    for (file, fit), group in by_source.items():
        idata = _source_posterior(scenario, file, fit, group[0].where)
        posterior = idata.posterior
        index = draw_index(posterior.sizes[CHAIN] * posterior.sizes[DRAW], draws, rng)
        for request in group:
            if request.target in READERS:
                found = READERS[request.target](scenario, idata, index, request)
                if found is not None:
                    result.setdefault(request.target, {})[request.index] = found
                continue
            values = _values(posterior, request, index)
            if request.target not in result:
                raise DataError(f"{request.where}: the simulation has no parameter {request.target!r}")
            if request.target not in copied:
                result[request.target] = np.array(result[request.target], dtype=float)
                copied.add(request.target)
            slot = result[request.target][(slice(None), *request.index)]
            if slot.shape != values.shape:
                raise DataError(
                    f"{request.where}: {request.variable} in {file} has shape {values.shape[1:]} per draw, "
                    f"expected {slot.shape[1:]}"
                )
            result[request.target][(slice(None), *request.index)] = values
    return result


def _customer_reader(scenario, idata, index, request):
    """A hierarchical Bayes fit's customers of one segment at the file's draw indices (None for another
    kind of fit: its customers differ only in their WTP)."""
    from pricing.wtp import fitted_customer_draws

    (i,) = request.index
    segment = scenario.segments[i]
    return fitted_customer_draws(
        idata,
        dict(request.coords)[SEGMENT],
        segment.name,
        index,
        scenario.seed,
        scenario.value_columns(),
        scenario.market.heterogeneity,
    )


#: Targets whose requests are read by a function of (scenario, posterior, draw indices, request) instead of
#: filling a slot; the result holds ``{index: what it returns}`` under the target.
READERS = {"fitted_customers": _customer_reader}


def _values(posterior, request: PosteriorRequest, index: np.ndarray) -> np.ndarray:
    name = request.variable
    if name not in posterior:
        known = ", ".join(str(v) for v in posterior.data_vars)
        hint = (
            " (a conjoint fit without a none alternative identifies no reference WTP: keep an elicited wtp)"
            if name.startswith("wtp_")
            else ""
        )
        raise DataError(f"{request.where}: {request.file} has no variable {name!r} (it has {known}){hint}")
    array = posterior[name]
    selection = {}
    for dim, label in sorted(request.coords, key=lambda c: c[0] == SEGMENT):  # what, then whose
        if dim not in array.dims:
            continue
        labels = [str(x) for x in array[dim].values]
        if label in labels:
            selection[dim] = labels.index(label)
        elif dim == SEGMENT and request.any_segment and len(labels) == 1:
            selection[dim] = 0  # a fit of one segment serves every segment
        else:
            hint = f"; name one with {request.where}.segment" if dim == SEGMENT else ""
            raise DataError(
                f"{request.where}: {request.file} has no {dim} {label!r} (it has {', '.join(labels)}){hint}"
            )
    array = array.isel(selection)
    other = [d for d in array.dims if d not in (CHAIN, DRAW)]
    array = array.transpose(CHAIN, DRAW, *other)
    stacked = array.values.reshape((-1, *array.shape[2:]))
    return np.asarray(stacked[index], dtype=float)


def _source_posterior(scenario, file: str, fit: tuple[str, str] | None, where: str):
    from pricing.scenario import data_path

    path = data_path(scenario, file, where)  # a scenario from a zip reads only inside it
    return load_source(path, fit, scenario.seed, where, scenario.base_dir, written=file)


def load_source(path: Path, fit: tuple[str, str] | None, seed: int, where: str, folder=None, written=None):
    """A saved posterior (cached per file version), or survey data fitted with (method, columns JSON) once
    per file, method, columns and seed; `DataError` naming `where` when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{where}: file {written or str(path)!r} not found (paths are relative to the scenario "
            f"file's folder" + (f" {folder})" if folder is not None else ")")
        )
    if fit is None:
        stat = path.stat()
        return _load_posterior_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    from pricing.wtp import fit_survey
    from pricing.wtp.posterior import file_sha256

    method, columns = fit
    key = (str(path.resolve()), file_sha256(path), method, columns, seed)
    if key not in _fits_on_load:  # fitting takes seconds: once per data file, method, columns and seed
        model = fit_survey(method, path, json.loads(columns), seed=seed, **FIT_ON_LOAD)
        _fits_on_load[key] = model.idata
    return _fits_on_load[key]


@functools.lru_cache(maxsize=16)
def _load_posterior_cached(path: str, mtime_ns: int, size: int):
    """A saved posterior, read once per file version (the app re-simulates on every competitor price)."""
    from pricing.wtp.posterior import load_posterior

    return load_posterior(path)


def shared_segments(scenario, posterior, kind: str = "") -> list[str]:
    """Names of the scenario's segments that a fit's posterior has (in scenario order); `DataError` when
    there are none."""
    fitted = [str(s) for s in posterior[SEGMENT].values]
    names = [s.name for s in scenario.segments]
    shared = [n for n in names if n in fitted]
    if not shared:
        what = f"{kind} fit" if kind else "fit"
        raise DataError(
            f"fit: none of the scenario's segments ({', '.join(names)}) is in the {what} "
            f"(it has {', '.join(fitted)}); rename the segments to match"
        )
    return shared


def scenario_with_fit(scenario, idata, file: str) -> tuple[dict[str, Any], list[str]]:
    """Changes (for `pricing.scenario.with_changes`) that make a scenario take what a fit knows from `file`.

    Segments match by name: a fit with WTP gives them ``wtp: {source: posterior, file}``; a conjoint fit
    also gives their ``logit_scale`` and the ``value_per_unit`` of the attributes it knows (by name).
    Returns the changes and notes for people (what comes from the fit, what stays the scenario's). Raises
    `DataError` when the fit shares no segment with the scenario.
    """
    posterior = idata.posterior
    names = [s.name for s in scenario.segments]
    shared = shared_segments(scenario, posterior)
    known = [str(a) for a in posterior[ATTRIBUTE].values] if "value_per_unit" in posterior else []
    paths = {}  # value column the fit knows -> its path under value_per_unit
    for attribute in scenario.attributes:
        if attribute.levels is None:
            paths[attribute.name] = attribute.name
        else:
            paths |= {f"{attribute.name}={level}": f"{attribute.name}.{level}" for level in attribute.levels}
    attributes = [column for column in paths if column in known]
    changes: dict[str, Any] = {}
    for name in shared:
        if "wtp_log_median" in posterior:
            changes[f"segments[{name}].wtp"] = {"source": "posterior", "file": file}
        if "logit_scale" in posterior:
            changes[f"segments[{name}].logit_scale"] = {"posterior": file}
        for column in attributes:
            changes[f"segments[{name}].value_per_unit.{paths[column]}"] = {"posterior": file}
    others = [n for n in names if n not in shared]
    notes = []
    if "wtp_log_median" in posterior:
        notes.append(
            f"WTP from the fit: {', '.join(shared)}"
            + (f"; from the scenario: {', '.join(others)}" if others else "")
        )
    if "logit_scale" in posterior:
        notes.append(f"price sensitivity from the fit: {', '.join(shared)}")
    if attributes:
        notes.append(f"value per unit from the fit: {', '.join(attributes)}")
    return changes, notes
