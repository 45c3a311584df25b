"""Voice of the customer: Kano questionnaires and satisfaction surveys, read, fitted, used in the scenario."""

from __future__ import annotations

import pandas as pd
import state
import streamlit as st
import wtp_fits

from pricing import charts
from pricing.errors import PricingError

DATA = "voice_data"  # {"kano" | "satisfaction": {"name", "bytes"}}: survives page switches
FITS = "voice_fits"  # {"kano" | "satisfaction": {"key": (file, options), "idata": ...}}
EXAMPLES = {"kano": "kano_team_plan.csv", "satisfaction": "satisfaction_team_plan.csv"}
KINDS = {"kano": "Kano questionnaire", "satisfaction": "Satisfaction survey"}
NOT_USED = wtp_fits.NOT_USED


def _store_upload(kind: str, key: str) -> None:
    uploaded = st.session_state.get(key)
    data = st.session_state.setdefault(DATA, {})
    if uploaded is None:
        data.pop(kind, None)
    else:
        data[kind] = {"name": uploaded.name, "bytes": uploaded.getvalue()}


def _use_example(kind: str) -> None:
    path = state.SCENARIO_DIR / "data" / EXAMPLES[kind]
    st.session_state.setdefault(DATA, {})[kind] = {"name": path.name, "bytes": path.read_bytes()}


def _apply(changes: dict, what: str) -> None:
    from pricing.scenario import with_changes

    try:
        state.set_scenario(with_changes(state.scenario(), changes))
    except PricingError as error:
        state.message(f"voice_use_{what}", str(error))
        return
    state.message(f"voice_use_{what}", None)
    st.session_state[f"voice_used_{what}"] = len(changes)


def _apply_fit(idata, name: str, link, what: str) -> None:
    """Point the scenario to the fit, saved beside it (`pricing.bundle.with_fit`): the scenario file and
    zip downloaded carry the fit, and reopening them gives the same numbers."""
    from pricing import bundle

    try:
        new, notes = bundle.with_fit(state.scenario(), idata, name, link)
    except PricingError as error:
        state.message(f"voice_use_{what}", str(error))
        return
    state.set_scenario(new)
    state.message(f"voice_use_{what}", None)
    st.session_state[f"voice_used_{what}"] = notes


def _fit_name(kind: str, key: tuple) -> str:
    import hashlib

    return f"{kind}-fit-{hashlib.sha256(repr(key).encode()).hexdigest()[:10]}"


def _use_section(what: str, key: str, label: str, caption: str, notes: list[str], action, done) -> None:
    """The "use in the scenario" box: what it does, the button (running `action`: a tuple of the callback
    and its args), problems, and ``done(what was used)`` once used."""
    with st.container(border=True):
        st.subheader("Use in the scenario")
        st.caption(caption)
        for note in notes:
            st.caption(f"- {note}")
        callback, args = action
        st.button(label, key=key, on_click=callback, args=args, disabled=callback is None)
        for problem in state.messages(f"voice_use_{what}"):
            st.error(problem, icon="⚠️")
        used = st.session_state.get(f"voice_used_{what}")
        if used:
            st.success(done(used))


def _use_fit_section(what: str, key: str, fit: tuple, label: str, caption: str) -> None:
    """`_use_section` for a fit: (idata, its cache key, link) where link(scenario, idata, file) gives the
    changes pointing the scenario to the file (`pricing.bundle.with_fit`)."""
    idata, fit_key, link = fit
    name = _fit_name(what, fit_key)
    try:
        _, notes = link(state.scenario(), idata, f"data/{name}.nc")
        action = (_apply_fit, (idata, name, link, what))
    except PricingError as error:
        notes, action = [str(error)], (None, ())

    def done(notes: list[str]) -> str:
        saved = "The scenario now points to the fit (saved beside it; the downloaded zip carries it): "
        return saved + "; ".join(notes)

    _use_section(what, key, label, caption, notes, action, done)


def _uploaded(kind: str) -> tuple[pd.DataFrame | None, dict | None]:
    upload_col, example_col = st.columns([3, 2])
    key = f"voice_upload_{kind}"
    upload_col.file_uploader(
        f"Upload a {KINDS[kind].lower()} (.csv)",
        type=["csv", "txt", "tsv"],
        key=key,
        on_change=_store_upload,
        args=(kind, key),
    )
    example_col.button(
        f"Use the example {EXAMPLES[kind]}", key=f"voice_example_{kind}", on_click=_use_example, args=(kind,)
    )
    stored = st.session_state.get(DATA, {}).get(kind)
    if not stored:
        return None, None
    try:
        frame = wtp_fits.read_upload(stored["name"], stored["bytes"])
    except PricingError as error:
        st.error(str(error), icon="⚠️")
        return None, None
    st.caption(f"**{stored['name']}**: {len(frame):,} rows, columns {', '.join(frame.columns)}")
    return frame, stored


def _column(label: str, columns: list[str], key: str, default: str | None, help: str) -> str | None:
    options = [NOT_USED, *columns]
    chosen = st.selectbox(
        label, options, key=state.sticky(key, default if default in options else NOT_USED), help=help
    )
    return None if chosen == NOT_USED else chosen


def _sampling(kind: str) -> dict:
    left, middle, right = st.columns(3)
    return {
        "draws": int(left.number_input("Draws per chain", 50, 5000, 1000, 50, key=f"voice_draws_{kind}")),
        "tune": int(middle.number_input("Tuning steps", 50, 5000, 1000, 50, key=f"voice_tune_{kind}")),
        "chains": int(right.number_input("Chains", 1, 4, 2, 1, key=f"voice_chains_{kind}")),
    }


def _fit(kind: str, key: tuple, make) -> None:
    try:
        with st.spinner("Sampling the posterior (seconds to a minute)..."):
            idata = make()
    except PricingError as error:
        state.message(f"voice_fit_{kind}", str(error))
        return
    state.message(f"voice_fit_{kind}", None)
    st.session_state.setdefault(FITS, {})[kind] = {"key": key, "idata": idata}


def _fitted(kind: str, key: tuple):
    record = st.session_state.get(FITS, {}).get(kind)
    return record["idata"] if record and record["key"] == key else None


def _problems_of(idata) -> list[str]:
    import json

    return json.loads(idata.posterior.attrs.get("diagnostics", "{}")).get("problems", [])


def kano_section() -> None:
    from pricing.wtp import kano

    frame, stored = _uploaded("kano")
    if frame is None:
        st.info("Upload a Kano questionnaire (or use the example) to go on.")
        return
    columns = list(frame.columns)
    with st.container(border=True):
        st.subheader("Columns")
        st.caption(
            "Each attribute has a pair of columns, the functional and the dysfunctional question, recognised "
            "by their suffixes (matched by name, not position). Answers: the usual labels or codes 1..5."
        )
        cells = st.columns(4)
        functional = cells[0].text_input("Functional suffix", "_functional", key="voice_kano_functional")
        dysfunctional = cells[1].text_input("Dysfunctional suffix", "_dysfunctional", key="voice_kano_dys")
        with cells[2]:
            segment = _column(
                "Segment",
                columns,
                f"voice_kano_segment_{stored['name']}",
                "segment",
                "One segment if unused.",
            )
        with cells[3]:
            weight = _column("Weight", columns, f"voice_kano_weight_{stored['name']}", "weight", "Optional.")
        left, right = st.columns(2)
        table = left.radio(
            "Evaluation table",
            kano.TABLES,
            horizontal=True,
            key="voice_kano_table",
            help="standard: Berger et al. (1993); modified: Pouliot's, every identical answer pair except "
            "neutral/neutral is questionable.",
        )
        rule = right.radio(
            "Category rule",
            kano.RULES,
            horizontal=True,
            key="voice_kano_rule",
            help="mode: the most frequent (ties M > O > A > I > R > Q); grouped: if A+O+M > I+R+Q the "
            "largest of M, O, A, else of I, R, Q.",
        )
        options = {
            "segment": segment,
            "weight": weight,
            "functional_suffix": functional,
            "dysfunctional_suffix": dysfunctional,
        }
        try:
            answers, _ = kano.read_kano(frame, **options)
            analysis = kano.kano_analysis(answers, table=table, rule=rule)
        except PricingError as error:
            st.error(str(error), icon="⚠️")
            return
        pairs = ", ".join(f"{a} ({f} / {d})" for a, (f, d) in answers.columns["pairs"].items())
        st.caption(f"Question pairs: {pairs}.")

    with st.container(border=True):
        st.subheader("Classic analysis")
        shown = analysis.table[
            ["attribute", "segment", *kano.CATEGORIES, "category_name", "total_strength", "category_strength"]
            + ["cs_plus", "cs_minus", "fong_significant"]
        ].rename(columns={"category_name": "category", "fong_significant": "top differs (Fong)"})
        st.dataframe(shown, hide_index=True, width="stretch", key="voice_kano_table_view")
        dropped = sum(analysis.notes["dropped_blank"].values()) + sum(
            analysis.notes["dropped_incomplete"].values()
        )
        st.caption(
            f"{analysis.notes['respondents']} respondents; {dropped} blank or half-answered pairs dropped. "
            "CS+ = (A+O)/(A+O+M+I), CS- = -(O+M)/(A+O+M+I)."
        )

    key = (
        stored["name"],
        hash(stored["bytes"]),
        table,
        tuple(sorted((k, str(v)) for k, v in options.items())),
    )
    with st.container(border=True):
        st.subheader("Bayesian analysis")
        st.caption(
            "Category shares per attribute and segment (Dirichlet-multinomial, segments partially pooled): "
            "the probability that each category is the largest, and CS+ / CS- with 90% intervals. Small "
            "samples get wide intervals instead of false certainty."
        )
        sampling = _sampling("kano")

        def make():
            model = kano.KanoModel(sampler_config=sampling, table=table, **options)
            return model.fit(frame, seed=state.scenario().seed)

        st.button("Fit", key="voice_kano_fit", on_click=_fit, args=("kano", key, make), type="primary")
        for problem in state.messages("voice_fit_kano"):
            st.error(problem, icon="⚠️")
        idata = _fitted("kano", key)
        summary = kano.kano_fit_summary(idata) if idata is not None else None
        if summary is not None:
            if _problems_of(idata):
                st.warning(
                    "The sampler's checks failed, so these numbers may be off: "
                    + "; ".join(_problems_of(idata)),
                    icon="⚠️",
                )
            probabilities = summary[["attribute", "segment"]].assign(
                **{kano.CATEGORY_NAMES[c]: summary[f"p_largest_{c}"] for c in kano.CATEGORIES},
                category=summary["category"].map(kano.CATEGORY_NAMES),
            )
            st.dataframe(probabilities, hide_index=True, width="stretch", key="voice_kano_probabilities")

    with st.container(border=True):
        st.subheader("Kano plot")
        points = (
            summary.rename(columns={"cs_plus_mean": "cs_plus", "cs_minus_mean": "cs_minus"})
            if summary is not None
            else analysis.table
        )
        st.vega_lite_chart(charts.kano_chart(points), width="stretch", key="voice_kano_chart")
        st.caption(
            "One point per attribute and segment; "
            + (
                "whiskers: 90% intervals of the fit."
                if summary is not None
                else "fit the model for intervals."
            )
        )

    if summary is None:
        changes, notes = kano.scenario_changes(analysis.table, state.scenario())
        _use_section(
            "kano",
            "voice_kano_use",
            "Use these categories in the scenario",
            f"Sets the Kano category of {len(changes)} attribute(s) per segment from the classic analysis; "
            "attributes and segments match by name. Fit the model to use its weights with their uncertainty.",
            notes,
            (_apply if changes else None, (changes, "kano")),
            lambda used: f"The scenario now takes {used} Kano categories from the survey.",
        )
        return
    _use_fit_section(
        "kano",
        "voice_kano_use",
        (idata, key, kano.fit_link),
        "Use this fit in the scenario",
        "Points the attributes the fit knows to it: each draw of the simulation takes the fit's shortfall "
        "and excess weights (|CS-| and CS+) per segment, so the posterior's uncertainty flows through.",
    )


def satisfaction_section() -> None:
    from pricing.wtp import satisfaction

    frame, stored = _uploaded("satisfaction")
    if frame is None:
        st.info("Upload a satisfaction survey (or use the example) to go on.")
        return
    columns = list(frame.columns)
    guesses = {
        "rating": next(
            (c for c in ("satisfaction", "likely_to_recommend", "csat", "nps") if c in columns), None
        ),
        "churned": "churned",
        "referred": "referred",
        "segment": "segment",
        "weight": "weight",
    }
    helps = {
        "rating": "CSAT 1..5 or 1..7, or likelihood to recommend 0..10.",
        "churned": "Left in the period after the survey: yes/no.",
        "referred": "Referred someone in that period: yes/no or a count.",
        "segment": "One segment if unused.",
        "weight": "Optional.",
    }
    with st.container(border=True):
        st.subheader("Columns")
        cells = st.columns(6)
        mapping = {}
        for cell, role in zip(cells, guesses, strict=False):
            with cell:
                mapping[role] = _column(
                    role, columns, f"voice_sat_{role}_{stored['name']}", guesses[role], helps[role]
                )
        scale = cells[5].selectbox("Scale", ["inferred", *satisfaction.SCALES], key="voice_sat_scale")
    options = {k: v for k, v in mapping.items() if v}
    scale = None if scale == "inferred" else scale
    if "rating" not in options:
        st.error("Choose the column of the satisfaction rating.", icon="⚠️")
        return
    key = (stored["name"], hash(stored["bytes"]), scale, tuple(sorted(options.items())))
    with st.container(border=True):
        st.subheader("Does satisfaction pay?")
        st.caption(
            "Churn (logit) and referrals (Poisson; complementary log-log for yes/no) against satisfaction, "
            "per segment, on the simulator's satisfaction index (-100..100; the scale's midpoint is 0); NPS."
        )
        sampling = _sampling("satisfaction")

        def make():
            model = satisfaction.SatisfactionModel(columns=options, scale=scale, sampler_config=sampling)
            return model.fit(frame, seed=state.scenario().seed)

        st.button("Fit", key="voice_sat_fit", on_click=_fit, args=("satisfaction", key, make), type="primary")
        for problem in state.messages("voice_fit_satisfaction"):
            st.error(problem, icon="⚠️")
        idata = _fitted("satisfaction", key)
        if idata is None:
            return
        if _problems_of(idata):
            st.warning(
                "The sampler's checks failed, so these numbers may be off: " + "; ".join(_problems_of(idata)),
                icon="⚠️",
            )
        summary = satisfaction.satisfaction_summary(idata)
        rows = []
        for segment, record in summary["segments"].items():
            row = {"segment": segment}
            for name, stats in record.items():
                if isinstance(stats, dict):
                    row[name] = f"{stats['mean']:.3g} [{stats['q05']:.3g}, {stats['q95']:.3g}]"
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="voice_sat_summary")
        st.caption(
            "retention_effect k: churn odds x exp(-k S/100); referral_rate and referral_effect: referrals "
            "per customer and period = rate x exp(effect S/100). Mean [90% interval]."
        )
    _use_fit_section(
        "satisfaction",
        "voice_sat_use",
        (idata, key, satisfaction.fit_link),
        "Use the satisfaction link in the scenario",
        "Points each matching segment's churn, satisfaction effect and referral in the scenario's dynamics "
        "to the fit: each draw takes one joint draw of the fit.",
    )


st.title("Voice of the customer")
st.caption(
    "Measure what customers value instead of typing it in: a Kano questionnaire gives each attribute's "
    "category per segment, a satisfaction survey the effect of satisfaction on churn and referral."
)
kind = st.segmented_control("Survey", list(KINDS), format_func=KINDS.get, key="voice_kind") or "kano"
if kind == "kano":
    kano_section()
else:
    satisfaction_section()
