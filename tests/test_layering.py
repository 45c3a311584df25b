"""The layers, checked from the source: which modules may import what (parsed with `ast`, nothing is run)."""

import ast
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from pricing import dims

PACKAGE = ROOT / "pricing"
APP = ROOT / "app"
KERNELS = [PACKAGE / "market.py", PACKAGE / "value.py"]
KERNEL_THIRD_PARTY = {"numpy", "scipy.special"}
MODELLING = {"pymc", "arviz", "pytensor", "nutpie"}


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved against the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.add(module)
            # `from scipy import special` imports scipy.special
            found |= {f"{module}.{alias.name}" for alias in node.names if module in ("scipy",)}
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts)


def test_import_parser_sees_imports(tmp_path):
    sample = tmp_path / "pkg" / "mod.py"
    sample.parent.mkdir()
    sample.write_text(
        "import numpy as np\nfrom scipy.special import expit\nimport os.path\n"
        "def f():\n    import pymc\nfrom scipy import stats\n"
    )
    (sample.parent / "other.py").write_text("from . import mod\nfrom .mod import f\n")
    assert {"numpy", "scipy.special", "os.path", "pymc", "scipy", "scipy.stats"} <= imports(sample, tmp_path)
    assert imports(sample.parent / "other.py", tmp_path) == {"pkg", "pkg.mod"}


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda p: p.name)
def test_kernels_import_only_numpy_and_scipy_special(kernel):
    found = imports(kernel)
    third_party = {
        name for name in found if top(name) not in sys.stdlib_module_names and name != "__future__"
    }
    outside = {
        name
        for name in third_party
        if not any(name == allowed or name.startswith(allowed + ".") for allowed in KERNEL_THIRD_PARTY)
    }
    # `from scipy import special` shows up as both scipy and scipy.special: scipy alone is fine only then
    outside -= {"scipy"} if "scipy.special" in third_party else set()
    assert not outside, (
        f"{kernel.name} imports {sorted(outside)}; kernels may import only numpy, scipy.special"
    )


def test_only_wtp_imports_pymc_and_arviz():
    offenders = {}
    for path in python_files(PACKAGE) + python_files(APP):
        if (PACKAGE / "wtp") in path.parents:
            continue
        used = {name for name in imports(path) if top(name) in MODELLING}
        if used:
            offenders[str(path.relative_to(ROOT))] = sorted(used)
    assert not offenders, offenders


def test_only_app_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files(PACKAGE)
        if any(top(name) == "streamlit" for name in imports(path))
    ]
    assert not offenders


def test_the_library_does_not_import_the_app():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files(PACKAGE)
        if any(top(n) == "app" for n in imports(path))
    ]
    assert not offenders


@pytest.mark.parametrize("module", ["simulate.py", "analysis.py", "market.py", "value.py"])
def test_dim_names_are_spelled_only_in_dims(module):
    names = {getattr(dims, n) for n in dir(dims) if n.isupper()}
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    spelled = sorted(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings
    )
    assert not spelled, f"{module} spells dim names {spelled}; use pricing.dims"
