"""Atomic writes: the new content appears whole, or the old file stays, and permissions stay shareable."""

import csv
import errno
import io
import os
import stat

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import pricing.io
from pricing.errors import PricingError
from pricing.io import (
    atomic_output,
    atomic_write_bytes,
    atomic_write_text,
    check_output,
    csv_text,
    escape_formula,
    netcdf_bytes,
)


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


def test_a_link_is_written_through_and_keeps_the_targets_mode(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new" and mode(target) == 0o600


@pytest.mark.parametrize("device", ["/dev/full", "/dev/null"])
def test_a_link_to_a_device_is_refused_and_left_alone(tmp_path, device):
    link = tmp_path / "out.csv"
    link.symlink_to(device)
    with pytest.raises(PricingError, match="is not a regular file"):
        atomic_write_text(link, "x")
    with pytest.raises(PricingError, match="is not a regular file"):
        check_output(link)
    assert link.is_symlink() and os.readlink(link) == device


def test_check_output_refuses_what_cannot_be_written(tmp_path):
    with pytest.raises(PricingError, match="empty file name"):
        check_output("")
    with pytest.raises(PricingError, match="is a folder"):
        check_output(tmp_path)
    with pytest.raises(PricingError, match="unknown file type '.txt'; use .csv or .nc"):
        check_output(tmp_path / "a.txt", (".csv", ".nc"))
    with pytest.raises(PricingError, match="does not exist"):
        check_output(tmp_path / "missing" / "a.csv")
    with pytest.raises(PricingError, match="cannot write in /proc"):
        check_output("/proc/a.nc", option="--output")
    assert check_output(tmp_path / "a.csv") == tmp_path / "a.csv"
    assert os.listdir(tmp_path) == []  # the probe file is gone


def test_a_full_disk_is_one_error_and_leaves_no_file(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pricing.io.os, "fsync", full)
    with pytest.raises(PricingError, match=r"output .*a\.nc: cannot write \(No space left on device\)"):
        atomic_write_bytes(tmp_path / "a.nc", b"x" * 1000)
    with pytest.raises(PricingError, match="No space left on device"):
        check_output(tmp_path / "a.nc")
    assert os.listdir(tmp_path) == []


def test_csv_text_escapes_formula_cells_only():
    frame = pd.DataFrame(
        {
            "=name": ["=cmd|' /C calc'!A0", "@SUM(A1)", "+ 24/7 support", "-x", "\tTab", "plain"],
            "v": [-1.5] * 6,
        }
    )
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    assert rows[0] == ["'=name", "v"]
    assert [r[0] for r in rows[1:]] == [
        "'=cmd|' /C calc'!A0",
        "'@SUM(A1)",
        "'+ 24/7 support",
        "'-x",
        "'\tTab",
        "plain",
    ]
    assert {r[1] for r in rows[1:]} == {"-1.5"}  # numbers stay numbers
    assert escape_formula("a=b") == "a=b"


def test_netcdf_bytes_round_trip(tmp_path):
    data = xr.Dataset({"x": (("d",), np.arange(4.0))}, attrs={"k": "v"})
    path = tmp_path / "d.nc"
    atomic_write_bytes(path, netcdf_bytes(data))
    back = xr.load_dataset(path, engine="h5netcdf")
    assert back["x"].values.tolist() == [0.0, 1.0, 2.0, 3.0] and back.attrs["k"] == "v"
