"""The hostile-input corpus (tests/hostile/): every input through the `pricing` CLI in a child process.

A refused input exits with status 2 and one line naming what is wrong (on stderr; `validate` lists its
problems on stdout, at most `MAX_PROBLEMS` + 1 lines), never a traceback or a signal; memory bombs run under
an address-space limit; accepted inputs print no non-finite number. See tests/hostile/README.md to add one.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from pricing.limits import MAX_LINE, MAX_PROBLEMS

HOSTILE = ROOT / "tests" / "hostile"
sys.path.insert(0, str(HOSTILE))

from cases import CASES, Case  # noqa: E402
from make_corpus import BIG, INPUTS  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Every input in one folder: the committed small ones and the big ones, written now."""
    folder = tmp_path_factory.mktemp("hostile-inputs")
    for path in INPUTS.iterdir():
        shutil.copy(path, folder / path.name)
    for name, make in BIG.items():
        make(folder / name)
    return folder


@pytest.fixture(scope="module")
def runner():
    """The fork server of tests/hostile/runner.py: one child process per command."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(HOSTILE / "runner.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )

    def run(argv: list[str], folder: Path, memory_mb: int | None) -> tuple[int, int | None, str, str]:
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        request = {"argv": argv, "memory_mb": memory_mb, "stdout": str(out), "stderr": str(err)}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        reply = json.loads(process.stdout.readline())
        return (
            reply["status"],
            reply["signal"],
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )

    yield run
    process.stdin.close()
    process.wait(timeout=30)


# ---- set-ups and checks a case may name -----------------------------------------------------------------


def _mount_tmpfs(folder: Path, size_kb: int, free_kb: int) -> None:
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("a full disk needs a tmpfs mount (root); tests/test_io.py covers ENOSPC in-process")
    fill = (size_kb - free_kb) * 1024
    with open(folder / "fill", "wb") as file:
        file.write(b"\0" * fill)


SETUPS = {
    "full_disk": lambda tmp: _mount_tmpfs(tmp / "full", 64, 0),
    # room for the pre-flight probe (64 KB), not for the results file
    "almost_full_disk": lambda tmp: _mount_tmpfs(tmp / "full", 256, 80),
    "link_to_dev_full": lambda tmp: os.symlink("/dev/full", tmp / "link.csv"),
}


def _no_formula_cells(tmp: Path) -> None:
    with open(tmp / "out.csv", newline="") as file:
        for row in csv.reader(file):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    try:
                        float(cell)
                    except ValueError:
                        pytest.fail(f"live formula cell {cell!r} in the results CSV")


CHECKS = {"no_formula_cells": _no_formula_cells}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, inputs, runner, tmp_path):
    if case.pending:
        pytest.xfail(f"pending: {case.pending}")
    if case.setup:
        SETUPS[case.setup](tmp_path)
    try:
        argv = [_expand(a, inputs, tmp_path) for a in case.argv]
        status, signal, out, err = runner(argv, tmp_path, case.memory_mb)
    finally:
        if (tmp_path / "full").is_mount():
            subprocess.run(["umount", str(tmp_path / "full")], check=True)
    assert signal is None, f"killed by signal {signal}; stderr: {err[-2000:]}"
    assert "Traceback" not in err, err[-3000:]
    assert status == case.status, (status, out[-1000:], err[-1000:])
    if case.status == 0:
        assert case.expect in out, out[-2000:]
        assert not re.search(r"\b(nan|inf|NaN|Infinity)\b", out), out[-2000:]
    else:
        lines = out.splitlines() if case.argv[0] == "validate" else err.splitlines()
        assert 1 <= len(lines) <= (MAX_PROBLEMS + 1 if case.argv[0] == "validate" else 1), lines[:30]
        assert any(case.expect in line for line in lines), lines
        assert all(len(line) <= MAX_LINE + 300 for line in lines), max(map(len, lines))
    for check in case.check:
        CHECKS[check](tmp_path)


def _expand(arg: str, inputs: Path, tmp: Path) -> str:
    text = re.fullmatch(r"\{text:(.+)\}", arg)
    if text:
        return (inputs / text.group(1)).read_text()
    return arg.replace("{in}", str(inputs)).replace("{tmp}", str(tmp))
