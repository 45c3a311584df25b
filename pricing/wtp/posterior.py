"""Saved WTP posteriors: the netCDF files a scenario points to, their draws, and sampler diagnostics.

The contract with the simulator: every WTP fit's posterior group carries, per segment,

- ``wtp_log_median`` (chain, draw, segment): mean of log WTP across the segment's customers, so ``exp()`` of
  it is the median customer's WTP in currency;
- ``wtp_log_sd`` (chain, draw, segment): sd of log WTP across the segment's customers.

Choice-based conjoint fits (method ``"choice"``) also carry ``value_per_unit`` (chain, draw, segment,
attribute), currency per attribute unit, and ``logit_scale`` (chain, draw, segment), currency
(1/|beta_price|).

How the fit was made is kept in the posterior group's attrs: ``pricing_format``, ``method``, ``columns``,
``data_sha256``, ``pricing_version``, ``priors`` and ``diagnostics`` (the last three as JSON strings).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

import pricing
from pricing.dims import ATTRIBUTE, CHAIN, DRAW, SEGMENT
from pricing.errors import DataError
from pricing.io import atomic_write_bytes, check_output, netcdf_bytes
from pricing.limits import MAX_DRAWN_SPREAD, MAX_MONEY, MIN_MONEY

if TYPE_CHECKING:  # ArviZ is imported where it is used: its import costs ~2 s, and a map fit needs none of it
    import arviz as az

FORMAT = "pricing-wtp-posterior/1"
WTP_VARS = ("wtp_log_median", "wtp_log_sd")
CHOICE_VARS = ("value_per_unit", "logit_scale")
METHODS = ("stated", "gabor_granger", "van_westendorp", "choice")

#: bytes a posterior file may hold, and declare in its variables: 16 chains x 50,000 draws x 50 segments x
#: 100 attributes would already be 32 GB, a conjoint fit with respondent draws a few hundred MB
MAX_POSTERIOR_BYTES = 1_000_000_000
_LOG_SLACK = 5.0  # a fitted median may pass the money bounds by this much (log currency)

RHAT_MAX = 1.01
ESS_MIN = 400

_EXPECTED_DIMS = {
    "wtp_log_median": (CHAIN, DRAW, SEGMENT),
    "wtp_log_sd": (CHAIN, DRAW, SEGMENT),
    "value_per_unit": (CHAIN, DRAW, SEGMENT, ATTRIBUTE),
    "logit_scale": (CHAIN, DRAW, SEGMENT),
}
_REQUIRED_ATTRS = (
    "pricing_format",
    "method",
    "columns",
    "data_sha256",
    "pricing_version",
    "priors",
    "diagnostics",
)


class SamplingWarning(UserWarning):
    """The sampler did not converge well enough to trust the posterior (R-hat, ESS or divergences)."""


# ---- diagnostics ---------------------------------------------------------------------------------------


def diagnose(idata: az.InferenceData, var_names: Sequence[str], *, warn: bool = True) -> dict[str, Any]:
    """Sampler diagnostics of a fit, and a `SamplingWarning` when they fail.

    Fails when any R-hat > 1.01 (or cannot be computed: fewer than 2 chains), any bulk or tail ESS < 400, or
    any divergent transition.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit with a posterior group and, for divergences, a sample_stats group.
    var_names : sequence of str
        Variables to check (the model's free parameters and the contract variables).
    warn : bool
        Issue `SamplingWarning` listing the problems when the diagnostics fail.

    Returns
    -------
    dict
        ``rhat_max``, ``ess_bulk_min``, ``ess_tail_min`` (float or None when not computable),
        ``divergences`` (int), ``chains``, ``draws``, ``ok`` (bool) and ``problems`` (list of str).
    """
    import arviz as az

    posterior = idata.posterior[list(var_names)]
    chains, draws = posterior.sizes[CHAIN], posterior.sizes[DRAW]

    def extreme(dataset, how) -> float | None:
        values = np.concatenate([np.ravel(dataset[v].values) for v in dataset.data_vars])
        values = values[np.isfinite(values)]
        return float(how(values)) if values.size else None

    with warnings.catch_warnings():  # ArviZ warns about too few chains; we report it ourselves
        warnings.simplefilter("ignore")
        rhat_max = extreme(az.rhat(posterior), np.max) if chains >= 2 else None
        ess_bulk_min = extreme(az.ess(posterior, method="bulk"), np.min)
        ess_tail_min = extreme(az.ess(posterior, method="tail"), np.min)
    divergences = 0
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        divergences = int(idata.sample_stats["diverging"].values.sum())

    problems = []
    if rhat_max is None:
        problems.append(f"R-hat cannot be computed from {chains} chain(s); run at least 2 chains")
    elif rhat_max > RHAT_MAX:
        problems.append(f"R-hat {rhat_max:.3f} > {RHAT_MAX}: chains disagree, sample longer")
    for label, value in (("bulk", ess_bulk_min), ("tail", ess_tail_min)):
        if value is None or value < ESS_MIN:
            shown = "n/a" if value is None else f"{value:.0f}"
            problems.append(f"{label} ESS {shown} < {ESS_MIN}: too few effective draws, sample more")
    if divergences:
        problems.append(f"{divergences} divergent transitions: the posterior may be biased")
    result = {
        "rhat_max": rhat_max,
        "ess_bulk_min": ess_bulk_min,
        "ess_tail_min": ess_tail_min,
        "divergences": divergences,
        "chains": int(chains),
        "draws": int(draws),
        "ok": not problems,
        "problems": problems,
    }
    if problems and warn:
        warnings.warn("sampling problems: " + "; ".join(problems), SamplingWarning, stacklevel=2)
    return result


#: Seconds `sample_until` may spend before it stops short of its target ESS.
DEFAULT_TIME_BUDGET = 600.0


def sample_until(
    sample: Callable[[int], az.InferenceData],
    var_names: Sequence[str],
    target_ess: int,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> tuple[az.InferenceData, dict[str, Any]]:
    """Keep sampling until every variable in `var_names` has bulk ESS >= `target_ess`, or the time budget
    would be exceeded; any model can call it.

    `sample(i)` runs the i-th batch of chains (a fresh seed per batch) and returns its InferenceData; the
    batches are joined along ``chain`` (so R-hat compares every chain). Before each new batch the time it
    will take is estimated from the batches so far, and the loop stops when that would pass `time_budget`
    seconds. Returns the joined InferenceData and a report: ``target_ess``, ``target_reached`` (bool),
    ``batches``, ``stopped`` (in words: target reached, or the time budget ran out at which ESS).
    """
    if not isinstance(target_ess, int) or isinstance(target_ess, bool) or not 1 <= target_ess <= 10**6:
        raise DataError(f"target ESS: must be a whole number in [1, 1000000] (got {target_ess!r})")
    if not (isinstance(time_budget, int | float) and math.isfinite(time_budget) and time_budget > 0):
        raise DataError(f"time budget: must be a positive number of seconds (got {time_budget!r})")
    import arviz as az

    started = time.perf_counter()
    batches: list[az.InferenceData] = []
    while True:
        batches.append(sample(len(batches)))
        joined = _join_chains(batches)
        names = [v for v in var_names if v in joined.posterior]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ess = az.ess(joined.posterior[names], method="bulk")
        ess_min = float(min(np.nanmin(ess[v].values) for v in names))
        elapsed = time.perf_counter() - started
        per_batch = elapsed / len(batches)
        reached = ess_min >= target_ess
        if reached:
            stopped = f"target ESS {target_ess} reached (bulk ESS min {ess_min:.0f})"
            break
        if elapsed + per_batch > time_budget:
            stopped = (
                f"time budget {time_budget:g} s ran out at bulk ESS min {ess_min:.0f} < target "
                f"{target_ess} ({len(batches)} batch(es), {elapsed:.0f} s; another would take about "
                f"{per_batch:.0f} s)"
            )
            break
    report = {
        "target_ess": target_ess,
        "target_reached": reached,
        "batches": len(batches),
        "stopped": stopped,
    }
    return joined, report


def _join_chains(batches: Sequence[az.InferenceData]) -> az.InferenceData:
    """Batches of chains as one InferenceData, chains renumbered 0..n-1."""
    import arviz as az

    if len(batches) == 1:
        return batches[0]
    groups = {}
    for group in ("posterior", "sample_stats"):
        if all(group in b.groups() for b in batches):
            parts = [b[group].assign_coords({CHAIN: np.arange(b[group].sizes[CHAIN])}) for b in batches]
            offset, renumbered = 0, []
            for part in parts:
                renumbered.append(part.assign_coords({CHAIN: part[CHAIN].values + offset}))
                offset += part.sizes[CHAIN]
            groups[group] = xr.concat(renumbered, dim=CHAIN)
    return az.InferenceData(**groups)


def format_diagnostics(diagnostics: Mapping[str, Any]) -> str:
    """One line for people: R-hat, ESS, divergences, and the problems when there are any."""

    def shown(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    line = (
        f"R-hat max {shown(diagnostics['rhat_max'], '.3f')}, "
        f"ESS bulk min {shown(diagnostics['ess_bulk_min'], '.0f')}, "
        f"tail min {shown(diagnostics['ess_tail_min'], '.0f')}, divergences {diagnostics['divergences']}"
    )
    if diagnostics["ok"]:
        return line + " - OK"
    return line + " - WARNING: " + "; ".join(diagnostics["problems"])


# ---- metadata ------------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def attach_metadata(
    idata: az.InferenceData | xr.Dataset,
    *,
    method: str,
    columns: Mapping[str, str],
    data_sha256: str,
    priors: Mapping[str, Any],
    diagnostics: Mapping[str, Any],
    **extra: Any,
) -> az.InferenceData:
    """Record how a fit was made in its posterior group's attrs (in place; returns `idata`): `idata` is an
    InferenceData or its posterior Dataset.

    `extra` values are stored as JSON strings under their own names (e.g. ``n_dropped``).
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    attrs = posterior_group(idata).attrs
    attrs.update(
        pricing_format=FORMAT,
        method=method,
        columns=json.dumps(dict(columns)),
        data_sha256=data_sha256,
        pricing_version=pricing.__version__,
        priors=json.dumps(_jsonable(priors)),
        diagnostics=json.dumps(_jsonable(diagnostics)),
    )
    for key, value in extra.items():
        attrs[key] = json.dumps(_jsonable(value))
    return idata


def metadata(idata: az.InferenceData | xr.Dataset) -> dict[str, Any]:
    """The fit's recorded metadata with JSON attrs decoded (method, columns, priors, diagnostics, ...);
    `idata` is an InferenceData or its posterior Dataset."""
    result = {}
    for key, value in posterior_group(idata).attrs.items():
        if key in ("pricing_format", "method", "data_sha256", "pricing_version") or not isinstance(
            value, str
        ):
            result[key] = value
            continue
        try:
            result[key] = json.loads(value)
        except json.JSONDecodeError:
            result[key] = value
    return result


def posterior_group(idata: az.InferenceData | xr.Dataset) -> xr.Dataset:
    """The posterior Dataset of an InferenceData, or the Dataset itself."""
    return idata if isinstance(idata, xr.Dataset) else idata.posterior


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---- save / load ---------------------------------------------------------------------------------------


def save_posterior(idata: az.InferenceData | dict[str, xr.Dataset], path: str | os.PathLike) -> Path:
    """Write a fit (an InferenceData, or a dict of its groups' Datasets: the same file) as netCDF atomically
    (built in memory, then `pricing.io.atomic_write_bytes`).

    The fit must carry the contract variables and metadata (see `attach_metadata`); it is checked before
    writing so that a file we write can always be loaded.
    """
    path = Path(path)
    _validate(idata, str(path))
    check_output(path, option="posterior")
    atomic_write_bytes(path, netcdf_bytes(idata), option="posterior")
    return path


def check_posterior_file(path: str | os.PathLike) -> None:
    """Check a posterior file's declared contents before reading any data: `DataError` when the file or the
    variables it declares (netCDF files may declare gigabytes that were never written) exceed
    `MAX_POSTERIOR_BYTES`, or when it is not a netCDF-4 (HDF5) file."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: posterior file not found")
    size = path.stat().st_size
    if size > MAX_POSTERIOR_BYTES:
        raise DataError(
            f"{path}: file is {size:,} bytes; posterior files are limited to {MAX_POSTERIOR_BYTES:,}"
        )
    declared: list[tuple[int, str, tuple]] = []
    try:
        with h5py.File(path, "r") as file:

            def visit(name, item):
                if isinstance(item, h5py.Dataset):
                    declared.append((int(item.size) * item.dtype.itemsize, name, item.shape))

            file.visititems(visit)
    except (OSError, RuntimeError, ValueError):
        raise DataError(f"{path}: not a readable netCDF posterior file (not netCDF-4/HDF5)") from None
    total = sum(n for n, _, _ in declared)
    if total > MAX_POSTERIOR_BYTES:
        nbytes, name, shape = max(declared)
        raise DataError(
            f"{path}: declares {total:,} bytes of variables (the largest, {name}, has shape {shape}); "
            f"a posterior is limited to {MAX_POSTERIOR_BYTES:,}"
        )


#: Fits other than WTP that a scenario may point to: method -> (variables each must carry, dims (chain,
#: draw, segment, ...); variables whose values must be > 0; how to make one). Any one of a satisfaction fit's
#: two models is enough (a survey may record churn or referrals only).
OTHER_FITS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "kano": (
        ("kano_share", "cs_plus", "cs_minus", "kano_weights", "kano_category_weights"),
        (),
        "pricing fit kano DATA.csv --output kano.nc",
    ),
    "retention": (("alpha", "beta"), ("alpha", "beta"), "pricing fit retention DATA.csv --output r.nc"),
    "satisfaction": ((), (), "pricing fit satisfaction DATA.csv --output s.nc"),
}
#: What a satisfaction fit measures (at least one of its two models).
SATISFACTION_VARS = ("baseline_churn", "retention_effect", "referral_rate", "referral_effect")


def load_posterior(path: str | os.PathLike, method: str | None = None) -> az.InferenceData:
    """Read and validate a saved posterior (a WTP fit, or one of `OTHER_FITS`); `DataError` naming the file
    when it is not one of ours, or with `method` ("wtp" for any WTP fit) when it is not of that kind."""
    import arviz as az

    path = Path(path)
    check_posterior_file(path)
    try:
        with az.rc_context({"data.load": "eager"}):
            idata = az.from_netcdf(path)
    except Exception as error:  # netCDF/HDF5 readers raise many types for a corrupt or foreign file
        raise DataError(f"{path}: not a readable netCDF posterior file ({type(error).__name__})") from None
    _validate(idata, str(path))
    found = idata.posterior.attrs.get("method")
    if method is not None and (found in OTHER_FITS or method != "wtp") and found != method:
        make = OTHER_FITS[method][2] if method in OTHER_FITS else "pricing fit ... --output fit.nc"
        raise DataError(f"{path}: not a {method} fit but a {found} fit (make one with `{make}`)")
    return idata


def _validate_other(posterior, method: str, where: str) -> None:
    """A Kano, retention or satisfaction fit carries its variables, finite, over (chain, draw, ...) with a
    segment dim."""
    required, positive, make = OTHER_FITS[method]
    if method == "satisfaction":
        required = tuple(v for v in SATISFACTION_VARS if v in posterior)
        if not required:
            raise DataError(f"{where}: satisfaction fit has none of {', '.join(SATISFACTION_VARS)}")
    missing = [v for v in required if v not in posterior]
    if missing:
        raise DataError(f"{where}: {method} fit is missing variable(s) {', '.join(missing)} (`{make}`)")
    for name in required:
        dims = tuple(posterior[name].dims)
        if dims[:2] != (CHAIN, DRAW) or SEGMENT not in dims:
            raise DataError(f"{where}: variable {name} has dims {dims}, expected chain, draw, ..., segment")
        values = posterior[name].values
        if not np.all(np.isfinite(values)):
            raise DataError(f"{where}: variable {name} has non-finite values")
        if name in positive and not np.all(values > 0):
            raise DataError(f"{where}: variable {name} has values <= 0")


def _validate(idata: az.InferenceData | Mapping[str, xr.Dataset], where: str) -> None:
    if "posterior" not in list(idata):  # an InferenceData is a mapping of its groups too
        raise DataError(f"{where}: has no posterior group; not a pricing WTP posterior")
    posterior = idata["posterior"]
    attrs = posterior.attrs
    if attrs.get("method") in OTHER_FITS:
        _validate_other(posterior, attrs["method"], where)
        return
    if attrs.get("pricing_format") != FORMAT:
        raise DataError(
            f"{where}: not a pricing WTP posterior (attr pricing_format is {attrs.get('pricing_format')!r}, "
            f"expected {FORMAT!r}); fit one with `pricing fit`"
        )
    missing_attrs = [key for key in _REQUIRED_ATTRS if key not in attrs]
    if missing_attrs:
        raise DataError(f"{where}: posterior attrs missing {', '.join(missing_attrs)}")
    method = attrs["method"]
    if method not in METHODS:
        raise DataError(f"{where}: unknown method {method!r} (known: {', '.join(METHODS)})")
    # A conjoint without a none alternative identifies no WTP for the reference offering: its fit carries
    # value_per_unit and logit_scale only, and a scenario keeps an elicited reference WTP.
    required = WTP_VARS
    if method == "choice":
        required = CHOICE_VARS + tuple(v for v in WTP_VARS if v in posterior)
    missing = [v for v in required if v not in posterior]
    if missing:
        raise DataError(f"{where}: posterior is missing variable(s) {', '.join(missing)}")
    for name in required:
        dims = tuple(posterior[name].dims)
        if dims != _EXPECTED_DIMS[name]:
            raise DataError(f"{where}: variable {name} has dims {dims}, expected {_EXPECTED_DIMS[name]}")
        values = posterior[name].values
        if not np.all(np.isfinite(values)):
            raise DataError(f"{where}: variable {name} has non-finite values")
    if "wtp_log_sd" in posterior and np.any(posterior["wtp_log_sd"].values <= 0):
        raise DataError(f"{where}: variable wtp_log_sd has values <= 0")
    # what the simulator's arithmetic carries: the bounds an elicited WTP has in the scenario schema
    if "wtp_log_sd" in posterior and np.any(posterior["wtp_log_sd"].values > MAX_DRAWN_SPREAD):
        raise DataError(
            f"{where}: variable wtp_log_sd reaches {float(posterior['wtp_log_sd'].max()):.3g}; "
            f"a spread of log WTP is at most {MAX_DRAWN_SPREAD:g}"
        )
    if "wtp_log_median" in posterior:
        low, high = math.log(MIN_MONEY) - _LOG_SLACK, math.log(MAX_MONEY) + _LOG_SLACK
        values = posterior["wtp_log_median"].values
        if np.any(values < low) or np.any(values > high):
            raise DataError(
                f"{where}: variable wtp_log_median leaves [{low:.1f}, {high:.1f}]: a median WTP outside "
                f"{MIN_MONEY:g}..{MAX_MONEY:g} (x e^{_LOG_SLACK:g}) is not a price"
            )
    if method == "choice" and np.any(posterior["logit_scale"].values <= 0):
        raise DataError(f"{where}: variable logit_scale has values <= 0")


def segment_names(idata: az.InferenceData) -> list[str]:
    """The segments of a fit, in file order."""
    return [str(s) for s in idata.posterior[SEGMENT].values]


# ---- draws for the simulator ---------------------------------------------------------------------------


def draw_index(total: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `draws` draws out of a posterior's `total` (chain-major): all of them in order when the
    numbers agree, else a random choice (without replacement when there are enough)."""
    if draws == total:
        return np.arange(total)
    return rng.choice(total, size=draws, replace=draws > total)


def posterior_draws(
    idata: az.InferenceData,
    segment_names: Sequence[str],
    draws: int,
    rng: np.random.Generator,
    attribute_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Exactly `draws` joint posterior draws of the contract variables, for the listed segments.

    Chains and draws are flattened (chain-major). When the posterior holds a different number of draws, the
    same draw indices are chosen for every variable with `rng` (without replacement when there are enough,
    with replacement otherwise), so the joint posterior is kept and the same generator state gives the same
    draws.

    Parameters
    ----------
    idata : arviz.InferenceData
        A loaded WTP posterior.
    segment_names : list of str
        Segments wanted, in the order wanted.
    draws : int
        Number of draws to return.
    rng : numpy.random.Generator
        Source of the resampling indices.
    attribute_names : list of str, optional
        For choice fits: attributes wanted in ``value_per_unit``, in that order (default: as in the file).

    Returns
    -------
    dict of str to numpy.ndarray
        ``wtp_log_median`` and ``wtp_log_sd`` shaped (draws, n_segments); for choice fits also
        ``logit_scale`` (draws, n_segments) and ``value_per_unit`` (draws, n_segments, n_attributes).
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1 (got {draws})")
    posterior = idata.posterior
    known = [str(s) for s in posterior[SEGMENT].values]
    for name in segment_names:
        if name not in known:
            raise DataError(f"posterior has no segment {name!r} (segments in the file: {', '.join(known)})")
    names = [v for v in WTP_VARS + CHOICE_VARS if v in posterior]
    selection = {SEGMENT: list(segment_names)}
    if attribute_names is not None and ATTRIBUTE in posterior.dims:
        attributes = [str(a) for a in posterior[ATTRIBUTE].values]
        for name in attribute_names:
            if name not in attributes:
                raise DataError(
                    f"posterior has no attribute {name!r} (attributes in the file: {', '.join(attributes)})"
                )
        selection[ATTRIBUTE] = list(attribute_names)
    total = posterior.sizes[CHAIN] * posterior.sizes[DRAW]
    index = draw_index(total, draws, rng)
    result = {}
    for name in names:
        array = posterior[name].sel({k: v for k, v in selection.items() if k in posterior[name].dims})
        other = [d for d in array.dims if d not in (CHAIN, DRAW)]
        array = array.transpose(CHAIN, DRAW, *other)
        stacked = array.values.reshape((total, *array.shape[2:]))
        result[name] = np.ascontiguousarray(stacked[index], dtype=float)
    return result


# ---- fit plumbing shared by the Kano and satisfaction models ---------------------------------------------


def sampler_settings(user: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` overridden by `user` (unknown keys refused, naming the known ones), checked: draws >= 1,
    tune >= 0 and chains >= 1 whole numbers, target_accept in (0, 1); `PricingError` naming the setting."""
    from pricing.errors import PricingError
    from pricing.wtp.data import merged_config

    config = merged_config("sampler_config", user, defaults)
    for name, least in (("draws", 1), ("tune", 0), ("chains", 1)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise PricingError(f"{name} must be an integer >= {least} (got {value!r})")
    accept = config["target_accept"]
    if isinstance(accept, bool) or not isinstance(accept, int | float) or not 0 < accept < 1:
        raise PricingError(f"target_accept must be in (0, 1) (got {accept!r})")
    return config


def sample_nuts(model, sampler: Mapping[str, Any], seed: int, progressbar: bool = False) -> az.InferenceData:
    """NUTS (nutpie) on a PyMC `model` with `sampler_settings`; the posterior without the warm-up groups and
    the transformed variables (and their dims' coords), as saved fits keep it."""
    import pymc as pm

    with model:
        idata = pm.sample(
            draws=sampler["draws"],
            tune=sampler["tune"],
            chains=sampler["chains"],
            target_accept=sampler["target_accept"],
            random_seed=seed,
            nuts_sampler="nutpie",
            progressbar=progressbar,
        )
    for group in [g for g in idata.groups() if g.startswith("warmup")]:
        delattr(idata, group)
    transformed = [v for v in idata.posterior.variables if "__" in str(v)]
    idata.posterior = idata.posterior.drop_vars(transformed)
    return idata
