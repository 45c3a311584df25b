"""Session state and caches of the app, in one place.

Every session-state key is a constant here. The current scenario is always a valid `Scenario`
(`SCENARIO`); the editor's draft (`DRAFT`) may be invalid and keeps what the user typed. Simulation results
and the tables derived from them are cached with `st.cache_resource` keyed on `scenario_hash` (plus the
attached WTP fit), so moving our price or switching variant only selects from cached results; they are
shared read-only between sessions and never modified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import links
import numpy as np
import pandas as pd
import streamlit as st
import tables
import xarray as xr

from pricing import analysis, bundle
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import (
    Scenario,
    confine,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
    scenario_hash,
    with_changes,
)
from pricing.simulate import simulate

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_SCENARIO = "saas_team_plan"

# ---- session-state keys --------------------------------------------------------------------------------
SCENARIO = "scenario"  # the current, valid Scenario
BASE_NAME = "base_name"  # the bundled scenario the current one started from (None: uploaded or blank)
BASE = "base_scenario"  # that bundled scenario as loaded, for the share link's changes
SOURCE = "source"  # where the scenario came from, for people ("bundled: ...", "uploaded: file.yaml")
DRAFT = "draft"  # the editor's draft (tables.scenario_to_draft, plus the user's edits)
DRAFT_HASH = "draft_hash"  # hash of the scenario the draft was made from or last produced
DRAFT_GENERATION = "draft_generation"  # bumped when the draft is rebuilt: fresh editor widgets
DRAFT_PROBLEMS = "draft_problems"  # ScenarioError.problems of the draft, [] when valid
VIEW = "view"  # {"price": our selected price (any positive price), "variant": selected variant}
OPENED = "opened_case"  # BaseCase of the scenario as opened (replaced when another scenario is opened)
PINNED = "pinned_case"  # BaseCase the user pinned, or None: then the base case is the one as opened
MESSAGES = "messages"  # {"link": [...], "upload": str, ...}: problems shown next to their inputs
FIT = "fit"  # the attached WTP fit: {"label", "key", "notes", "before"} or None (see attach_fit)
FITS = "fits"  # fits made or uploaded this session, by label
SWEEP = "sweep_run"  # the Sweep page's run: {"identity", "batches", "status", "points"} or absent
WIDGETS = "widget_generation"  # bumped when the scenario is replaced: fresh scenario-bound widgets
INITIALISED = "initialised"
PRICE_GENERATIONS = "price_generations"  # {control: n}: bumped when the price is set by anything else
SIMULATE_DREW = "simulate_drew"  # hash of a scenario Simulate's fragment made itself (a rival's price)

#: Simulate's two controls of our price: the slider over the grid and the typed exact price.
PRICE_CONTROLS = ("slider", "typed")


#: Widgets whose choice survives page switches (Streamlit forgets the state of widgets it did not draw).
STICKY = {
    "compare_mode": "Variants of this scenario",
    "compare_basis": "its own best price",
    "demand_metric": "share",
    "export_chart": "profit curve",
    "wtp_method": "stated",
}


STICKY_KEYS = "sticky_keys"  # keys registered with `sticky` during the session


def keep_sticky_widgets() -> None:
    """Carry the sticky widgets' values over this run, drawn or not; their first values come from `STICKY`
    or from `sticky`."""
    for key, default in STICKY.items():
        st.session_state[key] = st.session_state.get(key, default)
    for key in st.session_state.get(STICKY_KEYS, ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def sticky(key: str, default: Any) -> str:
    """Make the widget `key` keep its value across page switches, starting from `default`; returns the key.

    Create the widget with this key and no default value of its own.
    """
    st.session_state.setdefault(key, default)
    st.session_state.setdefault(STICKY_KEYS, set()).add(key)
    return key


def bundled_scenarios() -> dict[str, Path]:
    """Every bundled scenario file (`scenarios/*.yaml`) by its stem, the name used in links."""
    return {path.stem: path for path in sorted(SCENARIO_DIR.glob("*.yaml"))}


@st.cache_resource(max_entries=64, show_spinner=False)
def _parse_cached(digest: str, _text: bytes) -> Scenario:
    return parse_scenario(_text)


def parse_cached(text: bytes) -> Scenario:
    """Parse scenario text once per distinct content (raises `ScenarioError`)."""
    return _parse_cached(hashlib.sha256(text).hexdigest(), text)


@st.cache_resource(max_entries=32, show_spinner=False)
def _unpack_cached(digest: str, _content: bytes) -> Scenario:
    return bundle.unpack_temporary(_content)


def parse_upload(name: str, content: bytes) -> Scenario:
    """An uploaded scenario: YAML text, or a zip of it with its data files (`pricing.bundle`), unpacked
    once per distinct content into a folder of its own so that its relative paths resolve."""
    if name.lower().endswith(".zip"):
        return _unpack_cached(hashlib.sha256(content).hexdigest(), content)
    return _upload_cached(hashlib.sha256(content).hexdigest(), content)


@st.cache_resource(max_entries=32, show_spinner=False)
def _upload_cached(digest: str, _text: bytes) -> Scenario:
    # an uploaded YAML file has no folder of its own: it may point to no other file on this server
    return confine(parse_scenario(_text))


@st.cache_resource(max_entries=64, show_spinner=False)
def _load_cached(path: str, modified: float) -> Scenario:
    return load_scenario(path)


def load_bundled(name: str) -> Scenario:
    """The bundled scenario `name`, loaded from its file so that relative paths in it resolve (raises
    `ScenarioError` when unknown or invalid)."""
    files = bundled_scenarios()
    if name not in files:
        raise ScenarioError(f"scenario {name!r}: no such bundled scenario (known: {', '.join(files)})")
    return _load_cached(str(files[name]), files[name].stat().st_mtime)


# ---- set-up and the current scenario ---------------------------------------------------------------------


def init() -> None:
    """Set up a new session once: the scenario from the link's query parameters, or the default one."""
    if st.session_state.get(INITIALISED):
        return
    st.session_state[INITIALISED] = True
    st.session_state.setdefault(MESSAGES, {})
    st.session_state.setdefault(VIEW, {"price": None, "variant": None})
    st.session_state.setdefault(FITS, {})
    st.session_state.setdefault(FIT, None)
    st.session_state.setdefault(WIDGETS, 0)
    query = {key: st.query_params[key] for key in st.query_params}
    files = bundled_scenarios()
    name = query.get(links.SCENARIO_PARAM)
    problems = []
    if name is not None and name not in files:
        problems.append(
            f"link parameter scenario={name}: no such bundled scenario (known: {', '.join(files)})"
        )
        name = None
    if name is None:
        name = DEFAULT_SCENARIO if DEFAULT_SCENARIO in files else next(iter(files), None)
        query = {}
    if name is None:
        base = scenario_from_dict(tables.BLANK)
        set_scenario(base, base_name=None, source="blank template")
        return
    base = load_bundled(name)
    scenario, view, link_problems = links.from_query(query, base)
    set_scenario(scenario, base_name=name, base=base, source=f"bundled: {name}")
    st.session_state[VIEW] |= view
    st.session_state[MESSAGES]["link"] = problems + link_problems


def scenario() -> Scenario:
    """The current, valid scenario."""
    return st.session_state[SCENARIO]


def set_scenario(
    new: Scenario,
    *,
    base_name: str | None | bool = False,
    base: Scenario | None = None,
    source: str | None = None,
) -> None:
    """Make `new` the current scenario; with `base_name` (a bundled name or None) it replaces the scenario
    entirely (new widgets, view reset), without it it is an edit of the current one."""
    st.session_state[SCENARIO] = new
    if base_name is not False:
        st.session_state[BASE_NAME] = base_name
        st.session_state[BASE] = base
        st.session_state[SOURCE] = source or (f"bundled: {base_name}" if base_name else "uploaded")
        st.session_state[VIEW] = {"price": None, "variant": None}
        st.session_state[WIDGETS] = st.session_state.get(WIDGETS, 0) + 1
        st.session_state.get(MESSAGES, {}).pop("link", None)
        st.session_state[OPENED] = BaseCase(new, new.our_offering.price, new.variants[0].name)
        st.session_state[PINNED] = None
    view = st.session_state.setdefault(VIEW, {"price": None, "variant": None})
    if view.get("variant") not in [v.name for v in new.variants]:
        view["variant"] = None


def view() -> dict[str, Any]:
    """The selected price of ours (any positive price: off the grid it is simulated exactly) and variant."""
    current = scenario()
    selected = st.session_state.setdefault(VIEW, {"price": None, "variant": None})
    variant = selected.get("variant") or current.variants[0].name
    price = float(selected.get("price") or current.our_offering.price)
    return {"price": price, "variant": variant}


def set_price(price: float, by: str | None = None) -> None:
    """Select our price; every price control but `by` (one of `PRICE_CONTROLS`, or None when the price is
    set elsewhere: a link, a saved option) is drawn anew from it (`price_control_key`)."""
    st.session_state.setdefault(VIEW, {"price": None, "variant": None})["price"] = float(price)
    generations = st.session_state.setdefault(PRICE_GENERATIONS, {})
    for control in PRICE_CONTROLS:
        if control != by:
            generations[control] = generations.get(control, 0) + 1


def price_generation(control: str) -> int:
    """How many times our price was set by anything but `control` (one of `PRICE_CONTROLS`)."""
    return st.session_state.get(PRICE_GENERATIONS, {}).get(control, 0)


def price_control_key(control: str, detail: str = "") -> str:
    """The key of one of our price controls (`PRICE_CONTROLS`): new each time the price is set by anything
    but that control, so the control is created with the new price as its value.

    Assigning the value to a long-lived key instead raced with the browser: a rerun the browser sent before
    it saw the assignment carried the control's old value, which counted as a change and set the old price
    back (a quick run of key presses on the slider ended at a price the slider did not show). A value the
    browser still sends for a control of an older generation is ignored (see `set_price_from`).
    """
    return widget_key(f"our_price_{control}{detail}_{price_generation(control)}")


def set_price_from(control: str, key: str, generation: int) -> None:
    """The callback of a price control: select its value, unless it comes from a control of an older
    generation (the browser had not yet drawn its replacement) or is not a positive price."""
    value = st.session_state.get(key)
    if generation == price_generation(control) and value is not None and value > 0:
        set_price(value, by=control)


# ---- the base case: what every change is shown against --------------------------------------------------


@dataclass(frozen=True)
class BaseCase:
    """A scenario with our price and variant that changes are measured against: the scenario as opened, or
    one the user pinned. A rival's price cut in the current scenario is then a loss against it, not a new
    "today"."""

    scenario: Scenario
    price: float
    variant: str
    pinned: bool = False


def base_case() -> BaseCase:
    """The pinned base case, else the scenario as opened at its own price and first variant."""
    pinned = st.session_state.get(PINNED)
    if pinned is not None:
        return pinned
    opened = st.session_state.get(OPENED)
    if opened is None:  # a session set up before this key existed
        current = scenario()
        opened = st.session_state[OPENED] = BaseCase(
            current, current.our_offering.price, current.variants[0].name
        )
    return opened


def pin_base_case(case: BaseCase | None = None) -> None:
    """Make `case` (default the current scenario, price and variant) the base case."""
    if case is None:
        selected = view()
        case = BaseCase(scenario(), selected["price"], selected["variant"], pinned=True)
    st.session_state[PINNED] = BaseCase(case.scenario, case.price, case.variant, pinned=True)


def unpin_base_case() -> None:
    """Go back to the scenario as opened as the base case."""
    st.session_state[PINNED] = None


def base_changes(current: Scenario | None = None) -> dict[str, Any]:
    """The scenario fields that differ between the base case and `current` (paths as in share links)."""
    current = scenario() if current is None else current
    return links.scenario_changes(base_case().scenario, current)


def metrics(current: Scenario, price: float, variant: str) -> pd.DataFrame:
    """`analysis.metrics_at` of a scenario at exactly `price` (simulated on its own when off the grid)."""
    at, key = results_at(current, price)
    return metrics_at(key, float(price), variant, at)


def base_metrics() -> pd.DataFrame | None:
    """`metrics` of the base case (None when its variant is unknown, which cannot happen for a valid one)."""
    case = base_case()
    return metrics(case.scenario, case.price, case.variant)


def against_base(current: Scenario, price: float, variant: str, segment: str = analysis.ALL) -> pd.DataFrame:
    """Our headline metrics for one segment (default the market) next to the base case's: columns metric,
    mean, q05, q95, base (the base case's mean, NaN when the base case has no such segment) and change.
    Cached per results, price, variant, segment and base case (every price step draws it)."""
    own, own_key = results_at(current, price)
    case = base_case()
    base, base_key = results_at(case.scenario, case.price)
    return _against_base(
        (own_key, float(price), variant, segment, base_key, float(case.price), case.variant), own, base
    )


@st.cache_resource(max_entries=1024, show_spinner=False)
def _against_base(key: tuple, _own: xr.Dataset, _base: xr.Dataset) -> pd.DataFrame:
    own_key, price, variant, segment, base_key, base_price, base_variant = key
    own = metrics_at(own_key, price, variant, _own)
    own = own[own["segment"] == segment].set_index("metric")[["mean", "q05", "q95"]]
    base = metrics_at(base_key, base_price, base_variant, _base)
    base = base[base["segment"] == segment].set_index("metric")["mean"]
    table = own.assign(base=base.reindex(own.index))
    return table.assign(change=table["mean"] - table["base"]).reset_index()


MAX_LINK_CHARS = 1200  # a longer link is a wall of text: share the file instead


def share_link() -> tuple[dict[str, str] | None, list[str]]:
    """Query parameters of a link reopening the current scenario and view (None when no link can: an
    uploaded or blank scenario, or changes too long or not leaf fields), and what the link cannot carry."""
    name = st.session_state.get(BASE_NAME)
    base = st.session_state.get(BASE)
    caveats = []
    fit = st.session_state.get(FIT)
    if fit:
        caveats.append(
            f"The link does not carry the WTP fit {fit['label']!r}: it opens with the scenario's own WTP."
        )
    if not name or base is None:
        return None, ["Uploaded and blank scenarios are shared as files: download it above.", *caveats]
    current = view()
    ours = scenario()
    shown = {
        links.PRICE_PARAM: current["price"] if current["price"] != ours.our_offering.price else None,
        links.VARIANT_PARAM: current["variant"] if current["variant"] != ours.variants[0].name else None,
    }
    changes = links.scenario_changes(base, ours)
    whole = [path or "the scenario" for path, value in changes.items() if not links.is_leaf(value)]
    query = links.to_query(name, changes, shown)
    if whole:
        return None, [
            f"A link carries changed fields only, not added or removed items ({', '.join(whole[:3])}): "
            "download the scenario to share this.",
            *caveats,
        ]
    if len(urlencode(query)) > MAX_LINK_CHARS:
        return None, [
            f"{len(changes)} changes make the link too long: download the scenario to share this.",
            *caveats,
        ]
    return query, caveats


def share_query() -> dict[str, str] | None:
    """Query parameters reopening the current scenario and view, or None when no link can (`share_link`)."""
    return share_link()[0]


def sync_url() -> None:
    """Keep the browser's address equal to the share link, so that copying it shares the scenario; when no
    link can carry the changes, the address names the bundled scenario only (the sidebar says so)."""
    query = share_query()
    name = st.session_state.get(BASE_NAME)
    wanted = query if query is not None else ({links.SCENARIO_PARAM: name} if name else {})
    if {key: st.query_params[key] for key in st.query_params} != wanted:
        st.query_params.from_dict(wanted)


def message(kind: str, text: str | list[str] | None) -> None:
    """Remember (or clear, with None) a problem to show next to the input `kind`."""
    messages = st.session_state.setdefault(MESSAGES, {})
    if text:
        messages[kind] = text
    else:
        messages.pop(kind, None)


def messages(kind: str) -> list[str]:
    """Problems remembered for the input `kind`."""
    text = st.session_state.get(MESSAGES, {}).get(kind)
    if not text:
        return []
    return [text] if isinstance(text, str) else list(text)


def widget_key(name: str) -> str:
    """A widget key that changes whenever the scenario is replaced (so widgets start from its values)."""
    return f"{name}__{st.session_state.get(WIDGETS, 0)}"


# ---- the editor's draft ----------------------------------------------------------------------------------


def draft() -> dict[str, Any]:
    """The editor's draft, rebuilt from the current scenario when that changed elsewhere."""
    current_hash = scenario_hash(scenario())
    if DRAFT not in st.session_state or st.session_state.get(DRAFT_HASH) != current_hash:
        st.session_state[DRAFT] = tables.scenario_to_draft(scenario())
        st.session_state[DRAFT_HASH] = current_hash
        st.session_state[DRAFT_PROBLEMS] = []
        st.session_state[DRAFT_GENERATION] = st.session_state.get(DRAFT_GENERATION, 0) + 1
    return st.session_state[DRAFT]


def commit_draft() -> None:
    """Validate the draft; when valid it becomes the current scenario, else its problems are kept."""
    categorical = [a.name for a in scenario().attributes if a.levels is not None]
    if categorical:  # the editor's tables hold numbers: saving them would lose the named levels
        st.session_state[DRAFT_PROBLEMS] = [
            f"attributes: {', '.join(categorical)} have named levels, which this editor does not show; "
            "pick levels and prices on the Products page, or edit the scenario file"
        ]
        return
    data = tables.draft_to_data(st.session_state[DRAFT])
    data.pop("schema_version")
    try:  # with_changes keeps what the scenario knows beyond its fields (the folder of its file)
        new = with_changes(scenario(), data)
    except ScenarioError as error:
        st.session_state[DRAFT_PROBLEMS] = error.problems
        return
    st.session_state[DRAFT_PROBLEMS] = []
    st.session_state[DRAFT_HASH] = scenario_hash(new)
    if scenario_hash(new) != scenario_hash(scenario()):
        set_scenario(new)


def draft_notice() -> None:
    """On every page but the editor: say when the editor's draft is invalid, so this page shows the last
    valid version, with a link back to the problems."""
    problems = st.session_state.get(DRAFT_PROBLEMS) or []
    if not problems:
        return
    count = len(problems)
    with st.container(border=True):
        st.warning(
            f"The scenario being edited has {count} problem{'s' if count > 1 else ''} "
            f"(first: {problems[0]}). This page shows the last valid version.",
            icon="⚠️",
        )
        st.page_link(
            "app_pages/scenario.py", label="Fix it on the Scenario page", icon=":material/edit_note:"
        )


# ---- the attached WTP fit ----------------------------------------------------------------------------------


def attach_fit(record: dict[str, Any]) -> str | None:
    """Make the current scenario take what a fit knows: it then points to the fit, saved beside it, so the
    scenario file or zip downloaded carries it (`pricing.bundle.with_fit`). Returns a problem, or None."""
    current = scenario()
    try:
        new, notes = bundle.with_fit(current, record["idata"], f"fit-{record['key']}")
    except PricingError as error:
        return str(error)
    old = {s.name: s.posterior_files() for s in current.segments}
    fitted = {s.name for s in new.segments if s.posterior_files() != old[s.name]}
    before = {
        s.name: s.model_dump(mode="json", include={"wtp", "logit_scale", "value_per_unit"})
        for s in current.segments
        if s.name in fitted
    }
    st.session_state[FIT] = {"label": record["label"], "key": record["key"], "notes": notes, "before": before}
    set_scenario(new)
    return None


def detach_fit() -> None:
    """Give the segments the attached fit changed back their previous WTP, price sensitivity and values."""
    fit = st.session_state.get(FIT)
    st.session_state[FIT] = None
    if not fit:
        return
    current = scenario()
    names = {s.name for s in current.segments}
    changes = {
        f"segments[{name}].{field}": value
        for name, fields in fit["before"].items()
        if name in names
        for field, value in fields.items()
    }
    try:
        set_scenario(with_changes(current, changes))
    except ScenarioError:  # the segments were edited since: keep them as they are
        pass


def fit_notes(current: Scenario | None = None) -> list[str]:
    """What the current scenario takes from the attached fit ([] when none is attached or it no longer
    points to it)."""
    fit = st.session_state.get(FIT)
    current = scenario() if current is None else current
    if not fit or not any(fit["key"] in f for s in current.segments for f in s.posterior_files()):
        return []
    return fit["notes"]


# ---- cached computations -----------------------------------------------------------------------------------


@st.cache_resource(max_entries=8, show_spinner="Simulating the market...")  # ~25 MB each
def _simulate_cached(key: str, _scenario: Scenario) -> xr.Dataset:
    return simulate(_scenario)


def results(current: Scenario | None = None) -> tuple[xr.Dataset, str]:
    """Simulation results of a scenario (default the current one) and their cache key."""
    current = scenario() if current is None else current
    key = scenario_hash(current) + "|" + str(current.base_dir)  # its files' folder: fits live in their own
    return _simulate_cached(key, current), key


@st.cache_resource(max_entries=256, show_spinner=False)
def _simulate_price(key: str, price: float, _scenario: Scenario) -> xr.Dataset:
    return simulate(_scenario, prices=[price])


def results_at(current: Scenario, price: float) -> tuple[xr.Dataset, str]:
    """Results holding our `price` exactly, and their cache key: the scenario's grid when the price is on it,
    else that price simulated on its own (the same draws; only our price's column, milliseconds)."""
    grid, key = results(current)
    if bool(np.isclose(grid["price"].values, price, rtol=0, atol=1e-9).any()):
        return grid, key
    return _simulate_price(key, float(price), current), f"{key}|@{float(price)!r}"


@st.cache_resource(max_entries=256, show_spinner=False)
def price_curves(key: str, variant: str, _results: xr.Dataset, segment: str = analysis.ALL) -> pd.DataFrame:
    """`analysis.price_curves` of one variant and segment (default the market), cached."""
    return analysis.price_curves(_results, variant, segment=segment)


TABLES_KEPT = 64  # metrics tables (`warm_up`) kept, each ~0.1 MB


@st.cache_resource(show_spinner=False)
def _metrics_tables() -> dict[tuple[str, str], pd.DataFrame]:
    """`analysis.metrics_table` by (results key, variant), made by `warm_up`; shared read-only."""
    return {}


@st.cache_resource(max_entries=1024, show_spinner=False)
def metrics_at(key: str, price: float, variant: str, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.metrics_at`, cached per results, price and variant. A price of the grid is read off the
    variant's `analysis.metrics_table` when `warm_up` made it (a price step never seen before then costs no
    sort over the draws); else computed alone (a few ms; the whole table takes ~50)."""
    table = _metrics_tables().get((key, variant))
    prices = _results["price"].values
    on_grid = np.flatnonzero(np.isclose(prices, price, rtol=0, atol=1e-9))
    if table is None or not on_grid.size:
        return analysis.metrics_at(_results, price, variant)
    rows = len(table) // len(prices)
    block = table.iloc[on_grid[0] * rows : (on_grid[0] + 1) * rows]
    return block.drop(columns="price").reset_index(drop=True)


def warm_up(current: Scenario, key: str, results: xr.Dataset) -> None:
    """For the base case's scenario (as opened, or pinned), compute what a first price step or variant
    switch would otherwise wait for: every variant's metrics table and curves. Call it after the page is
    drawn. Not for an edited scenario (a rival's price): the user may not step through it, and the work
    would compete with the browser's redraw on a small machine."""
    if scenario_hash(current) != scenario_hash(base_case().scenario):
        return
    tables = _metrics_tables()
    for variant in (str(v) for v in results["variant"].values):
        if (key, variant) not in tables:
            tables[(key, variant)] = analysis.metrics_table(results, variant)
            while len(tables) > TABLES_KEPT:
                tables.pop(next(iter(tables)))
        price_curves(key, variant, results, analysis.ALL)  # as Simulate calls it: the same cache key


@st.cache_resource(max_entries=1024, show_spinner=False)
def offering_shares_at(key: str, price: float, variant: str, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.offering_shares_at`, cached."""
    return analysis.offering_shares_at(_results, price, variant)


@st.cache_resource(max_entries=256, show_spinner=False)
def best_prices(key: str, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.best_price_summary`, cached per results (a rival's price needs it at once, while
    `variant_summary` waits for the Variants tab)."""
    return analysis.best_price_summary(_results)


@st.cache_resource(max_entries=256, show_spinner=False)
def variant_summary(key: str, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.variant_summary`, cached per results."""
    return analysis.variant_summary(_results)


@st.cache_resource(max_entries=256, show_spinner=False)
def value_map(key: str, variant: str, price: float, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.value_map` of one variant with our offering at `price` (pass `results_at` it), cached."""
    return analysis.value_map(_results, variant, price)


@st.cache_resource(max_entries=64, show_spinner=False)
def summary_table(key: str, _results: xr.Dataset) -> pd.DataFrame:
    """`analysis.summary_table` (every price, segment and metric), cached per results."""
    return analysis.summary_table(_results)


@st.cache_resource(max_entries=512, show_spinner=False)
def _chart_spec(key: str, _build: Callable[[], dict]) -> dict:
    return _build()


def chart_spec(key: str, build: Callable[[], dict]) -> dict:
    """The Vega-Lite spec `build()` makes, built once per `key` (include the results' cache key and every
    argument in it). A copy of the top level: Streamlit changes only that, and the cache stays intact."""
    return dict(_chart_spec(key, build))


# ---- competition and decisions (pricing.competition, pricing.decide) ---------------------------------------

#: Posterior draws the Competition page solves equilibria for (each draw is one market to solve).
COMPETITION_DRAWS = 200
#: Our prices the leader-pricing curve is computed at (evenly picked from the scenario's grid).
LEADER_PRICES = 31
#: Posterior draws the Decision page uses when rivals react (without reaction: every draw).
DECISION_REACT_DRAWS = 100


def _parameters(current: Scenario, draws: int | None) -> tuple[dict | None, str]:
    """No parameter override (an attached fit is pointed to by the scenario itself: `attach_fit`), and the
    cache key of the scenario (its content and the folder its files are read from)."""
    return None, scenario_hash(current) + "|" + str(current.base_dir)


@st.cache_resource(max_entries=16, show_spinner="Solving the market's equilibrium in every draw...")
def _equilibrium(key: str, _scenario: Scenario, _parameters: dict | None, draws: int) -> xr.Dataset:
    from pricing import competition

    return competition.equilibrium(_scenario, draws=draws, parameters=_parameters)


def equilibrium(current: Scenario) -> xr.Dataset:
    """`pricing.competition.equilibrium` on the first `COMPETITION_DRAWS` draws, cached."""
    draws = min(current.market.draws, COMPETITION_DRAWS)
    parameters, key = _parameters(current, draws)
    return _equilibrium(key, current, parameters, draws)


@st.cache_resource(max_entries=32, show_spinner="Solving the rivals' answer to each of our prices...")
def _leader(key: str, variant: str, _scenario: Scenario, _parameters: dict | None, draws: int) -> xr.Dataset:
    from pricing import competition

    one = _scenario.model_copy(update={"variants": tuple(v for v in _scenario.variants if v.name == variant)})
    grid = np.array(one.price_grid())
    prices = grid[np.unique(np.linspace(0, len(grid) - 1, LEADER_PRICES).round().astype(int))]
    prices = np.union1d(prices, [one.our_offering.price])
    return competition.leader_pricing(one, prices=prices, draws=draws, parameters=_parameters)


def leader_pricing(current: Scenario, variant: str) -> xr.Dataset:
    """`pricing.competition.leader_pricing` of one variant at up to `LEADER_PRICES` of our prices, cached."""
    draws = min(current.market.draws, COMPETITION_DRAWS)
    parameters, key = _parameters(current, draws)
    return _leader(key, variant, current, parameters, draws)


def leader_curves(leader: xr.Dataset) -> pd.DataFrame:
    """Expected profit with and without reaction over our price (`pricing.competition.profit_curves`)."""
    from pricing import competition

    return competition.profit_curves(leader)


@st.cache_resource(max_entries=32, show_spinner="Weighing every price and variant over the draws...")
def _decision(key: str, options: tuple, _scenario: Scenario, _parameters: dict | None, draws: int | None):
    from pricing import decide

    objective, react, min_share, floor, ceiling, ending, typed = options
    constraints = decide.Constraints(min_share, floor, ceiling, ending, typed)
    return decide.decide(_scenario, objective, react, constraints, draws=draws, parameters=_parameters)


def decision(current: Scenario, objective: str, react: bool, constraints: Any) -> Any:
    """`pricing.decide.decide`, cached per scenario and choices (with reaction on the first
    `DECISION_REACT_DRAWS` draws)."""
    draws = min(current.market.draws, DECISION_REACT_DRAWS) if react else None
    parameters, key = _parameters(current, draws)
    options = (
        objective,
        react,
        constraints.min_share,
        constraints.price_floor,
        constraints.price_ceiling,
        constraints.ending,
        tuple(constraints.prices),
    )
    return _decision(key, options, current, parameters, draws)
