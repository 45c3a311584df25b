"""One shape for every WTP model (pymc-marketing's ModelBuilder): configs, fit, the posterior, save and load.

A model holds ``model_config`` (its priors) and ``sampler_config`` (draws, tune, chains, seed,
target_accept, target_ess, cores), each the class defaults overridden by the user's values (an unknown key
or a value out of range is an `OptionsError`, the one exception for bad options). ``fit(data,
fit_method="nuts" | "map")`` reads the data, builds the PyMC model, samples it and keeps the InferenceData
on ``.idata``: the fit data in ``constant_data``, and in the posterior's attrs ``model_type``,
``model_config``, ``sampler_config``, ``fit_method``, the constructor's options and ``pricing_version``
(next to the file-format attrs of `pricing.wtp.posterior`). ``save(path)`` writes it; the classmethod
``load(path)`` returns a complete model of the right type (``WTPModel.load`` for any fit, a subclass's
``load`` checks the type). Files written before this API (no ``model_config`` attr) load too: their configs
are read from the ``priors`` and ``diagnostics`` attrs.

Compiled models are reused (`compiled_model`): the data enter the PyMC model as ``pm.Data`` containers, so
two fits whose graphs are equal apart from those containers' values (same model type, priors, segments,
shape of the terms) share one compiled log-density and gradient; a second fit only swaps the data.
`COMPILED` counts the compilations. PyTensor keeps the compiled C code on disk (its compiledir), so a new
process pays for the graph rewrites but not for a C compiler.

Samplers, chosen by measurement (`benchmarks/bench_wtp.py`). The interval fits (stated, Gabor-Granger, Van
Westendorp) sample their log-density compiled once by numba into C callbacks
(`pricing.wtp.interval_density`, checked against the PyMC model in the tests) that nutpie's Rust NUTS
calls from its threads (`sample_density`): no PyMC import, no graph rewrites, numba's on-disk cache serves
every later process and every model of the family. Measured against the alternatives on the stated
example: this PyMC model compiled by PyTensor's C backend costs ~4 s of graph rewrites and ~2 s of C
module cache at start and again at exit in every process, plus ~20 us per gradient through
``nutpie.from_pyfunc`` (the GIL serialises the chains); nutpie's numba backend compiles for 12 s in every
process (its callbacks are not cacheable); PyMC's Python NUTS costs ~100 us per leapfrog step; a numpy
log-density through ``from_pyfunc`` costs ~100 us per gradient; JAX is not installed. Other PyMC models
(`sample_nuts`): nutpie through ``from_pyfunc`` on their compiled PyTensor C function.
``fit_method="map"`` (`laplace`): the posterior mode in the unconstrained space (L-BFGS on the same density),
then the Laplace approximation: draws from Normal(mode, inverse Hessian) (Hessian by central differences of
the exact gradient), mapped back through the variables' transforms; it says it did not sample.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pricing.errors import DataError, PricingError, shown
from pricing.limits import check_sampling

FIT_METHODS = ("nuts", "map")
SAMPLER_DEFAULTS: dict[str, Any] = {
    "draws": 1000,
    "tune": 1000,
    "chains": 2,
    "seed": 0,
    "target_accept": 0.95,
    "target_ess": None,
    "cores": None,
}
#: largest effective sample size `target_ess` may ask for
MAX_TARGET_ESS = 100_000


class OptionsError(PricingError):
    """A model or sampler option is unknown or out of range (one line naming it; the CLI exits with 2)."""


def options_error(error: PricingError) -> OptionsError:
    """`error` as an `OptionsError` (the prior checks raise `DataError`)."""
    return error if isinstance(error, OptionsError) else OptionsError(str(error))


def merged_sampler_config(given: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` overridden by `given`, each value checked; `OptionsError` names the first bad one."""
    from pricing.wtp.data import merged_config

    try:
        config = merged_config("sampler_config", given, defaults)
        check_sampling(config["draws"], config["tune"], config["chains"], config["seed"])
    except PricingError as error:
        raise options_error(error) from None
    accept = config.get("target_accept", 0.8)
    if isinstance(accept, bool) or not isinstance(accept, int | float) or not 0.5 <= accept < 1:
        raise OptionsError(
            f"sampler_config.target_accept: must be a number in [0.5, 1) (got {shown(accept)})"
        )
    for name, high in (("target_ess", MAX_TARGET_ESS), ("cores", 64)):
        value = config[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high
        ):
            raise OptionsError(
                f"sampler_config.{name}: must be a whole number from 1 to {high:,} or null "
                f"(got {shown(value)})"
            )
    budget = config.get("time_budget", 1.0)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 86_400:
        raise OptionsError(f"sampler_config.time_budget: must be seconds in (0, 86400] (got {shown(budget)})")
    return config


# ---- compiled models -----------------------------------------------------------------------------------


@dataclass
class CompiledModel:
    """A model's log-density with its gradient, and the function that maps a point to every traced
    variable, both compiled once with the data as explicit inputs (see `compiled_model`)."""

    logp_dlogp: Any  # pytensor Function: (x, *data) -> (logp, gradient)
    expand: Any  # pytensor Function: (x, *data) -> [value of each traced variable]
    data_names: list[str]
    free: list[tuple[str, tuple[int, ...]]]  # value variable name, shape, in the order of x
    traced: list[str]  # names of the traced variables (free variables back-transformed, deterministics)
    reference: tuple[list, list] = field(repr=False)  # (graphs, their inputs): to recognise the same model
    _copies: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def function_copy(self, which: str):
        """A private copy of one function (pytensor functions are not thread-safe; nutpie runs chains in
        threads); copies are kept for the next fit."""
        with self._lock:
            for i, (kind, _) in enumerate(self._copies):
                if kind == which:
                    return self._copies.pop(i)[1]
        return getattr(self, which).copy()

    def give_back(self, which: str, fn) -> None:
        with self._lock:
            self._copies.append((which, fn))


#: structure -> compiled models with that structure (their graphs are compared before reuse)
_CACHE: dict[tuple, list[CompiledModel]] = {}
#: how many models were compiled in this process (tests check that a second fit compiles nothing)
COMPILED = {"count": 0}


def _shared_inputs(graphs) -> list:
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import graph_inputs

    found = {v.name: v for v in graph_inputs(graphs) if isinstance(v, SharedVariable)}
    return [found[name] for name in sorted(found)]


def compiled_model(model, point: Mapping[str, np.ndarray] | None = None) -> tuple[CompiledModel, dict]:
    """The compiled functions of a PyMC model (reused when an equal model was compiled before in this
    process) and the values of its data containers, to pass as the functions' data inputs. `point` (a
    point of the model's value variables, for their shapes) defaults to the model's initial point."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.basic import equal_computations

    point = model.initial_point() if point is None else point
    value_vars = list(model.value_vars)
    free = [(v.name, tuple(np.shape(point[v.name]))) for v in value_vars]
    logp = model.logp()
    traced_vars = list(model.unobserved_value_vars)
    graphs = [logp, *traced_vars]
    shared = _shared_inputs(graphs)
    values = {v.name: np.asarray(v.get_value()) for v in shared}
    key = (
        tuple(free),
        tuple((v.name, v.type.ndim, str(v.type.dtype)) for v in shared),
        tuple(v.name for v in traced_vars),
    )
    for candidate in _CACHE.get(key, []):
        reference_graphs, reference_inputs = candidate.reference
        if equal_computations(graphs, reference_graphs, [*value_vars, *shared], reference_inputs):
            return candidate, values

    x = pt.dvector("x")
    replacements: dict = {}
    offset = 0
    for var, (_, shape) in zip(value_vars, free, strict=True):
        size = int(np.prod(shape, dtype=int))
        replacements[var] = x[offset : offset + size].reshape(shape).astype(var.dtype)
        offset += size
    data_inputs = [v.type(name=v.name) for v in shared]
    replacements |= dict(zip(shared, data_inputs, strict=True))
    # as nutpie and PyMC do: stabilised first (a log-sum-exp's gradient is NaN otherwise)
    # (on a copy: the rewrite works in place, and the graph is kept to recognise the next equal model)
    logp = pytensor.graph.rewrite_graph(pytensor.clone_replace(logp), include=["canonicalize", "stabilize"])
    gradient = pt.concatenate([g.ravel() for g in pytensor.grad(logp, value_vars)])
    logp_x, gradient_x = pytensor.clone_replace([logp, gradient], replacements)
    traced_x = pytensor.clone_replace(traced_vars, replacements)
    inputs = [x, *data_inputs]
    logp_dlogp = pytensor.function(inputs, [logp_x, gradient_x], trust_input=True, on_unused_input="ignore")
    expand = pytensor.function(inputs, traced_x, trust_input=True, on_unused_input="ignore")
    compiled = CompiledModel(
        logp_dlogp=logp_dlogp,
        expand=expand,
        data_names=[v.name for v in shared],
        free=free,
        traced=[v.name for v in traced_vars],
        reference=(graphs, [*value_vars, *shared]),
    )
    _CACHE.setdefault(key, []).append(compiled)
    COMPILED["count"] += 1
    return compiled, values


def _flat(model, point: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(point[v.name]) for v in model.value_vars]).astype(float)


def _dims(model, names) -> dict[str, tuple[str, ...]]:
    """Dims of each traced variable (a transformed value variable has its random variable's dims)."""
    dims = {name: tuple(model.named_vars_to_dims.get(name, ())) for name in names}
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        if value.name in dims:
            dims[value.name] = tuple(model.named_vars_to_dims.get(rv.name, ()))
    return dims


def sample_nuts(model, config: Mapping[str, Any], **nutpie_options: Any):
    """NUTS with nutpie on the compiled model (see the module docstring); returns InferenceData with the
    traced variables and nutpie's sample stats (no warm-up draws). `nutpie_options` go to `nutpie.sample`
    (e.g. ``low_rank_modified_mass_matrix=True``)."""
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc
    from pymc.initial_point import make_initial_point_fn

    # each chain's start from the seed nutpie gives that chain (the same seed, the same starts, whichever
    # thread asks first), jittered as nutpie jitters; PyTensor functions are not thread-safe: one at a time
    point_function = make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
    )
    lock = threading.Lock()
    first_point = point_function(config["seed"])
    compiled, values = compiled_model(model, first_point)
    data = [values[name] for name in compiled.data_names]
    borrowed: list = []

    def make_logp_fn():
        function = compiled.function_copy("logp_dlogp")
        borrowed.append(("logp_dlogp", function))

        def logp(x):
            value, gradient = function(x, *data)
            return float(value), gradient

        return logp

    def make_expand_fn(seed1, seed2, chain):
        function = compiled.function_copy("expand")
        borrowed.append(("expand", function))

        def expand(x):
            return {
                name: np.asarray(v, dtype="float64")
                for name, v in zip(compiled.traced, function(x, *data), strict=True)
            }

        return expand

    start = _flat(model, first_point)
    shapes = [np.shape(v) for v in compiled.expand(start, *data)]
    dims = _dims(model, compiled.traced)
    coords = {k: list(v) for k, v in model.coords.items() if v is not None}

    def initial_point(seed):
        with lock:
            return _flat(model, point_function(int(seed) % 2**32))

    pyfunc = from_pyfunc(
        len(start),
        make_logp_fn,
        make_expand_fn,
        [np.dtype("float64")] * len(shapes),
        shapes,
        compiled.traced,
        coords=coords,
        dims=dims,
        make_initial_point_fn=initial_point,
    )
    try:
        idata = nutpie.sample(
            pyfunc,
            draws=config["draws"],
            tune=config["tune"],
            chains=config["chains"],
            cores=config["cores"] or min(config["chains"], os.cpu_count() or 1),
            seed=config["seed"],
            target_accept=config.get("target_accept", 0.8),
            progress_bar=False,
            **nutpie_options,
        )
    finally:
        for which, function in borrowed:
            compiled.give_back(which, function)
    for group in [g for g in idata.groups() if g.startswith("warmup")]:
        delattr(idata, group)
    return idata


def sample_density(density, config: Mapping[str, Any], **nutpie_options: Any):
    """NUTS with nutpie on a log-density compiled by numba (`pricing.wtp.interval_density.IntervalDensity`,
    `pricing.wtp.choice_kernel.ChoiceKernel`):
    the sampler's threads call its C callbacks directly, without Python or the GIL. Each chain starts from
    the point its own seed gives (the same seed, the same draws). Returns InferenceData without warm-up
    draws."""
    import nutpie

    try:
        model = density.nutpie_model()
    except (ImportError, TypeError):  # another nutpie's internals: its Python interface (slower, same draws)
        from nutpie.compiled_pyfunc import from_pyfunc

        model = from_pyfunc(
            density.n_dim,
            lambda: density.logp_dlogp,
            lambda seed1, seed2, chain: density.expand,
            [np.dtype("float64")] * len(density.traced),
            density.shapes,
            list(density.traced),
            coords=density.coords,
            dims={name: list(dims) for name, dims in density.dims.items()},
            make_initial_point_fn=lambda seed: density.initial_point(int(seed)),
        )
    idata = nutpie.sample(
        model,
        draws=config["draws"],
        tune=config["tune"],
        chains=config["chains"],
        cores=config["cores"] or min(config["chains"], os.cpu_count() or 1),
        seed=config["seed"],
        target_accept=config.get("target_accept", 0.8),
        progress_bar=False,
        **nutpie_options,
    )
    for group in [g for g in idata.groups() if g.startswith("warmup")]:
        delattr(idata, group)
    return idata


def posterior_mode(logp_dlogp, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mode of a log-density (`logp_dlogp(x)` -> value, gradient) from `start`, and the Hessian of the
    negative log-density there: L-BFGS, polished by Newton steps on a Hessian by central differences of the
    exact gradient (L-BFGS stops at a loose tolerance). The mode search of every Laplace fit."""
    from scipy.optimize import minimize

    def negative(x):
        value, gradient = logp_dlogp(np.ascontiguousarray(x, dtype=float))
        return -float(value), -np.asarray(gradient)

    def curvature(x):
        n = len(x)
        step = 1e-5 * np.maximum(1.0, np.abs(x))
        hessian = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = step[j]
            hessian[:, j] = (negative(x + e)[1] - negative(x - e)[1]) / (2 * step[j])
        return (hessian + hessian.T) / 2

    result = minimize(negative, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-9})
    mode, value = result.x, result.fun
    for _ in range(20):
        try:
            step = np.linalg.solve(curvature(mode), negative(mode)[1])
        except np.linalg.LinAlgError:
            break
        scale = 1.0
        while scale > 1e-6 and negative(mode - scale * step)[0] > value + 1e-12 * abs(value):
            scale /= 2
        mode = mode - scale * step
        value = negative(mode)[0]
        if np.max(np.abs(scale * step)) < 1e-10 * (1 + np.max(np.abs(mode))):
            break
    return mode, curvature(mode)


def laplace(target, config: Mapping[str, Any]):
    """Posterior mode + Laplace approximation (see the module docstring) of `target` (``logp_dlogp``,
    ``expand``, ``start``, ``dims``, ``coords``: an `IntervalDensity`): returns
    InferenceData of ``chains x draws`` independent draws, and the traced values at the mode."""
    import arviz as az

    mode, hessian = posterior_mode(target.logp_dlogp, target.start())
    try:
        chol = np.linalg.cholesky(np.linalg.inv(hessian))
    except np.linalg.LinAlgError:
        raise DataError(
            "fit_method 'map': the posterior has no proper mode here (its curvature is not positive); "
            "use fit_method 'nuts'"
        ) from None
    rng = np.random.default_rng(config["seed"])
    chains, draws = config["chains"], config["draws"]
    points = mode + rng.standard_normal((chains, draws, len(mode))) @ chol.T
    traced = [[target.expand(np.ascontiguousarray(p)) for p in chain] for chain in points]
    names = list(traced[0][0])
    posterior = {name: np.array([[d[name] for d in chain] for chain in traced]) for name in names}
    dims = {name: list(target.dims.get(name, ())) for name in names}
    idata = az.from_dict(posterior=posterior, dims=dims, coords=target.coords)
    return idata, target.expand(mode)


MAP_DIAGNOSTICS_NOTE = "posterior mode + Laplace approximation: independent draws, no MCMC diagnostics"


def map_diagnostics(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a fit by `laplace` reports instead of MCMC diagnostics."""
    return {
        "rhat_max": None,
        "ess_bulk_min": None,
        "ess_tail_min": None,
        "divergences": 0,
        "chains": config["chains"],
        "draws": config["draws"],
        "ok": True,
        "problems": [],
        "note": MAP_DIAGNOSTICS_NOTE,
    }


# ---- the base class ------------------------------------------------------------------------------------

#: model_type -> class (filled by subclasses; `WTPModel.load` picks the class of a file)
MODEL_TYPES: dict[str, type[WTPModel]] = {}


class WTPModel:
    """Base of every WTP model (see the module docstring).

    Subclasses set `model_type`, `default_model_config` and implement `_fit` (read the data, build,
    sample, return the InferenceData with its constant_data) and `_restore` (rebuild what a loaded fit
    needs from its InferenceData). Options other than the two configs (columns, method options) are
    keyword arguments of the constructor, returned by `options()` and saved with the fit.
    """

    model_type: ClassVar[str] = ""
    default_model_config: ClassVar[Mapping[str, Any]] = {}
    default_sampler_config: ClassVar[Mapping[str, Any]] = SAMPLER_DEFAULTS

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.model_type:
            MODEL_TYPES[cls.model_type] = cls

    def __init__(
        self, model_config: Mapping[str, Any] | None = None, sampler_config: Mapping[str, Any] | None = None
    ):
        from pricing.wtp.data import merged_config

        try:
            self.model_config = merged_config("model_config", model_config, self.default_model_config)
        except PricingError as error:
            raise options_error(error) from None
        self.sampler_config = merged_sampler_config(sampler_config, self.default_sampler_config)
        self._idata = None

    @property
    def idata(self):
        """The fit's InferenceData (None before `fit` or `load`)."""
        return self._idata

    # -- to implement
    def options(self) -> dict[str, Any]:
        """The constructor's other options (JSON-able), saved with the fit so that `load` can rebuild it."""
        return {}

    def _fit(self, data, fit_method: str, config: dict[str, Any]):
        raise NotImplementedError

    def _restore(self, idata) -> None:
        """Rebuild data-derived state of a loaded fit (default: nothing)."""

    # -- the API
    def fit(self, data, fit_method: str = "nuts", **sampler_config: Any):
        """Fit `data` (a CSV path or a frame); `sampler_config` overrides this fit's sampler settings.

        ``fit_method`` is ``"nuts"`` (the posterior by MCMC, checked by R-hat, ESS and divergences) or
        ``"map"`` (mode + Laplace approximation, a quick look). Returns the model, fitted: the InferenceData
        is on `idata` (a choice model builds it when first asked for: `pricing.wtp.choice.ChoiceFit`).
        """
        if fit_method not in FIT_METHODS:
            raise OptionsError(f"fit_method: {shown(fit_method)} is not one of {', '.join(FIT_METHODS)}")
        config = merged_sampler_config({**self.sampler_config, **sampler_config}, self.default_sampler_config)
        self.sampler_config = config
        self._idata = self._fit(data, fit_method, config)
        return self

    def record(self, idata, fit_method: str, model_config: Mapping[str, Any]) -> None:
        """Write the configs, the fit method, the options and the model type into the posterior's attrs
        (`idata`: the InferenceData or its posterior Dataset)."""
        from pricing.wtp.posterior import _jsonable, posterior_group

        attrs = posterior_group(idata).attrs
        attrs["model_type"] = self.model_type
        attrs["fit_method"] = fit_method
        attrs["model_config"] = json.dumps(_jsonable(model_config))
        attrs["sampler_config"] = json.dumps(_jsonable(self.sampler_config))
        attrs["options"] = json.dumps(_jsonable(self.options()))

    def fitted(self):
        """The InferenceData, or `PricingError` when the model has not been fitted (or loaded)."""
        if self.idata is None:
            raise PricingError(f"{type(self).__name__}: call fit() first")
        return self.idata

    def fitted_posterior(self):
        """The posterior Dataset of the fit (`PricingError` before `fit` or `load`)."""
        return self.fitted().posterior

    @property
    def fit_method(self) -> str:
        return str(self.fitted_posterior().attrs.get("fit_method", "nuts"))

    @property
    def diagnostics(self) -> dict[str, Any]:
        """The fit's sampler diagnostics (see `pricing.wtp.posterior.diagnose`)."""
        from pricing.wtp.posterior import metadata

        return metadata(self.fitted_posterior())["diagnostics"]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit as netCDF, atomically (`pricing.wtp.posterior.save_posterior`)."""
        from pricing.wtp.posterior import save_posterior

        return save_posterior(self.fitted(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WTPModel:
        """The model saved at `path`, complete (configs, options, data): `DataError` naming the file when
        it is not a fit of this class."""
        from pricing.wtp.posterior import load_posterior

        return cls.from_idata(load_posterior(path), str(path))

    @classmethod
    def from_idata(cls, idata, where: str = "fit") -> WTPModel:
        """The model of a fit's InferenceData (see `load`)."""
        from pricing.wtp.posterior import metadata

        info = metadata(idata)
        model_type = info.get("model_type") or info.get("method")
        target = MODEL_TYPES.get(str(model_type))
        if target is None:
            _import_models()
            target = MODEL_TYPES.get(str(model_type))
        if target is None or not issubclass(target, cls):
            expected = cls.model_type or ", ".join(sorted(MODEL_TYPES))
            raise DataError(f"{where}: is a {model_type!r} fit, not {expected}")
        model_config, sampler_config = info.get("model_config"), info.get("sampler_config")
        if not isinstance(model_config, dict):  # written before this API: configs from the older attrs
            model_config = dict(info.get("priors") or {})
        diagnostics = info.get("diagnostics") or {}
        if not isinstance(sampler_config, dict):
            sampler_config = {
                key: value
                for key, value in (
                    ("draws", diagnostics.get("draws")),
                    ("chains", diagnostics.get("chains")),
                    ("seed", info.get("seed")),
                )
                if isinstance(value, int)
            }
        known = {k: v for k, v in model_config.items() if k in target.default_model_config}
        options = (
            info.get("options") if isinstance(info.get("options"), dict) else target.legacy_options(info)
        )
        try:
            model = target(model_config=known, sampler_config=sampler_config, **options)
        except PricingError as error:
            raise DataError(f"{where}: its settings are not valid here ({error})") from None
        model._idata = idata
        model._restore(idata)
        return model

    @classmethod
    def legacy_options(cls, info: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor options of a fit saved before this API, from its attrs (default: none)."""
        return {}


def _import_models() -> None:
    """Import every model module so that `MODEL_TYPES` knows them all."""
    import importlib

    from pricing.wtp import METHOD_MODELS

    for spec in (*METHOD_MODELS.values(), "pricing.wtp.choice:ChoiceModel"):
        importlib.import_module(spec.split(":")[0])
