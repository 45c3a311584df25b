"""Willingness to pay: upload a survey, map its columns, fit it, read the results, use them."""

from __future__ import annotations

import state
import streamlit as st
import wtp_fits

from pricing import charts
from pricing.errors import PricingError
from pricing.limits import SAMPLING

DATA = "wtp_data"  # {method: {"name": file name, "bytes": content}}: survives page switches
EXPLAIN = {
    "stated": "One row per respondent with the amount they would pay (`wtp`), or bounds "
    "(`wtp_lower`, `wtp_upper`).",
    "gabor_granger": "One row per respondent and tested price with their yes/no answer "
    "(`respondent`, `price`, "
    "`answer`). The classic read-out shows demand and revenue per tested price; the fit gives a smooth "
    "demand curve with credible bands.",
    "van_westendorp": "One row per respondent with the four price answers "
    "(`too_cheap`, `cheap`, `expensive`, "
    "`too_expensive`). The classic chart shows where the curves cross; the fit gives the price points with "
    "intervals and each segment's WTP.",
    "choice": "Long format: one row per respondent x task x alternative (`id`, `task`, `alt`, `choice`, "
    "`price`, attributes). Gives the money value of each attribute and each segment's price sensitivity.",
}
PLAIN_PROBLEMS = (
    "The sampler's checks failed, so these numbers may be off: the chains disagree or there are too few "
    "independent draws. Fit again with more draws and tuning steps (or more chains) before relying on them."
)


def _store_upload(method: str, key: str) -> None:
    uploaded = st.session_state.get(key)
    data = st.session_state.setdefault(DATA, {})
    if uploaded is None:
        data.pop(method, None)
    else:
        data[method] = {"name": uploaded.name, "bytes": uploaded.getvalue()}
    state.message(f"wtp_read_{method}", None)


def _use_example(method: str, path: str) -> None:
    from pathlib import Path

    st.session_state.setdefault(DATA, {})[method] = {
        "name": Path(path).name,
        "bytes": Path(path).read_bytes(),
    }


def _attach(label: str) -> None:
    state.message("wtp_attach", state.attach_fit(st.session_state[state.FITS][label]))


def _detach() -> None:
    state.detach_fit()


def _open_starter(label: str) -> None:
    from pricing.scenario import scenario_from_dict
    from pricing.wtp.choice_report import starter_scenario

    record = st.session_state[state.FITS][label]
    scenario = scenario_from_dict(starter_scenario(record["choice_fit"], name=f"Starter from {label}"))
    state.set_scenario(scenario, base_name=None, source=f"starter from fit {label}")
    state.message("wtp_attach", state.attach_fit(record))


current = state.scenario()
currency = current.currency
st.title("Willingness to pay")
st.caption(
    "Fit each segment's willingness to pay (WTP) from survey data, check the fit, and let the simulation use "
    "it instead of the scenario's estimates. Fits sample a Bayesian model: seconds to minutes."
)

method = st.segmented_control(
    "Survey method", list(wtp_fits.METHODS), format_func=wtp_fits.METHODS.get, key="wtp_method"
)
method = method or "stated"
st.caption(EXPLAIN[method])

# ---- data --------------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Survey data")
    upload_col, example_col = st.columns([3, 2])
    upload_key = f"wtp_upload_{method}"
    upload_col.file_uploader(
        "Upload a survey (.csv)",
        type=["csv", "txt", "tsv"],
        key=upload_key,
        on_change=_store_upload,
        args=(method, upload_key),
    )
    examples = wtp_fits.examples(state.SCENARIO_DIR / "data")[method]
    for path in examples:
        example_col.button(
            f"Use the example {path.name}",
            key=f"example_{path.name}",
            on_click=_use_example,
            args=(method, str(path)),
        )
    stored = st.session_state.get(DATA, {}).get(method)
    frame = None
    if stored:
        try:
            frame = wtp_fits.read_upload(stored["name"], stored["bytes"])
        except PricingError as error:
            st.error(str(error), icon="⚠️")
    if frame is not None:
        st.caption(f"**{stored['name']}**: {len(frame):,} rows, columns {', '.join(frame.columns)}")
        st.dataframe(frame.head(8), hide_index=True, width="stretch", height=200)

if frame is None:
    st.info("Upload a survey file (or use an example) to go on.")
else:
    # ---- columns ---------------------------------------------------------------------------------------
    columns = list(frame.columns)
    options = [wtp_fits.NOT_USED, *columns]
    guess = wtp_fits.default_mapping(method, columns)
    mapping: dict = {}
    with st.container(border=True):
        st.subheader("Columns")
        st.caption("Which column holds what. Optional roles may stay unused.")
        role_names = (
            list(wtp_fits.CHOICE_ROLES) + ["segment"] if method == "choice" else list(wtp_fits.roles(method))
        )
        cells = st.columns(min(len(role_names), 5))
        for i, role in enumerate(role_names):
            default = guess.get(role)
            chosen = cells[i % len(cells)].selectbox(
                role.replace("_", " "),
                options,
                key=state.sticky(
                    f"wtp_role_{method}_{role}_{stored['name']}",
                    default if default in options else options[0],
                ),
            )
            mapping[role] = None if chosen == wtp_fits.NOT_USED else chosen
        if method == "choice":
            used = {v for v in mapping.values() if v}
            left, middle, right = st.columns([3, 2, 1])
            mapping["attributes"] = left.multiselect(
                "Attributes",
                [c for c in columns if c not in used],
                key=state.sticky(f"wtp_attributes_{stored['name']}", [c for c in columns if c not in used]),
            )
            alternatives = sorted(set(frame[mapping["alt"]])) if mapping.get("alt") else []
            none_default = "none" if "none" in alternatives else wtp_fits.NOT_USED
            none_alt = middle.selectbox(
                "'None' alternative",
                [wtp_fits.NOT_USED, *alternatives],
                key=state.sticky(f"wtp_none_{stored['name']}", none_default),
                help="The alternative meaning 'buy none of these'; needed for the WTP of buying at all.",
            )
            mapping["none_alt"] = None if none_alt == wtp_fits.NOT_USED else none_alt
            mapping["asc"] = right.checkbox(
                "Alternative constants", key=state.sticky(f"wtp_asc_{stored['name']}", False)
            )

        missing = wtp_fits.missing_roles(method, mapping)
        if missing:
            st.error(f"Choose a column for: {', '.join(missing)}.", icon="⚠️")

    # ---- classic read-out --------------------------------------------------------------------------------
    if method in ("gabor_granger", "van_westendorp") and not missing:
        with st.container(border=True):
            try:
                classic = wtp_fits.classic(method, frame, {k: v for k, v in mapping.items()})
            except PricingError as error:
                st.error(str(error), icon="⚠️")
                classic = None
            except Exception as error:  # a bug in the read-out must not take the page down
                st.error(f"The read-out failed unexpectedly ({type(error).__name__}: {error}).", icon="🐞")
                classic = None
            if classic and method == "gabor_granger":
                st.subheader("Gabor-Granger: demand and revenue per tested price")
                st.vega_lite_chart(
                    charts.gabor_granger_chart(classic["table"], classic["best_price"], currency),
                    width="stretch",
                    key="gabor_granger_chart",
                )
                st.caption(
                    "Revenue per respondent is highest at the tested price "
                    f"{classic['best_price']:,.2f} {currency}."
                )
            if classic and method == "van_westendorp":
                st.subheader("Van Westendorp price sensitivity meter")
                if classic["by_segment"]:  # per segment, as the fit is, or pooled
                    shown = st.segmented_control(
                        "Respondents", ["All (pooled)", *classic["by_segment"]], key="psm_segment"
                    )
                    classic = classic["by_segment"].get(shown, classic)
                st.vega_lite_chart(
                    charts.van_westendorp_chart(classic["curves"], classic["points"], currency),
                    width="stretch",
                    key="van_westendorp_chart",
                )
                points = classic["points"]
                cells = st.columns(4)
                for cell, name in zip(cells, ("pmc", "opp", "idp", "pme"), strict=True):
                    cell.metric(charts.PRICE_POINT_LABELS[name], f"{points[name]:,.2f} {currency}")
                st.caption(
                    f"Acceptable price range PMC to PME. {classic['n_valid']} respondents used, "
                    f"{classic['n_invalid']} dropped (answers not increasing)."
                )

    # ---- fit ---------------------------------------------------------------------------------------------
    with st.container(border=True):
        st.subheader("Bayesian fit")
        draws_col, tune_col, chains_col, seed_col = st.columns(4)
        draws = draws_col.number_input(
            "Draws per chain", 20, 20000, step=100, key=state.sticky(f"wtp_draws_{method}", 1000)
        )
        tune = tune_col.number_input(
            "Tuning steps", SAMPLING["tune"][0], 20000, step=100, key=state.sticky(f"wtp_tune_{method}", 1000)
        )
        chains = chains_col.number_input("Chains", 1, 8, step=1, key=state.sticky(f"wtp_chains_{method}", 2))
        seed = seed_col.number_input("Seed", 0, 2**31 - 1, step=1, key=state.sticky(f"wtp_seed_{method}", 1))
        random = ()
        left, right = st.columns(2)
        fit_method = left.radio(
            "Estimation",
            ["nuts", "map"],
            format_func={"nuts": "Full posterior (NUTS)", "map": "Quick look (mode + Laplace)"}.get,
            horizontal=True,
            key=state.sticky("wtp_fit_method", "nuts"),
        )
        space, price_distribution = "preference", None
        if method == "choice":
            price_column = mapping.get("price")
            random = tuple(
                right.multiselect(
                    "Random coefficients (vary across respondents)",
                    [c for c in [price_column, *(mapping.get("attributes") or [])] if c],
                    key=f"wtp_random_{stored['name']}",
                    disabled=fit_method == "map",
                )
            )
            space = left.radio(
                "Utility space",
                ["preference", "wtp"],
                format_func={
                    "preference": "Preference (coefficients; WTP as their ratio)",
                    "wtp": "WTP (money per unit estimated directly)",
                }.get,
                horizontal=True,
                key=state.sticky("wtp_space", "preference"),
            )
            # a random price scale is lognormal in WTP space (it must stay > 0); normal is the references'
            # default in preference space
            price_distribution = right.radio(
                "A random price across respondents",
                ["normal", "lognormal"],
                format_func={"normal": "Normal", "lognormal": "Lognormal (always negative)"}.get,
                horizontal=True,
                key=state.sticky("wtp_price_distribution", "normal"),
                disabled=space == "wtp" or price_column not in random,
            )
            if space == "wtp":
                price_distribution = "lognormal"
        label = f"{wtp_fits.METHODS[method]}: {stored['name']}"
        if st.button("Fit", type="primary", key=f"wtp_fit_{method}", disabled=bool(missing)):
            with st.status(f"Fitting {label} ...", expanded=True) as status:
                st.write(
                    f"{int(chains)} chains x {int(draws)} draws after {int(tune)} tuning steps, "
                    f"seed {int(seed)}"
                )
                try:
                    record = wtp_fits.fit(
                        method,
                        frame,
                        mapping,
                        draws=int(draws),
                        tune=int(tune),
                        chains=int(chains),
                        seed=int(seed),
                        label=label,
                        fit_method=fit_method,
                        random=random,
                        space=space,
                        price_distribution=price_distribution,
                    )
                except PricingError as error:
                    status.update(label="The fit failed", state="error")
                    state.message(f"wtp_fit_{method}", str(error))
                except Exception as error:  # a bug in a fit must not take the page down
                    status.update(label="The fit failed", state="error")
                    state.message(f"wtp_fit_{method}", f"unexpected {type(error).__name__}: {error}")
                else:
                    st.session_state[state.FITS][label] = record
                    state.message(f"wtp_fit_{method}", None)
                    status.update(label=f"Fitted {label}", state="complete", expanded=False)
        for problem in state.messages(f"wtp_fit_{method}"):
            st.error(problem, icon="⚠️")

# ---- results of the fits -----------------------------------------------------------------------------
fits = st.session_state.get(state.FITS, {})


def _upload_posterior() -> None:
    uploaded = st.session_state.get("wtp_posterior_upload")
    if uploaded is None:
        return
    try:
        record = wtp_fits.load_upload(uploaded.name, uploaded.getvalue())
    except PricingError as error:
        state.message("wtp_posterior", str(error))
        return
    state.message("wtp_posterior", None)
    st.session_state[state.FITS][record["label"]] = record


with st.expander("Open a saved posterior file (.nc)"):
    st.file_uploader("Posterior file", type=["nc"], key="wtp_posterior_upload", on_change=_upload_posterior)
    for problem in state.messages("wtp_posterior"):
        st.error(problem, icon="⚠️")

if fits:
    st.subheader("Fits")
    attached = st.session_state.get(state.FIT)
    labels = list(fits)
    label = st.selectbox("Fit", labels, index=len(labels) - 1, key="wtp_shown_fit")
    record = fits[label]
    idata = record["idata"]
    diagnostics = record.get("diagnostics") or {}
    if diagnostics:
        from pricing.wtp.posterior import format_diagnostics

        try:
            line = format_diagnostics(diagnostics)
        except KeyError:
            line = ""
        sampled = any(diagnostics.get(k) is not None for k in ("rhat_max", "ess_bulk_min", "ess_tail_min"))
        if not sampled:  # a quick look (posterior mode + Laplace): there was no sampler to check
            st.info(
                "Quick look: nothing was sampled (posterior mode and its normal approximation), so there "
                "are no sampler checks. Fit the full posterior (NUTS) before relying on the intervals.",
                icon="ℹ️",
            )
        elif diagnostics.get("ok", True):
            st.success(f"Sampler checks passed. {line}", icon="✅")
        else:
            st.warning(f"{PLAIN_PROBLEMS}\n\nDetails: {line}", icon="⚠️")
        if diagnostics.get("note"):
            st.caption(diagnostics["note"])
    if "wtp_log_median" in idata.posterior:
        st.markdown("**WTP per segment**: share of each segment's customers who would pay at least the price")
        demand = wtp_fits.demand(idata, wtp_fits.price_range(idata))
        palette = charts.segment_colors([str(x) for x in idata.posterior["segment"].values])
        st.vega_lite_chart(
            charts.wtp_demand_chart(demand, currency, palette), width="stretch", key="wtp_demand_chart"
        )
        if "summary" in record:
            table = record["summary"].rename(
                columns={
                    "median_q50": f"median WTP ({currency})",
                    "median_q05": "5%",
                    "median_q95": "95%",
                    "log_sd_mean": "spread (sd of log WTP)",
                }
            )
            shown = ["segment", f"median WTP ({currency})", "5%", "95%", "spread (sd of log WTP)"]
            st.dataframe(table[shown].round(3), hide_index=True, width="stretch")
    if "price_points" in record:
        st.markdown("**Van Westendorp price points from the fit** (posterior median and 5-95% interval)")
        points = record["price_points"].copy()
        points["attribute"] = points["price_point"].map(charts.PRICE_POINT_LABELS)
        st.vega_lite_chart(
            charts.attribute_wtp_chart(
                points,
                currency,
                charts.segment_colors(list(dict.fromkeys(points["segment"]))),
                x_title=f"Price ({currency})",
            ),
            width="stretch",
            key="price_points_chart",
        )
    if "attribute_wtp" in record:
        st.markdown("**Conjoint: what each attribute is worth** (posterior median and 5-95% interval)")
        for warning in record.get("warnings", []):
            st.warning(warning, icon="⚠️")
        st.vega_lite_chart(
            charts.attribute_wtp_chart(
                record["attribute_wtp"],
                currency,
                charts.segment_colors([str(x) for x in idata.posterior["segment"].values]),
            ),
            width="stretch",
            key="attribute_wtp_chart",
        )
    attach_col, starter_col, download_col = st.columns(3)
    if attached and attached["key"] == record["key"] and state.fit_notes(current):
        attach_col.button("Stop using this fit", on_click=_detach, key="wtp_detach")
        attach_col.caption(
            "The scenario points to this fit (saved beside it: the scenario zip carries it): "
            + "; ".join(attached["notes"])
        )
    else:
        attach_col.button(
            "Use this fit in the simulation",
            on_click=_attach,
            args=(label,),
            type="primary",
            key="wtp_attach",
        )
    for problem in state.messages("wtp_attach"):
        attach_col.error(problem, icon="⚠️")
    fit_segments = [str(s) for s in idata.posterior["segment"].values]
    missing = [s.name for s in current.segments if s.name not in fit_segments]
    if missing:
        attach_col.caption(
            f"Not in the fit, so they keep the scenario's estimates: {', '.join(missing)} (the fit has "
            f"{', '.join(fit_segments)}). Segments match by name; rename them on the Scenario page."
        )
    if "choice_fit" in record:
        starter_col.button(
            "Open a starter scenario from this fit", on_click=_open_starter, args=(label,), key="wtp_starter"
        )
    download_col.download_button(
        "Download posterior (.nc)",
        lambda: wtp_fits.posterior_bytes(idata),
        file_name=f"{record['method']}-posterior.nc",
        mime="application/x-netcdf",
        key="wtp_download",
        on_click="ignore",
    )
