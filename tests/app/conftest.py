"""The app's modules (state, tables, links, ...) are imported by name, as `streamlit run` does."""

import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))


@pytest.fixture(autouse=True)
def saved_options_in_a_temporary_folder(tmp_path, monkeypatch):
    """The app's saved what-ifs (`store`) go to a folder of the test's own, never the user's."""
    monkeypatch.setenv("PRICING_DATA_DIR", str(tmp_path / "pricing-data"))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (the browser test screenshots failed pages)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
