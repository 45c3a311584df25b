"""Write the hostile inputs: ``python tests/hostile/make_corpus.py`` (re)writes the small ones into
``inputs/``; the big ones (`BIG`) are written by the corpus test into a temporary folder when it runs.

Each maker takes the path to write and writes one input there. Names say what the input is.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"


def _scenario(**changes) -> dict:
    """A small valid scenario (two segments, us and a rival) with top-level `changes`."""
    data = {
        "schema_version": 1,
        "name": "hostile",
        "seed": 1,
        "segments": [
            {"name": "a", "size": 1000, "wtp": {"median": 40.0, "spread": 0.3}, "logit_scale": 4.0},
            {"name": "b", "size": 500, "wtp": {"median": 60.0, "spread": 0.4}, "logit_scale": 6.0},
        ],
        "offerings": [{"name": "ours", "owner": "us", "price": 45.0}, {"name": "rival", "price": 50.0}],
        "market": {"draws": 50},
    }
    data.update(changes)
    return data


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def _segment(index: int, **wtp) -> list:
    segments = _scenario()["segments"]
    segments[index] = {**segments[index], "wtp": wtp}
    return segments


def _zip(path: Path, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())


def _stated(amounts) -> str:
    return "wtp\n" + "".join(f"{a}\n" for a in amounts)


def _choice(rows: list[tuple], header="id,task,alt,choice,price,size") -> str:
    return header + "\n" + "".join(",".join(str(c) for c in row) + "\n" for row in rows)


def _choice_rows(n_respondents=20, tasks=4, price=lambda r, t, a: 10 + 5 * a + (r + t) % 3, size=None):
    rows = []
    rng = np.random.default_rng(0)
    for r in range(n_respondents):
        for t in range(tasks):
            chosen = int(rng.integers(3))
            for a in range(3):
                level = size(r, t, a) if size else (a + t) % 3 + 1
                rows.append((r, t, f"alt{a}", int(a == chosen), price(r, t, a), level))
    return rows


# ---- survey files --------------------------------------------------------------------------------------


def stated_ok(path):
    path.write_text(_stated(np.round(np.exp(np.random.default_rng(1).normal(4, 0.4, 60)), 2)))


def gabor_granger_cr_only(path):
    """Old Mac / Excel line endings: CR alone."""
    rows = ["respondent,price,answer"] + [
        f"r{r},{p},{'yes' if p <= 10 + r % 5 else 'no'}" for r in range(30) for p in (8, 10, 12, 14)
    ]
    path.write_bytes(("\r".join(rows) + "\r").encode())


def gabor_granger_weights_1e308(path):
    rows = ["respondent,price,answer,weight"] + [
        f"r{r},{p},{'yes' if p <= 10 + r % 5 else 'no'},1e308" for r in range(30) for p in (8, 10, 12, 14)
    ]
    path.write_text("\n".join(rows) + "\n")


def van_westendorp_weights_1e308(path):
    rows = ["too_cheap,cheap,expensive,too_expensive,weight"] + [
        f"{5 + r % 3},{8 + r % 4},{12 + r % 5},{16 + r % 6},1e308" for r in range(40)
    ]
    path.write_text("\n".join(rows) + "\n")


def stated_amounts_1e308(path):
    path.write_text(_stated([f"{1 + i / 100:.2f}e308" for i in range(40)]))


def stated_amounts_1e_300(path):
    path.write_text(_stated([f"{1 + i / 100:.2f}e-300" for i in range(40)]))


def stated_bad_cell_1mb(path):
    path.write_text("wtp\n10\n" + "x" * 1_000_000 + "\n12\n")


def choice_all_none(path):
    path.write_text(
        _choice([(r, t, "none", int(a == 0), "", "") for r in range(5) for t in range(3) for a in (0,)])
    )


def choice_prices_1e308(path):
    path.write_text(_choice(_choice_rows(price=lambda r, t, a: f"{1 + a + t % 2}e308")))


def choice_bad_numeric_cell(path):
    rows = _choice_rows()
    rows[7] = (*rows[7][:5], "abc")
    rows[20] = (*rows[20][:5], "12 EUR")
    path.write_text(_choice(rows))


def choice_price_constant_within_tasks(path):
    path.write_text(_choice(_choice_rows(price=lambda r, t, a: 10 + t)))


def choice_free_text_20000_levels(path):
    path.write_text(
        _choice(_choice_rows(n_respondents=1700, tasks=4, size=lambda r, t, a: f"w{r * 12 + t * 3 + a}"))
    )


def choice_50000_alternatives(path):
    rows = [(1, 1, f"a{a}", int(a == 0), 10 + a % 7, a % 5) for a in range(50_000)]
    path.write_text(_choice(rows))


def psm_20000_continuous(path):
    rng = np.random.default_rng(3)
    base = np.exp(rng.normal(3, 0.5, 20_000))
    answers = base[:, None] * np.cumsum(rng.uniform(0.1, 0.5, (20_000, 4)), axis=1)
    path.write_text(
        "too_cheap,cheap,expensive,too_expensive\n"
        + "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in answers)
    )


# ---- priors --------------------------------------------------------------------------------------------


def priors_nested_5000(path):
    path.write_text('{"segment_sd_sd": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}")


# ---- scenarios -----------------------------------------------------------------------------------------


def scenario_ok(path):
    path.write_text(_yaml(_scenario()))


def scenario_int_5000_digits(path):
    path.write_text(_yaml(_scenario()).replace("size: 1000", "size: " + "7" * 5000, 1))


def scenario_seed_huge_binary(path):
    path.write_text(_yaml(_scenario()).replace("seed: 1", "seed: 0b" + "1" * 20000))


def scenario_seed_huge_hex(path):
    path.write_text(_yaml(_scenario()).replace("seed: 1", "seed: 0x" + "f" * 5000))


def scenario_price_near_cap(path):
    path.write_text(_yaml(_scenario(offerings=[{"name": "ours", "owner": "us", "price": 8e8}])))


def scenario_all_sizes_zero(path):
    data = _scenario()
    for segment in data["segments"]:
        segment["size"] = 0
    path.write_text(_yaml(data))


def scenario_wtp_very_wide(path):
    wide = {"median": 1e9, "spread": 5, "uncertainty": 2, "spread_uncertainty": 2}
    path.write_text(_yaml(_scenario(segments=_segment(0, **wide))))


def scenario_coverage_1e_12(path):
    path.write_text(_yaml(_scenario(segments=_segment(0, low=10, high=100, coverage=1e-12))))


def scenario_list_300000(path):
    path.write_text(_yaml(_scenario()) + "attributes: [" + "1," * 300_000 + "1]\n")


def scenario_formula_names(path):
    data = _scenario()
    data["segments"][0]["name"] = "=cmd|' /C calc'!A0"
    data["segments"][1]["name"] = "@SUM(A1)"
    data["offerings"][0]["name"] = "+ 24/7 support"
    data["offerings"][1]["name"] = "-rival"
    path.write_text(_yaml(data))


def scenario_missing_posterior(path):
    path.write_text(_yaml(_scenario(segments=_segment(0, posterior="no_such_fit.nc"))))


# ---- zips ----------------------------------------------------------------------------------------------


def zip_file_and_folder(path):
    _zip(path, {"scenario.yaml": _yaml(_scenario()).encode(), "data": b"x", "data/fit.nc": b"y"})


def zip_long_name(path):
    _zip(path, {"scenario.yaml": _yaml(_scenario()).encode(), "data/" + "n" * 300 + ".csv": b"x"})


def zip_data_outside(path):
    segments = _segment(0, data="../../../../etc/passwd", method="stated")
    _zip(path, {"scenario.yaml": _yaml(_scenario(segments=segments)).encode()})


def zip_data_absolute(path):
    segments = _segment(0, posterior="/etc/passwd")
    _zip(path, {"scenario.yaml": _yaml(_scenario(segments=segments)).encode()})


# ---- posteriors ----------------------------------------------------------------------------------------


def posterior_4gb_unallocated(path):
    """A posterior file of a few hundred KB that declares a 4 GB variable (never written, so not stored)."""
    import h5py

    with h5py.File(path, "w") as file:
        group = file.create_group("posterior")
        group.attrs["pricing_format"] = "pricing-wtp-posterior/1"
        group.create_dataset("wtp_log_median", shape=(1, 1_000_000_000, 1), dtype="f4")


def scenario_with_bomb(path):
    """The scenario beside `posterior_4gb_unallocated.nc`, which it points to."""
    path.write_text(_yaml(_scenario(segments=_segment(0, posterior="posterior_4gb_unallocated.nc"))))


def posterior_spread_1e5(path):
    """A well-formed posterior whose spread (sd of log WTP) is 1e5: finite, but exp() of it is not."""
    import arviz as az

    from pricing.io import netcdf_bytes
    from pricing.wtp.posterior import attach_metadata

    draws = {"wtp_log_median": np.full((2, 50, 1), 4.0), "wtp_log_sd": np.full((2, 50, 1), 1e5)}
    idata = az.from_dict(posterior=draws, coords={"segment": ["a"]}, dims={k: ["segment"] for k in draws})
    attach_metadata(idata, method="stated", columns={}, data_sha256="0", priors={}, diagnostics={})
    path.write_bytes(netcdf_bytes(idata))  # save_posterior would refuse it


def scenario_spread_1e5(path):
    """The scenario beside `posterior_spread_1e5.nc`, which it points to."""
    path.write_text(_yaml(_scenario(segments=_segment(0, posterior="posterior_spread_1e5.nc"))))


def retention_rising(path):
    """A cohort that grows: cohorts only shrink."""
    path.write_text("period,active\n0,100\n1,120\n")


def retention_period_huge(path):
    """A period number far beyond any horizon."""
    path.write_text("period,active\n0,100\n1,90\n100000,80\n")


def scenario_dynamics_bad_range(path):
    """A churn range given high to low."""
    path.write_text(_yaml(_scenario(dynamics={"horizon": 12, "retention": {"churn": [0.3, 0.1]}})))


_KANO_HEADER = "segment,uptime_functional,uptime_dysfunctional,weight\n"
_SATISFACTION_HEADER = "segment,satisfaction,churned,referred,weight\n"


def kano_weights_1e308(path):
    """Respondent weights whose sum overflows: the shares became inf/inf (CS+ printed as n/a)."""
    path.write_text(_KANO_HEADER + "a,I like it,I dislike it,1e308\na,like,neutral,1e308\nb,2,5,1\n")


def kano_bad_codes(path):
    """Answer codes outside 1..5 and a number too big for any code."""
    path.write_text(_KANO_HEADER + "a,7,I dislike it,1\na,1e308,neutral,1\n")


def kano_unpaired(path):
    """A dysfunctional column without its functional partner."""
    path.write_text("uptime_functional,uptime_dysfunctional,speed_dysfunctional\nlike,dislike,dislike\n")


def kano_all_blank(path):
    """Every answer pair blank."""
    path.write_text(_KANO_HEADER + "a,,,1\nb,,,1\n")


def kano_100000_segments(path):
    """A respondent id given as the segment: a fit would keep 100,000 segments of shares per draw."""
    rows = "".join(f"s{i},like,dislike,1\n" for i in range(100_000))
    path.write_text(_KANO_HEADER + rows)


def kano_3000_attributes(path):
    """3,000 question pairs: the fit's shares would be 36 million values per variable."""
    names = [f"a{i}_{side}" for i in range(3000) for side in ("functional", "dysfunctional")]
    row = ",".join(["like", "dislike"] * 3000)
    path.write_text(",".join(names) + "\n" + row + "\n" + row + "\n")


def satisfaction_no_outcomes(path):
    """Ratings but every outcome blank: the model had nothing to sample (a PyMC traceback)."""
    path.write_text(_SATISFACTION_HEADER + "a,3,,,1\na,4,,,1\n")


def satisfaction_rating_out_of_scale(path):
    """A likelihood-to-recommend of 11 and one of 1e308."""
    path.write_text(_SATISFACTION_HEADER + "a,11,yes,no,1\na,1e308,no,yes,1\na,3,no,no,1\n")


def satisfaction_weights_1e308(path):
    path.write_text(_SATISFACTION_HEADER + "a,3,no,no,1e308\na,4,yes,no,1e308\n")


def satisfaction_referred_negative(path):
    """Referral counts below zero and beyond any count."""
    path.write_text(_SATISFACTION_HEADER + "a,3,no,-2,1\na,4,no,1e308,1\n")


def satisfaction_100000_segments(path):
    rows = "".join(f"s{i},{i % 5 + 1},no,yes,1\n" for i in range(100_000))
    path.write_text(_SATISFACTION_HEADER + rows)


def scenario_satisfaction_link_missing(path):
    """The dynamics' satisfaction effect points to a fit that is not there."""
    data = _scenario()
    link = {"posterior": "data/missing_satisfaction.nc"}
    data["dynamics"] = {"retention": {"churn": 0.03, "satisfaction_effect": link}}
    path.write_text(_yaml(data))


SMALL = {
    "stated_ok.csv": stated_ok,
    "gabor_granger_cr_only.csv": gabor_granger_cr_only,
    "gabor_granger_weights_1e308.csv": gabor_granger_weights_1e308,
    "van_westendorp_weights_1e308.csv": van_westendorp_weights_1e308,
    "stated_amounts_1e308.csv": stated_amounts_1e308,
    "stated_amounts_1e-300.csv": stated_amounts_1e_300,
    "choice_all_none.csv": choice_all_none,
    "choice_prices_1e308.csv": choice_prices_1e308,
    "choice_bad_numeric_cell.csv": choice_bad_numeric_cell,
    "choice_price_constant_within_tasks.csv": choice_price_constant_within_tasks,
    "priors_nested_5000.json": priors_nested_5000,
    "scenario_ok.yaml": scenario_ok,
    "scenario_int_5000_digits.yaml": scenario_int_5000_digits,
    "scenario_seed_huge_hex.yaml": scenario_seed_huge_hex,
    "scenario_price_near_cap.yaml": scenario_price_near_cap,
    "scenario_all_sizes_zero.yaml": scenario_all_sizes_zero,
    "scenario_wtp_very_wide.yaml": scenario_wtp_very_wide,
    "scenario_coverage_1e-12.yaml": scenario_coverage_1e_12,
    "scenario_formula_names.yaml": scenario_formula_names,
    "scenario_missing_posterior.yaml": scenario_missing_posterior,
    "scenario_with_bomb.yaml": scenario_with_bomb,
    "scenario_spread_1e5.yaml": scenario_spread_1e5,
    "zip_file_and_folder.zip": zip_file_and_folder,
    "zip_long_name.zip": zip_long_name,
    "zip_data_outside.zip": zip_data_outside,
    "zip_data_absolute.zip": zip_data_absolute,
    "retention_rising.csv": retention_rising,
    "retention_period_huge.csv": retention_period_huge,
    "scenario_dynamics_bad_range.yaml": scenario_dynamics_bad_range,
    "kano_weights_1e308.csv": kano_weights_1e308,
    "kano_bad_codes.csv": kano_bad_codes,
    "kano_unpaired.csv": kano_unpaired,
    "kano_all_blank.csv": kano_all_blank,
    "satisfaction_no_outcomes.csv": satisfaction_no_outcomes,
    "satisfaction_rating_out_of_scale.csv": satisfaction_rating_out_of_scale,
    "satisfaction_weights_1e308.csv": satisfaction_weights_1e308,
    "satisfaction_referred_negative.csv": satisfaction_referred_negative,
    "scenario_satisfaction_link_missing.yaml": scenario_satisfaction_link_missing,
}
#: written by the test (each would add hundreds of KB to the repository)
BIG = {
    "kano_100000_segments.csv": kano_100000_segments,
    "kano_3000_attributes.csv": kano_3000_attributes,
    "satisfaction_100000_segments.csv": satisfaction_100000_segments,
    "stated_bad_cell_1mb.csv": stated_bad_cell_1mb,
    "scenario_seed_huge_binary.yaml": scenario_seed_huge_binary,
    "scenario_list_300000.yaml": scenario_list_300000,
    "choice_free_text_20000_levels.csv": choice_free_text_20000_levels,
    "choice_50000_alternatives.csv": choice_50000_alternatives,
    "psm_20000_continuous.csv": psm_20000_continuous,
    "posterior_4gb_unallocated.nc": posterior_4gb_unallocated,
    "posterior_spread_1e5.nc": posterior_spread_1e5,
}


def write_small(folder: Path = INPUTS) -> None:
    folder.mkdir(exist_ok=True)
    for name, make in SMALL.items():
        make(folder / name)


if __name__ == "__main__":
    write_small(Path(sys.argv[1]) if len(sys.argv) > 1 else INPUTS)
