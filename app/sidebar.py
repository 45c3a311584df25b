"""The sidebar every page shares: which scenario is open, where it came from, its file and share link."""

from __future__ import annotations

import links
import state
import streamlit as st
import tables

from pricing import bundle
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import Scenario, dump_scenario, scenario_from_dict

UPLOAD_KEY = "scenario_upload"
PICK_KEY = "scenario_pick"
#: Pages that draw the share link themselves (from a fragment, so it follows the view; see `share_link`).
PAGES_WITH_OWN_LINK = ("Simulate",)
#: Pages that draw the open scenario's details (its name, "(changed)", downloads) with their share link: a
#: control of theirs (Simulate's rivals' prices) changes the scenario without rerunning the app.
PAGES_WITH_OWN_DETAILS = ("Simulate",)


def _pick() -> None:
    name = st.session_state.get(state.widget_key(PICK_KEY))
    if not name:
        return
    try:
        base = state.load_bundled(name)
    except ScenarioError as error:
        state.message("pick", error.problems)
        return
    state.message("pick", None)
    state.set_scenario(base, base_name=name, base=base, source=f"bundled: {name}")


def _upload() -> None:
    uploaded = st.session_state.get(UPLOAD_KEY)
    if uploaded is None:
        return
    if not uploaded.name.lower().endswith((".yaml", ".yml", ".zip")):
        state.message(
            "upload",
            f"{uploaded.name}: not a scenario file (open a .yaml scenario or a .zip from `pricing pack`); "
            "survey answers (.csv) go on the Willingness to pay page.",
        )
        return
    try:
        scenario = state.parse_upload(uploaded.name, uploaded.getvalue())
    except ScenarioError as error:
        state.message("upload", [f"{uploaded.name}: {p}" for p in error.problems])
        return
    state.message("upload", None)
    state.set_scenario(scenario, base_name=None, source=f"uploaded: {uploaded.name}")


def _blank() -> None:
    state.message("upload", None)
    state.set_scenario(scenario_from_dict(tables.BLANK), base_name=None, source="blank template")


def render(with_details: bool = True) -> None:
    """Draw the sidebar: the scenario pickers and, `with_details`, the open scenario's details (a page in
    `PAGES_WITH_OWN_DETAILS` draws them with its share link instead)."""
    current = state.scenario()
    with st.sidebar:
        st.markdown("### pricing")
        st.caption(
            "Value-based pricing: willingness to pay, perceived value, competitors, honest uncertainty."
        )
        files = state.bundled_scenarios()
        names = list(files)
        base_name = st.session_state.get(state.BASE_NAME)
        st.selectbox(
            "Bundled scenario",
            names,
            index=names.index(base_name) if base_name in names else None,
            placeholder="Choose an example scenario",
            key=state.widget_key(PICK_KEY),
            on_change=_pick,
            help="Example scenarios shipped in the `scenarios/` folder.",
        )
        for problem in state.messages("pick"):
            st.error(problem)
        st.file_uploader(
            "Open a scenario file",
            key=UPLOAD_KEY,  # any type: a wrong one gets a sentence, not only the uploader's red icon
            on_change=_upload,
            help="A scenario YAML file, as the `pricing` command line reads and the Export page writes, or "
            "a zip of it with the survey and posterior files it uses (`pricing pack`).",
        )
        for problem in state.messages("upload"):
            st.error(problem, icon="⚠️")
        st.button("Start from a blank template", on_click=_blank, width="stretch")

        st.divider()
        if with_details:
            _details(current)


def _details(current: Scenario) -> None:
    """The open scenario: its name, where it came from, what the link could not open, its downloads."""
    st.markdown(f"**{current.name}**")
    source = st.session_state.get(state.SOURCE, "")
    bundled = st.session_state.get(state.BASE)
    changed = bundled is not None and bool(links.scenario_changes(bundled, current))
    st.caption(
        f"{source}{' (changed)' if changed else ''} · {current.currency} · {current.market.draws:,} draws"
    )
    notes = state.fit_notes(current)
    if notes:
        st.caption(f"Using the fit **{st.session_state[state.FIT]['label']}**: " + "; ".join(notes))
    for problem in state.messages("link"):
        st.warning(problem, icon="🔗")
    st.download_button(
        "Download scenario file",
        lambda: dump_scenario(current),  # made on click: writing YAML on every rerun costs ~8 ms
        file_name=f"{file_stem(current.name)}.yaml",
        mime="application/x-yaml",
        width="stretch",
        key="sidebar_download",
        on_click="ignore",
    )
    zip_download(current, "sidebar_download_zip")


def scenario_details() -> None:
    """The open scenario's details (`render` draws them `with_details`) from a page's fragment that changes
    the scenario (those in `PAGES_WITH_OWN_DETAILS`), in a container of their own at the sidebar's end (as
    `share_link`, whose docstring says why)."""
    with st.sidebar.container():
        _details(state.scenario())


def share_link() -> None:
    """The share link of the current scenario and view, and what it cannot carry, at the sidebar's end. Call
    it once per run, after the page: from the app, or from a page's fragment that changes the view (those in
    `PAGES_WITH_OWN_LINK`), so that a rerun of the fragment alone redraws it.

    A fragment writes `with st.sidebar:` directly, as `st.fragment` documents (its writes there are cleared
    and redrawn on each fragment rerun). It always writes the container, even empty: an outside container a
    fragment did not write to in the full run cannot be written to in its reruns. (Keeping an `st.empty` of
    a full run in the session state for the fragment to fill left a blank page now and then, a frontend
    "Cannot set a node at a delta path", when a rival's price reran the app.)"""
    query, caveats = state.share_link()
    with st.sidebar.container():
        if query is not None:
            st.caption("Link to this scenario and view (copy from the address bar, or here):")
            st.code(_link(query), language=None, wrap_lines=True)
        for caveat in caveats:
            st.caption(f"🔗 {caveat}")


def cannot_show(error: PricingError) -> None:
    """Say in one line why the page (or the part of it that failed) cannot be shown: a problem with what the
    user gave us, not a bug, so no traceback; the rest of the app stays usable."""
    st.error(f"This page cannot be shown: {error}", icon="⚠️")


def zip_download(current: Scenario, key: str) -> None:
    """A button for a zip of the scenario and the files its segments take WTP from (when there are any)."""
    files = bundle.scenario_files(current)
    if not files:
        return
    missing = [written for written, path in files.items() if not path.is_file()]
    if missing:
        st.caption(f"Data file not found, so no zip to share: {', '.join(missing)}")
        return
    st.download_button(
        "Download with its data (.zip)",
        lambda: bundle.pack_scenario(current),
        file_name=f"{file_stem(current.name)}.zip",
        mime="application/zip",
        width="stretch",
        key=key,
        on_click="ignore",
        help=f"The scenario and the files it takes WTP from ({', '.join(files)}): it opens anywhere.",
    )


def file_stem(name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip().lower())
    return stem.strip("_") or "scenario"


def _link(query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    try:
        base = st.context.url.split("?", 1)[0]
    except Exception:  # no browser session (tests): a relative link
        base = ""
    return f"{base}?{urlencode(query)}"
