"""The choice kernels against closed forms, scipy's lognormal and brute-force integration over customers."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, ndtr

from pricing.market import (
    TABLE_NODES,
    _logit_purchase_exact,
    first_choice_purchase,
    gauss_hermite,
    logit_purchase,
    logit_purchase_slope,
    probability_nodes,
    purchase_table,
    read_purchase,
)


def brute_force_logit(inclusive, mu, sigma, scale, customers=20_000):
    """E over customers' WTP of the logit purchase probability and surplus, on a fine grid of quantiles."""
    u = (np.arange(customers) + 0.5) / customers
    wtp = np.exp(mu + sigma * stats.norm.ppf(u))
    y = (wtp[None, :] + np.asarray(inclusive)[:, None]) / scale
    return expit(y).mean(axis=1), (scale * np.logaddexp(0.0, y)).mean(axis=1)


def test_gauss_hermite_integrates_normal_moments():
    z, w = gauss_hermite(16)
    assert w.sum() == pytest.approx(1.0)
    assert w @ z == pytest.approx(0.0, abs=1e-12)
    assert w @ z**2 == pytest.approx(1.0)
    assert w @ z**4 == pytest.approx(3.0)
    assert w @ np.exp(0.5 * z) == pytest.approx(np.exp(0.125))


def test_probability_nodes_integrate_polynomials_in_probability_exactly():
    # Gauss-Legendre on u = Phi(z): exact for polynomials in u up to degree 2n - 1.
    z, w = probability_nodes(16)
    u = ndtr(z)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(np.diff(z) > 0) and w @ z == pytest.approx(0.0, abs=1e-12)  # symmetric about the median
    for degree in (1, 2, 5, 31):
        assert w @ u**degree == pytest.approx(1 / (degree + 1), rel=1e-12)


REGIMES = {
    # (median WTP, sd of log WTP, logit scale): which of the two spreads dominates changes the quadrature.
    "sharp logit, wide WTP": (50.0, 0.8, 0.05),
    "wide logit, narrow WTP": (50.0, 0.02, 20.0),
    "comparable spreads": (50.0, 0.3, 5.0),
    "very wide WTP": (50.0, 1.5, 1.0),
    "both narrow": (50.0, 0.01, 0.5),
    "nearly first choice": (50.0, 0.001, 0.05),
    "large amounts": (1000.0, 0.5, 2.0),
    # A skewed WTP whose sd exceeds the logit's noise although its bulk is narrower: the regime that
    # picking the quadrature variable by the sd got wrong (error 0.017).
    "skewed WTP, logit about the median": (10.0, 1.0, 10.0),
    "moderately wide both": (40.0, 0.5, 10.0),
}


@pytest.mark.parametrize("nodes", [16, 24], ids=["16 nodes", "24 nodes"])
@pytest.mark.parametrize("points", [20, 200], ids=["exact", "tabulated"])
@pytest.mark.parametrize("regime", list(REGIMES))
def test_logit_purchase_matches_brute_force(regime, points, nodes):
    median, sigma, scale = REGIMES[regime]
    # Inclusive values from "nobody buys" to "everybody buys"; more than TABLE_NODES points are read off
    # the interpolation table, fewer are integrated directly.
    inclusive = np.linspace(-3 * median, median, points)
    assert (points > TABLE_NODES) == (points == 200)
    prob, surplus = logit_purchase(
        inclusive[None], np.log([median]), np.array([sigma]), np.array([scale]), nodes
    )
    true_prob, true_surplus = brute_force_logit(inclusive, np.log(median), sigma, scale)
    np.testing.assert_allclose(prob[0], true_prob, atol=1e-3)
    np.testing.assert_allclose(surplus[0], true_surplus, rtol=2e-3, atol=2e-3 * median)


@pytest.mark.parametrize("sigma", [0.2, 0.5, 0.8, 1.2])
def test_logit_purchase_across_comparable_spreads(sigma):
    # Where the customers' WTP spread and the logit's noise are of the same size neither is the obviously
    # narrower integration variable. Gauss-Hermite nodes alone were up to 0.037 off here at 16 nodes.
    median = 50.0
    inclusive = np.linspace(-4 * median, median, 24)
    width = median * (1 - np.exp(-sigma))  # the lognormal's width below its median
    for ratio in (0.5, 1.0, 1.5, 2.0, 3.0):
        scale = width / ratio
        prob, _ = logit_purchase(inclusive[None], np.log([median]), np.array([sigma]), np.array([scale]))
        true_prob, _ = brute_force_logit(inclusive, np.log(median), sigma, scale)
        np.testing.assert_allclose(prob[0], true_prob, atol=2.5e-3, err_msg=f"width / scale = {ratio}")


@pytest.mark.parametrize("regime", list(REGIMES))
def test_the_table_is_as_accurate_on_a_price_grid_far_beyond_the_wtp(regime):
    # Inclusive values from 100x the median WTP below to the median above. The table's nodes (uniform in an
    # asinh of the threshold when the range is wide) stay dense where the purchase probability moves, so
    # both the table over the points' range and the one over every value where the probability moves
    # (`purchase_table` without a span, reused for any points) follow the quadrature they tabulate (the
    # direct integration of up to TABLE_NODES points at a time), and the brute force near the WTP (far out
    # both miss part of the lognormal's long tail).
    median, sigma, scale = REGIMES[regime]
    inclusive = np.concatenate(
        [np.linspace(-100 * median, median, 400), np.linspace(-3 * median, median, 96)]
    )
    rows = (np.log([median]), np.array([sigma]), np.array([scale]))
    direct = [logit_purchase(inclusive[None, i : i + TABLE_NODES], *rows) for i in range(0, 496, TABLE_NODES)]
    true_prob, true_surplus = brute_force_logit(inclusive[400:], np.log(median), sigma, scale)
    for prob, surplus in (
        logit_purchase(inclusive[None], *rows),
        read_purchase(purchase_table(*rows), inclusive[None]),
    ):
        np.testing.assert_allclose(prob[0], np.concatenate([p[0] for p, _ in direct]), atol=1e-3)
        # the quadrature's surplus wobbles by up to 7e-3 x the median far out ("skewed WTP"); the table's,
        # which integrates the probability from where everybody buys, is nearer the truth there
        np.testing.assert_allclose(
            surplus[0], np.concatenate([s[0] for _, s in direct]), rtol=2e-3, atol=6e-3 * median
        )
        np.testing.assert_allclose(prob[0, 400:], true_prob, atol=1e-3)
        np.testing.assert_allclose(surplus[0, 400:], true_surplus, rtol=2e-3, atol=2e-3 * median)


@pytest.mark.parametrize("sigma", [1.0, 1.25, 1.5, 2.0])
def test_the_long_upper_tail_of_a_wide_wtp_against_a_wider_logit(sigma):
    # A WTP narrower below its median than the logit's noise is integrated with nodes over the WTP; at
    # thresholds far up its long tail those nodes lie many logit scales apart (at log-sd 2 they were 1.7e-2
    # off). Thresholds up to the WTP's 99.99% quantile, direct and tabulated.
    median = 5.0
    width = median * -np.expm1(-sigma)
    for ratio in (0.5, 1.0, 1.5):
        scale = width / ratio
        inclusive = -np.exp(np.log(median) + sigma * stats.norm.ppf(np.linspace(0.5, 0.9999, 200)))
        rows = (np.log([median]), np.array([sigma]), np.array([scale]))
        true_prob, _ = brute_force_logit(inclusive, np.log(median), sigma, scale, customers=200_000)
        for points in (slice(0, 200, 10), slice(None)):  # 20 points: direct; 200: off the table
            prob, _ = logit_purchase(inclusive[None, points], *rows)
            # log-sd 2: the table's cubics add up to 1.5e-3 where the two node sets blend
            atol = 3.5e-3 if sigma <= 1.5 else 5e-3
            np.testing.assert_allclose(prob[0], true_prob[points], atol=atol, err_msg=f"ratio {ratio}")


def test_logit_purchase_rows_are_independent():
    # Several rows (draw x segment) with different parameters in one call give each row's own answer.
    inclusive = np.linspace(-80, 20, 100)[None].repeat(3, axis=0) + np.array([[0.0], [5.0], [-5.0]])
    mu, sigma, scale = np.log([40.0, 60.0, 30.0]), np.array([0.4, 0.05, 0.9]), np.array([3.0, 10.0, 0.2])
    prob, surplus = logit_purchase(inclusive, mu, sigma, scale, 24)
    for r in range(3):
        true_prob, true_surplus = brute_force_logit(inclusive[r], mu[r], sigma[r], scale[r])
        np.testing.assert_allclose(prob[r], true_prob, atol=1e-3)
        np.testing.assert_allclose(surplus[r], true_surplus, rtol=2e-3, atol=0.1)


def test_logit_purchase_one_node_is_the_median_customer():
    # nodes=1: no spread integrated; the closed form logistic((median + I) / scale) and its logsum.
    inclusive = np.array([[-60.0, -40.0, -25.0, 0.0]])
    prob, surplus = logit_purchase(inclusive, np.log([40.0]), np.array([0.5]), np.array([4.0]), nodes=1)
    y = (40.0 + inclusive[0]) / 4.0
    np.testing.assert_allclose(prob[0], 1 / (1 + np.exp(-y)))
    np.testing.assert_allclose(surplus[0], 4.0 * np.log1p(np.exp(y)))
    assert prob[0, 1] == pytest.approx(0.5)  # I = -median: the median customer is indifferent


def test_logit_purchase_is_monotone_in_inclusive_value():
    inclusive = np.linspace(-200, 100, 400)[None]
    for sigma, scale in [(0.8, 0.05), (0.01, 0.5), (0.3, 5.0)]:
        prob, surplus = logit_purchase(inclusive, np.log([50.0]), np.array([sigma]), np.array([scale]), 24)
        assert np.all(np.diff(prob[0]) >= -1e-9)
        assert np.all(np.diff(surplus[0]) >= -1e-9)
        assert np.all((prob >= 0) & (prob <= 1))


@pytest.mark.parametrize("best", [-80.0, -30.0, -5.0, 0.0, 12.0])
def test_first_choice_against_scipy_lognormal(best):
    # A customer buys iff WTP + best value > 0: P = P(w > -best); surplus = E[max(w + best, 0)].
    mu, sigma = np.log(30.0), 0.6
    wtp = stats.lognorm(s=sigma, scale=np.exp(mu))
    prob, surplus = first_choice_purchase(np.array([best]), mu, sigma)
    threshold = -best
    assert prob[0] == pytest.approx(wtp.sf(threshold) if threshold > 0 else 1.0, abs=1e-12)
    lower = max(threshold, 0.0)
    expected, _ = integrate.quad(lambda w: (w - threshold) * wtp.pdf(w), lower, np.inf, limit=200)
    assert surplus[0] == pytest.approx(expected, rel=1e-6)
    if threshold <= 0:
        assert surplus[0] == pytest.approx(wtp.mean() + best)


def test_a_table_of_the_probability_only_is_the_full_tables_probability_bit_for_bit():
    # `pricing.dynamics` reads only the purchase probability off its tables: without the surplus the same
    # cubics come for about half the work. Rows in every regime: nodes over the WTP (with its far-tail
    # mend) and over the logit's noise, Gauss-Hermite and probability nodes, linear and asinh nodes.
    rng = np.random.default_rng(5)
    mu = np.log(rng.uniform(2, 200, 60))
    sigma = np.concatenate([rng.uniform(0.05, 0.6, 20), rng.uniform(0.7, 2.0, 40)])
    scale = np.exp(mu) * rng.uniform(0.02, 3.0, 60)
    inclusive = -np.exp(mu)[:, None] * np.linspace(-1, 30, 50)[None]
    for span in (None, (inclusive.min(axis=1), inclusive.max(axis=1))):
        full = purchase_table(mu, sigma, scale, 16, span)
        only = purchase_table(mu, sigma, scale, 16, span, surplus=False)
        assert only.surplus == ()
        for a, b in zip(full[:-2], only[:-2], strict=True):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(full.prob, only.prob, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(
            read_purchase(only, inclusive, surplus=False)[0], read_purchase(full, inclusive)[0]
        )
    prob, slope = logit_purchase_slope(inclusive[:, :8], mu, sigma, scale)
    exact = _logit_purchase_exact(inclusive[:, :8], mu, sigma, scale, 16)
    np.testing.assert_array_equal(prob, exact[0])
    np.testing.assert_array_equal(slope, exact[1])
    # and `logit_purchase` itself, integrating a few points or reading its table over many, at 1 node too
    for points in (8, 50):
        for nodes in (16, 1):
            full = logit_purchase(inclusive[:, :points], mu, sigma, scale, nodes)
            prob, none = logit_purchase(inclusive[:, :points], mu, sigma, scale, nodes, surplus=False)
            assert none is None
            np.testing.assert_array_equal(prob, full[0])
