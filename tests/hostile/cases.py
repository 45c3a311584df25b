"""The hostile-input corpus: each case is one command on one input and what the user must see.

`argv` is a `pricing` command line; ``{in}`` is the folder with every input of `make_corpus` (small ones
from ``inputs/``, big ones written there by the test), ``{tmp}`` an empty folder of the case's own and
``{text:NAME}`` the content of input NAME (for an option given inline, e.g. ``--priors``).
A refused input (`status` 2) must print exactly one line on stderr containing `expect` (the field, column
or option named) and no traceback; an accepted one (`status` 0) must print `expect` on stdout.
`memory_mb` runs the case with at most that much memory above the interpreter's own (`resource.setrlimit`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    expect: str
    status: int = 2
    memory_mb: int | None = None
    #: checks of files the command wrote, by name (see `test_hostile.CHECKS`)
    check: tuple[str, ...] = ()
    #: set up before running (see `test_hostile.SETUPS`)
    setup: str | None = None
    #: why the case is expected to fail for now (work another issue owns); None: it must pass
    pending: str | None = None


def _fit(method: str, data: str, *options: str) -> tuple[str, ...]:
    return ("fit", method, f"{{in}}/{data}", "--draws", "50", "--tune", "50", *options)


_STATED = ("fit", "stated", "{in}/stated_ok.csv")
_CHOICE = ("--id", "id", "--task", "task", "--alt", "alt", "--choice", "choice", "--price", "price")

CASES = [
    # ---- tracebacks instead of a message
    Case(
        "cr-only line endings are read",
        ("gabor-granger", "{in}/gabor_granger_cr_only.csv"),
        "best tested price",
        0,
    ),
    Case(
        "choice rows all none",
        ("fit", "choice", "{in}/choice_all_none.csv", *_CHOICE, "--attributes", "size", "--none-alt", "none"),
        "every row is the none alternative",
    ),
    Case(
        "weights 1e308: gabor-granger",
        ("gabor-granger", "{in}/gabor_granger_weights_1e308.csv", "--weight", "weight"),
        "column 'weight'",
    ),
    Case(
        "weights 1e308: psm",
        ("psm", "{in}/van_westendorp_weights_1e308.csv", "--weight", "weight"),
        "column 'weight'",
    ),
    Case(
        "weights 1e308: fit van-westendorp",
        _fit("van-westendorp", "van_westendorp_weights_1e308.csv", "--weight", "weight"),
        "column 'weight'",
    ),
    Case("tune 0", (*_STATED, "--tune", "0"), "argument --tune"),
    Case("draws 1e23", (*_STATED, "--draws", "99999999999999999999999"), "argument --draws"),
    Case("tune 1e23", (*_STATED, "--tune", "99999999999999999999999"), "argument --tune"),
    Case("chains 1e23", (*_STATED, "--chains", "99999999999999999999999"), "argument --chains"),
    Case("seed 2**64", (*_STATED, "--seed", "18446744073709551616"), "argument --seed"),
    Case("draws 2**63", (*_STATED, "--draws", "9223372036854775808"), "argument --draws"),
    Case(
        "map with a billion draws",
        (
            "fit",
            "choice",
            "{in}/choice_bad_numeric_cell.csv",
            *_CHOICE,
            "--attributes",
            "size",
            "--method",
            "map",
            "--draws",
            "1000000000",
        ),
        "argument --draws",
    ),
    Case(
        "draws x chains over the budget", (*_STATED, "--draws", "50000", "--chains", "16"), "draws x chains"
    ),
    Case("priors 1e308", (*_STATED, "--priors", '{"segment_sd_sd": 1e308}'), "priors.segment_sd_sd"),
    Case(
        "priors 1e-308", (*_STATED, "--priors", '{"log_wtp_center_sd": 1e-308}'), "priors.log_wtp_center_sd"
    ),
    Case("priors infinite", (*_STATED, "--priors", '{"log_wtp_center": 1e999}'), "priors.log_wtp_center"),
    Case("priors nested 5000 deep", (*_STATED, "--priors", "{text:priors_nested_5000.json}"), "--priors"),
    Case("yaml int of 5000 digits", ("validate", "{in}/scenario_int_5000_digits.yaml"), "segments[0].size"),
    Case(
        "yaml int of 5000 digits: simulate",
        ("simulate", "{in}/scenario_int_5000_digits.yaml"),
        "segments[0].size",
    ),
    Case("seed 0b... of 20000 digits", ("simulate", "{in}/scenario_seed_huge_binary.yaml"), "seed"),
    Case("seed 0x... of 5000 digits", ("simulate", "{in}/scenario_seed_huge_hex.yaml"), "seed"),
    Case("price near the cap simulates", ("simulate", "{in}/scenario_price_near_cap.yaml"), "best price", 0),
    Case(
        "zip member both file and folder",
        ("simulate", "{in}/zip_file_and_folder.zip"),
        "both a file and a folder",
    ),
    Case("zip member name over 255 bytes", ("simulate", "{in}/zip_long_name.zip"), "a name over 255 bytes"),
    Case("fit -o a folder", (*_STATED, "-o", "{tmp}"), "--output"),
    Case(
        "fit -o in a read-only place", (*_STATED, "-o", "/proc/fit.nc"), "--output /proc/fit.nc: cannot write"
    ),
    Case("fit -o without a folder", (*_STATED, "-o", "{tmp}/missing/fit.nc"), "does not exist"),
    Case(
        "fit --scenario-out a folder",
        (
            "fit",
            "choice",
            "{in}/choice_bad_numeric_cell.csv",
            *_CHOICE,
            "--attributes",
            "size",
            "--scenario-out",
            "{tmp}",
        ),
        "--scenario-out",
    ),
    Case("fit -o on a full disk", (*_STATED, "-o", "{tmp}/full/fit.nc"), "No space left", setup="full_disk"),
    Case(
        "simulate -o on a full disk",
        ("simulate", "{in}/scenario_ok.yaml", "-o", "{tmp}/full/out.nc"),
        "No space left",
        setup="full_disk",
    ),
    Case(
        "simulate -o, disk fills while writing",
        ("simulate", "{in}/scenario_ok.yaml", "-o", "{tmp}/full/out.nc"),
        "No space left",
        setup="almost_full_disk",
    ),
    # ---- memory not bounded
    Case(
        "posterior declaring 4 GB: validate",
        ("validate", "{in}/scenario_with_bomb.yaml"),
        "declares",
        memory_mb=1000,
    ),
    Case(
        "posterior declaring 4 GB: simulate",
        ("simulate", "{in}/scenario_with_bomb.yaml"),
        "declares",
        memory_mb=1000,
    ),
    Case(
        "choice attribute of 20000 levels",
        ("fit", "choice", "{in}/choice_free_text_20000_levels.csv", *_CHOICE, "--attributes", "size"),
        "levels",
        memory_mb=1000,
    ),
    Case(
        "choice task of 50000 alternatives",
        ("fit", "choice", "{in}/choice_50000_alternatives.csv", *_CHOICE, "--attributes", "size"),
        "alternatives",
        memory_mb=1000,
    ),
    Case(
        "psm on 20000 respondents with continuous prices",
        ("psm", "{in}/psm_20000_continuous.csv"),
        "optimal price point",
        0,
        memory_mb=1000,
    ),
    Case(
        "yaml list of 300000 items", ("validate", "{in}/scenario_list_300000.yaml"), "values", memory_mb=1000
    ),
    Case("a 1 MB bad cell", (*_STATED[:2], "{in}/stated_bad_cell_1mb.csv"), "column 'wtp'", memory_mb=1000),
    Case(
        "psm interpolation step 1e-300",
        ("psm", "{in}/van_westendorp_weights_1e308.csv", "--interpolate", "--interpolation-steps", "1e-300"),
        "interpolation_steps",
        memory_mb=1000,
    ),
    # ---- wrong results printed with exit 0
    Case("stated amounts 1e308", _fit("stated", "stated_amounts_1e308.csv"), "column 'wtp': lines 2, 3"),
    Case("stated amounts 1e-300", _fit("stated", "stated_amounts_1e-300.csv"), "column 'wtp': lines 2, 3"),
    Case(
        "choice prices 1e308",
        ("fit", "choice", "{in}/choice_prices_1e308.csv", *_CHOICE, "--attributes", "size", "--json"),
        "column 'price'",
    ),
    Case(
        "all segment sizes 0",
        ("simulate", "{in}/scenario_all_sizes_zero.yaml"),
        "segments: every segment has size 0",
    ),
    Case("very wide WTP", ("validate", "{in}/scenario_wtp_very_wide.yaml"), "segments[0].wtp"),
    Case("coverage 1e-12", ("validate", "{in}/scenario_coverage_1e-12.yaml"), "segments[0].wtp"),
    Case(
        "one bad cell in a numeric attribute",
        ("fit", "choice", "{in}/choice_bad_numeric_cell.csv", *_CHOICE, "--attributes", "size"),
        "column 'size': lines 9, 22",
    ),
    Case(
        "price constant within every task",
        ("fit", "choice", "{in}/choice_price_constant_within_tasks.csv", *_CHOICE, "--attributes", "size"),
        "not identified",
    ),
    Case(
        "posterior spread 1e5",
        ("simulate", "{in}/scenario_spread_1e5.yaml", "-o", "{tmp}/out.csv"),
        "wtp_log_sd reaches",
    ),
    # ---- safety
    Case(
        "formula names in the results CSV",
        ("simulate", "{in}/scenario_formula_names.yaml", "-o", "{tmp}/out.csv"),
        "wrote",
        0,
        check=("no_formula_cells",),
    ),
    Case(
        "zip data outside its folder",
        ("simulate", "{in}/zip_data_outside.zip"),
        "outside the scenario's folder",
    ),
    Case(
        "zip posterior at an absolute path",
        ("validate", "{in}/zip_data_absolute.zip"),
        "outside the scenario's folder",
    ),
    Case(
        "validate a missing posterior",
        ("validate", "{in}/scenario_missing_posterior.yaml"),
        "segments[0].wtp.file",  # a version-1 file: its wtp.posterior is version 2's wtp.file
    ),
    Case("-o empty", ("simulate", "{in}/scenario_ok.yaml", "-o", ""), "empty file name"),
    Case(
        "-o a link to /dev/full",
        ("simulate", "{in}/scenario_ok.yaml", "-o", "{tmp}/link.csv"),
        "not a regular file",
        setup="link_to_dev_full",
    ),
    Case(
        "retention cohort rising",
        ("fit", "retention", "{in}/retention_rising.csv", "--method", "map"),
        "customers rise",
    ),
    Case(
        "retention period 100000",
        ("fit", "retention", "{in}/retention_period_huge.csv", "--method", "map"),
        "periods above 1000",
    ),
    Case(
        "dynamics churn range reversed",
        ("validate", "{in}/scenario_dynamics_bad_range.yaml"),
        "dynamics.retention.churn",
    ),
    # ---- Kano and satisfaction readers (issue 13)
    Case(
        "kano weights 1e308",
        ("kano", "{in}/kano_weights_1e308.csv", "--segment", "segment", "--weight", "weight"),
        "column 'weight'",
    ),
    Case(
        "kano codes 7 and 1e308",
        ("kano", "{in}/kano_bad_codes.csv"),
        "column 'uptime_functional': lines 2, 3",
    ),
    Case("kano column without partner", ("kano", "{in}/kano_unpaired.csv"), "'speed_dysfunctional'"),
    Case(
        "kano every pair blank", ("kano", "{in}/kano_all_blank.csv", "--json"), "every answer pair is blank"
    ),
    Case(
        "fit kano weights 1e308",
        _fit("kano", "kano_weights_1e308.csv", "--segment", "segment", "--weight", "weight"),
        "column 'weight'",
    ),
    Case(
        "fit kano 100000 segments",
        _fit("kano", "kano_100000_segments.csv", "--segment", "segment"),
        "column 'segment': 100,000 segments",
        memory_mb=1000,
    ),
    Case(
        "fit kano 3000 attributes",
        ("fit", "kano", "{in}/kano_3000_attributes.csv"),
        "36,000,000 values",
        memory_mb=1000,
    ),
    Case(
        "satisfaction outcomes all blank",
        _fit("satisfaction", "satisfaction_no_outcomes.csv"),
        "no known outcome",
    ),
    Case(
        "satisfaction rating 11 and 1e308",
        _fit("satisfaction", "satisfaction_rating_out_of_scale.csv"),
        "column 'satisfaction': lines 2, 3",
    ),
    Case(
        "satisfaction weights 1e308",
        _fit("satisfaction", "satisfaction_weights_1e308.csv", "--weight", "weight"),
        "column 'weight'",
    ),
    Case(
        "satisfaction referrals -2 and 1e308",
        _fit("satisfaction", "satisfaction_referred_negative.csv"),
        "column 'referred': lines 2, 3",
    ),
    Case(
        "satisfaction 100000 segments",
        _fit("satisfaction", "satisfaction_100000_segments.csv", "--segment", "segment"),
        "column 'segment': 100,000 segments",
        memory_mb=1000,
    ),
    Case(
        "scenario satisfaction link missing",
        ("validate", "{in}/scenario_satisfaction_link_missing.yaml"),
        "dynamics.retention.satisfaction_effect.posterior",
    ),
]
