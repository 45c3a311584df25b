"""Stated WTP: reading answers into bounds, the closed-form likelihood, priors, summaries and checks."""

import math

import arviz as az
import numpy as np
import pytest
from scipy import stats

from pricing.errors import DataError, PricingError
from pricing.wtp.stated import (
    DEFAULT_PRIORS,
    Intervals,
    StatedWTP,
    demand_curve,
    interval_check,
    resolve_priors,
)


def write(tmp_path, text, name="stated.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reader_turns_amounts_and_brackets_into_bounds(tmp_path):
    path = write(
        tmp_path,
        "segment,wtp,wtp_lower,wtp_upper\n"
        "A,50,,\n"  # exact amount
        "A,,40,60\n"  # between 40 and 60
        "B,,,30\n"  # below 30
        "B,,100,\n"  # above 100
        "B,,,\n"  # no answer: dropped and counted
        "A,55,10,20\n",  # an amount wins over bounds
    )
    intervals, sha256, columns = StatedWTP(columns={"segment": "segment"}).read(path)
    assert intervals.segments == ["A", "B"]
    np.testing.assert_array_equal(intervals.segment, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(intervals.lower, [50, 40, 0, 100, 55])
    np.testing.assert_array_equal(intervals.upper, [50, 60, 30, np.inf, 55])
    np.testing.assert_array_equal(intervals.respondent, [1, 2, 3, 4, 6])
    assert intervals.notes == {"dropped_no_answer": 1}
    assert columns == {"segment": "segment", "amount": "wtp", "lower": "wtp_lower", "upper": "wtp_upper"}
    assert len(sha256) == 64


def test_reader_errors_name_column_and_lines(tmp_path):
    bad_number = write(tmp_path, "wtp\n10\nabc\n12\nn/a\n")
    with pytest.raises(DataError, match=r"column 'wtp': lines 3, 5 are not numbers \(got 'abc', 'n/a'\)"):
        StatedWTP().read(bad_number)
    reversed_bounds = write(tmp_path, "wtp_lower,wtp_upper\n10,20\n50,40\n")
    with pytest.raises(DataError, match=r"'wtp_lower'/'wtp_upper': line 3 have lower above upper"):
        StatedWTP().read(reversed_bounds)
    negative = write(tmp_path, "wtp\n-5\n")
    with pytest.raises(DataError, match=r"column 'wtp': line 2 must be > 0"):
        StatedWTP().read(negative)
    no_column = write(tmp_path, "price,segment\n10,A\n")
    with pytest.raises(DataError, match="no WTP column.*'price', 'segment'"):
        StatedWTP().read(no_column)
    with pytest.raises(DataError, match=r"column 'region' \(segment\) not found"):
        StatedWTP(columns={"segment": "region"}).read(write(tmp_path, "wtp\n10\n"))
    with pytest.raises(DataError, match="segment.*blank"):
        StatedWTP(columns={"segment": "segment"}).read(write(tmp_path, "segment,wtp\nA,10\n,12\n"))
    with pytest.raises(DataError, match="file not found"):
        StatedWTP().read(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="file is empty"):
        StatedWTP().read(write(tmp_path, ""))
    with pytest.raises(PricingError, match="unknown role"):
        StatedWTP(columns={"amont": "wtp"}).read(write(tmp_path, "wtp\n10\n"))


def test_priors_are_data_overridable_and_checked():
    intervals = Intervals(
        segment=np.array([0, 0, 0]),
        segments=["all"],
        lower=np.array([10.0, 20.0, 0.0]),
        upper=np.array([10.0, 80.0, 30.0]),
        weight=np.ones(3),
        respondent=np.arange(3),
    )
    resolved = resolve_priors(None, DEFAULT_PRIORS, intervals)
    # typical answers: 10, sqrt(20 x 80) = 40, 30 (the one finite bound) -> median log = log 30
    assert resolved["log_wtp_center"] == pytest.approx(math.log(30))
    assert resolve_priors({"log_wtp_center_sd": 0.5}, DEFAULT_PRIORS, intervals)["log_wtp_center_sd"] == 0.5
    with pytest.raises(PricingError, match="unknown key.*log_wtp_centre"):
        resolve_priors({"log_wtp_centre": 3}, DEFAULT_PRIORS, intervals)
    with pytest.raises(
        PricingError, match=r"priors.segment_sd_sd: must be a number in \[0.001, 10\] \(got 0\)"
    ):
        resolve_priors({"segment_sd_sd": 0}, DEFAULT_PRIORS, intervals)


def test_closed_form_likelihood_matches_scipy():
    """The model's likelihood term equals the sum of lognormal densities and CDF differences, by scipy."""
    intervals = Intervals(
        segment=np.array([0, 0, 1, 1, 1, 0, 1]),
        segments=["A", "B"],
        lower=np.array([50.0, 40.0, 0.0, 100.0, 100.0, 30.0, 5000.0]),
        upper=np.array([50.0, 60.0, 30.0, np.inf, np.inf, 35.0, 6000.0]),
        weight=np.array([1.0, 2.0, 1.0, 1.0, 0.5, 1.0, 1.0]),
        respondent=np.arange(7),
    )
    model = StatedWTP().build_model(intervals, resolve_priors(None, DEFAULT_PRIORS, intervals))
    mu, sigma = np.array([math.log(45), math.log(70)]), np.array([0.4, 0.6])
    point = model.initial_point()
    point["wtp_log_median"] = mu
    point["wtp_log_log_sd"] = np.log(sigma)
    term = model.replace_rvs_by_values([model["wtp_loglik"]])[0]
    loglik = model.compile_fn(term, inputs=model.value_vars, on_unused_input="ignore")(point)

    def cdf(x, s):
        return stats.norm.cdf(np.log(x), mu[s], sigma[s])

    expected = (
        stats.lognorm.logpdf(50, sigma[0], scale=math.exp(mu[0]))
        + 2 * np.log(cdf(60, 0) - cdf(40, 0))
        + np.log(cdf(30, 1))
        + 1.5 * np.log(1 - cdf(100, 1))
        + np.log(cdf(35, 0) - cdf(30, 0))
        # far in the upper tail: 1 - Phi is tiny; computed on the mirrored side by the model
        + stats.norm.logsf(np.log(5000), mu[1], sigma[1])
        + np.log1p(
            -stats.norm.sf(np.log(6000), mu[1], sigma[1]) / stats.norm.sf(np.log(5000), mu[1], sigma[1])
        )
    )
    assert loglik == pytest.approx(expected, rel=1e-9)


def fake_idata(mu, sigma, lower, upper, segments=("A",), draws=400):
    """A posterior with constant draws (a point mass) and the respondents' bounds, for exact checks."""
    n_seg = len(segments)
    posterior = {
        "wtp_log_median": np.broadcast_to(np.asarray(mu, float), (2, draws, n_seg)).copy(),
        "wtp_log_sd": np.broadcast_to(np.asarray(sigma, float), (2, draws, n_seg)).copy(),
    }
    idata = az.from_dict(
        posterior=posterior,
        coords={"segment": list(segments)},
        dims={"wtp_log_median": ["segment"], "wtp_log_sd": ["segment"]},
    )
    import xarray as xr

    n = len(lower)
    idata.add_groups(
        constant_data=xr.Dataset(
            {
                "wtp_lower": ("respondent", np.asarray(lower, float)),
                "wtp_upper": ("respondent", np.asarray(upper, float)),
                "weight": ("respondent", np.ones(n)),
                "respondent_segment": ("respondent", np.array([segments[0]] * n)),
            }
        )
    )
    return idata


def test_demand_curve_is_the_lognormal_survival():
    idata = fake_idata([math.log(100)], [1.0], [100.0], [100.0])
    curve = demand_curve(idata, [100.0, 100 * math.e, 100 / math.e])
    # P(WTP >= median) = 0.5; one log-sd above: 1 - Phi(1) = 0.158655; one below: Phi(1) = 0.841345
    np.testing.assert_allclose(
        curve.sel(quantile=0.5, segment="A").values, [0.5, 0.158655, 0.841345], atol=1e-6
    )
    assert curve.dims == ("quantile", "segment", "price")


def test_interval_check_bounds_and_replicates():
    # four respondents: exact 50, [40, 60), below 30, above 100; threshold 50:
    # known >= 50: the exact 50 and the one above 100 -> 2/4; known < 50: the one below 30 -> 1/4
    idata = fake_idata([math.log(50)], [0.5], [50, 40, 0, 100], [50, 60, 30, np.inf])
    check = interval_check(idata, thresholds=[50.0], seed=1)
    row = check.iloc[0]
    assert row.observed_low == 0.5 and row.observed_high == 0.75
    # P(WTP >= median) = 0.5, replicated share of 4 respondents ~ Binomial(4, 0.5) / 4:
    # P(0) = 1/16 > 5% -> q05 = 0; P(<= 3) = 15/16 < 95% -> q95 = 1; median 2/4
    assert row.replicated_q50 == 0.5 and row.replicated_q05 == 0.0 and row.replicated_q95 == 1.0
    assert row.consistent
    far_off = interval_check(fake_idata([math.log(5)], [0.1], [50, 40, 0, 100], [50, 60, 30, np.inf]), [50.0])
    assert not far_off.iloc[0].consistent
