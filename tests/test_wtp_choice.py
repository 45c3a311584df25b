"""Choice-based conjoint: Train's Heating data against mlogit's published results; coding, formulas by hand.

The MAP fits here run no MCMC (posterior mode + Laplace on the hand-written density: no compile, well under
a second each); the tests that use them are still marked slow, as fits. NUTS fits are in
test_wtp_choice_nuts.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.errors import DataError
from pricing.wtp.choice import (
    WTP_CUSTOMERS,
    ChoiceColumns,
    fit_choice,
    load_choice_fit,
    merge_priors,
    reference_vector,
    reference_wtp,
)
from pricing.wtp.choice_data import alternative_shares, code_rows, learn_design
from pricing.wtp.choice_likelihood import Parametrisation, Specification
from pricing.wtp.data import read_survey
from pricing.wtp.posterior import load_posterior, posterior_draws

# Train's Heating data beside the repository (../shared/data/heating), found from any checkout or worktree
HEATING = next(
    (
        folder / "shared" / "data" / "heating" / "heating_wide.csv"
        for folder in Path(__file__).resolve().parents
        if (folder / "shared" / "data" / "heating" / "heating_wide.csv").is_file()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "heating" / "heating_wide.csv",
)
sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "data"))
from make_choice_data import COLUMNS as CONJOINT  # noqa: E402
from make_choice_data import make_choice_data  # noqa: E402

ALTERNATIVES = ("gc", "gr", "ec", "er", "hp")
FLAT = {"coefficients": {"sigma": 1e6}}  # effectively flat: the mode is the maximum-likelihood estimate
# mlogit prints 7 decimals: -0.0015332 carries 5 significant digits, so a rounding error of up to 5e-8
# (3e-5 relative) on top of the 1e-5 relative agreement
ROUNDING = 5e-8
MODEL_A = ChoiceColumns(id="idcase", task="task", alt="alt", choice="choice", price="ic", attributes=("oc",))
MODEL_B = ChoiceColumns(
    id="idcase",
    task="task",
    alt="alt",
    choice="choice",
    price="ic",
    attributes=("oc",),
    asc=True,
    asc_ref="hp",
)
PUBLISHED_A = {"ic": -0.0062319, "oc": -0.0045801}
PUBLISHED_B = {
    "ic": -0.0015332,
    "oc": -0.0069964,
    "alt=ec": 1.6588459,
    "alt=er": 1.8534370,
    "alt=gc": 1.7109793,
    "alt=gr": 0.3082633,
}


def heating_long() -> pd.DataFrame:
    """Train's Heating data (wide: one row per house) as long format: one row per house and system."""
    wide = pd.read_csv(HEATING)
    frames = [
        pd.DataFrame(
            {
                "idcase": wide["idcase"],
                "task": 1,
                "alt": alt,
                "choice": (wide["depvar"] == alt).astype(int),
                "ic": wide[f"ic.{alt}"],
                "oc": wide[f"oc.{alt}"],
            }
        )
        for alt in ALTERNATIVES
    ]
    return pd.concat(frames).sort_values("idcase", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def heating() -> pd.DataFrame:
    return heating_long()


@pytest.fixture(scope="module")
def fit_a(heating):
    return fit_choice(heating, MODEL_A, method="map", priors=FLAT, draws=500, chains=2, seed=1)


@pytest.fixture(scope="module")
def fit_b(heating):
    return fit_choice(heating, MODEL_B, method="map", priors=FLAT, draws=500, chains=2, seed=1, warn=False)


def mode(fit) -> dict[str, float]:
    return dict(zip(fit.design.coefficients, fit.mode["beta"][0], strict=True))


@pytest.mark.slow
def test_heating_model_a_matches_mlogit(fit_a, heating):
    beta = mode(fit_a)
    for name, published in PUBLISHED_A.items():
        assert beta[name] == pytest.approx(published, rel=1e-5, abs=ROUNDING)
    assert beta["oc"] / beta["ic"] == pytest.approx(0.7349453, rel=1e-5)
    assert fit_a.log_likelihood == pytest.approx(-1095.24, abs=0.005)
    shares = fit_a.predict(heating, at_mode=True).to_series()
    published = {"ec": 0.10413057, "er": 0.05141477, "gc": 0.51695653, "gr": 0.24030898, "hp": 0.08718915}
    for alt, share in published.items():
        assert shares[alt] == pytest.approx(share, abs=1e-6)


@pytest.mark.slow
def test_heating_model_b_matches_mlogit(fit_b, heating):
    beta = mode(fit_b)
    for name, published in PUBLISHED_B.items():
        assert beta[name] == pytest.approx(published, rel=1e-5, abs=ROUNDING)
    assert beta["oc"] / beta["ic"] == pytest.approx(4.563385, rel=1e-5)
    assert fit_b.log_likelihood == pytest.approx(-1008.23, abs=0.005)
    shares = fit_b.predict(heating, at_mode=True).to_series()
    observed = {"gc": 0.63666667, "gr": 0.14333333, "ec": 0.07111111, "er": 0.09333333, "hp": 0.05555556}
    for alt, share in observed.items():
        assert shares[alt] == pytest.approx(share, abs=1e-6)


@pytest.mark.slow
def test_heating_model_b_heat_pump_rebate(fit_b, heating):
    rebate = heating.copy()
    rebate.loc[rebate["alt"] == "hp", "ic"] *= 0.9
    shares = fit_b.predict(rebate, at_mode=True).to_series()
    published = {"hp": 0.06446230, "ec": 0.07045486, "er": 0.09247026, "gc": 0.63064443, "gr": 0.14196814}
    for alt, share in published.items():
        assert shares[alt] == pytest.approx(share, abs=1e-6)


@pytest.mark.slow
def test_heating_model_b_new_system(fit_b, heating):
    new = heating[heating["alt"] == "ec"].copy()
    new["alt"], new["ic"], new["oc"] = "new", new["ic"] + 200, new["oc"] * 0.75
    extended = pd.concat([heating, new]).sort_values("idcase", kind="stable")
    shares = fit_b.predict(extended, asc_of={"new": "ec"}, at_mode=True).to_series()
    published = {
        "ec": 0.06311578,
        "er": 0.08347713,
        "gc": 0.57145108,
        "gr": 0.12855080,
        "hp": 0.04977350,
        "new": 0.10363170,
    }
    for alt, share in published.items():
        assert shares[alt] == pytest.approx(share, abs=1e-6)
    with pytest.raises(DataError, match="'new'.*without a constant"):
        fit_b.predict(extended)


@pytest.mark.slow
def test_laplace_draws_are_centred_on_the_mode_with_the_inverse_hessian_spread(fit_a):
    beta = fit_a.posterior["beta"].sel(segment="all")
    draws = beta.values.reshape(-1, 2)
    # mlogit's standard errors for model A: ic 0.00035289, oc 0.00032216
    assert draws.std(axis=0) == pytest.approx([0.00035289, 0.00032216], rel=0.06)
    assert draws.mean(axis=0) == pytest.approx(fit_a.mode["beta"][0], abs=3 * 0.00036 / np.sqrt(1000))


@pytest.mark.slow
def test_map_fit_is_reproducible(heating, fit_a):
    again = fit_choice(heating, MODEL_A, method="map", priors=FLAT, draws=500, chains=2, seed=1)
    np.testing.assert_array_equal(again.posterior["beta"].values, fit_a.posterior["beta"].values)
    other = fit_choice(heating, MODEL_A, method="map", priors=FLAT, draws=500, chains=2, seed=2)
    assert not np.array_equal(other.posterior["beta"].values, fit_a.posterior["beta"].values)


@pytest.mark.slow
def test_wtp_is_minus_attribute_over_price_coefficient(fit_b):
    beta = fit_b.posterior["beta"].sel(segment="all")
    wtp = fit_b.posterior["value_per_unit"].sel(segment="all")
    np.testing.assert_allclose(
        wtp.sel(attribute="oc"), -beta.sel(coefficient="oc") / beta.sel(coefficient="ic")
    )
    np.testing.assert_allclose(
        fit_b.posterior["logit_scale"].sel(segment="all"), 1 / np.abs(beta.sel(coefficient="ic"))
    )
    assert list(wtp["attribute"].values) == ["oc", "alt=gc", "alt=gr", "alt=ec", "alt=er"]
    # without a none alternative the reference WTP is not identified and left out
    assert "wtp_log_median" not in fit_b.posterior


@pytest.mark.slow
def test_save_load_roundtrip_keeps_design_and_predictions(fit_b, heating, tmp_path):
    path = fit_b.save(tmp_path / "heating.nc")
    loaded = load_choice_fit(path)
    assert loaded.design == fit_b.design
    np.testing.assert_allclose(
        loaded.predict(heating, at_mode=True).values, fit_b.predict(heating, at_mode=True).values, rtol=1e-12
    )
    idata = load_posterior(path)
    attrs = idata.posterior.attrs
    assert attrs["method"] == "choice" and len(attrs["data_sha256"]) == 64
    assert json.loads(attrs["columns"])["price"] == "ic"
    assert json.loads(attrs["priors"])["coefficients"]["sigma"] == 1e6
    draws = posterior_draws(idata, ["all"], 100, np.random.default_rng(0))
    assert draws["value_per_unit"].shape == (100, 1, 5) and "wtp_log_median" not in draws


# ---- coding the data -----------------------------------------------------------------------------------


def tiny_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["r1"] * 6 + ["r2"] * 3,
            "task": [1, 1, 1, 2, 2, 2, 1, 1, 1],
            "alt": ["a", "b", "none"] * 3,
            "choice": [1, 0, 0, 0, 0, 1, 0, 1, 0],
            "price": [10, 20, "", 15, 10, "", 20, 10, ""],
            "size": [1, 3, "", 2, 2, "", 3, 1, ""],
            "color": ["red", "blue", "", "green", "red", "", "blue", "green", ""],
            "seg": ["x"] * 6 + ["y"] * 3,
        }
    )


TINY = ChoiceColumns(
    id="id",
    task="task",
    alt="alt",
    choice="choice",
    price="price",
    attributes=("size", "color"),
    asc=True,
    none_alt="none",
    segment="seg",
    refs={"color": "green"},
)


def coded(frame=None, columns=TINY, **kwargs):
    frame, label, _ = read_survey(tiny_frame() if frame is None else frame)
    design = learn_design(frame, columns, label)
    return design, code_rows(frame, design, label, **kwargs)


def test_design_codes_dummies_constants_and_none_by_hand():
    design, arrays = coded()
    assert design.coefficients == ("price", "size", "color=red", "color=blue", "alt=b", "alt=none")
    assert design.kinds == ("price", "numeric", "dummy", "dummy", "asc", "none")
    assert design.reference == {"price": 12.5, "size": 2.0, "color": "green", "alt": "a"}
    assert arrays.x.shape == (3, 3, 6)
    np.testing.assert_array_equal(arrays.x[0, 0], [10, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(arrays.x[0, 1], [20, 3, 0, 1, 1, 0])
    np.testing.assert_array_equal(arrays.x[0, 2], [0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(arrays.chosen, [0, 2, 1])
    assert arrays.respondents == ["r1", "r2"] and arrays.segments == ["x", "y"]
    np.testing.assert_array_equal(arrays.respondent, [0, 0, 1])
    np.testing.assert_array_equal(arrays.respondent_segment, [0, 1])
    # scales: population sd of the non-none prices (10, 20, 15, 10, 20, 10) and sizes
    assert design.scales[0] == pytest.approx(np.std([10, 20, 15, 10, 20, 10]))


def test_padded_alternatives_get_zero_probability_and_shares_average_over_tasks():
    frame = tiny_frame().drop(index=4).reset_index(drop=True)  # task 2 of r1 loses alternative b
    design, arrays = coded(frame)
    assert arrays.present.tolist() == [[True, True, True], [True, True, False], [True, True, True]]
    probabilities = np.array([[0.5, 0.3, 0.2], [0.6, 0.4, 0.0], [0.1, 0.1, 0.8]])
    shares = alternative_shares(arrays, probabilities, ["a", "b", "none"])
    np.testing.assert_allclose(shares, [(0.5 + 0.6 + 0.1) / 3, (0.3 + 0.1) / 3, (0.2 + 0.4 + 0.8) / 3])


def test_reference_wtp_by_hand():
    design, _ = coded()
    # coefficients: price, size, color=red, color=blue, alt=b, alt=none; reference: size 2, green, alt a
    beta = np.array([-0.1, 0.5, 0.3, -0.2, 0.4, -1.0])
    log_median, log_sd, clipped = reference_wtp(beta, None, design, (), seed=0)
    # w = (0.5 * 2 - (-1.0)) / 0.1 = 20 for everyone: multinomial logit has no spread
    assert np.exp(log_median) == pytest.approx(20.0) and log_sd == pytest.approx(1e-3) and clipped == 0
    random = ("size", "alt=none")
    log_median, log_sd, _ = reference_wtp(beta, np.array([0.1, 0.5]), design, random, seed=0)
    # w ~ Normal(20, sqrt((0.1 * 2)^2 + 0.5^2) / 0.1); lognormal matched at the median and upper quartile
    spread = np.sqrt(0.2**2 + 0.5**2) / 0.1
    assert np.exp(log_median) == pytest.approx(20.0)
    assert log_sd == pytest.approx(np.log((20 + 0.6744897501960817 * spread) / 20) / 0.6744897501960817)
    # a random price coefficient switches to simulated customers; with a zero price sd they are the same
    # normal customers, so the simulated quartiles agree with the exact ones up to Monte Carlo error
    random_price = ("price", "size", "alt=none")
    simulated = reference_wtp(beta, np.array([0.0, 0.1, 0.5]), design, random_price, seed=0)
    assert np.exp(simulated[0]) == pytest.approx(20.0, abs=0.05 * spread)
    assert simulated[1] == pytest.approx(log_sd, rel=0.1)


@pytest.mark.parametrize("price_distribution", ["normal", "lognormal"])
def test_reference_wtp_with_a_random_price_matches_customers_simulated_one_by_one(price_distribution):
    design, _ = coded()
    spec = Specification("preference", ("price", "size", "alt=none"), price_distribution)
    layout = Parametrisation.of(design, spec)
    rng = np.random.default_rng(3)
    # (chain 2, draw 3, segment 2, coefficient) native parameters: price -0.1 (log 0.1 when lognormal)
    theta = np.array([-0.1, 0.5, 0.3, -0.2, 0.4, -1.0]) + 0.02 * rng.standard_normal((2, 3, 2, 6))
    if price_distribution == "lognormal":
        theta[..., 0] = np.log(0.1) + 0.2 * rng.standard_normal((2, 3, 2))
    sd = np.abs(np.array([0.03, 0.1, 0.5]) + 0.01 * rng.standard_normal((2, 3, 2, 3)))
    log_median, log_sd, clipped = reference_wtp(theta, sd, design, spec, seed=11)
    z = np.random.default_rng(11).standard_normal((WTP_CUSTOMERS, 3))  # the customers reference_wtp draws
    x_ref = reference_vector(design)
    expected_median, expected_sd = np.empty(theta.shape[:-1]), np.empty(theta.shape[:-1])
    for index in np.ndindex(*theta.shape[:-1]):
        w = np.empty(WTP_CUSTOMERS)
        for c in range(WTP_CUSTOMERS):
            native = theta[index].copy()
            native[[0, 1, 5]] += z[c] * sd[index]
            beta = layout.preference(native)
            w[c] = beta @ x_ref / -beta[0]
        q50, q75 = np.quantile(w, [0.5, 0.75])
        expected_median[index] = np.log(q50)
        expected_sd[index] = max(np.log(q75 / q50) / 0.6744897501960817, 1e-3)
    np.testing.assert_allclose(log_median, expected_median, rtol=0, atol=1e-12)
    np.testing.assert_allclose(log_sd, expected_sd, rtol=0, atol=1e-12)
    assert clipped == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="price"), r"column 'price' \(price\) not found"),
        (
            lambda f: f.assign(choice=[1, 1, 0, 0, 0, 1, 0, 1, 0]),
            r"'choice'.*exactly one.*'r1' task '1' has 2.*lines 2, 3, 4",
        ),
        (lambda f: f.assign(choice=[0, 0, 0, 0, 0, 1, 0, 1, 0]), r"has 0.*lines 2, 3, 4"),
        (
            lambda f: f.assign(choice=[2, 0, 0, 0, 0, 1, 0, 1, 0]),
            r"'choice': line 2 must be 1 \(chosen\) or 0",
        ),
        (
            lambda f: f.assign(price=[10, "ten", "", 15, 10, "", 20, 10, ""]),
            r"'price': line 3 are not numbers \(got 'ten'\)",
        ),
        (lambda f: f.assign(price=[10, "", "", 15, 10, "", 20, 10, ""]), r"'price': line 3 are blank"),
        (
            lambda f: f.assign(seg=["x"] * 5 + ["z"] + ["y"] * 3),
            r"'seg': line 7 give a respondent a different segment",
        ),
        (
            lambda f: f.assign(alt=["a", "a", "none"] + ["a", "b", "none"] * 2),
            r"'alt': lines 2, 3 repeat an alternative",
        ),
    ],
)
def test_bad_data_names_column_and_lines(change, message):
    with pytest.raises(DataError, match=message):
        coded(change(tiny_frame()))


def test_line_numbers_are_the_files_and_none_cells_are_ignored():
    with pytest.raises(DataError, match=r"'price': line 5 are not numbers \(got 'abc'\)"):
        coded(tiny_frame().assign(price=[10, 20, "", "abc", 10, "", 20, 10, ""]))
    design, arrays = coded(tiny_frame().assign(price=[10, 20, "n/a", 15, 10, "-", 20, 10, "free"]))
    np.testing.assert_array_equal(arrays.x[:, 2, 0], [0, 0, 0])


def test_bad_options_name_the_option():
    with pytest.raises(
        DataError, match=r"--ref color=purple: level 'purple' does not occur.*levels: red, blue, green"
    ):
        coded(columns=ChoiceColumns(**{**TINY.__dict__, "refs": {"color": "purple"}}))
    with pytest.raises(DataError, match=r"--asc-ref z: not an alternative"):
        coded(columns=ChoiceColumns(**{**TINY.__dict__, "asc_ref": "z"}))
    with pytest.raises(DataError, match=r"none alternative 'nothing' does not occur"):
        coded(columns=ChoiceColumns(**{**TINY.__dict__, "none_alt": "nothing"}))
    with pytest.raises(DataError, match=r"priors: unknown key 'beta'"):
        merge_priors({"beta": {}})
    with pytest.raises(DataError, match=r"priors.random_sd.sigma: must be a number in \[0.001, 1e\+06\]"):
        merge_priors({"random_sd": {"sigma": -1}})
    with pytest.raises(DataError, match=r"method 'map' with random coefficients"):
        fit_choice(tiny_frame(), TINY, random="size", method="map")


def test_predict_refuses_unknown_levels():
    design, arrays = coded()
    frame, label, _ = read_survey(tiny_frame().assign(color=["red", "pink", "", *["red"] * 6]))
    with pytest.raises(DataError, match=r"'color': line 3 have level\(s\) 'pink' not in the fitted data"):
        code_rows(frame, design, label)


# ---- synthetic conjoint with segments and a none alternative ---------------------------------------------


@pytest.fixture(scope="module")
def conjoint_map():
    data = make_choice_data(n_respondents=300, n_tasks=8, seed=11, sd_scale=0.0)
    return fit_choice(data, CONJOINT, method="map", draws=500, chains=2, seed=3)


@pytest.mark.slow
def test_map_recovers_segment_coefficients_and_reference_wtp(conjoint_map):
    from make_choice_data import TRUE_MEAN

    summary = conjoint_map.coefficient_summary()
    for segment, truth in TRUE_MEAN.items():
        for name, value in truth.items():
            row = summary.loc[(segment, name)]
            assert abs(row["mean"] - value) < 3.5 * row["sd"], (segment, name)
        # reference offering: storage 2, speed 2, green; w = (2 b_storage + 2 b_speed - b_none) / -b_price
        expected = (2 * truth["storage"] + 2 * truth["speed"] - truth["alt=none"]) / -truth["price"]
        median = np.exp(conjoint_map.posterior["wtp_log_median"].sel(segment=segment).values)
        assert np.quantile(median, 0.01) < expected < np.quantile(median, 0.99), segment


@pytest.mark.slow
def test_share_check_compares_observed_and_replicated_shares(conjoint_map):
    table = conjoint_map.share_check(seed=0)
    assert list(table.index) == ["1", "2", "3", "none"]
    assert table["observed"].sum() == pytest.approx(1.0) and table["predicted"].sum() == pytest.approx(1.0)
    assert table["inside"].all()
    assert (table["q05"] < table["predicted"]).all() and (table["predicted"] < table["q95"]).all()


@pytest.mark.slow
def test_starter_scenario_validates_and_carries_posterior_medians(conjoint_map, tmp_path):
    from pricing.scenario import load_scenario, save_scenario, scenario_from_dict
    from pricing.wtp.choice_report import starter_scenario

    scenario = scenario_from_dict(starter_scenario(conjoint_map, currency="EUR"))
    save_scenario(scenario, tmp_path / "starter.yaml")
    scenario = load_scenario(tmp_path / "starter.yaml")
    assert [s.name for s in scenario.segments] == ["students", "pros"]
    students = scenario.segments[0]
    posterior = conjoint_map.posterior.sel(segment="students")
    assert students.size == 150
    # ratios with the price coefficient: medians, not means (which need not exist)
    assert students.logit_scale == pytest.approx(float(posterior["logit_scale"].median()), rel=1e-5)
    assert students.value_per_unit["storage"] == pytest.approx(
        float(posterior["value_per_unit"].sel(attribute="storage").median()), rel=1e-5
    )
    # the reference WTP too: exp of the median log median (the starter's documented rule)
    assert students.wtp.median == pytest.approx(float(np.exp(posterior["wtp_log_median"].median())), rel=1e-5)
    assert students.expectations == {"storage": 2.0, "speed": 2.0, "colour": "green"}
    assert students.value_per_unit["colour"]["red"] == pytest.approx(
        float(posterior["value_per_unit"].sel(attribute="colour=red").median()), rel=1e-5
    )
    assert len(scenario.offerings) == 3  # the most chosen profiles, the first ours
    assert scenario.our_offering.name == scenario.offerings[0].name
    assert 10 <= scenario.our_offering.price <= 40


@pytest.mark.slow
def test_simulator_on_the_fitted_posterior_reproduces_the_conjoint_model(conjoint_map):
    """The contract: with value_per_unit, logit_scale and the reference WTP the simulator gives the same
    choice probabilities (offerings and none) as the fitted logit itself, draw by draw."""
    from pricing.scenario import scenario_from_dict
    from pricing.simulate import simulate
    from pricing.wtp.choice_report import starter_scenario

    data = starter_scenario(conjoint_map)
    data["offerings"] = [
        {"name": "reference", "owner": "us", "price": 20.0, "levels": {}},
        {"name": "better", "price": 26.0, "levels": {"storage": 4.0, "colour": "red"}},
    ]
    data["market"] = {"none_option": True, "price_grid": {"min": 10.0, "max": 30.0, "steps": 3}}
    scenario = scenario_from_dict(data)
    columns = scenario.value_columns()  # colour=green is the reference level: value 0, not in the fit
    fitted = [c for c in columns if c != "colour=green"]
    draws = posterior_draws(conjoint_map.idata, ["students", "pros"], 1000, np.random.default_rng(0), fitted)
    values = np.zeros((1000, 2, len(columns)))
    values[..., [columns.index(c) for c in fitted]] = draws["value_per_unit"]
    draws["value_per_unit"] = values
    shares = simulate(scenario, parameters=draws)["share"].sel(price=20.0).isel(variant=0)
    for segment in ("students", "pros"):
        task = pd.DataFrame(
            {
                "id": "x",
                "segment": segment,
                "task": 1,
                "alt": ["1", "2", "none"],
                "price": [20, 26, ""],
                "storage": [2, 4, ""],
                "speed": [2, 2, ""],
                "colour": ["green", "red", ""],
            }
        )
        predicted = conjoint_map.predict(task).stack(sample=("chain", "draw"))
        simulated = shares.sel(segment=segment)
        # 1e-5: the simulator integrates over the MNL's token WTP spread (wtp_log_sd = 0.001)
        np.testing.assert_allclose(
            simulated.sel(offering="reference"), predicted.sel(alternative="1"), atol=1e-5
        )
        np.testing.assert_allclose(
            simulated.sel(offering="better"), predicted.sel(alternative="2"), atol=1e-5
        )


def test_near_zero_share_counts_draws_within_a_tenth_of_zero_or_of_the_other_sign():
    from statistics import NormalDist

    from pricing.wtp.choice import near_zero_share

    # by hand: median -1, so -0.05 (a twentieth of it) and 0.3 (the other sign) are near zero
    assert near_zero_share(np.array([-1.0, -2.0, -0.05, 0.3, -3.0])) == pytest.approx(2 / 5)
    rng = np.random.default_rng(0)
    draws = np.c_[rng.normal(-1.0, 0.5, 400_000), rng.normal(-1.0, 0.05, 400_000)]
    share = near_zero_share(draws)
    # N(-1, 0.5): P(beta > -0.1) = 1 - Phi(0.9 / 0.5)
    assert share[0] == pytest.approx(1 - NormalDist().cdf(1.8), abs=0.002)
    assert share[1] == 0.0


@pytest.mark.slow
def test_heating_wtp_is_reported_as_medians_and_a_price_near_zero_is_said_in_words(fit_a, fit_b):
    from pricing.wtp.choice_report import format_summary

    # model B: b_ic = -0.0015 is about 2.4 standard errors from zero, so in about 1% of the draws it is within
    # a tenth of its size of zero and -b_oc / b_ic has no usable mean; its median is mlogit's ratio
    # b_oc / b_ic = 4.563 (negative here: oc is a cost)
    wtp = fit_b.to_json()["wtp"]["oc"]
    assert set(wtp) == {"q05", "q50", "q95"}
    assert wtp["q50"] == pytest.approx(-4.563385, rel=0.03)
    assert wtp["q05"] < -4.56 < wtp["q95"]
    share = float(fit_b.price_near_zero().iloc[0])
    assert 0.005 <= share < 0.05
    [warning] = fit_b.warnings()
    assert f"in {share:.1%} of the posterior draws the price coefficient is close to zero" in warning
    assert "WARNING: " + warning in format_summary(fit_b)
    assert fit_b.to_json()["warnings"] == [warning]
    coefficient = fit_b.to_json()["coefficients"]["ic"]
    assert set(coefficient) == {"mean", "sd", "q05", "q50", "q95"}  # coefficients keep mean and sd
    # model A: b_ic = -0.0062 is 18 standard errors from zero: no warning, the median is the ratio
    assert fit_a.to_json()["wtp"]["oc"]["q50"] == pytest.approx(-0.7349453, rel=0.01)
    assert float(fit_a.price_near_zero().iloc[0]) == 0.0 and fit_a.warnings() == []
