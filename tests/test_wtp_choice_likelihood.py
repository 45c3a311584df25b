"""The hand-written choice density (`pricing.wtp.choice_likelihood.ChoiceDensity`) against the PyMC statement
of the same model (`pricing.wtp.choice.build_model`): log density and gradient to 1e-9, in every
specification the fit offers (multinomial / mixed, preference / WTP space, normal / lognormal price,
centred / non-centred), on a panel with unequal numbers of tasks and a missing alternative (padding)."""

from __future__ import annotations

import numpy as np
import pytest

from pricing.wtp.choice import _coefficient_priors, build_model, merge_priors, resolve_specification
from pricing.wtp.choice_likelihood import ChoiceDensity

SPECIFICATIONS = [
    ("preference", None, None, False),
    ("wtp", None, None, False),
    ("preference", "all", "normal", False),
    ("preference", ("storage", "speed", "price"), "lognormal", False),
    ("wtp", "all", "lognormal", False),
    ("wtp", ("storage", "colour"), "lognormal", False),
    ("preference", ("storage", "alt=none"), "normal", True),
]


def pymc_density(model):
    from pricing.wtp.model import compiled_model

    compiled, values = compiled_model(model)
    data = [values[name] for name in compiled.data_names]
    return lambda x: compiled.logp_dlogp(x, *data)


@pytest.mark.slow  # compiles a PyMC model per specification (a few seconds each)
@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS)
def test_density_and_gradient_equal_the_pymc_models(choice_panel, space, random, price, centred):
    design, arrays = choice_panel
    spec = resolve_specification(design, random, space, price)
    priors = merge_priors({"coefficients": {"mu": 0.1, "sigma": 2.0}, "random_sd": {"sigma": 0.7}})
    mu, sigma = _coefficient_priors(design, priors, spec)
    density = ChoiceDensity(arrays, design, spec, mu, sigma, priors["random_sd"]["sigma"], centred)
    reference = pymc_density(build_model(arrays, design, spec, priors, centred=centred))
    for seed in range(3):
        x = density.initial_point(np.random.default_rng(seed))
        value, gradient = density.logp_dlogp(x)
        expected_value, expected_gradient = reference(x)
        assert value == pytest.approx(float(expected_value), rel=1e-11)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS)
def test_gradient_equals_central_differences(choice_panel, space, random, price, centred):
    design, arrays = choice_panel
    spec = resolve_specification(design, random, space, price)
    priors = merge_priors(None)
    mu, sigma = _coefficient_priors(design, priors, spec)
    density = ChoiceDensity(arrays, design, spec, mu, sigma, 1.0, centred)
    x = density.initial_point(np.random.default_rng(1))
    _, gradient = density.logp_dlogp(x)
    h = 1e-6
    for j in np.random.default_rng(2).choice(x.size, size=min(x.size, 25), replace=False):
        e = np.zeros(x.size)
        e[j] = h
        numeric = (density.logp_dlogp(x + e)[0] - density.logp_dlogp(x - e)[0]) / (2 * h)
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_multinomial_log_likelihood_by_hand(two_task_arrays):
    """Two tasks: utilities (1, 0) chosen first and (0.5, 2, -1e10 padded) chosen second."""
    from pricing.wtp.choice_likelihood import unit_panel

    panel = unit_panel(two_task_arrays, two_task_arrays.x, two_task_arrays.respondent, 1)
    density = ChoiceDensity.__new__(ChoiceDensity)  # only the likelihood: no design needed
    density.panel, density.n_coefficients = panel, 1
    density._buffers()
    value, gradient = density.log_likelihood(np.array([[1.0]]))
    expected = (1 - np.log(np.e + 1)) + (2 - np.log(np.exp(0.5) + np.exp(2)))
    p_first = np.e / (np.e + 1)
    p_second = np.exp(np.array([0.5, 2])) / np.exp(np.array([0.5, 2])).sum()
    expected_gradient = (1 - p_first) * 1.0 + (0 - p_second[0]) * 0.5 + (1 - p_second[1]) * 2.0
    assert value == pytest.approx(expected, rel=1e-12)
    assert gradient[0, 0] == pytest.approx(expected_gradient, rel=1e-12)


@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS)
def test_respondent_log_likelihood_equals_a_loop_over_respondents_points_and_tasks(
    choice_panel, space, random, price, centred
):
    """The batched simulated log-likelihood per respondent against the formula evaluated one respondent,
    Halton point and task at a time (one respondent has a task fewer, one task an alternative fewer)."""
    from scipy.special import logsumexp

    from pricing.wtp.choice_likelihood import Parametrisation, _halton_normal, respondent_log_likelihood

    design, arrays = choice_panel
    spec = resolve_specification(design, random, space, price)
    layout = Parametrisation.of(design, spec)
    rng = np.random.default_rng(5)
    n_points, n_random = (7, len(spec.random)) if spec.random else (1, 0)
    theta = layout.data_units(0.3 * rng.standard_normal((3, len(arrays.segments), len(design.coefficients))))
    sd = layout.sd_data_units(0.5 * rng.random((3, n_random))) if spec.random else None
    z = _halton_normal(len(arrays.respondents), n_points, n_random, seed=4)
    result = respondent_log_likelihood(arrays, layout, theta, sd, z)
    expected = np.empty_like(result)
    for s in range(theta.shape[0]):
        for n in range(len(arrays.respondents)):
            per_point = np.zeros(n_points)
            for r in range(n_points):
                native = theta[s, arrays.respondent_segment[n]].copy()
                if spec.random:
                    native[list(layout.random_index)] += z[n, r] * sd[s]
                beta = layout.preference(native)
                for t in np.flatnonzero(arrays.respondent == n):
                    utility = arrays.x[t][arrays.present[t]] @ beta
                    per_point[r] += utility[arrays.chosen[t]] - logsumexp(utility)
            expected[s, n] = logsumexp(per_point) - np.log(n_points)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("space, random, price, centred", [s for s in SPECIFICATIONS if s[1]])
def test_derived_respondent_coefficients_equal_the_density_draw_by_draw(
    choice_panel, space, random, price, centred
):
    """`_derive`'s respondent coefficients (written in blocks of draws) against the density's own mapping of
    each free vector to respondents' parameters, one draw at a time, over more draws than one block."""
    from pricing.wtp.choice import _DERIVE_CHUNK, _derive
    from pricing.wtp.choice_likelihood import Parametrisation

    design, arrays = choice_panel
    spec = resolve_specification(design, random, space, price)
    layout = Parametrisation.of(design, spec)
    mu, sigma = _coefficient_priors(design, merge_priors(None), spec)
    density = ChoiceDensity(arrays, design, spec, mu, sigma, 1.0, centred)
    x = 0.5 * np.random.default_rng(8).standard_normal((2, _DERIVE_CHUNK + 9, density.size))
    derived = _derive(density.free_variables(x), design, spec, arrays)
    for chain, draw in np.ndindex(*x.shape[:2]):
        native = density._native(density.unpack(x[chain, draw]))  # respondent, coefficient (scaled)
        expected = layout.preference(layout.data_units(native))
        np.testing.assert_allclose(derived["beta_respondent"][chain, draw], expected, rtol=1e-13, atol=0)
