"""Scenario zips: a survey-based scenario packed with its posterior opens anywhere with the same numbers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pricing import analysis
from pricing.bundle import SCENARIO_NAME, pack_scenario, scenario_files, unpack_scenario
from pricing.errors import DataError, ScenarioError
from pricing.scenario import (
    dump_scenario,
    load_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
    with_changes,
)
from pricing.simulate import simulate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def survey_scenario():
    return with_changes(load_scenario(SCENARIOS / "team_plan_survey.yaml"), {"market.draws": 200})


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_packed_survey_scenario_reopens_elsewhere_with_the_same_numbers(survey_scenario, tmp_path):
    assert set(scenario_files(survey_scenario)) == {"data/team_plan_wtp.nc"}
    packed = pack_scenario(survey_scenario)
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert sorted(archive.namelist()) == ["data/team_plan_wtp.nc", SCENARIO_NAME]
        assert archive.read("data/team_plan_wtp.nc") == (SCENARIOS / "data/team_plan_wtp.nc").read_bytes()
    assert pack_scenario(survey_scenario) == packed  # the same scenario packs to the same bytes
    reopened = unpack_scenario(packed, tmp_path)
    assert reopened == survey_scenario and reopened.base_dir == tmp_path
    before = analysis.variant_summary(simulate(survey_scenario))
    after = analysis.variant_summary(simulate(reopened))
    assert np.array_equal(before["profit_mean"].values, after["profit_mean"].values)


def test_load_scenario_opens_a_zip_and_files_of_two_folders_with_one_name_both_go_in(
    survey_scenario, tmp_path
):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "team_plan_wtp.nc").write_bytes((SCENARIOS / "data/team_plan_wtp.nc").read_bytes())
    data = scenario_to_dict(survey_scenario)
    data["segments"][0]["wtp"]["file"] = str(SCENARIOS / "data/team_plan_wtp.nc")  # absolute
    data["segments"][1]["wtp"]["file"] = "elsewhere/team_plan_wtp.nc"  # relative, same file name
    yaml_path = tmp_path / "two.yaml"
    save_scenario(scenario_from_dict(data), yaml_path)
    scenario = load_scenario(yaml_path)
    assert len(scenario_files(scenario)) == 2
    bundle = tmp_path / "two.zip"
    bundle.write_bytes(pack_scenario(scenario))
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == [
            "data/2-team_plan_wtp.nc",
            "data/team_plan_wtp.nc",
            SCENARIO_NAME,
        ]
    reopened = load_scenario(bundle)
    assert [s.wtp.file for s in reopened.segments[:2]] == [
        "data/team_plan_wtp.nc",
        "data/2-team_plan_wtp.nc",
    ]
    before = analysis.variant_summary(simulate(scenario, draws=50))
    after = analysis.variant_summary(simulate(reopened, draws=50))
    assert np.array_equal(before["share_mean"].values, after["share_mean"].values)


def test_packing_names_a_missing_file(survey_scenario, tmp_path):
    moved = tmp_path / "moved.yaml"
    moved.write_text(dump_scenario(survey_scenario))
    with pytest.raises(DataError, match=r"data/team_plan_wtp.nc: file not found"):
        pack_scenario(load_scenario(moved))


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ({"a.yaml": b"x", "../evil.csv": b"x"}, r"\.\./evil\.csv: a path outside"),
        ({"a.yaml": b"x", "/etc/evil": b"x"}, r"/etc/evil: a path outside"),
        ({"a.yaml": b"x", "data\\evil.csv": b"x"}, r"a path outside"),
        ({"notes.txt": b"x"}, r"one scenario \(\.yaml\) file at its top level \(found: none\)"),
        ({"a.yaml": b"x", "b.yml": b"x"}, r"\(found: a\.yaml, b\.yml\)"),
        ({"a.yaml": b"schema_version: 1\nname: [unclosed"}, r"^a\.yaml: line"),
    ],
)
def test_bad_zips_are_refused_with_the_member_named(members, problem, tmp_path):
    with pytest.raises(ScenarioError, match=problem):
        unpack_scenario(zip_of(members), tmp_path)
    assert not (tmp_path.parent / "evil.csv").exists()


def test_links_and_non_zips_are_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.yaml", b"x")
        link = zipfile.ZipInfo("data/link")
        link.external_attr = (0o120777) << 16  # a symbolic link
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ScenarioError, match="data/link: a link"):
        unpack_scenario(buffer.getvalue(), tmp_path)
    with pytest.raises(ScenarioError, match="not a zip file"):
        unpack_scenario(b"schema_version: 1", tmp_path)


def test_sizes_are_bounded(tmp_path, monkeypatch):
    import pricing.bundle as bundle

    monkeypatch.setattr(bundle, "MAX_UNPACKED_BYTES", 1000)
    bomb = zip_of({"a.yaml": b"0" * 5000})  # compresses to a few bytes
    assert len(bomb) < 1000
    with pytest.raises(ScenarioError, match="unpacks to 5,000 bytes; the limit is 1,000"):
        unpack_scenario(bomb, tmp_path)
    monkeypatch.setattr(bundle, "MAX_MEMBERS", 2)
    with pytest.raises(ScenarioError, match="holds 3 files; the limit is 2"):
        unpack_scenario(zip_of({"a.yaml": b"", "b": b"", "c": b""}), tmp_path)
