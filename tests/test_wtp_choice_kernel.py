"""The compiled choice density (`pricing.wtp.choice_kernel.ChoiceKernel`) against its definition, the numpy
`ChoiceDensity`: log density and gradient to 1e-9 relative in every specification the fit offers (multinomial
/ mixed, preference / WTP space, normal / lognormal price, centred / non-centred, with and without fixed
coefficients), on two segments, a respondent with a task fewer and a task with an alternative missing;
central differences; the traced variables; and nutpie sampling it through its C callbacks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pricing.wtp.choice import _coefficient_priors, merge_priors, resolve_specification, sample_density
from pricing.wtp.choice_data import code_rows, learn_design
from pricing.wtp.choice_kernel import ChoiceKernel
from pricing.wtp.choice_likelihood import ChoiceDensity
from pricing.wtp.data import read_survey

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))
from make_choice_data import COLUMNS, make_choice_data  # noqa: E402

SPECIFICATIONS = [
    ("preference", None, None, False),
    ("wtp", None, None, False),
    ("preference", "all", "normal", False),
    ("preference", "all", "lognormal", True),
    ("preference", ("storage", "speed", "price"), "lognormal", False),
    ("preference", ("storage", "speed"), "normal", False),
    ("wtp", "all", "lognormal", False),
    ("wtp", "all", "lognormal", True),
    ("wtp", ("storage", "colour"), "lognormal", False),
    ("wtp", ("storage", "price"), "lognormal", True),
    ("preference", ("storage", "alt=none"), "normal", True),
]


def density_of(choice_panel, space, random, price, centred) -> ChoiceDensity:
    design, arrays = choice_panel
    spec = resolve_specification(design, random, space, price)
    priors = merge_priors(
        {"coefficients": {"mu": 0.1, "sigma": 2.0}, "by_coefficient": {"storage": {"sigma": 3.0}}}
    )
    mu, sigma = _coefficient_priors(design, priors, spec)
    return ChoiceDensity(arrays, design, spec, mu, sigma, 0.7, centred)


@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS)
def test_kernel_equals_the_numpy_density(choice_panel, space, random, price, centred):
    density = density_of(choice_panel, space, random, price, centred)
    kernel = ChoiceKernel(density)
    assert len(choice_panel[1].segments) == 2
    for seed in range(4):
        x = density.initial_point(np.random.default_rng(seed))
        if seed == 3:  # far from the start: large utilities, small and large sds
            x = 2.5 * np.random.default_rng(seed).standard_normal(x.size)
        value, gradient = kernel.logp_dlogp(x)
        expected_value, expected_gradient = density.logp_dlogp(x)
        assert value == pytest.approx(expected_value, rel=1e-9)
        np.testing.assert_allclose(
            gradient, expected_gradient, rtol=1e-9, atol=1e-9 * np.abs(expected_gradient).max()
        )


@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS)
def test_kernel_gradient_equals_central_differences(choice_panel, space, random, price, centred):
    kernel = ChoiceKernel(density_of(choice_panel, space, random, price, centred))
    x = kernel.initial_point(1)
    _, gradient = kernel.logp_dlogp(x)
    h = 1e-6
    for j in np.random.default_rng(2).choice(x.size, size=min(x.size, 30), replace=False):
        e = np.zeros(x.size)
        e[j] = h
        numeric = (kernel.logp_dlogp(x + e)[0] - kernel.logp_dlogp(x - e)[0]) / (2 * h)
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_multinomial_log_likelihood_by_hand(two_task_arrays):
    """Two tasks of one respondent, one coefficient with a Normal(0, 1) prior: utilities (1, 0) chosen first
    and (0.5, 2; a third slot missing) chosen second, at beta = 1."""
    from pricing.wtp.choice_likelihood import Parametrisation

    density = ChoiceDensity.__new__(ChoiceDensity)  # no design: the attributes the kernel reads
    density.layout = Parametrisation("preference", 0, False, (), (0,), np.ones(1), 0.0)
    density.random, density.fixed, density.centred = [], [0], False
    density.mu, density.sigma, density.sd_sigma = np.zeros(1), np.ones(1), 1.0
    density.segment_of, density.n_segments, density.n_respondents = np.array([0]), 1, 1
    density.n_coefficients, density.size = 1, 1
    density.arrays, density.x_scaled = two_task_arrays, two_task_arrays.x
    density.blocks = [("theta", (1, 1), slice(0, 1))]
    value, gradient = ChoiceKernel(density).logp_dlogp(np.array([1.0]))
    p_first = np.e / (np.e + 1)
    p_second = np.exp(np.array([0.5, 2])) / np.exp(np.array([0.5, 2])).sum()
    expected = (1 - np.log(np.e + 1)) + (2 - np.log(np.exp(0.5) + np.exp(2))) - 0.5 - 0.5 * np.log(2 * np.pi)
    expected_gradient = (1 - p_first) * 1.0 + (0 - p_second[0]) * 0.5 + (1 - p_second[1]) * 2.0 - 1.0
    assert value == pytest.approx(expected, rel=1e-12)
    assert gradient[0] == pytest.approx(expected_gradient, rel=1e-12)


@pytest.mark.parametrize("space, random, price, centred", SPECIFICATIONS[:3] + SPECIFICATIONS[-1:])
def test_expand_gives_the_free_variables(choice_panel, space, random, price, centred):
    density = density_of(choice_panel, space, random, price, centred)
    kernel = ChoiceKernel(density)
    x = kernel.initial_point(4)
    expanded = kernel.expand(x)
    expected = density.free_variables(x)
    assert list(expanded) == list(expected) == kernel.traced
    for name, value in expected.items():
        assert expanded[name].shape == value.shape == kernel.shapes[kernel.traced.index(name)]
        np.testing.assert_allclose(expanded[name], value, rtol=1e-15, atol=0)  # libm's exp vs numpy's


def test_sampling_through_the_callbacks_repeats_and_equals_the_python_interface(choice_panel, monkeypatch):
    """The same seed gives the same draws, and nutpie's Python interface (the fallback when its internals
    differ) the same draws as the C callbacks."""
    density = density_of(choice_panel, "preference", ("storage",), "normal", False)
    direct = sample_density(density, 100, 100, 2, 11, 2)
    again = sample_density(density, 100, 100, 2, 11, 2)

    def unavailable(self):
        raise TypeError("CompiledPyMCModel.__init__() got an unexpected keyword argument")

    monkeypatch.setattr(ChoiceKernel, "nutpie_model", unavailable)
    fallback = sample_density(density, 100, 100, 2, 11, 2)
    for name in density.free_variables(np.zeros(density.size)):
        assert direct.posterior[name].shape[:2] == (2, 100)
        np.testing.assert_array_equal(direct.posterior[name].values, again.posterior[name].values)
        np.testing.assert_array_equal(direct.posterior[name].values, fallback.posterior[name].values)


def test_exp_equals_numpys_to_the_last_digits():
    from pricing.wtp.choice_kernel import _EXP_MIN, _exp_into

    values = np.concatenate([np.linspace(_EXP_MIN, 709.0, 100_001), [-1e10, -709.0, np.nan, 0.0, -0.0]])
    out = np.empty_like(values)
    _exp_into(values, out, values.size)
    inside = values >= _EXP_MIN
    np.testing.assert_allclose(out[inside], np.exp(values[inside]), rtol=4e-16, atol=0)
    assert np.all(out[values < _EXP_MIN] == 0.0)
    assert np.isnan(out[-3]) and out[-2] == out[-1] == 1.0


def test_a_respondent_with_more_tasks_than_one_product_of_sums_holds():
    """One respondent, 1200 tasks of two slots: the product of the tasks' sums of exp is logged in parts."""
    frame = make_choice_data(n_respondents=1, n_tasks=1200, n_alternatives=1, seed=4, segments=("students",))
    data, label, _ = read_survey(frame)
    design = learn_design(data, COLUMNS, label)
    arrays = code_rows(data, design, label)
    assert arrays.present.shape == (1200, 2)
    spec = resolve_specification(design, None)
    mu, sigma = _coefficient_priors(design, merge_priors(None), spec)
    density = ChoiceDensity(arrays, design, spec, mu, sigma, 1.0)
    x = density.initial_point(np.random.default_rng(0))
    value, gradient = ChoiceKernel(density).logp_dlogp(x)
    expected_value, expected_gradient = density.logp_dlogp(x)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-10)
