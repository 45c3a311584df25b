"""The interval models' numba log-density (`pricing.wtp.interval_density`) against their PyMC definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import log_ndtr

from pricing.wtp import survey_model
from pricing.wtp.interval_density import _log_ndtr
from pricing.wtp.model import compiled_model, sample_density, sample_nuts
from pricing.wtp.stated import resolve_priors

EXAMPLES = Path(__file__).parents[1] / "scenarios" / "data"
CASES = {
    "stated": ("stated_wtp.csv", {"segment": "segment"}),
    "gabor_granger": ("gabor_granger.csv", {"segment": "segment"}),
    "van_westendorp": ("van_westendorp.csv", {"segment": "segment", "weight": "weight"}),
}


def _models(kind: str, priors=None):
    """The bundled example's PyMC model and density (both from the same blocks)."""
    name, columns = CASES[kind]
    model = survey_model(kind, columns, model_config=priors)
    intervals, _, _ = model.read(EXAMPLES / name)
    resolved = resolve_priors(priors, model.default_model_config, intervals)
    return model.build_model(intervals, resolved), model.density(intervals, resolved)


def _points(density, n: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [density.initial_point(k) + rng.normal(0, 0.7, density.n_dim) for k in range(n)]


def _finite_differences(density, x):
    """Central differences with one Richardson step (error ~ h^4)."""
    out = np.empty_like(x)
    for i in range(len(x)):

        def slope(h, i=i):
            e = np.zeros_like(x)
            e[i] = h
            return (density.logp_dlogp(x + e)[0] - density.logp_dlogp(x - e)[0]) / (2 * h)

        out[i] = (4 * slope(5e-4) - slope(1e-3)) / 3
    return out


@pytest.mark.parametrize(
    ("kind", "priors"),
    [
        ("stated", None),
        ("gabor_granger", None),
        ("van_westendorp", None),
        ("van_westendorp", {"segment_sd_sd": 0.15, "log_wtp_center": 3.5, "wtp_sd_center": 0.8}),
    ],
)
def test_the_density_is_the_pymc_models_log_density(kind, priors):
    pymc_model, density = _models(kind, priors)
    compiled, data = compiled_model(pymc_model)  # PyMC's log density and gradient, compiled by PyTensor
    names = [v.name for v in pymc_model.value_vars]
    assert sorted(names) == sorted(density.where)
    start = density.split(density.start())
    for name, value in pymc_model.initial_point().items():  # the same unjittered start as PyMC's
        np.testing.assert_allclose(start[name], value, rtol=1e-15)
    for x in _points(density):
        parts = density.split(x)
        value, gradient = density.logp_dlogp(x)
        reference, reference_gradient = compiled.logp_dlogp(
            np.concatenate([np.ravel(parts[name]) for name in names]), *[data[n] for n in compiled.data_names]
        )
        assert value == pytest.approx(float(reference), rel=1e-8)
        # PyMC's own Gamma log density is off scipy's by ~2e-8 (its gammaln): its gradient agrees to 1e-5,
        # and finite differences of the density to 1e-7
        ours = np.concatenate([np.ravel(density.split(gradient)[name]) for name in names])
        scale = np.maximum(1.0, np.abs(reference_gradient))
        assert np.max(np.abs(ours - reference_gradient) / scale) < 1e-5
        differences = _finite_differences(density, x)
        assert np.max(np.abs(gradient - differences) / np.maximum(1.0, np.abs(gradient))) < 1e-7


def test_the_traced_variables_are_the_pymc_models():
    pymc_model, density = _models("van_westendorp")
    traced = [v for v in pymc_model.unobserved_value_vars if not v.name.endswith("__")]
    assert density.traced == [v.name for v in traced]
    function = pymc_model.compile_fn(traced, inputs=pymc_model.value_vars, on_unused_input="ignore")
    for x in _points(density, 3):
        expected = function(density.split(x))
        for (name, value), reference in zip(density.expand(x).items(), expected, strict=True):
            np.testing.assert_allclose(value, reference, rtol=1e-14, err_msg=name)
            assert density.dims[name] == tuple(pymc_model.named_vars_to_dims.get(name, ()))


def test_log_ndtr_is_accurate_in_both_tails():
    z = np.concatenate([-np.logspace(6, -3, 400), [0.0], np.logspace(-3, np.log10(30), 200)])
    ours = np.array([_log_ndtr(v) for v in z])
    np.testing.assert_allclose(ours, log_ndtr(z), rtol=1e-12)


@pytest.mark.slow
def test_sampling_the_density_gives_the_pymc_models_posterior():
    """The same posterior as PyMC's model sampled through PyTensor (within Monte Carlo error), and the same
    seed gives the same draws."""
    pymc_model, density = _models("stated")
    config = {"draws": 1000, "tune": 500, "chains": 2, "seed": 5, "target_accept": 0.95, "cores": 2}
    ours = sample_density(density, config)
    again = sample_density(density, config)
    reference = sample_nuts(pymc_model, config)
    for name in ("wtp_log_median", "wtp_log_sd", "wtp_log_median_segment_sd"):
        a = ours.posterior[name].stack(s=("chain", "draw")).values
        b = reference.posterior[name].stack(s=("chain", "draw")).values
        np.testing.assert_array_equal(a, again.posterior[name].stack(s=("chain", "draw")).values)
        # a difference of two means, each with MC error sd / sqrt(ESS) (ESS > 500 here): 5 standard errors
        error = np.sqrt(2) * np.std(b, axis=-1) / np.sqrt(500)
        assert np.all(np.abs(a.mean(-1) - b.mean(-1)) < 5 * error), name
        assert np.all(np.abs(a.std(-1) / b.std(-1) - 1) < 0.15), name


def test_the_python_interface_samples_the_same_draws(monkeypatch):
    """With a nutpie whose internals differ, the fit falls back to nutpie's Python interface: same draws."""
    _, density = _models("gabor_granger")
    config = {"draws": 150, "tune": 150, "chains": 2, "seed": 7, "target_accept": 0.95, "cores": 2}
    direct = sample_density(density, config)

    def unavailable():
        raise TypeError("CompiledPyMCModel.__init__() got an unexpected keyword argument")

    monkeypatch.setattr(density, "nutpie_model", unavailable)
    fallback = sample_density(density, config)
    for name in density.traced:
        np.testing.assert_array_equal(direct.posterior[name].values, fallback.posterior[name].values)
