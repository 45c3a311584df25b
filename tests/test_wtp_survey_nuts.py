"""Real NUTS fits of the survey methods: parameter recovery, coverage, reproducibility, saved files.

Data are simulated from known per-segment lognormal WTP (log-median mu, log-sd sigma); each method's answers
are generated the way respondents give them (amounts and fixed brackets; yes/no at fixed prices; Van
Westendorp answers on a grid of round prices), so the interval-censored model is correctly specified.
Compiled fits are shared across tests through module-scoped fixtures.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from pricing.wtp.gabor_granger import GaborGrangerWTP
from pricing.wtp.posterior import SamplingWarning, load_posterior, metadata, posterior_draws
from pricing.wtp.stated import StatedWTP, demand_curve
from pricing.wtp.van_westendorp import VanWestendorpWTP, price_points, psm_analysis

pytestmark = pytest.mark.slow

SAMPLING = {"draws": 1000, "tune": 1000, "chains": 2}
COVERAGE_SAMPLING = {"draws": 500, "tune": 500, "chains": 2}
TRUTH = {"A": (np.log(30.0), 0.35), "B": (np.log(55.0), 0.5), "C": (np.log(90.0), 0.3)}
BRACKETS = np.array([0, 20, 30, 40, 50, 60, 80, 100, 130, 170, np.inf])
GG_PRICES = np.array([20, 30, 40, 50, 70, 90, 120])
ROUND_PRICES = np.array(
    [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 120, 140, 160, 200, 250, 300]
)


def simulate_wtp(truth, n, rng):
    return {segment: np.exp(rng.normal(mu, sigma, n)) for segment, (mu, sigma) in truth.items()}


def stated_frame(truth, n, rng):
    rows = []
    for segment, wtp in simulate_wtp(truth, n, rng).items():
        for i, w in enumerate(wtp):
            if i % 2 == 0:
                rows.append({"segment": segment, "wtp": round(w, 2), "wtp_lower": "", "wtp_upper": ""})
            else:
                k = np.searchsorted(BRACKETS, w, side="right") - 1
                lower = BRACKETS[k] if BRACKETS[k] > 0 else ""
                upper = BRACKETS[k + 1] if np.isfinite(BRACKETS[k + 1]) else ""
                rows.append({"segment": segment, "wtp": "", "wtp_lower": lower, "wtp_upper": upper})
    return pd.DataFrame(rows)


def gabor_granger_frame(truth, n, rng):
    rows = []
    for segment, wtp in simulate_wtp(truth, n, rng).items():
        for i, w in enumerate(wtp):
            for price in GG_PRICES:
                rows.append(
                    {"respondent": f"{segment}{i}", "segment": segment, "price": price, "answer": w >= price}
                )
    return pd.DataFrame(rows).assign(answer=lambda f: np.where(f.answer, "yes", "no"))


def van_westendorp_frame(truth, n, rng):
    """WTP w lies in [cheap, expensive): the round prices just below and just above it."""
    rows = []
    top = len(ROUND_PRICES) - 1
    for segment, wtp in simulate_wtp(truth, n, rng).items():
        for w in wtp:
            k = int(np.clip(np.searchsorted(ROUND_PRICES, w, side="right"), 2, top - 1))
            rows.append(
                {
                    "segment": segment,
                    "too_cheap": ROUND_PRICES[k - 1 - rng.integers(1, 3)] if k >= 3 else ROUND_PRICES[0],
                    "cheap": ROUND_PRICES[k - 1],
                    "expensive": ROUND_PRICES[k],
                    "too_expensive": ROUND_PRICES[min(k + rng.integers(1, 3), top)],
                }
            )
    return pd.DataFrame(rows)


def interval(idata, name, segment, level=0.90):
    values = idata.posterior[name].sel(segment=segment).values.reshape(-1)
    tail = (1 - level) / 2
    return np.quantile(values, [tail, 1 - tail])


def assert_recovers(idata, truth, level=0.98):
    """Every true value inside its central `level` interval.

    Per fit there are 6 intervals: at 90%, at least one would miss 47% of the time by design, so single fits
    use 98% (at least one miss: 11%) and the nominal 90% rate is checked over many intervals in
    `test_coverage_over_seeds_is_near_nominal`."""
    for segment, (mu, sigma) in truth.items():
        low, high = interval(idata, "wtp_log_median", segment, level)
        assert low <= mu <= high, (segment, "median", np.exp([low, mu, high]))
        low, high = interval(idata, "wtp_log_sd", segment, level)
        assert low <= sigma <= high, (segment, "sd", (low, sigma, high))


@pytest.fixture(scope="module")
def stated_fit():
    model = StatedWTP(columns={"segment": "segment"})
    model.fit(stated_frame(TRUTH, 150, np.random.default_rng(11)), seed=3, **SAMPLING)
    return model


@pytest.fixture(scope="module")
def gabor_granger_fit():
    model = GaborGrangerWTP(columns={"segment": "segment"})
    model.fit(gabor_granger_frame(TRUTH, 150, np.random.default_rng(12)), seed=4, **SAMPLING)
    return model


@pytest.fixture(scope="module")
def van_westendorp_fit():
    data = van_westendorp_frame(TRUTH, 150, np.random.default_rng(13))
    model = VanWestendorpWTP(columns={"segment": "segment"})
    model.fit(data, seed=5, **SAMPLING)
    return model, data


def test_stated_recovers_truth_with_clean_diagnostics(stated_fit):
    assert_recovers(stated_fit.idata, TRUTH)
    diagnostics = stated_fit.diagnostics
    assert diagnostics["ok"], diagnostics["problems"]
    assert diagnostics["rhat_max"] < 1.01 and diagnostics["ess_bulk_min"] >= 400
    meta = metadata(stated_fit.idata)
    assert meta["method"] == "stated" and meta["priors"]["log_wtp_center_sd"] == 1.5
    check = stated_fit.posterior_predictive_check()
    assert check.consistent.mean() >= 0.9


def test_gabor_granger_recovers_truth_and_demand_bands(gabor_granger_fit):
    idata = gabor_granger_fit.idata
    assert_recovers(idata, TRUTH)
    assert gabor_granger_fit.diagnostics["ok"], gabor_granger_fit.diagnostics["problems"]
    curve = demand_curve(idata, [30.0, 55.0, 90.0])
    for segment, (mu, _) in TRUTH.items():
        median_price = float(np.exp(mu))
        band = curve.sel(segment=segment).sel(price=median_price, method="nearest")
        # the true share with WTP >= the true median is 0.5
        assert band.sel(quantile=0.05) <= 0.5 <= band.sel(quantile=0.95)
    # at tested prices the data pin the share exactly; replicated shares must cover it
    check = gabor_granger_fit.posterior_predictive_check()
    np.testing.assert_allclose(check.observed_low, check.observed_high, atol=1e-12)
    assert check.consistent.mean() >= 0.9


def test_van_westendorp_recovers_truth_and_price_points(van_westendorp_fit):
    model, data = van_westendorp_fit
    assert_recovers(model.idata, TRUTH)
    points = model.price_points().set_index(["segment", "price_point"])
    # Bayesian price points sit near the classic ones computed from the same segment's answers (the
    # classic grid has steps of 5-10, so within one step)
    for segment in TRUTH:
        classic = psm_analysis(data[data.segment == segment])
        for name in ("idp", "opp"):
            row = points.loc[(segment, name)]
            assert row.q05 <= row.q50 <= row.q95
            assert abs(row.q50 - getattr(classic, name)) <= 0.2 * getattr(classic, name), (segment, name)
    assert price_points(model.idata).shape == (4 * len(TRUTH), 6)


def test_fixed_seed_reproduces_exactly_and_saved_file_round_trips(gabor_granger_fit, tmp_path):
    data = gabor_granger_frame(TRUTH, 150, np.random.default_rng(12))
    again = GaborGrangerWTP(columns={"segment": "segment"})
    again.fit(data, seed=4, **SAMPLING)
    np.testing.assert_array_equal(
        again.idata.posterior["wtp_log_median"].values,
        gabor_granger_fit.idata.posterior["wtp_log_median"].values,
    )
    path = gabor_granger_fit.save(tmp_path / "gg.nc")
    loaded = load_posterior(path)
    np.testing.assert_array_equal(
        loaded.posterior["wtp_log_sd"].values, gabor_granger_fit.idata.posterior["wtp_log_sd"].values
    )
    assert metadata(loaded)["columns"]["segment"] == "segment"
    draws = posterior_draws(loaded, ["C", "A"], 300, np.random.default_rng(0))
    assert draws["wtp_log_median"].shape == (300, 2)
    assert abs(np.median(draws["wtp_log_median"][:, 0]) - TRUTH["C"][0]) < 0.1


def test_coverage_over_seeds_is_near_nominal():
    """Over 4 fits (stated with 2 seeds, Gabor-Granger, Van Westendorp) x 5 segments x 2 parameters (40
    intervals, true values drawn afresh for each fit), the 90% and 50% intervals cover the truth at about
    their nominal rates: 90% at least 32/40 (P(fewer) = 4% at the nominal rate), 50% between 12/40 and
    28/40 (outside: 1.6%), so intervals neither too narrow nor too wide."""
    fits = [
        (StatedWTP, stated_frame, 60),
        (StatedWTP, stated_frame, 60),
        (GaborGrangerWTP, gabor_granger_frame, 60),
        (VanWestendorpWTP, van_westendorp_frame, 60),
    ]
    covered90, covered50 = [], []
    for seed, (model_class, simulate_frame, n) in enumerate(fits):
        rng = np.random.default_rng(100 + seed)
        truth = {
            f"S{s}": (rng.normal(np.log(50), 0.5), float(np.exp(rng.normal(np.log(0.4), 0.3))))
            for s in range(5)
        }
        model = model_class(columns={"segment": "segment"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            model.fit(simulate_frame(truth, n, rng), seed=seed, **COVERAGE_SAMPLING)
        for segment, (mu, sigma) in truth.items():
            for name, value in (("wtp_log_median", mu), ("wtp_log_sd", sigma)):
                low, high = interval(model.idata, name, segment, 0.9)
                covered90.append(low <= value <= high)
                low, high = interval(model.idata, name, segment, 0.5)
                covered50.append(low <= value <= high)
    assert np.mean(covered90) >= 0.8, np.mean(covered90)
    assert 0.3 <= np.mean(covered50) <= 0.7, np.mean(covered50)
