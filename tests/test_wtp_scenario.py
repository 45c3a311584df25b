"""Scenario schema 2 and the one path from posteriors into the simulation (`posterior_parameters`).

Segment WTP from a saved posterior or survey data, `logit_scale` and `value_per_unit` pointing to a
posterior, the migration of version-1 files, and the app's "use this fit" (`pricing.bundle.with_fit`).
"""

import shutil
from pathlib import Path

import arviz as az
import numpy as np
import pytest

from pricing import analysis, bundle, cli
from pricing.errors import DataError, ScenarioError
from pricing.scenario import (
    PosteriorRef,
    PosteriorWTP,
    json_schema,
    load_scenario,
    parse_scenario,
    scenario_hash,
    with_changes,
)
from pricing.simulate import segment_parameters, simulate
from pricing.wtp import parameters as path_module
from pricing.wtp import posterior_parameters, posterior_requests, scenario_with_fit
from pricing.wtp.posterior import attach_metadata, load_posterior, save_posterior

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "team_plan_survey.yaml"
POSTERIOR = ROOT / "scenarios" / "data" / "team_plan_wtp.nc"


def choice_fit(segments=("all",), attributes=("quality", "speed"), chains=2, draws=100, wtp=True, seed=0):
    """Seeded synthetic draws of a conjoint posterior in which value_per_unit = (2, 3) x logit_scale and
    wtp_log_sd = logit_scale / 10 in every draw, so joint draws are checkable exactly."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws, len(segments))
    scale = np.exp(0.3 * rng.standard_normal(shape))
    posterior = {
        "logit_scale": scale,
        "value_per_unit": scale[..., None] * np.array([2.0, 3.0])[: len(attributes)],
    }
    dims = {"logit_scale": ["segment"], "value_per_unit": ["segment", "attribute"]}
    if wtp:
        posterior["wtp_log_median"] = np.log(20.0) + 0.1 * rng.standard_normal(shape)
        posterior["wtp_log_sd"] = scale / 10
        dims |= {"wtp_log_median": ["segment"], "wtp_log_sd": ["segment"]}
    idata = az.from_dict(
        posterior=posterior, coords={"segment": list(segments), "attribute": list(attributes)}, dims=dims
    )
    return attach_metadata(
        idata, method="choice", columns={}, data_sha256="0" * 64, priors={}, diagnostics={"ok": True}
    )


def scenario_text(wtp: str, version: int = 2, segment: str = "") -> str:
    return f"""
schema_version: {version}
name: survey
attributes: [{{name: quality}}, {{name: speed}}]
segments:
  - {{name: all, size: 100, logit_scale: 2.0, wtp: {wtp}, value_per_unit: {{quality: 1.0}}{segment}}}
offerings:
  - {{name: ours, owner: us, price: 10, levels: {{quality: 1}}}}
  - {{name: theirs, price: 9}}
"""


def write(tmp_path, text: str, fit=None) -> Path:
    if fit is not None:
        save_posterior(fit, tmp_path / "fit.nc")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


# ---- the bundled example -------------------------------------------------------------------------------


def test_example_segments_take_the_posterior_draws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths resolve against the scenario file, not the working folder
    scenario = load_scenario(EXAMPLE)
    assert [s.wtp.source for s in scenario.segments] == ["posterior", "posterior", "elicited"]
    parameters = segment_parameters(scenario, 600, np.random.default_rng(0))
    posterior = load_posterior(POSTERIOR).posterior
    for column, name in ((0, "Startups"), (1, "SMB")):
        stored = posterior["wtp_log_median"].sel(segment=name).values.reshape(-1)
        drawn = parameters["wtp_log_median"][:, column]
        assert np.isin(drawn, stored).all()  # every draw is one of the posterior's draws
        assert abs(drawn.mean() - stored.mean()) < 0.01
        # median and spread come from the same posterior draw
        spread = posterior["wtp_log_sd"].sel(segment=name).values.reshape(-1)
        index = [int(np.flatnonzero(stored == v)[0]) for v in drawn[:20]]
        np.testing.assert_array_equal(parameters["wtp_log_sd"][:20, column], spread[index])
    # both segments of the one fit take the same draw: their joint posterior is kept
    smb = posterior["wtp_log_median"].sel(segment="SMB").values.reshape(-1)
    startups = posterior["wtp_log_median"].sel(segment="Startups").values.reshape(-1)
    index = [int(np.flatnonzero(startups == v)[0]) for v in parameters["wtp_log_median"][:20, 0]]
    np.testing.assert_array_equal(parameters["wtp_log_median"][:20, 1], smb[index])
    # Enterprise keeps its elicited WTP: low 18, high 40 -> median sqrt(18 x 40)
    assert abs(np.exp(parameters["wtp_log_median"][:, 2].mean()) - np.sqrt(18 * 40)) < 1.0
    results = simulate(scenario, draws=100)
    share = results["share"].sel(segment="Startups", variant="meets expectations").isel(offering=0)
    assert float(share.std("draw").max()) > 0  # the survey's uncertainty reaches the results


def test_same_seed_same_draws_and_with_changes_keeps_the_folder(tmp_path, monkeypatch):
    scenario = load_scenario(EXAMPLE)
    first = segment_parameters(scenario, 300, np.random.default_rng(5))
    again = segment_parameters(scenario, 300, np.random.default_rng(5))
    np.testing.assert_array_equal(first["wtp_log_median"], again["wtp_log_median"])
    monkeypatch.chdir(tmp_path)
    changed = with_changes(scenario, {"market.draws": 50})
    assert changed.base_dir == EXAMPLE.parent
    assert segment_parameters(changed, 10, np.random.default_rng(0))["wtp_log_median"].shape == (10, 3)


# ---- schema 2 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wtp", "message"),
    [
        ("{source: fitted, file: fit.nc}", r"wtp: source must be elicited .* \(got 'fitted'\)"),
        ("{source: posterior}", "wtp.file: required field is missing"),
        ("{source: posterior, file: fit.nc, median: 10}", "wtp.median: unknown field"),
        ("{source: data, file: s.csv}", "wtp.method: required field is missing"),
        ("{source: data, file: s.csv, method: conjoint}", "wtp.method: Input should be 'stated'"),
        ("{median: 10, spread: 0.3, method: stated}", "wtp.method: unknown field"),
        ("{source: posterior, file: fit.nc, columns: {segment: region}}", "wtp.columns: unknown field"),
        ("{median: -1, spread: 0.3}", r"wtp.median: Input should be greater than 0"),
        ("{source: elicited}", "give either median and spread, or low and high"),
    ],
)
def test_schema_errors_name_the_field(wtp, message):
    with pytest.raises(ScenarioError, match=message) as error:
        parse_scenario(scenario_text(wtp))
    assert error.value.problems[0].startswith("segments[0].wtp"), error.value.problems
    assert len(error.value.problems) == 1  # one problem, not one per member of the union


def test_numbers_may_point_to_a_posterior_and_say_what_is_wrong():
    scenario = parse_scenario(
        scenario_text("{median: 10, spread: 0.3}")
        .replace("logit_scale: 2.0", "logit_scale: {posterior: fit.nc}")
        .replace("{quality: 1.0}", "{quality: {posterior: fit.nc, attribute: q}, speed: 2}")
    )
    segment = scenario.segments[0]
    assert segment.logit_scale == PosteriorRef(posterior="fit.nc")
    assert segment.value_per_unit["quality"].attribute == "q" and segment.value_per_unit["speed"] == 2.0
    assert segment.posterior_files() == ["fit.nc", "fit.nc"]
    with pytest.raises(ScenarioError) as error:
        parse_scenario(
            scenario_text("{median: 10, spread: 0.3}").replace("2.0", "{posterior: a.nc, file: x}")
        )
    assert error.value.problems == [
        "segments[0].logit_scale.file: unknown field (check its spelling and indentation)"
    ]
    with pytest.raises(ScenarioError, match="logit_scale.attribute: goes with value_per_unit only"):
        parse_scenario(
            scenario_text("{median: 10, spread: 0.3}").replace("2.0", "{posterior: a.nc, attribute: q}")
        )


def test_json_schema_describes_version_2():
    schema = json_schema()
    assert schema["properties"]["schema_version"]["const"] == 2
    segment = schema["$defs"]["Segment"]["properties"]
    wtp_types = {ref["$ref"].rsplit("/", 1)[1] for ref in segment["wtp"]["oneOf"]}
    assert wtp_types == {"ElicitedWTP", "PosteriorWTP", "SurveyWTP"}
    assert {"$ref": "#/$defs/PosteriorRef"} in segment["logit_scale"]["oneOf"]


# ---- version 1 ------------------------------------------------------------------------------------------


def test_version_1_files_open_migrated_and_save_as_2(tmp_path):
    shutil.copy(POSTERIOR, tmp_path / "fit.nc")
    v1 = write(tmp_path, scenario_text("{posterior: fit.nc, segment: SMB}", version=1))
    scenario = load_scenario(v1)
    assert scenario.segments[0].wtp == PosteriorWTP(source="posterior", file="fit.nc", segment="SMB")
    v2 = tmp_path / "v2.yaml"
    assert cli.main(["migrate", str(v1), "--output", str(v2)]) == 0
    assert "schema_version: 2" in v2.read_text() and "source: posterior" in v2.read_text()
    assert scenario_hash(load_scenario(v2)) == scenario_hash(scenario)
    a = segment_parameters(scenario, 50, np.random.default_rng(1))
    b = segment_parameters(load_scenario(v2), 50, np.random.default_rng(1))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert cli.main(["migrate", str(v1)]) == 0  # in place
    assert v1.read_text() == v2.read_text()
    assert cli.main(["migrate", str(v1)]) == 0  # already 2: the same content
    assert v1.read_text() == v2.read_text()
    # survey data: data -> file, method and columns kept
    data = parse_scenario(scenario_text("{data: s.csv, method: stated, columns: {amount: wtp}}", version=1))
    assert (data.segments[0].wtp.source, data.segments[0].wtp.file) == ("data", "s.csv")
    assert data.segments[0].wtp.columns == {"amount": "wtp"}


def test_a_version_1_conjoint_wtp_keeps_taking_its_price_scale_and_values(tmp_path):
    """In version 1 a conjoint posterior as WTP also gave logit_scale and the values of the attributes it
    knows; the migration writes them as references, so the numbers do not change."""
    path = write(
        tmp_path, scenario_text("{posterior: fit.nc}", version=1), choice_fit(attributes=("quality",))
    )
    segment = load_scenario(path).segments[0]
    assert segment.logit_scale == PosteriorRef(posterior="fit.nc")
    assert segment.value_per_unit == {"quality": PosteriorRef(posterior="fit.nc")}


def test_migrate_reports_an_invalid_file_and_leaves_it(tmp_path, capsys):
    path = write(tmp_path, scenario_text("{posterior: fit.nc, median: 3}", version=1))
    before = path.read_text()
    assert cli.main(["migrate", str(path)]) == 2
    assert "segments[0].wtp.median: unknown field" in capsys.readouterr().err
    assert path.read_text() == before
    assert cli.main(["migrate", str(tmp_path / "none.yaml")]) == 2


# ---- the one path ---------------------------------------------------------------------------------------


def test_one_fit_gives_wtp_price_scale_and_values_from_the_same_draw(tmp_path):
    text = scenario_text("{source: posterior, file: fit.nc}").replace(
        "logit_scale: 2.0", "logit_scale: {posterior: fit.nc}"
    )
    text = text.replace("{quality: 1.0}", "{quality: {posterior: fit.nc}, speed: {posterior: fit.nc}}")
    scenario = load_scenario(write(tmp_path, text, choice_fit()))
    assert [(r.target, r.index) for r in posterior_requests(scenario)] == [
        ("wtp_log_median", (0,)),
        ("wtp_log_sd", (0,)),
        ("logit_scale", (0,)),
        ("value_per_unit", (0, 0)),
        ("value_per_unit", (0, 1)),
    ]
    drawn = segment_parameters(scenario, 333, np.random.default_rng(2))
    scale = drawn["logit_scale"][:, 0]
    np.testing.assert_allclose(drawn["value_per_unit"][:, 0], np.c_[2 * scale, 3 * scale])
    np.testing.assert_allclose(drawn["wtp_log_sd"][:, 0], scale / 10)
    assert len(np.unique(scale)) > 150  # 333 draws out of 200 with replacement, not one repeated draw
    results = simulate(scenario, draws=40)
    np.testing.assert_allclose(
        results["value_per_unit"].values[:, 0, 1],
        3 * segment_parameters(scenario, 40, np.random.default_rng(scenario.seed))["logit_scale"][:, 0],
    )


def test_all_draws_in_order_when_the_numbers_agree_and_the_input_is_not_modified(tmp_path):
    fit = choice_fit()
    text = scenario_text("{median: 10, spread: 0.3}").replace(
        "logit_scale: 2.0", "logit_scale: {posterior: fit.nc}"
    )
    scenario = load_scenario(write(tmp_path, text, fit))
    own = {"logit_scale": np.ones((200, 1)), "wtp_log_median": np.zeros((200, 1))}
    result = posterior_parameters(scenario, own, np.random.default_rng(0))
    np.testing.assert_array_equal(
        result["logit_scale"][:, 0], fit.posterior["logit_scale"].values.reshape(-1)
    )
    assert np.all(own["logit_scale"] == 1.0) and result["wtp_log_median"] is own["wtp_log_median"]


@pytest.mark.parametrize(
    ("wtp", "extra", "message"),
    [
        ("{source: posterior, file: data/nope.nc}", "", r"segments\[0\].wtp: file 'data/nope.nc' not found"),
        (
            "{source: posterior, file: fit.nc, segment: SMB}",
            "",
            r"segments\[0\].wtp: fit.nc has no segment 'SMB'",
        ),
        ("{median: 10, spread: 0.3}", ", expectations: {speed: {posterior: fit.nc}}", "speed: Input should"),
    ],
)
def test_a_missing_file_segment_or_attribute_names_the_field(tmp_path, wtp, extra, message):
    with pytest.raises((DataError, ScenarioError), match=message):
        scenario = load_scenario(write(tmp_path, scenario_text(wtp, segment=extra), choice_fit()))
        segment_parameters(scenario, 10, np.random.default_rng(0))


def test_a_conjoint_without_wtp_cannot_be_a_wtp_source_and_an_unknown_attribute_is_named(tmp_path):
    path = write(tmp_path, scenario_text("{source: posterior, file: fit.nc}"), choice_fit(wtp=False))
    with pytest.raises(
        DataError, match=r"segments\[0\].wtp: fit.nc has no variable 'wtp_log_median'.*elicited"
    ):
        segment_parameters(load_scenario(path), 10, np.random.default_rng(0))
    text = scenario_text("{median: 10, spread: 0.3}").replace(
        "{quality: 1.0}", "{quality: {posterior: fit.nc, attribute: colour}}"
    )
    with pytest.raises(
        DataError, match=r"value_per_unit.quality: fit.nc has no attribute 'colour' \(it has quality, speed\)"
    ):
        segment_parameters(load_scenario(write(tmp_path, text)), 10, np.random.default_rng(0))


def test_a_replaced_posterior_file_is_read_again(tmp_path):
    """Saved posteriors are cached per file version: a refit written over the file must be seen."""
    shutil.copy(POSTERIOR, tmp_path / "fit.nc")
    path = write(tmp_path, scenario_text("{source: posterior, file: fit.nc, segment: SMB}"))
    before = segment_parameters(load_scenario(path), 50, np.random.default_rng(0))["wtp_log_median"]
    idata = load_posterior(POSTERIOR)
    idata.posterior["wtp_log_median"] = idata.posterior["wtp_log_median"] + 1.0  # WTP x e
    save_posterior(idata, tmp_path / "fit.nc")
    after = segment_parameters(load_scenario(path), 50, np.random.default_rng(0))["wtp_log_median"]
    np.testing.assert_allclose(after, before + 1.0)


# ---- "use this fit" -------------------------------------------------------------------------------------


def test_use_this_fit_points_the_scenario_to_it_and_the_zip_gives_the_same_numbers(tmp_path):
    saas = with_changes(load_scenario(ROOT / "scenarios" / "saas_team_plan.yaml"), {"market.draws": 80})
    fit = choice_fit(segments=("SMB", "Startups", "Elsewhere"), attributes=("support_hours", "colour"))
    changes, notes = scenario_with_fit(saas, fit, "data/fit-1.nc")
    assert notes == [
        "WTP from the fit: Startups, SMB; from the scenario: Enterprise",
        "price sensitivity from the fit: Startups, SMB",
        "value per unit from the fit: support_hours",
    ]
    attached, _ = bundle.with_fit(saas, fit, "fit-1")
    assert attached.base_dir != saas.base_dir and (attached.base_dir / "data/fit-1.nc").is_file()
    startups, smb, enterprise = attached.segments
    assert smb.wtp == PosteriorWTP(source="posterior", file="data/fit-1.nc")
    assert smb.logit_scale == PosteriorRef(posterior="data/fit-1.nc")
    assert smb.value_per_unit["support_hours"] == PosteriorRef(posterior="data/fit-1.nc")
    assert smb.value_per_unit["uptime"] == saas.segments[1].value_per_unit["uptime"]
    assert enterprise == saas.segments[2]
    drawn = segment_parameters(attached, 80, np.random.default_rng(0))
    support = attached.attribute_names.index("support_hours")
    np.testing.assert_allclose(drawn["value_per_unit"][:, 1, support], 2 * drawn["logit_scale"][:, 1])
    # packed and reopened elsewhere: the zip carries the fit, the numbers are identical
    zipped = tmp_path / "attached.zip"
    zipped.write_bytes(bundle.pack_scenario(attached))
    reopened = load_scenario(zipped)
    assert reopened.segments[1].wtp.file == "data/fit-1.nc"
    first, again = simulate(attached), simulate(reopened)
    assert np.array_equal(first["profit"].values, again["profit"].values)
    assert analysis.variant_summary(first).equals(analysis.variant_summary(again))
    with pytest.raises(DataError, match=r"none of the scenario's segments \(Startups, SMB, Enterprise\)"):
        bundle.with_fit(saas, choice_fit(segments=("Other",)), "fit-2")


@pytest.mark.slow
def test_survey_data_is_fitted_on_load_once(tmp_path):
    shutil.copy(ROOT / "scenarios" / "data" / "gabor_granger.csv", tmp_path / "gg.csv")
    path = write(
        tmp_path,
        scenario_text(
            "{source: data, file: gg.csv, method: gabor_granger, columns: {segment: segment}, segment: SMB}"
        ),
    )
    scenario = load_scenario(path)
    before = len(path_module._fits_on_load)
    parameters = segment_parameters(scenario, 200, np.random.default_rng(0))
    # make_data.py's SMB: median 14 EUR, sd of log WTP 0.35
    assert abs(np.exp(np.median(parameters["wtp_log_median"][:, 0])) - 14.0) < 1.5
    assert abs(np.median(parameters["wtp_log_sd"][:, 0]) - 0.35) < 0.08
    simulate(scenario, draws=50)
    assert len(path_module._fits_on_load) == before + 1  # fitted once, reused by the second call


def test_a_categorical_level_may_take_a_conjoint_level_and_the_zip_carries_it(tmp_path):
    fit = choice_fit(attributes=("colour=red", "speed"))
    text = scenario_text("{median: 10, spread: 0.3}").replace(
        "attributes: [{name: quality}, {name: speed}]",
        "attributes: [{name: quality}, {name: speed}, {name: colour, levels: [green, red]}]",
    )
    text = text.replace("{quality: 1.0}", "{quality: 1.0, colour: {red: {posterior: fit.nc}}}")
    scenario = load_scenario(write(tmp_path, text, fit))
    [request] = posterior_requests(scenario)
    assert request.where == "segments[0].value_per_unit.colour.red" and request.index == (0, 3)
    drawn = segment_parameters(scenario, 200, np.random.default_rng(0))
    np.testing.assert_array_equal(
        drawn["value_per_unit"][:, 0, 3], fit.posterior["value_per_unit"].values[:, :, 0, 0].reshape(-1)
    )
    assert np.all(drawn["value_per_unit"][:, 0, 2] == 0.0)  # green: the reference level
    zipped = tmp_path / "levels.zip"
    zipped.write_bytes(bundle.pack_scenario(scenario))
    again = load_scenario(zipped)
    assert again.segments[0].value_per_unit["colour"]["red"].posterior == "data/fit.nc"
    assert np.array_equal(simulate(again)["profit"].values, simulate(scenario)["profit"].values)
    with pytest.raises(ScenarioError, match="colour: give each level its value"):
        parse_scenario(text.replace("{red: {posterior: fit.nc}}", "{posterior: fit.nc}"))
