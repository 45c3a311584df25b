"""The app's modules (state, tables, links, ...) are imported by name, as `streamlit run` does."""

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "app"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))
