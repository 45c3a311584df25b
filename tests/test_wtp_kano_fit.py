"""Bayesian Kano analysis: conjugate share draws, CS-to-weights mapping, summaries, recovering shares."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pricing.cli import main
from pricing.errors import DataError, PricingError
from pricing.value import KANO_WEIGHTS
from pricing.wtp.kano import (
    CATEGORIES,
    KanoModel,
    category_weights,
    cs_coefficients,
    cs_weights,
    evaluation_table,
    fit_summary_json,
    kano_fit_summary,
    load_kano_posterior,
    save_kano_posterior,
    share_draws,
)

# Every answer pair (codes) of each category in the standard table: simulated respondents pick one at random.
CELLS = {
    c: [(f + 1, d + 1) for f in range(5) for d in range(5) if evaluation_table()[f][d] == c]
    for c in CATEGORIES
}


def simulated_survey(shares: dict[str, list[float]], sizes: dict[str, int], seed: int) -> pd.DataFrame:
    """Answers to one attribute 'speed' whose category shares per segment are `shares` (order A..Q)."""
    rng = np.random.default_rng(seed)
    rows = []
    for segment, p in shares.items():
        for k in rng.choice(len(CATEGORIES), size=sizes[segment], p=p):
            cells = CELLS[CATEGORIES[k]]
            functional, dysfunctional = cells[rng.integers(len(cells))]
            rows.append((segment, str(functional), str(dysfunctional)))
    return pd.DataFrame(rows, columns=["segment", "speed_functional", "speed_dysfunctional"])


def test_share_draws_follow_the_conditional_dirichlet():
    rng = np.random.default_rng(0)
    population = np.tile([0.4, 0.3, 0.1, 0.1, 0.05, 0.05], (4000, 1, 1))  # sample, attribute, category
    concentration = np.full((4000, 1), 12.0)
    counts = np.array([[[0, 0, 0, 0, 0, 0], [600, 0, 300, 100, 0, 0]]], dtype=float)  # no answers; many
    draws = share_draws(population, concentration, counts, rng)
    assert draws.shape == (4000, 1, 2, 6)
    np.testing.assert_allclose(draws.sum(axis=-1), 1.0)
    # no answers: the prior Dirichlet(12 m), mean m, var m(1-m)/13
    np.testing.assert_allclose(draws[:, 0, 0].mean(axis=0), population[0, 0], atol=0.01)
    assert draws[:, 0, 0, 0].var() == pytest.approx(0.4 * 0.6 / 13, rel=0.1)
    # 1000 answers: Dirichlet(12 m + n), mean (12 m + n) / 1012
    expected = (12 * population[0, 0] + counts[0, 1]) / 1012
    np.testing.assert_allclose(draws[:, 0, 1].mean(axis=0), expected, atol=0.002)


@pytest.mark.parametrize(
    "category, weights",
    [("A", (0.0, 1.0)), ("O", (1.0, 1.0)), ("M", (1.0, 0.0)), ("I", (0.0, 0.0))],
)
def test_cs_weights_of_pure_categories(category, weights):
    counts = np.zeros(6)
    counts[CATEGORIES.index(category)] = 10
    np.testing.assert_allclose(cs_weights(*cs_coefficients(counts)), weights)


def test_cs_weights_of_a_mix_by_hand():
    # A 3, O 4, M 2, I 1 (R, Q do not count): CS+ = 7/10, CS- = -6/10 -> shortfall 0.6, excess 0.7
    np.testing.assert_allclose(cs_weights(*cs_coefficients(np.array([3, 4, 2, 1, 5, 5]))), [0.6, 0.7])


def test_category_weights_take_the_largest_scenario_category():
    shares = np.array([[0.1, 0.2, 0.5, 0.1, 0.05, 0.05], [0.3, 0.1, 0.1, 0.1, 0.4, 0.0]])
    # the second draw's largest is R, which has no value shape: its largest of A, O, M, I (A) counts
    np.testing.assert_allclose(
        category_weights(shares), [KANO_WEIGHTS["must_be"], KANO_WEIGHTS["attractive"]]
    )


def synthetic_fit(shares: np.ndarray, segments=("SMB", "Ent")) -> az.InferenceData:
    """A Kano fit with given share draws (chain, draw, attribute, segment, category), as `fit` lays it out."""
    from pricing.wtp.kano import _derived

    chains, draws, n_attr, n_seg, _ = shares.shape
    counts = xr.DataArray(
        np.ones((n_attr, n_seg, 6)),
        dims=("attribute", "segment", "category"),
        coords={
            "attribute": [f"a{i}" for i in range(n_attr)],
            "segment": list(segments),
            "category": list(CATEGORIES),
        },
    )
    posterior = xr.Dataset(
        {
            "kano_population_share": (("chain", "draw", "attribute", "category"), shares.mean(axis=3)),
            "kano_concentration": (("chain", "draw", "attribute"), np.full((chains, draws, n_attr), 10.0)),
        },
        coords={"chain": range(chains), "draw": range(draws)},
    )
    posterior = _derived(posterior, counts, np.random.default_rng(0))
    posterior["kano_share"].values[...] = shares  # the shares we want, and what follows from them
    cs_plus, cs_minus = cs_coefficients(shares)
    posterior["cs_plus"].values[...] = cs_plus
    posterior["cs_minus"].values[...] = cs_minus
    posterior.attrs.update(
        method="kano", diagnostics=json.dumps({"ok": True, "problems": []}), table="standard"
    )
    posterior.attrs["columns"] = json.dumps({"segment": "segment"})
    return az.InferenceData(posterior=posterior, constant_data=xr.Dataset({"kano_count": counts}))


def test_fit_summary_probability_of_largest_by_hand():
    # four draws of one attribute in one segment: A is largest in three, M in one
    one = np.array(
        [
            [0.5, 0.2, 0.1, 0.1, 0.05, 0.05],
            [0.4, 0.2, 0.3, 0.05, 0.05, 0.0],
            [0.1, 0.2, 0.6, 0.1, 0.0, 0.0],
            [0.6, 0.1, 0.1, 0.1, 0.1, 0.0],
        ]
    )
    shares = np.stack([one, one[::-1]], axis=1)[None]  # chain 1, draw 4, attribute 1 -> (1, 4, 2, 6)
    shares = shares[:, :, None]  # (chain, draw, attribute, segment, category)
    table = kano_fit_summary(synthetic_fit(shares)).set_index("segment")
    assert table.loc["SMB", "p_largest_A"] == 0.75 and table.loc["SMB", "p_largest_M"] == 0.25
    assert table.loc["SMB", "category"] == "A"
    assert table.loc["SMB", "share_A"] == pytest.approx(np.mean(one[:, 0]))
    cs_plus = (one[:, 0] + one[:, 1]) / one[:, :4].sum(axis=1)
    assert table.loc["SMB", "cs_plus_mean"] == pytest.approx(cs_plus.mean())
    printed = fit_summary_json(synthetic_fit(shares))
    assert printed["a0"]["SMB"]["probability"]["attractive"] == 0.75
    assert printed["a0"]["Ent"]["category"] == "attractive"
    json.dumps(printed, allow_nan=False)


def test_save_and_load_round_trip_and_foreign_files(tmp_path):
    shares = np.random.default_rng(1).dirichlet(np.ones(6), size=(2, 5, 1, 2))
    fit = synthetic_fit(shares)
    path = tmp_path / "kano.nc"
    save_kano_posterior(fit, path)
    loaded = load_kano_posterior(path)
    np.testing.assert_allclose(loaded.posterior["kano_weights"].values, fit.posterior["kano_weights"].values)
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(DataError, match="not a readable netCDF"):
        load_kano_posterior(junk)
    with pytest.raises(PricingError, match="folder"):
        save_kano_posterior(fit, tmp_path / "missing" / "kano.nc")


TRUE = {"SMB": [0.45, 0.25, 0.1, 0.12, 0.05, 0.03], "Ent": [0.1, 0.3, 0.45, 0.1, 0.03, 0.02]}


@pytest.mark.slow
def test_fit_recovers_known_shares_and_small_samples_stay_uncertain():
    truth = TRUE | {"Few": [0.1, 0.3, 0.45, 0.1, 0.03, 0.02]}
    frame = simulated_survey(truth, {"SMB": 500, "Ent": 500, "Few": 8}, seed=3)
    model = KanoModel(segment="segment", sampler_config={"draws": 500, "tune": 500})
    model.fit(frame, seed=3)
    table = model.summary().set_index("segment")
    posterior = model.idata.posterior["kano_share"].sel(attribute="speed")
    for segment in ("SMB", "Ent"):
        draws = posterior.sel(segment=segment).stack(sample=("chain", "draw")).values  # category, sample
        low, high = np.quantile(draws, [0.005, 0.995], axis=1)
        assert np.all((low <= truth[segment]) & (np.array(truth[segment]) <= high)), segment
        np.testing.assert_allclose(draws.mean(axis=1), truth[segment], atol=0.05)
    assert table.loc["SMB", "category"] == "A" and table.loc["SMB", "p_largest_A"] > 0.99
    assert table.loc["Ent", "category"] == "M" and table.loc["Ent", "p_largest_M"] > 0.99
    width = table.cs_plus_q95 - table.cs_plus_q05
    assert width["Few"] > 3 * width["Ent"]  # 8 answers: wide, not falsely certain
    assert table.loc["Few", "p_largest_M"] < 0.9
    cs_plus_true = (0.45 + 0.25) / (0.45 + 0.25 + 0.1 + 0.12)
    assert table.loc["SMB", "cs_plus_q05"] < cs_plus_true < table.loc["SMB", "cs_plus_q95"]


@pytest.mark.slow
def test_cli_fit_kano_json_and_output(tmp_path, capsys):
    data = tmp_path / "kano.csv"
    simulated_survey(TRUE, {"SMB": 60, "Ent": 60}, seed=4).to_csv(data, index=False)
    output = tmp_path / "kano.nc"
    args = ["fit", "kano", str(data), "--segment", "segment", "--json", "-o", str(output)]
    assert main([*args, "--draws", "300", "--tune", "300"]) == 0
    printed = json.loads(capsys.readouterr().out)
    record = printed["speed"]["SMB"]
    assert set(record) >= {*CATEGORIES, "category", "cs_plus", "cs_minus", "probability"}
    assert sum(record["probability"].values()) == pytest.approx(1.0)
    assert record["cs_plus_interval"][0] < record["cs_plus"] < record["cs_plus_interval"][1]
    fitted = KanoModel.load(output)
    assert fitted.summary().set_index("segment").loc["SMB", "A"] == record["A"]
    assert main(["fit", "kano", str(data), "--priors", '{"nope": 1}']) == 2
    assert "unknown key(s) nope" in capsys.readouterr().err
