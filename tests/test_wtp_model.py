"""The one WTP model API (`pricing.wtp.model`): configs, fit methods, save/load, compiled-model reuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.cli import main
from pricing.errors import DataError, PricingError
from pricing.wtp import load_model, survey_model
from pricing.wtp.gabor_granger import GaborGrangerWTP
from pricing.wtp.model import COMPILED, SAMPLER_DEFAULTS, OptionsError, WTPModel, compiled_model
from pricing.wtp.stated import DEFAULT_PRIORS, StatedWTP, resolve_priors, wtp_summary
from pricing.wtp.van_westendorp import VanWestendorpWTP

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[1] / "scenarios" / "data"
TRUTH = {"A": (np.log(40.0), 0.3), "B": (np.log(90.0), 0.5)}
QUICK = {"draws": 300, "tune": 300, "chains": 2, "seed": 3}


def stated_frame(n: int, seed: int, truth=TRUTH) -> pd.DataFrame:
    """Exact amounts for half the respondents, brackets for the other half, per segment."""
    rng = np.random.default_rng(seed)
    brackets = np.array([0, 20, 30, 45, 60, 80, 110, 150, np.inf])
    rows = []
    for segment, (mu, sigma) in truth.items():
        for i, w in enumerate(np.exp(rng.normal(mu, sigma, n))):
            if i % 2:
                k = np.searchsorted(brackets, w, side="right") - 1
                low, high = brackets[k], brackets[k + 1]
                rows.append((segment, "", low if low > 0 else "", high if np.isfinite(high) else ""))
            else:
                rows.append((segment, round(float(w), 2), "", ""))
    return pd.DataFrame(rows, columns=["segment", "wtp", "wtp_lower", "wtp_upper"])


# ---- configs and options -------------------------------------------------------------------------------


def test_configs_are_defaults_merged_over_user_values():
    model = StatedWTP(model_config={"segment_sd_sd": 0.2}, sampler_config={"draws": 200, "seed": 9})
    assert model.model_config == DEFAULT_PRIORS | {"segment_sd_sd": 0.2}
    assert model.sampler_config == SAMPLER_DEFAULTS | {"draws": 200, "seed": 9}
    # one fit's overrides go over the model's sampler config, and are what the fit records
    assert StatedWTP.default_sampler_config["draws"] == 1000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: StatedWTP(model_config={"segment_sd": 1}),
            r"model_config: unknown key\(s\) segment_sd \(known: ",
        ),
        (
            lambda: StatedWTP(model_config={"segment_sd_sd": 0}),
            r"model_config.segment_sd_sd: must be a number",
        ),
        (
            lambda: StatedWTP(sampler_config={"draw": 10}),
            r"sampler_config: unknown key\(s\) draw \(known: draws",
        ),
        (lambda: StatedWTP(sampler_config={"draws": 0}), r"draws: must be a whole number from"),
        (lambda: StatedWTP(sampler_config={"target_accept": 1.5}), r"target_accept: must be a number in"),
        (lambda: StatedWTP(sampler_config={"target_ess": -1}), r"target_ess: must be a whole number"),
        (lambda: StatedWTP(columns={"amont": "wtp"}), r"columns: unknown role\(s\) amont"),
        (lambda: GaborGrangerWTP(inconsistent="keep"), r"inconsistent: 'keep' is not one of"),
        (
            lambda: VanWestendorpWTP(wtp_bounds=("cheap", "too_cheap")),
            r"wtp_bounds: \('cheap', 'too_cheap'\)",
        ),
        (lambda: survey_model("conjoint"), r"method: 'conjoint' is not one of"),
        (lambda: StatedWTP().fit(EXAMPLES / "stated_wtp.csv", "advi"), r"fit_method: 'advi' is not one of"),
        (lambda: StatedWTP().fit(EXAMPLES / "stated_wtp.csv", chains=0), r"chains: must be a whole number"),
    ],
)
def test_every_bad_option_is_one_options_error(make, message):
    with pytest.raises(OptionsError, match=message) as caught:
        make()
    assert isinstance(caught.value, PricingError) and "\n" not in str(caught.value)


def test_cli_bad_option_is_one_line_exit_2(capsys):
    status = main(["fit", "stated", str(EXAMPLES / "stated_wtp.csv"), "--priors", '{"segment_sd_sd": 0}'])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--priors.segment_sd_sd: must be a number" in err


# ---- fit, the InferenceData, save / load ---------------------------------------------------------------


@pytest.fixture(scope="module")
def map_fit():
    model = StatedWTP(columns={"segment": "segment"})
    model.fit(stated_frame(400, 1), "map", **QUICK)
    return model


def test_map_fit_recovers_the_truth_and_says_it_did_not_sample(map_fit):
    table = map_fit.summary()
    for segment, (mu, sigma) in TRUTH.items():
        assert table.loc[segment, "median_q50"] == pytest.approx(np.exp(mu), rel=0.06)
        assert table.loc[segment, "log_sd_mean"] == pytest.approx(sigma, rel=0.2)
        # within 2.5 posterior sds of the truth (the Laplace draws' spread), and that spread is about the
        # standard error of a mean of log WTP from 400 answers (sigma / sqrt(n); brackets tell less,
        # the partial pooling a little more)
        sd = (np.log(table.loc[segment, "median_q95"]) - np.log(table.loc[segment, "median_q05"])) / 3.29
        assert abs(np.log(table.loc[segment, "median_q50"]) - mu) < 2.5 * sd
        fitted = table.loc[segment, "log_sd_mean"]
        assert 0.8 * fitted / np.sqrt(400) < sd < 1.5 * fitted / np.sqrt(400)
    assert map_fit.fit_method == "map"
    assert "did not sample" in map_fit.report()
    assert map_fit.diagnostics["rhat_max"] is None
    assert map_fit.idata.posterior.sizes["draw"] == QUICK["draws"]


def test_idata_carries_the_fit_data_and_both_configs(map_fit):
    idata = map_fit.idata
    data = idata.constant_data
    assert data.sizes["respondent"] == 800
    assert np.all(data["wtp_lower"].values <= data["wtp_upper"].values)
    attrs = idata.posterior.attrs
    assert attrs["model_type"] == "stated" and attrs["fit_method"] == "map"
    assert json.loads(attrs["sampler_config"]) == SAMPLER_DEFAULTS | QUICK
    assert json.loads(attrs["model_config"]) == DEFAULT_PRIORS
    assert json.loads(attrs["options"]) == {"columns": {"segment": "segment"}}
    import pricing

    assert attrs["pricing_version"] == pricing.__version__


def test_save_load_round_trip_gives_a_complete_identical_model(map_fit, tmp_path):
    path = map_fit.save(tmp_path / "fit.nc")
    for loader in (WTPModel.load, StatedWTP.load, load_model):
        loaded = loader(path)
        assert type(loaded) is StatedWTP
        assert loaded.model_config == map_fit.model_config
        assert loaded.sampler_config == map_fit.sampler_config
        assert loaded.columns == {"segment": "segment"}
        pd.testing.assert_frame_equal(loaded.summary(), map_fit.summary())
        pd.testing.assert_frame_equal(
            loaded.posterior_predictive_check(seed=1), map_fit.posterior_predictive_check(seed=1)
        )
        np.testing.assert_array_equal(loaded.intervals.lower, map_fit.intervals.lower)
        assert loaded.report() == map_fit.report()
    with pytest.raises(DataError, match="is a 'stated' fit, not gabor_granger"):
        GaborGrangerWTP.load(path)


def test_a_loaded_fit_refits_with_its_own_settings(map_fit, tmp_path):
    loaded = WTPModel.load(map_fit.save(tmp_path / "fit.nc"))
    loaded.fit(stated_frame(400, 1), "map")
    pd.testing.assert_frame_equal(loaded.summary(), map_fit.summary())


# ---- files written by the previous version (today's main before this API) ------------------------------


def test_previous_version_files_load_as_complete_models():
    stated = WTPModel.load(DATA / "previous_stated.nc")
    assert type(stated) is StatedWTP
    assert stated.columns["segment"] == "segment"
    assert stated.sampler_config["draws"] == 100 and stated.sampler_config["seed"] == 7
    assert stated.model_config["segment_sd_sd"] == DEFAULT_PRIORS["segment_sd_sd"]
    # the numbers the previous version printed for this file
    assert stated.summary().median_q50.round(4).tolist() == [9.5498, 14.0112, 28.9934]
    assert len(stated.intervals.lower) == 720
    vw = WTPModel.load(DATA / "previous_van_westendorp.nc")
    assert type(vw) is VanWestendorpWTP and vw.wtp_bounds == ("expensive", "too_expensive")
    assert vw.summary().median_q50.round(4).tolist() == [10.9255, 16.2608, 32.6234]
    assert vw.price_points().shape[0] > 0
    # the bundled example posterior (written by an earlier version still)
    bundled = WTPModel.load(EXAMPLES / "team_plan_wtp.nc")
    assert bundled.sampler_config["seed"] == 20261123 and bundled.intervals is not None


# ---- compiled-model reuse ------------------------------------------------------------------------------


def _model(frame, priors=None):
    model = StatedWTP(columns={"segment": "segment"}, model_config=priors)
    intervals, _, _ = model.read(frame)
    return model.build_model(intervals, resolve_priors(priors, DEFAULT_PRIORS, intervals))


def test_same_structure_reuses_the_compiled_model_with_the_new_data():
    first, first_data = compiled_model(_model(stated_frame(100, 5)))
    count = COMPILED["count"]
    # other respondents, other answers, same segments and priors: the same compiled functions
    second, second_data = compiled_model(_model(stated_frame(130, 6)))
    assert second is first and COMPILED["count"] == count
    assert not np.array_equal(second_data["wtp_exact_weight"], first_data["wtp_exact_weight"])
    # ... and they compute the new data's log density: equal to PyMC's own for that model
    model = _model(stated_frame(130, 6))
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    logp, _ = second.logp_dlogp(x, *[second_data[n] for n in second.data_names])
    assert float(logp) == pytest.approx(float(model.compile_logp()(point)), rel=1e-12)
    # other priors or other segments: another model
    # (either may have been compiled by an earlier test of this process: compare objects, not the count)
    third, _ = compiled_model(_model(stated_frame(100, 5), {"segment_sd_sd": 0.2}))
    three = {"A": TRUTH["A"], "B": TRUTH["B"], "C": (np.log(60.0), 0.4)}
    fourth, _ = compiled_model(_model(stated_frame(100, 5, three)))
    assert len({id(first), id(third), id(fourth)}) == 3
    count = COMPILED["count"]
    assert compiled_model(_model(stated_frame(120, 8, three)))[0] is fourth and COMPILED["count"] == count


def test_a_warm_fit_compiles_nothing(map_fit):
    count = COMPILED["count"]
    again = StatedWTP(columns={"segment": "segment"})
    again.fit(stated_frame(300, 2), "map", **QUICK)
    assert COMPILED["count"] == count
    assert again.summary().loc["B", "median_q50"] == pytest.approx(90.0, rel=0.1)
    assert wtp_summary(again.idata).shape == (2, 8)


# ---- the choice model in the same API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def choice_map():
    from pricing.wtp.choice import ChoiceColumns, ChoiceModel

    columns = ChoiceColumns(
        id="id",
        task="task",
        alt="alt",
        choice="choice",
        price="price",
        attributes=("storage", "speed", "colour"),
        none_alt="none",
        segment="segment",
    )
    model = ChoiceModel(columns=columns, sampler_config={"draws": 200, "chains": 2, "seed": 4})
    model.fit(EXAMPLES / "conjoint_example.csv", "map")
    return model


def test_a_loaded_choice_fit_is_complete(choice_map, tmp_path):
    from pricing.wtp.choice import ChoiceModel
    from pricing.wtp.choice_report import starter_scenario

    tasks = pd.read_csv(EXAMPLES / "conjoint_example.csv")[["id", "task"]].drop_duplicates()
    assert choice_map.idata.constant_data.sizes["task"] == len(tasks)
    loaded = WTPModel.load(choice_map.save(tmp_path / "cbc.nc"))
    assert type(loaded) is ChoiceModel and loaded.options() == choice_map.options()
    assert loaded.model_config == choice_map.model_config
    assert loaded.sampler_config == choice_map.sampler_config
    pd.testing.assert_frame_equal(loaded.result.share_check(seed=2), choice_map.result.share_check(seed=2))
    pd.testing.assert_frame_equal(loaded.result.wtp_summary(), choice_map.result.wtp_summary())
    assert starter_scenario(loaded.result) == starter_scenario(choice_map.result)
    assert loaded.report() == choice_map.report()
    with pytest.raises(DataError, match="is a 'choice' fit, not stated"):
        StatedWTP.load(tmp_path / "cbc.nc")


def test_a_choice_fits_inference_data_is_built_when_asked_for_from_its_groups(choice_map):
    fit = choice_map.result
    assert fit.group_names() == ["posterior", "constant_data"]
    idata = choice_map.idata
    assert idata is choice_map.idata is fit.idata  # built once, then kept
    assert idata.groups() == ["posterior", "constant_data"]
    assert idata.posterior is fit.posterior and idata.constant_data is fit.groups["constant_data"]
    assert idata.posterior.attrs["model_type"] == "choice" and idata.posterior.attrs["fit_method"] == "map"
    np.testing.assert_array_equal(idata.posterior["theta"].values, fit.groups["posterior"]["theta"].values)


def test_a_choice_map_fit_its_read_outs_and_its_file_do_not_import_arviz(choice_map, tmp_path):
    import subprocess
    import sys

    # ArviZ's import (~2 s: matplotlib, scipy.stats) is more than the whole map fit: the CLI's map fit
    # and its JSON and text read-outs and its file must not need it; the numbers are those of the fit in
    # this process, and the file loads as that fit
    script = (
        "import contextlib, io, json, sys; from pricing.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out): code = main(sys.argv[1:])\n"
        "text = io.StringIO()\n"
        "with contextlib.redirect_stdout(text): main([a for a in sys.argv[1:] if a != '--json'])\n"
        "print(json.dumps({'code': code, 'fit': json.loads(out.getvalue()), 'text': text.getvalue(), "
        "'arviz': 'arviz' in sys.modules, 'matplotlib': 'matplotlib' in sys.modules}))"
    )
    roles = ["--id", "id", "--task", "task", "--alt", "alt", "--choice", "choice", "--price", "price"]
    roles += ["--attributes", "storage,speed,colour", "--none-alt", "none", "--segment", "segment"]
    settings = ["--method", "map", "--draws", "200", "--chains", "2", "--seed", "4", "--json"]
    settings += ["--output", str(tmp_path / "map.nc")]
    done = subprocess.run(
        [sys.executable, "-c", script, "fit", "choice", str(EXAMPLES / "conjoint_example.csv")]
        + roles
        + settings,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0 and not result["arviz"] and not result["matplotlib"]
    expected = choice_map.to_json()
    assert (
        result["fit"]["wtp"] == expected["wtp"] and result["fit"]["coefficients"] == expected["coefficients"]
    )
    assert result["fit"]["log_likelihood"] == expected["log_likelihood"]
    assert choice_map.report() in result["text"]
    loaded = WTPModel.load(tmp_path / "map.nc")
    assert loaded.to_json() == expected and loaded.idata.groups() == ["posterior", "constant_data"]


def test_a_warm_choice_map_fit_compiles_nothing(choice_map):
    count = COMPILED["count"]
    again = type(choice_map)(columns=choice_map.columns, sampler_config=choice_map.sampler_config)
    assert again.fit(EXAMPLES / "conjoint_example.csv", "map") is again  # fit returns the model
    assert COMPILED["count"] == count
    pd.testing.assert_frame_equal(again.result.wtp_summary(), choice_map.result.wtp_summary())


def test_a_previous_version_choice_file_loads_and_says_how_to_refit():
    from pricing.wtp.choice import ChoiceModel
    from pricing.wtp.choice_report import starter_scenario

    old = WTPModel.load(DATA / "previous_choice.nc")
    assert type(old) is ChoiceModel and old.columns.attributes == ("storage", "speed", "colour")
    assert old.sampler_config["draws"] == 200 and old.result.wtp_summary().shape[0] == 8
    for check in (old.result.share_check, lambda: starter_scenario(old.result)):
        with pytest.raises(DataError, match=r"refit it with `pricing fit choice \.\.\. --output FILE`"):
            check()


def test_choice_options_are_options_errors():
    from pricing.wtp.choice import ChoiceModel

    columns = {"id": "id", "task": "t", "alt": "a", "choice": "c", "price": "p", "attributes": ["x"]}
    with pytest.raises(OptionsError, match=r"priors: unknown key 'beta'"):
        ChoiceModel(model_config={"beta": {}}, columns=columns)
    with pytest.raises(OptionsError, match="columns: a choice model needs its column roles"):
        ChoiceModel()
    with pytest.raises(OptionsError, match=r"time_budget: must be seconds"):
        ChoiceModel(columns=columns, sampler_config={"time_budget": -1})
    with pytest.raises(OptionsError, match=r"space: 'utility' is not one of"):
        ChoiceModel(columns=columns, space="utility")
