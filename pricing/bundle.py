"""A scenario and the files it points to (saved posteriors of any kind, survey data) as one zip file.

A scenario whose segments take their WTP from files is only complete with those files. `pack_scenario`
writes the scenario as ``scenario.yaml`` and each file it uses under ``data/``, with the paths in the YAML
rewritten to match, so the zip opens anywhere: `unpack_scenario` checks it (no path leaving its folder, no
links, bounded sizes) and loads the scenario from the unpacked folder, so its relative paths resolve.
`pricing.scenario.load_scenario` opens such a zip like a YAML file.
"""

from __future__ import annotations

import atexit
import io
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from pricing.errors import DataError, ScenarioError, shown
from pricing.scenario import (
    Scenario,
    confine,
    data_path,
    dump_scenario,
    file_references,
    load_scenario,
    scenario_file_fields,
    scenario_from_dict,
    scenario_to_dict,
    with_changes,
)

SCENARIO_NAME = "scenario.yaml"
DATA_FOLDER = "data"
MAX_ZIP_BYTES = 100_000_000  # the zip file itself
MAX_UNPACKED_BYTES = 500_000_000  # all members, unpacked
MAX_MEMBERS = 200
MAX_NAME_BYTES = 255  # of one folder or file name: what file systems take
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member dates: the same scenario packs to the same bytes


def scenario_files(scenario: Scenario) -> dict[str, Path]:
    """The files a scenario takes parameters from (posteriors, survey data): path as written -> file."""
    return {name: data_path(scenario, name, field) for field, name in scenario_file_fields(scenario)}


def pack_scenario(scenario: Scenario) -> bytes:
    """The scenario and every file it uses as zip bytes (raises `DataError` naming a missing file)."""
    files = scenario_files(scenario)
    renamed: dict[str, str] = {}  # path in the scenario -> path in the zip
    for written, path in files.items():
        if not path.is_file():
            raise DataError(f"{written}: file not found (looked in {path.parent}); it cannot be packed")
        name = f"{DATA_FOLDER}/{path.name}"
        number = 2
        while name in renamed.values():  # two folders' files with one name
            name, number = f"{DATA_FOLDER}/{number}-{path.name}", number + 1
        renamed[written] = name
    data = scenario_to_dict(scenario)
    for steps, written, _ in file_references(scenario):  # every reference, whatever its kind
        node = data
        for step in steps[:-1]:
            node = node[step]
        node[steps[-1]] = renamed[written]
    members = {SCENARIO_NAME: dump_scenario(scenario_from_dict(data)).encode("utf-8")}
    for written, name in renamed.items():
        members[name] = files[written].read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def unpack_scenario(content: bytes, folder: str | Path) -> Scenario:
    """Check a scenario zip, unpack it into `folder` (which must exist) and load its scenario.

    The zip must hold exactly one ``.yaml``/``.yml`` file at its top level; the files it points to come
    along. Problems raise `ScenarioError`, naming the member and what is wrong.
    """
    if len(content) > MAX_ZIP_BYTES:
        raise ScenarioError(f"zip file is {len(content):,} bytes; the limit is {MAX_ZIP_BYTES:,}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ScenarioError(f"not a zip file ({error})") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        _check_members(members)
        folder = Path(folder)
        for info in members:
            target = folder.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as source:
                    data = source.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
                raise ScenarioError(f"{info.filename}: cannot unpack ({error})") from None
            if len(data) != info.file_size:
                raise ScenarioError(f"{info.filename}: unpacks to another size than the zip declares")
            try:
                target.write_bytes(data)
            except OSError as error:  # e.g. a full disk
                raise ScenarioError(f"{info.filename}: cannot unpack ({error.strerror or error})") from None
    (yaml_member,) = [i.filename for i in members if _is_top_level_yaml(i.filename)]
    try:
        return confine(load_scenario(folder / yaml_member), folder)
    except ScenarioError as error:
        raise ScenarioError([f"{yaml_member}: {problem}" for problem in error.problems]) from None


def open_bundle(path: str | Path) -> Scenario:
    """Unpack a scenario zip file into a folder of its own (removed when Python exits) and load it."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            content = file.read(MAX_ZIP_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read file ({error.strerror or error})") from None
    return unpack_temporary(content)


def unpack_temporary(content: bytes) -> Scenario:
    """`unpack_scenario` into a new temporary folder, kept while Python runs (its files are read lazily)."""
    folder = tempfile.mkdtemp(prefix="pricing-scenario-")
    try:
        scenario = unpack_scenario(content, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(shutil.rmtree, folder, True)
    return scenario


def with_fit(scenario: Scenario, idata, name: str, link=None) -> tuple[Scenario, list[str]]:
    """The scenario taking what a fit knows, with the fit saved beside it as ``data/<name>.nc``.

    The scenario is copied with its files into a folder of its own (as `unpack_temporary` does), the fit
    saved there, and the scenario pointed to it by ``link(scenario, idata, file) -> (changes, notes)``
    (default `pricing.wtp.scenario_with_fit`, a WTP fit; `pricing.wtp.kano.fit_link`,
    `pricing.wtp.satisfaction.fit_link`): saving or packing the result carries the fit, and reopening it
    gives the same numbers. Returns the scenario and notes on what comes from the fit. Raises `DataError`
    when the fit has nothing the scenario can take.
    """
    from pricing.wtp.parameters import scenario_with_fit
    from pricing.wtp.posterior import save_posterior

    file = f"{DATA_FOLDER}/{name}.nc"
    changes, notes = (link or scenario_with_fit)(scenario, idata, file)
    copy = unpack_temporary(pack_scenario(scenario))
    (copy.base_dir / DATA_FOLDER).mkdir(exist_ok=True)
    save_posterior(idata, copy.base_dir / file)
    return with_changes(copy, changes), notes


def _is_top_level_yaml(name: str) -> bool:
    return "/" not in name and name.lower().endswith((".yaml", ".yml"))


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise ScenarioError(f"zip holds {len(members):,} files; the limit is {MAX_MEMBERS}")
    total = sum(info.file_size for info in members)
    if total > MAX_UNPACKED_BYTES:
        raise ScenarioError(f"zip unpacks to {total:,} bytes; the limit is {MAX_UNPACKED_BYTES:,}")
    for info in members:
        name = info.filename
        path = PurePosixPath(name)
        if "\\" in name or path.is_absolute() or ".." in path.parts or ":" in name or not path.parts:
            raise ScenarioError(f"{name}: a path outside the zip's folder")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ScenarioError(f"{name}: a link, not a file")
        if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in path.parts):
            raise ScenarioError(f"{shown(name)}: a name over {MAX_NAME_BYTES} bytes")
    files = {PurePosixPath(info.filename) for info in members}
    for info in members:
        path = PurePosixPath(info.filename)
        folder = next((parent for parent in path.parents if parent in files), None)
        if folder is not None:
            raise ScenarioError(f"{shown(info.filename)}: {folder} is both a file and a folder in the zip")
    if len(files) != len(members):
        raise ScenarioError("zip holds two members of the same name")
    scenarios = [info.filename for info in members if _is_top_level_yaml(info.filename)]
    if len(scenarios) != 1:
        found = ", ".join(scenarios) or "none"
        raise ScenarioError(f"zip must hold one scenario (.yaml) file at its top level (found: {found})")
