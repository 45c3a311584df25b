"""Output files: checked before any work is done, written atomically (a crash or a full disk never leaves a
half-written file behind), through links to the file they point to.

Every writer of the project goes through `check_output` (before it computes) and `atomic_write_bytes` (when
it writes); netCDF files are built in memory first (`netcdf_bytes`), so that a full disk is an ordinary
`OSError` here rather than an error inside HDF5, which could crash the process.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pricing.errors import PricingError

#: bytes the destination's folder must take before a long computation starts
_PROBE_BYTES = 64 * 1024


def _file_mode(path: Path) -> int:
    """The mode a plain `open(path, "w")` would give: the existing file's, else 0o666 less the umask.

    `mkstemp` creates files readable by their owner only; a shared scenario must stay readable.
    """
    try:
        status = path.stat()
    except OSError:
        status = None
    if status is not None and stat.S_ISREG(status.st_mode):
        return status.st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _target(path: str | os.PathLike, option: str = "output") -> Path:
    """The file a write to `path` lands in: a link's target (the link stays), which must be a regular file
    or not exist yet."""
    if not str(path).strip():
        raise PricingError(f"{option}: empty file name; give a file to write")
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.is_dir():
        raise PricingError(f"{option} {_name(path)}: is a folder; give a file name")
    if target.exists() and not target.is_file():
        raise PricingError(f"{option} {_name(path)}: is not a regular file (a device or pipe)")
    return target


def _name(path: str | os.PathLike) -> str:
    text = str(path)
    return text if len(text) <= 200 else text[:199] + "…"


def check_output(path: str | os.PathLike, suffixes: Sequence[str] = (), option: str = "output") -> Path:
    """`path` if a file can be written there, checked before the work that produces it.

    Refuses an empty name, a suffix not in `suffixes` (when given), a folder or device, a missing folder, and
    a folder that does not take a small test file (read-only, no permission, full disk).
    """
    target = _target(path, option)
    where = f"{option} {_name(path)}"
    if suffixes and Path(path).suffix.lower() not in suffixes:
        raise PricingError(f"{where}: unknown file type {Path(path).suffix!r}; use {' or '.join(suffixes)}")
    folder = target.parent
    if not folder.is_dir():
        raise PricingError(f"{where}: folder {_name(folder)} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name[:100]}.", suffix=".probe")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(b"\0" * _PROBE_BYTES)
                file.flush()
                os.fsync(file.fileno())
        finally:
            Path(probe).unlink(missing_ok=True)
    except OSError as error:
        raise PricingError(f"{where}: cannot write in {folder} ({error.strerror or error})") from None
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, option: str = "output") -> None:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename.

    A link is followed (its target is replaced, the link stays); a problem raises `PricingError` naming
    the file (an `OSError` inside, e.g. a full disk).
    """
    target = _target(path, option)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".tmp")
    except OSError as error:
        raise PricingError(f"{option} {_name(path)}: cannot write ({error.strerror or error})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise PricingError(f"{option} {_name(path)}: cannot write ({error.strerror or error})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, option: str = "output") -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), option)


def netcdf_bytes(data) -> bytes:
    """A netCDF-4 file's bytes, built in memory: an xarray Dataset or DataTree, an ArviZ InferenceData, or a
    dict of an InferenceData's groups (name -> Dataset; the same file as the InferenceData's)."""
    import io

    if hasattr(data, "to_datatree"):  # InferenceData
        data = data.to_datatree()
    elif isinstance(data, dict):  # as InferenceData.to_datatree builds it, without importing ArviZ
        from xarray import DataTree

        data = DataTree.from_dict(data)
    if hasattr(data, "children"):  # DataTree: to_netcdf into a buffer
        buffer = io.BytesIO()
        data.to_netcdf(buffer, engine="h5netcdf")
        return buffer.getvalue()
    return bytes(data.to_netcdf(engine="h5netcdf"))


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer needing a name; rename it into place on success."""
    target = _target(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


# ---- spreadsheets: no formula smuggled in through a name -----------------------------------------------

#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """`text` made inert for a spreadsheet: a leading ``'`` when it starts like a formula (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def formula_safe(frame):
    """A copy of a pandas DataFrame with every text cell and column name escaped with `escape_formula`."""
    import pandas as pd

    safe = frame.rename(columns=lambda c: escape_formula(c) if isinstance(c, str) else c)
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    return safe


def csv_text(frame) -> str:
    """A pandas DataFrame as CSV text, formula-safe (`formula_safe`): what every CSV export writes."""
    return formula_safe(frame).to_csv(index=False)
