"""The saved-posterior format: contract variables, metadata, validation, draws and diagnostics."""

import json
import warnings

import arviz as az
import numpy as np
import pytest

import pricing
from pricing.errors import DataError
from pricing.wtp.posterior import (
    SamplingWarning,
    attach_metadata,
    diagnose,
    format_diagnostics,
    load_posterior,
    metadata,
    posterior_draws,
    save_posterior,
)


def fake_fit(chains=2, draws=100, seed=0, segments=("SMB", "Enterprise", "Public"), choice=False):
    """Seeded synthetic draws standing in for a posterior (no sampling in fast tests)."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws, len(segments))
    posterior = {
        "wtp_log_median": np.log([40.0, 90.0, 60.0])[: len(segments)] + 0.05 * rng.normal(size=shape),
        "wtp_log_sd": 0.4 + 0.02 * rng.normal(size=shape),
    }
    dims = {"wtp_log_median": ["segment"], "wtp_log_sd": ["segment"]}
    coords = {"segment": list(segments)}
    if choice:
        posterior["value_per_unit"] = rng.normal(size=(*shape, 2))
        posterior["logit_scale"] = np.exp(rng.normal(size=shape))
        dims |= {"value_per_unit": ["segment", "attribute"], "logit_scale": ["segment"]}
        coords["attribute"] = ["uptime", "support"]
    idata = az.from_dict(
        posterior=posterior,
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
        coords=coords,
        dims=dims,
    )
    attach_metadata(
        idata,
        method="choice" if choice else "stated",
        columns={"amount": "wtp"},
        data_sha256="0" * 64,
        priors={"log_wtp_center_sd": 2.0},
        diagnostics={"ok": True},
    )
    return idata


def test_save_load_round_trip_keeps_values_and_metadata(tmp_path):
    idata = fake_fit()
    path = save_posterior(idata, tmp_path / "fit.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]  # no temp file left behind
    loaded = load_posterior(path)
    np.testing.assert_array_equal(
        loaded.posterior["wtp_log_median"].values, idata.posterior["wtp_log_median"].values
    )
    meta = metadata(loaded)
    assert meta["method"] == "stated"
    assert meta["pricing_version"] == pricing.__version__
    assert meta["priors"] == {"log_wtp_center_sd": 2.0}
    assert meta["columns"] == {"amount": "wtp"}
    assert json.loads(loaded.posterior.attrs["diagnostics"]) == {"ok": True}


def test_load_rejects_foreign_and_incomplete_files(tmp_path):
    (tmp_path / "text.nc").write_text("not netcdf")
    with pytest.raises(DataError, match="text.nc: not a readable netCDF"):
        load_posterior(tmp_path / "text.nc")
    with pytest.raises(DataError, match="missing.nc: posterior file not found"):
        load_posterior(tmp_path / "missing.nc")
    foreign = az.from_dict(posterior={"mu": np.zeros((2, 10))})
    foreign.to_netcdf(str(tmp_path / "foreign.nc"))
    with pytest.raises(DataError, match="foreign.nc: not a pricing WTP posterior"):
        load_posterior(tmp_path / "foreign.nc")
    incomplete = fake_fit()
    incomplete.posterior = incomplete.posterior.drop_vars("wtp_log_sd")
    incomplete.to_netcdf(str(tmp_path / "incomplete.nc"))
    with pytest.raises(DataError, match="incomplete.nc: posterior is missing variable.*wtp_log_sd"):
        load_posterior(tmp_path / "incomplete.nc")
    with pytest.raises(DataError, match="missing variable.*value_per_unit"):
        choice = fake_fit(choice=True)
        choice.posterior = choice.posterior.drop_vars("value_per_unit")
        save_posterior(choice, tmp_path / "choice.nc")


def test_posterior_draws_order_shape_and_resampling():
    idata = fake_fit(chains=2, draws=100)
    same = posterior_draws(idata, ["Public", "SMB"], 200, np.random.default_rng(1))
    # exactly as many draws as stored: flattened chain-major, no resampling
    expected = idata.posterior["wtp_log_median"].sel(segment="Public").values.reshape(-1)
    np.testing.assert_array_equal(same["wtp_log_median"][:, 0], expected)
    assert same["wtp_log_sd"].shape == (200, 2)
    fewer = posterior_draws(idata, ["SMB"], 50, np.random.default_rng(7))
    again = posterior_draws(idata, ["SMB"], 50, np.random.default_rng(7))
    np.testing.assert_array_equal(fewer["wtp_log_median"], again["wtp_log_median"])
    assert len(np.unique(fewer["wtp_log_median"])) == 50  # without replacement when there are enough
    # joint draws: median and sd come from the same posterior draw
    flat_median = idata.posterior["wtp_log_median"].sel(segment="SMB").values.reshape(-1)
    flat_sd = idata.posterior["wtp_log_sd"].sel(segment="SMB").values.reshape(-1)
    index = [int(np.flatnonzero(flat_median == v)[0]) for v in fewer["wtp_log_median"][:, 0]]
    np.testing.assert_array_equal(flat_sd[index], fewer["wtp_log_sd"][:, 0])
    more = posterior_draws(idata, ["SMB"], 500, np.random.default_rng(7))
    assert more["wtp_log_median"].shape == (500, 1)
    with pytest.raises(DataError, match="no segment 'Retail'.*SMB, Enterprise, Public"):
        posterior_draws(idata, ["SMB", "Retail"], 10, np.random.default_rng(0))


def test_posterior_draws_choice_variables_and_attribute_order():
    idata = fake_fit(choice=True)
    draws = posterior_draws(
        idata, ["SMB"], 200, np.random.default_rng(0), attribute_names=["support", "uptime"]
    )
    assert draws["value_per_unit"].shape == (200, 1, 2)
    expected = idata.posterior["value_per_unit"].sel(segment="SMB", attribute="support").values.reshape(-1)
    np.testing.assert_array_equal(draws["value_per_unit"][:, 0, 0], expected)
    assert draws["logit_scale"].shape == (200, 1)


def test_diagnose_flags_bad_chains_with_warning_and_dict():
    rng = np.random.default_rng(3)
    good = az.from_dict(
        posterior={"x": rng.normal(size=(2, 1000))}, sample_stats={"diverging": np.zeros((2, 1000), bool)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = diagnose(good, ["x"])
    assert result["ok"] and result["problems"] == [] and result["divergences"] == 0
    assert result["rhat_max"] < 1.01 and result["ess_bulk_min"] > 1000
    assert "OK" in format_diagnostics(result)

    # two chains stuck in different places, and a few divergences
    stuck = np.stack([rng.normal(size=300), 3 + rng.normal(size=300)])
    diverging = np.zeros((2, 300), bool)
    diverging[0, :3] = True
    bad = az.from_dict(posterior={"x": stuck}, sample_stats={"diverging": diverging})
    with pytest.warns(SamplingWarning, match="R-hat"):
        result = diagnose(bad, ["x"])
    assert not result["ok"]
    assert result["divergences"] == 3
    assert any("R-hat" in p for p in result["problems"])
    assert any("bulk ESS" in p for p in result["problems"])
    assert any("3 divergent" in p for p in result["problems"])
    assert "WARNING" in format_diagnostics(result)

    one_chain = az.from_dict(posterior={"x": rng.normal(size=(1, 2000))})
    with pytest.warns(SamplingWarning, match="R-hat cannot be computed"):
        assert diagnose(one_chain, ["x"])["rhat_max"] is None
