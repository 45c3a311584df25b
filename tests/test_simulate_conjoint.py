"""The conjoint market simulator: categorical levels, customers who differ, randomized first choice.

Known truths: hand-checked level values, a dummy-coded scenario, the closed form of a lognormal value
across customers, the Gumbel-max identity, and mlogit's published shares on Train's Heating data.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pricing.customers import quasi_random_normal
from pricing.dims import DRAW, OFFERING, PRICE, SEGMENT, VARIANT
from pricing.errors import ScenarioError
from pricing.scenario import scenario_from_dict, with_changes
from pricing.simulate import segment_parameters, simulate

# the shared data folder beside the repository (`../shared/data/heating/`), or /work/shared for a worktree
HEATING = next(
    (
        folder / "shared" / "data" / "heating" / "heating_wide.csv"
        for folder in (Path(__file__).resolve().parents[2], Path("/work"))
        if (folder / "shared" / "data" / "heating" / "heating_wide.csv").exists()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "heating" / "heating_wide.csv",
)


def storage_dict(kano="one_dimensional", **market) -> dict:
    """One segment expecting 2TB, valuing 50GB at -8 and 5TB at +6 against it; us and two rivals."""
    return {
        "schema_version": 1,
        "name": "storage plans",
        "attributes": [
            {"name": "Storage", "levels": ["50GB", "2TB", "5TB"], "kano": kano},
            {"name": "Support", "levels": ["No", "Email", "24/7"]},
            {"name": "speed"},
        ],
        "segments": [
            {
                "name": "everyone",
                "size": 1000,
                "wtp": {"median": 20.0, "spread": 0.3, "uncertainty": 0.0},
                "logit_scale": 3.0,
                "expectations": {"Storage": "2TB", "Support": "Email", "speed": 2},
                "value_per_unit": {
                    "Storage": {"50GB": -8.0, "5TB": 6.0},
                    "Support": {"No": -3.0, "24/7": 4.0},
                    "speed": 1.5,
                },
            }
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 20.0, "levels": {"Storage": "5TB", "speed": 3}},
            {"name": "Lite", "price": 12.0, "levels": {"Storage": "50GB", "Support": "No"}},
            {"name": "Pro", "price": 26.0, "levels": {"Storage": "5TB", "Support": "24/7", "speed": 3}},
        ],
        "market": {"draws": 4, "price_grid": {"min": 10, "max": 30, "steps": 5}, **market},
    }


# ---- categorical levels ------------------------------------------------------------------------------


def test_level_values_are_money_against_the_expected_level_hand_checked():
    results = simulate(scenario_from_dict(storage_dict()))
    value = results.perceived_value.isel({DRAW: 0, SEGMENT: 0, VARIANT: 0})
    # Ours: 5TB (+6) and speed 3 vs 2 (+1.5); Lite: 50GB (-8), no support (-3); Pro: +6 +4 +1.5
    assert float(value.sel({OFFERING: "Ours"})) == pytest.approx(20 + 6 + 1.5)
    assert float(value.sel({OFFERING: "Lite"})) == pytest.approx(20 - 8 - 3)
    assert float(value.sel({OFFERING: "Pro"})) == pytest.approx(20 + 6 + 4 + 1.5)
    assert list(results.attribute.values) == [
        "Storage=50GB", "Storage=2TB", "Storage=5TB", "Support=No", "Support=Email", "Support=24/7", "speed"
    ]  # fmt: skip


def test_kano_shapes_the_money_gap_of_ordered_levels():
    # must_be: a shortfall counts double (-8 -> -16), an excess a quarter (+6 -> +1.5)
    value = simulate(scenario_from_dict(storage_dict(kano="must_be"))).perceived_value
    value = value.isel({DRAW: 0, SEGMENT: 0, VARIANT: 0})
    assert float(value.sel({OFFERING: "Ours"})) == pytest.approx(20 + 1.5 + 1.5)
    assert float(value.sel({OFFERING: "Lite"})) == pytest.approx(20 - 16 - 3)


def test_categorical_levels_give_the_shares_of_the_dummy_coded_scenario():
    """A conjoint's dummy coding (attribute=level: 1 = has this level) is the same model, one-dimensional."""
    data = storage_dict()
    data["attributes"] = data["attributes"][:2]
    data["segments"][0]["expectations"] = {"Storage": "2TB", "Support": "Email"}
    data["segments"][0]["value_per_unit"].pop("speed")
    for offering in data["offerings"]:
        offering["levels"].pop("speed", None)
    levels = simulate(scenario_from_dict(data))
    dummies = {
        **data,
        "attributes": [{"name": n} for n in ("Storage=50GB", "Storage=5TB", "Support=No", "Support=24/7")],
        "segments": [
            {
                **data["segments"][0],
                "expectations": {},
                "value_per_unit": {
                    "Storage=50GB": 8.0, "Storage=5TB": 6.0, "Support=No": 3.0, "Support=24/7": 4.0
                },
            }
        ],
        "offerings": [
            {**data["offerings"][0], "levels": {"Storage=5TB": 1}},
            {**data["offerings"][1], "levels": {"Storage=50GB": -1, "Support=No": -1}},
            {**data["offerings"][2], "levels": {"Storage=5TB": 1, "Support=24/7": 1}},
        ],
    }  # fmt: skip
    coded = simulate(scenario_from_dict(dummies))
    np.testing.assert_allclose(levels.share.values, coded.share.values, rtol=1e-12)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"offerings[0].levels.Storage": "1PB"},
            "offerings[0].levels.Storage: '1PB' is not one of its levels",
        ),
        ({"offerings[0].levels.Storage": 2.0}, "offerings[0].levels.Storage: '2' is not one of its levels"),
        ({"offerings[0].levels.speed": "fast"}, "offerings[0].levels.speed: 'fast' is not a number"),
        ({"segments[0].expectations.Support": "Phone"}, "segments[0].expectations.Support: 'Phone' is not"),
        (
            {"segments[0].value_per_unit.speed": {"a": 1}},
            "value_per_unit.speed: a numeric attribute takes one",
        ),
        ({"segments[0].value_per_unit.Storage": 3.0}, "value_per_unit.Storage: give the money value of each"),
        ({"segments[0].value_per_unit.Storage": {"9TB": 3.0}}, "'9TB' is not one of its levels"),
        ({"attributes[0].levels": ["a", "a"]}, "attributes[0]: levels: 'a' is listed twice"),
        ({"offerings[1].levels.Support": False}, 'quote level names such as "No"'),
    ],
)
def test_bad_levels_are_one_line_naming_the_field(change, fragment):
    with pytest.raises(ScenarioError) as error:
        with_changes(scenario_from_dict(storage_dict()), change)
    assert any(fragment in p for p in error.value.problems), error.value.problems


# ---- customers who differ ------------------------------------------------------------------------------


def spread_dict(spread: float, customers: int = 1024) -> dict:
    """Two offerings differing in one attribute by 1 unit; first choice, no none option."""
    return {
        "schema_version": 1,
        "name": "spread",
        "seed": 3,
        "attributes": [{"name": "quality"}],
        "segments": [
            {
                "name": "all",
                "size": 100,
                "wtp": {"median": 50.0, "spread": 0.2, "uncertainty": 0.0},
                "logit_scale": 1.0,
                "expectations": {"quality": 0},
                "value_per_unit": {"quality": 10.0},
                "value_spread": spread,
            }
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 40.0, "levels": {"quality": 1}},
            {"name": "Basic", "price": 30.0, "levels": {"quality": 0}},
        ],
        "market": {
            "draws": 2,
            "choice_rule": "first_choice",
            "none_option": False,
            "price_grid": {"min": 32, "max": 50, "steps": 10},
            "heterogeneity": {"customers": customers},
        },
    }


@pytest.mark.parametrize("sequence", ["sobol", "halton"])
def test_a_lognormal_value_across_customers_gives_the_closed_form_share(sequence):
    # A customer buys ours when 10 exp(0.5 z) > price - 30: share = 1 - Phi(log((price - 30) / 10) / 0.5)
    data = spread_dict(0.5)
    data["market"]["heterogeneity"]["sequence"] = sequence
    results = simulate(scenario_from_dict(data))
    prices = results[PRICE].values
    expected = stats.norm.sf(np.log((prices - 30) / 10) / 0.5)
    simulated = results.share.sel({OFFERING: "Ours"}).isel({DRAW: 0, SEGMENT: 0, VARIANT: 0}).values
    np.testing.assert_allclose(simulated, expected, atol=4e-3)
    # without a spread every customer values alike: ours wins below 40, not above
    alike = simulate(scenario_from_dict(spread_dict(0.0)))
    ours = alike.share.sel({OFFERING: "Ours"}).isel({DRAW: 0, SEGMENT: 0, VARIANT: 0}).values
    np.testing.assert_array_equal(ours, np.where(prices < 40, 1.0, np.where(prices == 40, 0.5, 0.0)))


def test_quasi_random_points_are_balanced_and_seeded():
    z = quasi_random_normal(1024, 3, "sobol", 1)
    assert np.abs(z.mean(axis=0)).max() < 0.01 and np.abs(z.std(axis=0) - 1).max() < 0.02
    np.testing.assert_array_equal(z, quasi_random_normal(1024, 3, "sobol", 1))
    assert not np.array_equal(z, quasi_random_normal(1024, 3, "sobol", 2))


def test_heterogeneity_without_spread_leaves_the_results_unchanged():
    base = scenario_from_dict(storage_dict())
    with_customers = with_changes(base, {"market.heterogeneity": {"customers": 16}})
    np.testing.assert_allclose(simulate(base).share.values, simulate(with_customers).share.values, rtol=1e-12)


# ---- randomized first choice ---------------------------------------------------------------------------


def rfc(data: dict, attribute_error: float, product_error: float, repetitions: int = 4000) -> dict:
    data["market"] |= {
        "choice_rule": "randomized_first_choice",
        "rfc": {
            "repetitions": repetitions,
            "attribute_error": attribute_error,
            "product_error": product_error,
        },
    }
    return data


def test_rfc_with_product_error_only_is_logit_within_monte_carlo_error():
    logit = simulate(scenario_from_dict(storage_dict())).share
    randomized = simulate(scenario_from_dict(rfc(storage_dict(), 0.0, 1.0))).share
    trips = 4000
    error = np.sqrt(logit * (1 - logit) / trips)  # binomial sd of a share from `trips` first choices
    assert (np.abs(randomized - logit) <= 4 * error + 1e-9).all()
    # and not trivially: the shares move with price and are far from 0 and 1
    ours = logit.sel({OFFERING: "Ours"}).isel({DRAW: 0, SEGMENT: 0, VARIANT: 0})
    assert float(ours.max() - ours.min()) > 0.3
    # the mean over draws is within the pooled error
    pooled = np.sqrt(logit.mean(DRAW) * (1 - logit.mean(DRAW)) / (trips * logit.sizes[DRAW]))
    assert (np.abs(randomized.mean(DRAW) - logit.mean(DRAW)) <= 4 * pooled + 1e-9).all()


def with_duplicate(data: dict, name: str = "Pro") -> dict:
    original = next(o for o in data["offerings"] if o["name"] == name)
    data["offerings"].append({**original, "name": f"{name} copy"})
    return data


def test_rfc_duplicate_under_attribute_error_splits_its_share_and_leaves_the_others():
    before = simulate(scenario_from_dict(rfc(storage_dict(), 1.0, 0.0, 500))).share
    after = simulate(scenario_from_dict(rfc(with_duplicate(storage_dict()), 1.0, 0.0, 500))).share
    for other in ("Ours", "Lite"):
        np.testing.assert_allclose(after.sel({OFFERING: other}), before.sel({OFFERING: other}), atol=1e-12)
    np.testing.assert_allclose(after.sel({OFFERING: "Pro"}), after.sel({OFFERING: "Pro copy"}), atol=1e-12)
    split = after.sel({OFFERING: "Pro"}) + after.sel({OFFERING: "Pro copy"})
    np.testing.assert_allclose(split, before.sel({OFFERING: "Pro"}), atol=1e-12)
    assert float(before.sel({OFFERING: "Pro"}).mean()) > 0.05
    # under logit the copy takes share from everyone (IIA): ours loses a visible part
    logit_before = simulate(scenario_from_dict(storage_dict())).share.sel({OFFERING: "Ours"})
    logit_after = simulate(scenario_from_dict(with_duplicate(storage_dict()))).share.sel({OFFERING: "Ours"})
    assert float((logit_before - logit_after).mean()) > 0.02


def test_rfc_duplicate_of_our_product_at_our_price_splits_evenly():
    data = rfc(storage_dict(), 1.0, 0.0, 300)
    data["offerings"].append({**data["offerings"][0], "owner": "competitor", "name": "Copycat"})
    shares = simulate(scenario_from_dict(data)).share.sel({PRICE: 20.0})
    np.testing.assert_allclose(shares.sel({OFFERING: "Ours"}), shares.sel({OFFERING: "Copycat"}), atol=1e-12)


def test_rfc_is_deterministic_and_its_shares_add_up():
    scenario = scenario_from_dict(rfc(storage_dict(), 0.7, 0.3, 200))
    first, again = simulate(scenario), simulate(scenario)
    np.testing.assert_array_equal(first.share.values, again.share.values)
    bought = first.share.sum(OFFERING)
    assert ((bought > 0) & (bought <= 1 + 1e-12)).all()
    ours = first.share.sel({OFFERING: "Ours"}).mean(DRAW).isel({SEGMENT: 0, VARIANT: 0}).values
    assert (np.diff(ours) <= 1e-12).all()  # common trips over prices: our share never rises with price


# ---- Train's Heating: the IIA case under plain logit -----------------------------------------------------

# mlogit's model B (vignette "Exercise 1"): constants (hp the reference) and coefficients as published, to
# 5-8 significant digits: b_ic's rounding (5e-8 x ic of about 800) moves utilities by up to 4e-5, so the
# shares agree to 1e-5 rather than to the 1e-6 of an exact maximum-likelihood fit
HEATING_ASC = {"ec": 1.6588459, "er": 1.8534370, "gc": 1.7109793, "gr": 0.3082633, "hp": 0.0}
HEATING_IC, HEATING_OC = -0.0015332, -0.0069964


def heating_simulation(with_new: bool) -> pd.Series:
    """Mean logit shares over the 900 houses, each house a simulated customer with its own value of each
    system (a categorical attribute): utility = constant + b_ic ic + b_oc oc, in utility units (logit
    scale 1), all systems at the same price, no none option."""
    houses = pd.read_csv(HEATING)
    systems = ["gc", "gr", "ec", "er", "hp"]
    utility = {
        s: HEATING_ASC[s] + HEATING_IC * houses[f"ic.{s}"] + HEATING_OC * houses[f"oc.{s}"] for s in systems
    }
    if with_new:  # from ec: installation cost +200, operating cost x 0.75, ec's constant
        utility["new"] = (
            HEATING_ASC["ec"] + HEATING_IC * (houses["ic.ec"] + 200) + HEATING_OC * 0.75 * houses["oc.ec"]
        )
    names = list(utility)
    scenario = scenario_from_dict(
        {
            "schema_version": 1,
            "name": "heating",
            "attributes": [{"name": "system", "levels": names}],
            "segments": [
                {"name": "houses", "size": 900, "wtp": {"median": 1, "spread": 0.1}, "logit_scale": 1}
            ],
            "offerings": [
                {"name": s, "owner": "us" if s == "gc" else "competitor", "price": 1, "levels": {"system": s}}
                for s in names
            ],
            "market": {"draws": 1, "none_option": False, "price_grid": {"min": 0.5, "max": 1.5, "steps": 3}},
        }
    )  # fmt: skip
    parameters = segment_parameters(scenario, 1, np.random.default_rng(0))
    values = np.stack([utility[s].to_numpy() for s in names], axis=-1)  # house, system
    parameters["customer_value_per_unit"] = values[None, :, None, :]
    parameters["customer_weight"] = np.full((len(houses), 1), 1 / len(houses))
    shares = simulate(scenario, parameters=parameters).share.sel({PRICE: 1.0}).isel({DRAW: 0, SEGMENT: 0})
    return shares.isel({VARIANT: 0}).to_series()


def test_heating_model_b_shares_match_mlogit():
    shares = heating_simulation(with_new=False)
    published = {"gc": 0.63666667, "gr": 0.14333333, "ec": 0.07111111, "er": 0.09333333, "hp": 0.05555556}
    for system, share in published.items():
        assert shares[system] == pytest.approx(share, abs=1e-5), system


def test_heating_new_system_takes_share_as_iia_says_matching_mlogit():
    shares = heating_simulation(with_new=True)
    published = {
        "ec": 0.06311578, "er": 0.08347713, "gc": 0.57145108,
        "gr": 0.12855080, "hp": 0.04977350, "new": 0.10363170,
    }  # fmt: skip
    for system, share in published.items():
        assert shares[system] == pytest.approx(share, abs=1e-5), system


# ---- customers from a hierarchical Bayes fit -----------------------------------------------------------


def hb_posterior(tmp_path, draws: int = 40, diagnostics: dict | None = None):
    """A mixed-logit posterior file built by hand: 3 respondents in each of two segments, coefficients
    price, storage, colour=red and the none constant; respondent 5 prefers none to the reference product."""
    import arviz as az

    from pricing.wtp.choice_data import ChoiceColumns, Design
    from pricing.wtp.posterior import attach_metadata, save_posterior

    rng = np.random.default_rng(4)
    coefficients = ["price", "storage", "colour=red", "alt=none"]
    centre = np.array([-0.1, 0.5, 0.3, -1.0])
    beta_respondent = centre + rng.normal(0, [0.02, 0.2, 0.3, 0.5], size=(1, draws, 6, 4))
    beta_respondent[..., 5, 3] = 3.0  # w = (2 x 0.5 - 3) / 0.1 < 0
    segment_of = np.array(["A", "A", "A", "B", "B", "B"])
    beta = np.stack([beta_respondent[:, :, segment_of == s].mean(axis=2) for s in ("A", "B")], axis=2)
    money = -beta[..., 1:3] / beta[..., :1]
    design = Design(
        columns=ChoiceColumns(
            id="id", task="task", alt="alt", choice="choice", price="price",
            attributes=("storage", "colour"), none_alt="none", segment="segment", refs={"colour": "green"},
        ),
        coefficients=tuple(coefficients),
        kinds=("price", "numeric", "dummy", "none"),
        scales=(1.0, 1.0, 1.0, 1.0),
        levels={"colour": ("green", "red")},
        alternatives=("1", "2", "none"),
        reference={"price": 20.0, "storage": 2.0, "colour": "green"},
    )  # fmt: skip
    dims = {
        "beta_respondent": ["respondent", "coefficient"],
        "beta": ["segment", "coefficient"],
        "sd": ["random_coefficient"],
        "value_per_unit": ["segment", "attribute"],
        "logit_scale": ["segment"],
        "wtp_log_median": ["segment"],
        "wtp_log_sd": ["segment"],
    }
    idata = az.from_dict(
        posterior={
            "beta_respondent": beta_respondent,
            "beta": beta,
            "sd": np.full((1, draws, 3), 0.3),
            "value_per_unit": money,
            "logit_scale": 1 / np.abs(beta[..., 0]),
            "wtp_log_median": np.full((1, draws, 2), np.log(15.0)),
            "wtp_log_sd": np.full((1, draws, 2), 0.2),
        },
        coords={
            "respondent": [str(i) for i in range(6)],
            "coefficient": coefficients,
            "segment": ["A", "B"],
            "random_coefficient": ["storage", "colour=red", "alt=none"],
            "attribute": ["storage", "colour=red"],
        },
        dims=dims,
    )
    idata.posterior = idata.posterior.assign_coords(respondent_segment=("respondent", segment_of))
    attach_metadata(
        idata, method="choice", columns=design.columns.to_dict(), data_sha256="0" * 64, priors={},
        diagnostics=diagnostics or {"ok": True}, design=design.to_dict(), model="mixed",
        random=["storage", "colour=red", "alt=none"],
    )  # fmt: skip
    save_posterior(idata, tmp_path / "hb.nc")
    return beta_respondent[0], segment_of


def hb_scenario(tmp_path, from_fit: str, customers: int = 64):
    from pricing.scenario import load_scenario, save_scenario

    data = {
        "schema_version": 1,
        "name": "hb",
        "attributes": [{"name": "storage"}, {"name": "colour", "levels": ["green", "red"]}],
        "segments": [
            {
                "name": name,
                "size": 100,
                "wtp": {"posterior": "hb.nc"},
                "logit_scale": 10,
                "expectations": {"storage": 2, "colour": "green"},
            }
            for name in ("A", "B")
        ],
        "offerings": [
            {"name": "Ours", "owner": "us", "price": 20, "levels": {"storage": 4, "colour": "red"}},
            {"name": "Rival", "price": 15, "levels": {"storage": 2, "colour": "green"}},
        ],
        "market": {
            "draws": 40,
            "price_grid": {"min": 10, "max": 30, "steps": 5},
            "heterogeneity": {"from_fit": from_fit, "customers": customers},
        },
    }
    save_scenario(scenario_from_dict(data), tmp_path / "hb.yaml")
    return load_scenario(tmp_path / "hb.yaml")


def test_hb_respondents_each_choose_with_their_own_draws_weighted_within_the_segment(tmp_path):
    beta, segment_of = hb_posterior(tmp_path)  # draw, respondent, coefficient
    results = simulate(hb_scenario(tmp_path, "respondents"))
    ours = 4 * beta[..., 1] + beta[..., 2] + 20 * beta[..., 0]
    rival = 2 * beta[..., 1] + 15 * beta[..., 0]
    none = beta[..., 3]
    top = np.maximum(np.maximum(ours, rival), none)
    e_ours, e_rival, e_none = np.exp(ours - top), np.exp(rival - top), np.exp(none - top)
    total = e_ours + e_rival + e_none
    shares = results.share.sel({PRICE: 20.0}).isel({VARIANT: 0})
    for segment in ("A", "B"):
        members = segment_of == segment
        expected_ours = (e_ours / total)[:, members].mean(axis=1)
        expected_rival = (e_rival / total)[:, members].mean(axis=1)
        # 1e-5: the simulator integrates over a token WTP spread (log-sd 0.001) of each respondent
        simulated = shares.sel({SEGMENT: segment})
        np.testing.assert_allclose(simulated.sel({OFFERING: "Ours"}), expected_ours, atol=1e-5)
        np.testing.assert_allclose(simulated.sel({OFFERING: "Rival"}), expected_rival, atol=1e-5)
    assert float(shares.sel({SEGMENT: "B", OFFERING: "Ours"}).std()) > 0.01  # draws differ


def test_hb_population_customers_integrate_the_fitted_distribution(tmp_path):
    hb_posterior(tmp_path)
    results = simulate(hb_scenario(tmp_path, "population", customers=1024))
    from pricing.wtp import load_posterior

    posterior = load_posterior(tmp_path / "hb.nc").posterior
    mean = posterior["beta"].sel(segment="A").values[0]  # draw, coefficient
    z = np.random.default_rng(0).standard_normal((200_000, 3)) * 0.3
    draw = 7
    beta = np.repeat(mean[draw][None], len(z), axis=0)
    beta[:, 1:] += z
    ours = 4 * beta[:, 1] + beta[:, 2] + 20 * beta[:, 0]
    rival = 2 * beta[:, 1] + 15 * beta[:, 0]
    utilities = np.stack([ours, rival, beta[:, 3]], axis=1)
    probabilities = np.exp(utilities - utilities.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    simulated = results.share.sel({PRICE: 20.0, SEGMENT: "A"}).isel({VARIANT: 0, DRAW: draw})
    np.testing.assert_allclose(simulated.values, probabilities[:, :2].mean(axis=0), atol=3e-3)


def test_expectations_of_named_levels_do_not_drift():
    data = storage_dict()
    data["dynamics"] = {"horizon": 3, "adaptation": {"Storage": 0.5}}
    with pytest.raises(ScenarioError, match=r"dynamics.adaptation.Storage: Storage has named levels"):
        scenario_from_dict(data)
    data["dynamics"]["adaptation"] = {"speed": 0.5}
    assert scenario_from_dict(data).dynamics.adaptation == {"speed": 0.5}
