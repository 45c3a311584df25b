"""Scenario files: validation messages, safe YAML, round trips, atomic saves, edits and the JSON Schema."""

import copy
import math
import os
from pathlib import Path
from statistics import NormalDist

import jsonschema
import pydantic
import pytest
import yaml
from conftest import EXAMPLE_FILES, small_scenario_dict

from pricing import io as pricing_io
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import (
    MAX_FILE_BYTES,
    dump_scenario,
    json_schema,
    load_scenario,
    parse_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_hash,
    with_changes,
)


def problems(source) -> list[str]:
    """The problems a scenario file's content raises (it must raise a ScenarioError)."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(source)
    error = caught.value
    assert isinstance(error, PricingError)
    for problem in error.problems:
        assert "\n" not in problem and "Traceback" not in problem, problem
    assert "\n" not in str(error)
    return error.problems


def changed(mutate) -> str:
    """YAML text of the small scenario after `mutate(data)` edits its plain data in place."""
    data = small_scenario_dict()
    mutate(data)
    return yaml.safe_dump(data, sort_keys=False)


def test_small_scenario_is_valid():
    scenario = parse_scenario(changed(lambda d: None))
    assert scenario.our_offering.name == "Ours"
    assert scenario.attribute_names == ["speed", "warranty"]


# ---- malformed files: each gets one line per problem naming the field, never a traceback -------------

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""


def _set(path, value):
    """A mutation setting data[path...] = value (path: keys and list indices)."""

    def mutate(data):
        node = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(data):
        node = data
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return mutate


MALFORMED = {
    # name: (file content, a fragment the message must contain)
    "empty file": ("", "file is empty"),
    "only whitespace": ("  \n\n", "file is empty"),
    "not UTF-8": (b"name: \xff\xfe caf\xe9\n", "not UTF-8"),
    "a list": ("- a\n- b\n", "must be a mapping of fields, got list"),
    "a scalar": ("42\n", "must be a mapping of fields, got int"),
    "a string": ("hello\n", "must be a mapping of fields, got str"),
    "too large": (b"#" * (MAX_FILE_BYTES + 1), "limited to 1,000,000"),
    "deeply nested": ("schema_version: 1\nname: " + "[" * 60 + "]" * 60 + "\n", "nested deeper than"),
    "very deeply nested": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested deeper than"),
    "billion laughs": (BILLION_LAUGHS, "aliases"),
    "duplicate key": (changed(lambda d: None) + "name: again\n", "duplicate key 'name'"),
    "python object tag": ("!!python/object/apply:os.system ['echo pwned']\n", "python/object"),
    "python name tag": (
        changed(lambda d: None).replace("name: small", "name: !!python/name:os.system ''"),
        "python/name",
    ),
    "not YAML": ("schema_version: 1\nname: [unclosed\n", "not valid YAML"),
    "NUL character": ("schema_version: 1\nname: a\x00b\n", "not valid YAML"),
    "non-text key": ("schema_version: 1\n3: x\n", "key 3 must be text"),
    "schema_version 3": (changed(_set(["schema_version"], 3)), "schema_version: 3 is not supported"),
    "schema_version text": (changed(_set(["schema_version"], "1")), "schema_version: '1' is not supported"),
    "schema_version true": (changed(_set(["schema_version"], True)), "schema_version: True is not supported"),
    "schema_version 1.0": (changed(_set(["schema_version"], 1.0)), "schema_version: 1.0 is not supported"),
    "schema_version missing": (changed(_delete(["schema_version"])), "schema_version: None is not supported"),
    "NaN price": (
        changed(_set(["offerings", 0, "price"], math.nan)),
        "offerings[0].price: Input should be a finite",
    ),
    "inf size": (
        changed(_set(["segments", 1, "size"], math.inf)),
        "segments[1].size: Input should be a finite",
    ),
    "1e400 price": (
        changed(lambda d: None).replace("price: 45.0", "price: 1e400"),
        "offerings[0].price: Input should be a finite",
    ),
    "1.0e+400 level": (
        changed(lambda d: None).replace("speed: 6", "speed: 1.0e+400"),
        "offerings[0].levels.speed: Input should be a finite",
    ),
    "10**400 size": (changed(_set(["segments", 0, "size"], 10**400)), "segments[0].size:"),
    "10**400 level": (
        changed(_set(["offerings", 1, "levels", "speed"], 10**400)),
        "offerings[1].levels.speed:",
    ),
    "huge price": (
        changed(_set(["offerings", 1, "price"], 1e300)),
        "offerings[1].price: Input should be less",
    ),
    "unknown top-level field": (changed(_set(["colour"], "red")), "colour: unknown field"),
    "unknown nested field": (
        changed(_set(["segments", 0, "wtp", "mean"], 3)),
        "segments[0].wtp.mean: unknown field",
    ),
    "unknown attribute in an offering": (
        changed(_set(["offerings", 1, "levels", "colour"], 3)),
        "offerings[1].levels.colour: unknown attribute (known: speed, warranty)",
    ),
    "unknown attribute in a variant": (
        changed(_set(["variants", 1, "levels", "sped"], 9)),
        "variants[1].levels.sped: unknown attribute",
    ),
    "unknown attribute in expectations": (
        changed(_set(["segments", 0, "expectations", "colour"], 1)),
        "segments[0].expectations.colour: unknown attribute",
    ),
    "negative size": (
        changed(_set(["segments", 0, "size"], -5)),
        "segments[0].size: Input should be greater",
    ),
    "text size": (changed(_set(["segments", 0, "size"], "lots")), "segments[0].size:"),
    "missing price": (
        changed(_delete(["offerings", 1, "price"])),
        "offerings[1].price: required field is missing",
    ),
    "zero price": (
        changed(_set(["offerings", 0, "price"], 0)),
        "offerings[0].price: Input should be greater",
    ),
    "no offering of ours": (
        changed(_set(["offerings", 0, "owner"], "competitor")),
        "offerings: exactly one offering must have owner 'us' (found 0)",
    ),
    "two offerings of ours": (
        changed(_set(["offerings", 1, "owner"], "us")),
        "offerings: exactly one offering must have owner 'us' (found 2)",
    ),
    "bad owner": (changed(_set(["offerings", 1, "owner"], "")), "offerings[1].owner:"),
    "duplicate segment names": (
        changed(_set(["segments", 1, "name"], "budget")),
        "segments[1].name: duplicate name 'budget'",
    ),
    "duplicate variant names": (
        changed(_set(["variants", 1, "name"], "base")),
        "variants[1].name: duplicate name 'base'",
    ),
    "low >= high": (
        changed(_set(["segments", 1, "wtp"], {"low": 110.0, "high": 50.0})),
        "segments[1].wtp: low (110) must be below high (50)",
    ),
    "low == high": (
        changed(_set(["segments", 1, "wtp"], {"low": 50.0, "high": 50.0})),
        "segments[1].wtp: low (50) must be below high (50)",
    ),
    "median without spread": (
        changed(_set(["segments", 0, "wtp"], {"median": 40.0})),
        "segments[0].wtp: median and spread go together",
    ),
    "low without high": (
        changed(_set(["segments", 0, "wtp"], {"low": 40.0})),
        "segments[0].wtp: low and high",
    ),
    "both parametrisations": (
        changed(_set(["segments", 0, "wtp"], {"median": 40.0, "spread": 0.3, "low": 20.0, "high": 60.0})),
        "segments[0].wtp: give either median and spread, or low and high",
    ),
    "no segments": (changed(_set(["segments"], [])), "segments: Tuple should have at least 1 item"),
    "segments not a list": (changed(_set(["segments"], 5)), "segments:"),
    "unknown kano": (changed(_set(["attributes", 0, "kano"], "delightful")), "attributes[0].kano:"),
    "unknown choice rule": (changed(_set(["market", "choice_rule"], "probit")), "market.choice_rule:"),
    "price grid reversed": (
        changed(_set(["market", "price_grid"], {"min": 90, "max": 20})),
        "market.price_grid: min (90) must be below max (20)",
    ),
    "too many draws": (changed(_set(["market", "draws"], 10**6)), "market.draws: Input should be less"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_scenario_is_one_line_per_problem_naming_the_field(case):
    content, fragment = MALFORMED[case]
    found = problems(content)
    assert any(fragment in p for p in found), found


def test_many_problems_are_all_reported():
    def mutate(data):
        data["segments"][0]["size"] = -1
        del data["offerings"][1]["price"]
        data["market"]["draws"] = 0

    found = problems(changed(mutate))
    assert [p.split(":")[0] for p in found] == ["segments[0].size", "offerings[1].price", "market.draws"]


def test_python_tag_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    problems(f"!!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()


def test_yaml_syntax_error_names_the_line():
    found = problems("schema_version: 1\nname: ok\nsegments:\n  - name: [\n")
    assert found[0].startswith("line ")


def test_load_scenario_file_problems(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path)  # a folder
    if Path("/dev/zero").exists():  # a device reports size 0 but never ends: read no more than the limit
        with pytest.raises(ScenarioError, match="limited to"):
            load_scenario("/dev/zero")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ScenarioError, match="limited to"):
        load_scenario(big)


def test_elicited_wtp_from_a_range():
    # low/high hold the central 80% of customers: log sd = log(high / low) / (2 z_0.9), median = sqrt(lo*hi).
    scenario = scenario_from_dict(small_scenario_dict())
    wtp = scenario.segments[1].wtp
    z = NormalDist().inv_cdf(0.9)  # 1.2816
    assert wtp.log_sd == pytest.approx(math.log(110 / 50) / (2 * z))
    assert wtp.log_sd == pytest.approx(0.30762, abs=1e-5)
    assert math.exp(wtp.log_median) == pytest.approx(math.sqrt(50 * 110))


def test_price_grid_includes_the_current_price():
    data = small_scenario_dict()
    data["offerings"][0]["price"] = 47.3  # not on the 20..90 grid of 36 steps (step 2)
    prices = scenario_from_dict(data).price_grid()
    assert len(prices) == 37 and 47.3 in prices
    assert prices == sorted(prices) and prices[0] == 20 and prices[-1] == 90
    del data["market"]["price_grid"]
    prices = scenario_from_dict(data).price_grid()
    # default: 50%..150% of the current price in 61 steps; the current price is the middle step.
    assert len(prices) == 61
    assert prices[0] == pytest.approx(0.5 * 47.3) and prices[-1] == pytest.approx(1.5 * 47.3)


def test_scenarios_are_immutable(small_scenario):
    with pytest.raises(pydantic.ValidationError):
        small_scenario.name = "changed"


# ---- round trip, atomic save ---------------------------------------------------------------------------


def test_examples_exist():
    assert len(EXAMPLE_FILES) >= 3


def test_round_trip_of_every_example(example_path, tmp_path):
    scenario = load_scenario(example_path)
    copy_path = tmp_path / "copy.yaml"
    save_scenario(scenario, copy_path)
    again = load_scenario(copy_path)
    assert again == scenario
    assert scenario_hash(again) == scenario_hash(scenario)
    assert parse_scenario(dump_scenario(again)) == scenario


def test_hash_changes_with_content(small_scenario):
    changed_scenario = with_changes(small_scenario, {"offerings[Rival].price": 41.0})
    assert scenario_hash(changed_scenario) != scenario_hash(small_scenario)
    assert scenario_hash(with_changes(small_scenario, {})) == scenario_hash(small_scenario)


def test_failed_save_leaves_the_old_file_intact(small_scenario, tmp_path, monkeypatch):
    path = tmp_path / "scenario.yaml"
    save_scenario(small_scenario, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pricing_io.os, "fsync", crash)
    with pytest.raises(PricingError, match="No space left"):
        save_scenario(with_changes(small_scenario, {"name": "other"}), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["scenario.yaml"]  # no temporary file left behind
    monkeypatch.undo()
    save_scenario(with_changes(small_scenario, {"name": "other"}), path)
    assert load_scenario(path).name == "other"


# ---- edits ---------------------------------------------------------------------------------------------


def test_with_changes_by_name_and_index(small_scenario):
    edited = with_changes(
        small_scenario,
        {
            "offerings[Rival].price": 35.0,
            "segments[0].wtp.median": 42.0,
            "segments[premium].logit_scale": 6.0,
            "variants[-1].fixed_cost": 10.0,
            "market.draws": 20,
            "market.price_grid.steps": 11,
        },
    )
    assert edited.offerings[1].price == 35.0
    assert edited.segments[0].wtp.median == 42.0
    assert edited.segments[1].logit_scale == 6.0
    assert edited.variants[1].fixed_cost == 10.0
    assert edited.market.draws == 20 and edited.market.price_grid.steps == 11
    assert small_scenario.offerings[1].price == 40.0  # the original is untouched
    # a new nested group is created when it was unset
    data = small_scenario_dict()
    del data["market"]["price_grid"]
    edited = with_changes(scenario_from_dict(data), {"market.price_grid": {"min": 10, "max": 20}})
    assert edited.price_grid()[0] == 10


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"offerings[Nope].price": 1}, "offerings.Nope: no item named 'Nope' (known: Ours, Rival)"),
        ({"segments[5].size": 1}, "segments.5: index out of range (there are 2)"),
        ({"market.draws.x": 1}, "market.draws.x: market.draws is a value, not a group of fields"),
        ({"market.draws": 0}, "market.draws: Input should be greater than or equal to 1"),
        ({"market.drawz": 10}, "market.drawz: unknown field"),
        ({"segments[0].wtp.median": -5}, "segments[0].wtp.median: Input should be greater than 0"),
        ({"": 1}, "empty path"),
    ],
)
def test_with_changes_errors(small_scenario, changes, fragment):
    with pytest.raises(ScenarioError) as caught:
        with_changes(small_scenario, changes)
    assert any(fragment in p for p in caught.value.problems), caught.value.problems


# ---- JSON Schema ---------------------------------------------------------------------------------------


def test_json_schema_validates_every_example():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in EXAMPLE_FILES:
        validator.validate(yaml.safe_load(path.read_text()))
    validator.validate(small_scenario_dict())


def test_json_schema_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft202012Validator(json_schema())
    for mutate in (
        _set(["colour"], "red"),
        _set(["segments", 0, "size"], -1),
        _set(["market", "choice_rule"], "probit"),
        _delete(["offerings", 0, "price"]),
        _set(["schema_version"], 3),
    ):
        data = copy.deepcopy(small_scenario_dict())
        mutate(data)
        assert not validator.is_valid(data)


def test_json_schema_documents_fields():
    schema = json_schema()
    segment = schema["$defs"]["Segment"]["properties"]
    assert "Price sensitivity" in segment["logit_scale"]["description"]
    assert schema["title"] == "pricing scenario"


@pytest.mark.parametrize("script", ["make_data", "make_voice_data"])
def test_the_bundled_survey_data_is_what_its_script_makes(script, tmp_path, monkeypatch):
    """scenarios/data's CSVs are made by scripts from known parameters: rerun, they give the same bytes."""
    import importlib

    folder = Path(__file__).parents[1] / "scenarios" / "data"
    monkeypatch.syspath_prepend(str(folder))
    importlib.import_module(script).write_surveys(tmp_path)
    made = sorted(tmp_path.glob("*.csv"))
    assert len(made) == {"make_data": 3, "make_voice_data": 2}[script]
    for path in made:
        assert path.read_bytes() == (folder / path.name).read_bytes(), path.name
