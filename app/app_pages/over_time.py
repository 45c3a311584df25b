"""Over time: customers and cumulative profit per variant over the horizon, NPV against one period's profit,
the retention, referral and drift assumptions as sliders, and retention fitted from uploaded cohort data."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile

import formatting
import pandas as pd
import state
import streamlit as st

from pricing import charts, dynamics
from pricing.analysis import interval
from pricing.errors import PricingError, ScenarioError
from pricing.scenario import Dynamics, PosteriorRef, Scenario, scenario_hash, with_changes

PERCENT_FIELDS = {  # dotted path in the dynamics section -> (label, maximum in percent)
    "retention.churn": ("Churn per period (%)", 30.0),
    "referral.rate": ("Referrals per customer per period (%)", 10.0),
}
EFFECT_FIELDS = {
    "retention.satisfaction_effect": ("Satisfaction effect on churn (k)", 10.0),
    "referral.satisfaction_effect": ("Satisfaction effect on referrals", 10.0),
}


@st.cache_resource(max_entries=8, show_spinner="Simulating every period...")
def _over_time(key: str, _scenario: Scenario):
    totals, periods = dynamics.value_over_time(_scenario)
    summary = dynamics.npv_summary(totals)
    return summary, dynamics.clv_table(totals, summary), dynamics.trajectories(periods, summary)


@st.cache_resource(max_entries=4, show_spinner="Fitting retention (quick look: posterior mode)...")
def _fit(digest: str, content: bytes, columns: tuple[tuple[str, str], ...]):
    from pricing.wtp.retention import fit_retention  # PyMC: only when cohort data are uploaded

    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    return fit_retention(frame, dict(columns), method="map")


def _as_range(value) -> tuple[float, float]:
    return tuple(value) if isinstance(value, tuple) else (float(value), float(value))


def _get(section: Dynamics, path: str):
    group, field = path.split(".")
    return getattr(getattr(section, group), field)


def _from_fit(column, label: str, value) -> bool:
    """Say where a number taken from a fit comes from (no slider: the fit's draws are the uncertainty)."""
    if not isinstance(value, PosteriorRef):
        return False
    column.caption(f"{label}: each draw from the fit {value.posterior!r}")
    return True


def _apply(path: str, key: str, scale: float) -> None:
    low, high = st.session_state[key]
    value = [low / scale, high / scale] if low != high else low / scale
    _change({f"dynamics.{path}": value}, path)


def _apply_value(path: str, key: str, scale: float = 1.0) -> None:
    _change({f"dynamics.{path}": st.session_state[key] / scale}, path)


def _change(changes: dict, kind: str) -> None:
    try:
        new = with_changes(state.scenario(), changes)
    except ScenarioError as error:
        state.message(f"over_time_{kind}", error.problems)
        return
    state.message(f"over_time_{kind}", None)
    state.set_scenario(new)


current = state.scenario()
section = current.dynamics or Dynamics()
period = current.period
currency = current.currency
st.title(f"{current.name}: over time")
if current.dynamics is None:
    st.info(
        "This scenario has no dynamics section yet: customers never leave and nothing drifts, so every "
        f"{period} repeats today. Move a slider to add one.",
        icon="⏳",
    )

# ---- assumptions -------------------------------------------------------------------------------------------
with st.container(border=True):
    st.markdown("**Assumptions** (a range is our uncertainty: each draw takes one value from it)")
    left, middle, right = st.columns(3, gap="large")
    horizon_key = state.widget_key("over_time_horizon")
    st.session_state[horizon_key] = section.horizon
    left.slider(
        f"Horizon ({period}s)",
        1,
        120,
        key=horizon_key,
        on_change=_apply_value,
        args=("horizon", horizon_key),
    )
    discount_key = state.widget_key("over_time_discount")
    st.session_state[discount_key] = round(section.discount_rate * 100, 3)
    left.slider(
        f"Discount rate per {period} (%)",
        0.0,
        10.0,
        step=0.1,
        key=discount_key,
        on_change=_apply_value,
        args=("discount_rate", discount_key, 100.0),
    )
    columns = {"retention.churn": middle, "referral.rate": right}
    for path, (label, top) in PERCENT_FIELDS.items():
        column = columns[path]
        if path == "retention.churn" and section.retention.posterior is not None:
            column.caption(f"Churn: the fitted retention posterior {section.retention.posterior!r}")
            continue
        if _from_fit(column, label, _get(section, path)):
            continue
        key = state.widget_key(f"over_time_{path}")
        low, high = _as_range(_get(section, path))
        st.session_state[key] = (round(low * 100, 3), round(high * 100, 3))
        column.slider(label, 0.0, top, step=0.1, key=key, on_change=_apply, args=(path, key, 100.0))
    for path, (label, top) in EFFECT_FIELDS.items():
        column = middle if path.startswith("retention") else right
        if _from_fit(column, label, _get(section, path)):
            continue
        key = state.widget_key(f"over_time_{path}")
        st.session_state[key] = _as_range(_get(section, path))
        column.slider(label, 0.0, top, step=0.1, key=key, on_change=_apply, args=(path, key, 1.0))
    if current.attributes:
        st.markdown("Expectation drift: share of the way toward the best level offered, per period (%)")
        drift_columns = st.columns(min(4, len(current.attributes)))
        for i, attribute in enumerate(current.attribute_names):
            key = state.widget_key(f"over_time_drift_{attribute}")
            low, high = _as_range(section.adaptation.get(attribute, 0.0))
            st.session_state[key] = (round(low * 100, 3), round(high * 100, 3))
            drift_columns[i % len(drift_columns)].slider(
                attribute,
                0.0,
                100.0,
                step=0.5,
                key=key,
                on_change=_apply,
                args=(f"adaptation.{attribute}", key, 100.0),
            )
    if section.segments:
        st.caption(f"Segments with their own settings keep them: {', '.join(section.segments)}.")
    adaptations = [f"adaptation.{a}" for a in current.attribute_names]
    for kind in ("horizon", "discount_rate", *PERCENT_FIELDS, *EFFECT_FIELDS, *adaptations):
        for problem in state.messages(f"over_time_{kind}"):
            st.error(problem)

# ---- results -----------------------------------------------------------------------------------------------
summary, clv, paths = _over_time(scenario_hash(current), current)
horizon = section.horizon
st.markdown(f"**{dynamics.decision_sentence(summary, horizon, period)}**")
variant_colors = charts.variant_colors([v.name for v in current.variants])
chart_left, chart_right = st.columns(2)
chart_left.vega_lite_chart(
    charts.over_time_chart(paths["customers"], "our customers", variant_colors),
    use_container_width=True,
)
chart_right.vega_lite_chart(
    charts.over_time_chart(
        paths["npv_to_date"], f"cumulative discounted profit ({currency})", variant_colors, money=True
    ),
    use_container_width=True,
)
st.caption(
    f"Each variant at its NPV-best price; lines are means, bands 90% intervals over the posterior draws. "
    f"Discount rate {section.discount_rate:.1%} per {period}."
)


def _interval(row, name: str) -> str:
    mean, low, high = (getattr(row, f"{name}_{k}") for k in ("mean", "q05", "q95"))
    money = [formatting.money(v, currency) for v in (mean, low, high)]
    return f"{money[0]} [{money[1]}, {money[2]}]"


table = {
    "variant": list(summary["variant"]),
    "NPV-best price": [formatting.price(p, currency) for p in summary["npv_best_price"]],
    f"NPV over {horizon} {period}s": [_interval(r, "npv") for r in summary.itertuples()],
    "P(highest NPV)": [formatting.percent(p, 0) for p in summary["p_highest_npv"]],
    "CLV per customer": [_interval(r, "clv") for r in summary.itertuples()],
    "customers at the end": [formatting.count(c) for c in summary["customers_end_mean"]],
    f"best price for one {period}": [formatting.price(p, currency) for p in summary["one_period_best_price"]],
    f"profit in one {period}": [_interval(r, "one_period_profit") for r in summary.itertuples()],
}
st.dataframe(table, hide_index=True, use_container_width=True, key=state.widget_key("over_time_table"))
with st.expander("Customer lifetime value per segment"):
    shown = clv.assign(
        clv=[_interval(r, "clv") for r in clv.itertuples()],
        price=[formatting.price(p, currency) for p in clv["price"]],
    )[["variant", "segment", "price", "clv"]]
    st.dataframe(shown, hide_index=True, use_container_width=True)

# ---- retention from cohort data ----------------------------------------------------------------------------
st.subheader("Retention from cohort data")
st.caption(
    "A CSV with one row per cohort and period: the period number from 0 and the customers of the cohort "
    "still active (optionally a segment and a cohort column). Fitted with the shifted-beta-geometric model "
    "(Fader & Hardie 2007) as a quick look (posterior mode); `pricing fit retention` samples the full "
    "posterior."
)
upload = st.file_uploader("Cohort data", type=["csv"], key=state.widget_key("over_time_cohorts"))
if upload is not None:
    content = upload.getvalue()
    try:
        header = [str(c).strip() for c in pd.read_csv(io.BytesIO(content), nrows=0).columns]
    except (ValueError, UnicodeDecodeError) as error:
        header = []
        st.error(f"{upload.name}: not a readable CSV file ({type(error).__name__})")
    pick = st.columns(4)
    roles = {}
    for i, (role, default) in enumerate(
        (("period", "period"), ("active", "active"), ("segment", None), ("cohort", None))
    ):
        options = ["(none)", *header] if default is None else header
        chosen = default if default in header else ("(none)" if default is None else header[0])
        value = pick[i].selectbox(
            role, options, index=options.index(chosen), key=state.widget_key(f"cohort_{role}")
        )
        if value != "(none)":
            roles[role] = value
    try:
        if not header:
            raise PricingError(f"{upload.name}: no columns")
        fit = _fit(hashlib.sha256(content).hexdigest(), content, tuple(sorted(roles.items())))
    except PricingError as error:
        st.error(str(error))
    else:
        curves = fit.curves(int(fit.cohorts.observed["period"].max()) + 6)
        fitted = (
            interval(curves.survival.stack(sample=("chain", "draw")), dim="sample")
            .to_dataframe()
            .reset_index()
        )
        observed = fit.cohorts.observed.copy()
        first = observed[observed.period == 0].set_index(["segment", "cohort"])["active"]
        observed["survival"] = (
            observed["active"]
            / first.reindex(list(zip(observed.segment, observed.cohort, strict=True))).to_numpy()
        )
        st.vega_lite_chart(charts.survival_chart(fitted, observed), use_container_width=True)
        summary_fit = fit.summary_dict(horizon=1)
        st.markdown(
            "; ".join(
                f"**{name}**: alpha {s['alpha']['q50']:.3g}, beta {s['beta']['q50']:.3g}, "
                f"first-period retention {s['retention'][1]['mean']:.1%}"
                for name, s in summary_fit["segments"].items()
            )
        )
        st.caption(summary_fit["diagnostics"].get("note", ""))
        with tempfile.TemporaryDirectory() as folder:
            path = fit.save(os.path.join(folder, "retention.nc"))
            data = path.read_bytes()
        st.download_button(
            "Download the fit (.nc) for the scenario's retention.posterior",
            data,
            file_name="retention.nc",
            key=state.widget_key("over_time_fit_download"),
        )
