"""The pricing app: open a scenario in the sidebar, then explore, fit, compare and export on the pages.

Run with `make app` (`python -m streamlit run app/streamlit_app.py`). The app is a thin layer over the
`pricing` library: every number and chart comes from `pricing.analysis` and `pricing.charts`.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # the pages import the app's modules (state, tables, ...) by name
    sys.path.insert(0, str(APP_DIR))

import memory  # noqa: E402
import sidebar  # noqa: E402
import state  # noqa: E402
import streamlit as st  # noqa: E402

from pricing.errors import PricingError  # noqa: E402

memory.keep_freed_memory()  # once per process: each new simulation's temporaries reuse the last one's
memory.collect_when_idle()  # once per process: no collection over every object after each run
st.set_page_config(page_title="pricing: value-based pricing simulator", layout="wide")

state.init()
state.keep_sticky_widgets()

pages = [
    st.Page("app_pages/simulate.py", title="Simulate", icon=":material/monitoring:", default=True),
    st.Page("app_pages/products.py", title="Products", icon=":material/table_view:"),
    st.Page("app_pages/scenario.py", title="Scenario", icon=":material/edit_note:"),
    st.Page("app_pages/wtp.py", title="Willingness to pay", icon=":material/query_stats:"),
    st.Page("app_pages/voice.py", title="Voice of the customer", icon=":material/record_voice_over:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("app_pages/competition.py", title="Competition", icon=":material/groups:"),
    st.Page("app_pages/decision.py", title="Decision", icon=":material/rule:"),
    st.Page("app_pages/over_time.py", title="Over time", icon=":material/timeline:"),
    st.Page("app_pages/sweep.py", title="Sweep", icon=":material/grid_on:"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:"),
]
page = st.navigation(pages)
sidebar.render(with_details=page.title not in sidebar.PAGES_WITH_OWN_DETAILS)
if page.title != "Scenario":
    state.draft_notice()
try:
    page.run()
except PricingError as error:  # a problem with what the user gave us: say so, keep the app alive
    sidebar.cannot_show(error)
if page.title not in sidebar.PAGES_WITH_OWN_LINK:
    sidebar.share_link()
state.sync_url()
