"""Atomic writes: the new content appears whole, or the old file stays, and permissions stay shareable."""

import os
import stat

import pytest

from pricing.io import atomic_output, atomic_write_text


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_mode_not_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.yaml", "x: 1\n")
        with atomic_output(tmp_path / "b.nc") as tmp:
            tmp.write_bytes(b"data")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.yaml") == 0o644
    assert mode(tmp_path / "b.nc") == 0o644


def test_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert mode(path) == 0o640


def test_failed_writer_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "r.nc"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]
