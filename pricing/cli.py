"""The `pricing` command: parses arguments, calls the library, prints. No logic of its own.

Bad input of any kind (a file, an option) prints one line naming what is wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from pricing.errors import PricingError, capped, one_line, shown
from pricing.limits import MAX_SEED, MAX_SIMULATION_DRAWS, SAMPLING, check_sampling

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage dump) and exits with status 2."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _validate(args: argparse.Namespace) -> int:
    from pricing.scenario import data_path, file_problems, load_scenario, scenario_file_fields

    status = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
            problems = file_problems(scenario)
            if not problems:  # what validates must simulate: the posterior files it points to are ours
                for field, written in scenario_file_fields(scenario, posteriors_only=True):
                    from pricing.wtp.posterior import load_posterior

                    load_posterior(data_path(scenario, written, field))
        except PricingError as error:
            problems = getattr(error, "problems", [str(error)])
        if problems:
            status = EXIT_USAGE
            for problem in capped(problems):
                print(f"{path}: {problem}")
            continue
        print(
            f"{path}: ok ({scenario.name!r}: {len(scenario.segments)} segments, "
            f"{len(scenario.offerings)} offerings, {len(scenario.variants)} variants)"
        )
    return status


def _simulate(args: argparse.Namespace) -> int:
    from pricing import analysis
    from pricing.scenario import load_scenario, with_changes
    from pricing.simulate import simulate

    if args.output is not None:
        analysis.check_output_path(args.output)
    scenario = load_scenario(args.file)
    changes = {k: v for k, v in (("market.draws", args.draws), ("seed", args.seed)) if v is not None}
    if changes:
        scenario = with_changes(scenario, changes)
    results = simulate(scenario)
    table = analysis.variant_summary(results)
    print(
        f"{scenario.name}: {scenario.market.draws} draws, seed {scenario.seed}, "
        f"{scenario.our_offering.name} at {scenario.our_offering.price:g} {scenario.currency} today"
    )
    print(_format_variants(table, scenario.currency, scenario.period))
    horizon = args.horizon if args.horizon is not None else (scenario.dynamics and scenario.dynamics.horizon)
    if horizon is None:
        if args.output is not None:
            analysis.write_results(results, args.output)
            print(f"wrote {args.output}")
        return 0
    from pricing import dynamics

    totals, periods = dynamics.value_over_time(scenario, horizon=horizon)
    summary = dynamics.npv_summary(totals)
    print()
    print(
        f"over {horizon} {scenario.period}s "
        f"(discount rate {periods.attrs['discount_rate']:g} per {scenario.period}):"
    )
    print(_format_over_time(summary, scenario.currency))
    print(dynamics.decision_sentence(summary, horizon, scenario.period))
    if args.output is not None:
        dynamics.write_over_time(totals, periods, args.output)
        print(f"wrote {args.output}")
    return 0


def _scenario_with(args: argparse.Namespace):
    from pricing.scenario import load_scenario, with_changes

    scenario = load_scenario(args.file)
    changes = {k: v for k, v in (("market.draws", args.draws), ("seed", args.seed)) if v is not None}
    return with_changes(scenario, changes) if changes else scenario


def _money_interval(stats: dict, digits: int = 2) -> str:
    if stats["mean"] is None:
        return "n/a"
    return f"{stats['mean']:,.{digits}f} [{stats['q05']:,.{digits}f}, {stats['q95']:,.{digits}f}]"


def _equilibrium(args: argparse.Namespace) -> int:
    from pricing import competition

    scenario = _scenario_with(args)
    variant = args.variant or scenario.variants[0].name
    if variant not in [v.name for v in scenario.variants]:
        known = ", ".join(v.name for v in scenario.variants)
        raise PricingError(f"--variant {variant!r}: unknown variant (known: {known})")
    report = competition.equilibrium_summary(competition.equilibrium(scenario), variant)
    if args.json:
        print(
            json.dumps({k: report[k] for k in ("prices", "shares", "profits", "converged")}, allow_nan=False)
        )
        return 0
    firms = dict(zip((o.name for o in scenario.offerings), scenario.firms, strict=True))
    held = {o.name for o in scenario.offerings if not o.reacts}
    rows = [
        {
            "offering": name,
            "firm": firms[name] + (" (holds)" if name in held else ""),
            f"price ({scenario.currency})": _money_interval(report["prices"][name]),
            "share": _money_interval(
                {k: v if v is None else 100 * v for k, v in report["shares"][name].items()}, 1
            ),
            f"profit ({scenario.currency})": _money_interval(report["profits"][name], 0),
        }
        for name in report["prices"]
    ]
    converged = round(report["converged"] * report["draws"])
    print(f"{scenario.name}: Bertrand-Nash equilibrium, variant {variant!r}, {report['draws']} draws")
    print(pd.DataFrame(rows).to_string(index=False))
    print(
        f"converged in {converged} of {report['draws']} draws; figures: mean [90% interval] over those; "
        "share in % of the market's customers"
    )
    return 0


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (e.g. 0.2 or 20%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a share lies between 0 and 1 (or 0% and 100%)")
    return value


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a price") from None
    if not (math.isfinite(value) and 0 < value <= 1e9):
        raise argparse.ArgumentTypeError(f"{text!r}: a price is above 0 and at most 1e9")
    return value


def _prices(text: str) -> tuple[float, ...]:
    return tuple(_price(part) for part in text.split(",") if part.strip())


def _decide(args: argparse.Namespace) -> int:
    from pricing import decide

    scenario = _scenario_with(args)
    decide.check_objective(args.objective)
    constraints = decide.Constraints(
        min_share=args.min_share,
        price_floor=args.floor,
        price_ceiling=args.ceiling,
        ending=args.ending,
        prices=args.prices or (),
    )
    decision = decide.decide(scenario, args.objective, args.react, constraints)
    if args.json:
        print(json.dumps(decision.to_json(), allow_nan=False))
        return 0
    money = scenario.currency
    choice = decision.candidates.set_index(["price", "variant"]).loc[
        (decision.choice["price"], decision.choice["variant"])
    ]
    print(
        f"{scenario.name}: objective {decision.objective}, rivals "
        + ("react (leader pricing)" if decision.react else "hold today's prices")
        + f", {decision.draws_used} draws"
    )
    for note in decision.notes:
        print(f"note: {note}")
    print(
        f"choice: {decision.choice['price']:,.2f} {money}, variant {decision.choice['variant']!r}: "
        f"expected profit {choice.expected_profit:,.0f} {money}, P(best) {choice.p_best:.0%}, "
        f"expected regret {choice.regret:,.0f} {money}"
    )
    top = decision.candidates.sort_values("objective", ascending=False).head(args.top)
    as_share = decision.objective == "p_beat_today"
    shown = pd.DataFrame(
        {
            f"price ({money})": [f"{p:,.2f}" for p in top.price],
            "variant": top.variant,
            decision.objective: [f"{v:.1%}" if as_share else f"{v:,.0f}" for v in top.objective],
            f"expected profit ({money})": [f"{v:,.0f}" for v in top.expected_profit],
            "share": [f"{v:.1%}" for v in top.share],
            "P(best)": [f"{v:.1%}" for v in top.p_best],
            f"regret ({money})": [f"{v:,.0f}" for v in top.regret],
        }
    )
    print(shown.to_string(index=False))
    print(f"value of perfect information (EVPI): {decision.evpi:,.0f} {money}")
    print("value of perfect information on each input (EVPPI):")
    for name, amount in sorted(decision.evppi.items(), key=lambda item: -item[1]):
        print(f"  {name}: {amount:,.0f} {money}")
    return 0


def _format_over_time(summary: pd.DataFrame, currency: str) -> str:
    def figure(row, prefix: str, digits: int = 0) -> str:
        return (
            f"{getattr(row, prefix + '_mean'):,.{digits}f} "
            f"[{getattr(row, prefix + '_q05'):,.{digits}f}, {getattr(row, prefix + '_q95'):,.{digits}f}]"
        )

    rows = list(summary.itertuples())
    shown = pd.DataFrame(
        {
            "variant": summary["variant"],
            f"NPV-best price ({currency})": [
                f"{r.npv_best_price:,.2f} [{r.npv_best_price_q05:,.2f}, {r.npv_best_price_q95:,.2f}]"
                for r in rows
            ],
            f"NPV ({currency})": [figure(r, "npv") for r in rows],
            "P(highest NPV)": [f"{r.p_highest_npv:.0%}" for r in rows],
            f"CLV ({currency})": [figure(r, "clv") for r in rows],
            "customers at the end": [figure(r, "customers_end") for r in rows],
            f"one-period best price ({currency})": [f"{r.one_period_best_price:,.2f}" for r in rows],
        }
    )
    note = (
        "NPV-best price: maximises expected NPV [90% interval of the per-draw optimum]; NPV, CLV (per "
        "customer of ours today) and customers at that price [90% interval]"
    )
    return shown.to_string(index=False) + "\n" + note


def _shares(args: argparse.Namespace) -> int:
    from pricing.scenario import load_scenario, with_changes
    from pricing.shares import market_shares
    from pricing.simulate import simulate

    scenario = load_scenario(args.file)
    changes = {k: v for k, v in (("market.draws", args.draws), ("seed", args.seed)) if v is not None}
    if changes:
        scenario = with_changes(scenario, changes)
    data = market_shares(simulate(scenario))
    if args.json:
        print(json.dumps(data, allow_nan=False))
        return 0
    print(
        f"{scenario.name}: share of customers at today's prices ({scenario.our_offering.name} at "
        f"{scenario.our_offering.price:g} {scenario.currency}), {scenario.market.draws} draws, "
        f"{scenario.market.choice_rule.replace('_', ' ')}; mean [90% interval]"
    )
    columns = {"market": data["shares"], **data["segments"]}
    table = pd.DataFrame(
        {
            name: [f"{v['mean']:.1%} [{v['q05']:.1%}, {v['q95']:.1%}]" for v in shares.values()]
            for name, shares in columns.items()
        },
        index=pd.Index(list(data["shares"]), name="offering"),
    )
    print(table.to_string())
    return 0


def _pack(args: argparse.Namespace) -> int:
    from pricing.bundle import pack_scenario, scenario_files
    from pricing.io import atomic_write_bytes, check_output
    from pricing.scenario import load_scenario

    output = check_output(args.output, (".zip",))
    scenario = load_scenario(args.file)
    content = pack_scenario(scenario)
    atomic_write_bytes(output, content)
    files = ", ".join(scenario_files(scenario)) or "no data files"
    print(f"wrote {output} ({len(content):,} bytes: the scenario and {files})")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from pricing.scenario import SCHEMA_VERSION, migrate_file

    output = args.output or args.file
    version = migrate_file(args.file, args.output)
    if version == SCHEMA_VERSION:
        print(f"{args.file}: already version {SCHEMA_VERSION}; wrote {output} unchanged in content")
    else:
        print(f"{args.file}: version {version} -> {SCHEMA_VERSION}; wrote {output}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from pricing import sweep

    if args.output:
        sweep.check_output_path(args.output)
    if args.resume and not args.output:
        raise PricingError("--resume continues the sweep written to --output: give --output")
    if args.scheduler and args.workers is not None:
        raise PricingError("give --workers (a local pool) or --scheduler (a Dask cluster), not both")
    if args.workers == 0:
        raise PricingError("--workers: give at least 1 (1 runs in this process)")
    bar = _ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.json else None
    try:
        result = sweep.run_sweep(
            args.file,
            workers=args.workers,
            scheduler=args.scheduler,
            output=args.output,
            resume=args.resume,
            progress=bar,
        )
    except KeyboardInterrupt:
        kept = "; the finished batches are kept: add --resume to continue" if args.output else ""
        print(f"pricing sweep: interrupted{kept}", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    best = sweep.best_points(result.table)
    if args.json:
        report = {
            "points": result.points,
            "done": result.done,
            "resumed": result.resumed,
            "seconds": round(result.seconds, 3),
            "mode": result.mode,
            "output": args.output,
            "failed": result.failures,
            "best_by_profit": _records(best),
        }
        if not args.output:
            report["rows"] = _records(result.table)
        print(json.dumps(report, allow_nan=False))
        return 1 if result.failures else 0
    out = sys.stdout if args.output else sys.stderr  # without --output the table itself goes to stdout
    if not args.output:
        from pricing.io import csv_text

        print(csv_text(result.table), end="")
    ran = result.done - result.resumed
    rate = f", {ran / result.seconds:,.1f} points/s" if result.seconds > 0 and ran else ""
    resumed = f" ({result.resumed:,} from the earlier run)" if result.resumed else ""
    print(
        f"sweep: {result.done:,} points{resumed}, {len(result.failures):,} failed, "
        f"in {result.seconds:,.1f} s on {result.mode}{rate}",
        file=out,
    )
    for failure in result.failures[:_SHOWN_FAILURES]:
        shown = ", ".join(f"{path}={value}" for path, value in failure["values"].items())
        print(f"  point {failure['point']} ({shown}): {failure['error']}", file=out)
    if len(result.failures) > _SHOWN_FAILURES:
        print(f"  ... and {len(result.failures) - _SHOWN_FAILURES:,} more failed points", file=out)
    fixed = ("point", "seed", *sweep.KEY_COLUMNS, *sweep.STAT_COLUMNS)
    paths = [column for column in result.table.columns if column not in fixed]
    for _, row in best.iterrows():
        shown = ", ".join(
            f"{path}={row[path]:g}" if isinstance(row[path], float) else f"{path}={row[path]}"
            for path in paths
        )
        print(
            f"  best expected profit of {row['variant']}: {row['mean']:,.0f} "
            f"at point {row['point']} ({shown})",
            file=out,
        )
    if args.output:
        print(f"wrote {args.output}", file=out)
    return 1 if result.failures else 0


_SHOWN_FAILURES = 20


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: NaN (a statistic a metric does not have) as null."""
    clean = table.astype(object).where(table.notna(), None)
    return clean.to_dict(orient="records")


class _ProgressBar:
    """A one-line progress bar with the rate and the time left, redrawn in place (for a terminal)."""

    def __init__(self, stream):
        self.stream, self.first, self.drawn = stream, None, False

    def __call__(self, done: int, total: int, seconds: float) -> None:
        if self.first is None:
            self.first = (done, seconds)
        ran, spent = done - self.first[0], seconds - self.first[1]
        rate = ran / spent if spent > 0 and ran else 0.0
        left = f"{_duration((total - done) / rate)} left" if rate else "starting"
        width = 30
        filled = int(width * done / total) if total else width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} points  {rate:,.1f}/s  {left}  "
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _format_variants(table: pd.DataFrame, currency: str, period: str = "month") -> str:
    def money(prefix: str, row: pd.Series, digits: int = 0) -> str:
        return (
            f"{row[prefix + '_mean']:,.{digits}f} "
            f"[{row[prefix + '_q05']:,.{digits}f}, {row[prefix + '_q95']:,.{digits}f}]"
        )

    shown = pd.DataFrame(
        {
            "variant": table["variant"],
            f"best price ({currency})": [
                f"{r.best_price:,.2f} [{r.best_price_q05:,.2f}, {r.best_price_q95:,.2f}]"
                for r in table.itertuples()
            ],
            "P(most profitable)": [f"{p:.0%}" for p in table["p_most_profitable"]],
            "share": [
                f"{r.share_mean:.1%} [{r.share_q05:.1%}, {r.share_q95:.1%}]" for r in table.itertuples()
            ],
            f"revenue ({currency}/{period})": [money("revenue", r) for _, r in table.iterrows()],
            f"profit ({currency}/{period})": [money("profit", r) for _, r in table.iterrows()],
            "satisfaction": [money("satisfaction", r, 1) for _, r in table.iterrows()],
        }
    )
    note = (
        "best price: maximises expected profit [90% interval of the per-draw optimum]; "
        "the other figures at that price [90% interval]"
    )
    return shown.to_string(index=False) + "\n" + note


def _schema(args: argparse.Namespace) -> int:
    if args.sweep:
        from pricing.sweep import json_schema
    else:
        from pricing.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _bounded_int(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (the bounds live in `pricing.limits`)."""

    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        if not digits.isdecimal() or len(digits) > 30:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from {low:,} to {high:,}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{shown(text)} must be from {low:,} to {high:,}")
        return value

    parse.__name__ = name  # argparse names the type in its message
    return parse


#: any other whole-number option: at least 0, and small enough for every counter and seed
_positive_int = _bounded_int("number", 0, MAX_SEED)


def _sampling_option(name: str) -> Callable[[str], int]:
    return _bounded_int(name, *SAMPLING[name])


def _print_json(data) -> None:
    """Print strict JSON: a non-finite number is null (Python's json would print bare NaN)."""
    print(json.dumps(_finite_or_null(data), indent=2, allow_nan=False))


def _finite_or_null(value):
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _finite_or_null(value.item())
    return value


def _check_outputs(*outputs: tuple[str, str | None, tuple[str, ...]]) -> None:
    """Check each (option, path, suffixes) destination before a fit: a fit takes minutes."""
    from pricing.io import check_output

    for option, path, suffixes in outputs:
        if path is not None:
            check_output(path, suffixes, option)


def _report_fit(
    args: argparse.Namespace,
    summary: Callable[[], dict],
    text: Callable[[], str],
    written: Sequence[str] = (),
    problems: Sequence[str] = (),
) -> int:
    """Print a fit's summary (strict JSON under --json, else text), the files it wrote (on stderr under
    --json, so stdout stays one JSON object) and its sampling problems as a warning on stderr."""
    if args.json:
        _print_json(summary())
    else:
        print(text())
    for path in written:
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if problems:
        print("WARNING: sampling problems: " + "; ".join(problems), file=sys.stderr)
    return 0


def _sampling_problems(idata) -> list[str]:
    """The problems a fit's sampler checks found (its posterior attrs' `diagnostics`), none if it passed."""
    diagnostics = json.loads(idata.posterior.attrs.get("diagnostics", "{}"))
    return [] if diagnostics.get("ok", True) else list(diagnostics.get("problems", []))


# ---- survey WTP: `fit`, `psm`, `gabor-granger` ---------------------------------------------------------

# CLI option -> column role, per survey method (the option's value is the column name)
_SURVEY_COLUMNS = {
    "stated": ("amount", "lower", "upper", "respondent", "weight", "segment"),
    "gabor_granger": ("respondent", "price", "answer", "weight", "segment"),
    "van_westendorp": ("too_cheap", "cheap", "expensive", "too_expensive", "weight", "respondent", "segment"),
}


def _columns(args: argparse.Namespace, method: str) -> dict[str, str]:
    return {role: getattr(args, role) for role in _SURVEY_COLUMNS[method] if getattr(args, role, None)}


def _fit_survey(args: argparse.Namespace) -> int:
    from pricing.wtp import survey_model

    method = args.method.replace("-", "_")
    options = {}
    if method == "gabor_granger":
        options["inconsistent"] = args.inconsistent
    if method == "van_westendorp":
        options["wtp_bounds"] = tuple(args.wtp_bounds.split("-"))
    check_sampling(args.draws, args.tune, args.chains, args.seed)
    _check_outputs(("--output", args.output, (".nc",)))
    from pricing.wtp.model import OptionsError

    try:
        model = survey_model(method, _columns(args, method), _priors(args.priors), **options)
    except OptionsError as error:  # the priors are the model's config: name the option that gave them
        raise OptionsError(str(error).replace("model_config", "--priors")) from None
    model.fit(
        args.data, args.fit_method, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed
    )
    if args.output:
        model.save(args.output)
    return _report_fit(args, model.to_json, model.report, [args.output] if args.output else [])


def _priors(text: str | None) -> dict | None:
    from pricing.wtp.priors import check_depth

    if text is None:
        return None
    example = "e.g. '{\"segment_sd_sd\": 0.2}'"
    if len(text) > 100_000:
        raise PricingError(f"--priors: {len(text):,} characters; prior settings are a short JSON object")
    try:
        priors = json.loads(text)
    except json.JSONDecodeError as error:
        raise PricingError(f"--priors: not JSON ({error.msg}); {example}") from None
    except (RecursionError, ValueError):  # nested thousands deep; an integer of thousands of digits
        raise PricingError(f"--priors: nested too deep or a number too long; {example}") from None
    if not isinstance(priors, dict):
        raise PricingError(f"--priors: must be a JSON object, {example}")
    check_depth(priors, "--priors")
    return priors


def _psm(args: argparse.Namespace) -> int:
    from pricing.wtp.van_westendorp import psm_analysis

    columns = _columns(args, "van_westendorp") | {
        role: getattr(args, role) for role in ("pi_cheap", "pi_expensive") if getattr(args, role)
    }
    result = psm_analysis(
        args.data,
        columns,
        intersection_method=args.intersection_method,
        interpolate=args.interpolate,
        interpolation_steps=args.interpolation_steps,
    )
    figures = {
        "pmc": result.pmc,
        "pme": result.pme,
        "idp": result.idp,
        "opp": result.opp,
        "trial_price": result.trial_price,
        "revenue_price": result.revenue_price,
        "n_valid": result.n_valid,
        "n_invalid": result.n_invalid,
    }
    if args.json:
        # a price point whose curves never cross is NaN: null in JSON
        _print_json(figures)
        return 0
    print(f"respondents: {result.n_valid} valid, {result.n_invalid} dropped (answers not increasing)")
    names = {
        "pmc": "point of marginal cheapness",
        "opp": "optimal price point",
        "idp": "indifference price point",
        "pme": "point of marginal expensiveness",
    }
    for key, name in names.items():
        print(f"  {name} ({key.upper()}): {figures[key]:,.2f}")
    if result.trial_price is not None:
        print(f"  NMS trial-maximising price: {result.trial_price:,.2f}")
        print(f"  NMS revenue-maximising price: {result.revenue_price:,.2f}")
    return 0


def _gabor_granger(args: argparse.Namespace) -> int:
    from pricing.wtp.gabor_granger import gabor_granger_table

    result = gabor_granger_table(args.data, _columns(args, "gabor_granger"))
    if args.json:
        table = result.table[["price", "share", "revenue"]].to_dict(orient="records")
        _print_json({"best_price": result.best_price, "best_revenue": result.best_revenue, "table": table})
        return 0
    shown = result.table.assign(share=result.table.share.map("{:.1%}".format))
    print(shown.to_string(index=False))
    print(f"best tested price: {result.best_price:,.2f} (revenue per respondent {result.best_revenue:,.2f})")
    return 0


def _add_fit_commands(commands) -> argparse._SubParsersAction:
    """`pricing fit <method> DATA.csv ...`; returns the method sub-parsers, where other methods are added."""
    fit = commands.add_parser("fit", help="fit a WTP posterior per segment to survey data")
    methods = fit.add_subparsers(dest="method", required=True, parser_class=_Parser)
    columns = {
        "stated": {
            "amount": "stated amount (default 'wtp')",
            "lower": "lower bound of an interval answer (default 'wtp_lower')",
            "upper": "upper bound of an interval answer (default 'wtp_upper')",
        },
        "gabor-granger": {
            "respondent": "respondent id (default 'respondent')",
            "price": "tested price (default 'price')",
            "answer": "yes/no answer (default 'answer')",
        },
        "van-westendorp": {
            "too_cheap": "too cheap price (default 'too_cheap')",
            "cheap": "cheap price (default 'cheap')",
            "expensive": "expensive price (default 'expensive')",
            "too_expensive": "too expensive price (default 'too_expensive')",
        },
    }
    helps = {
        "stated": "stated WTP: an amount or an interval per respondent",
        "gabor-granger": "Gabor-Granger: yes/no at several prices per respondent",
        "van-westendorp": "Van Westendorp: too cheap, cheap, expensive, too expensive per respondent",
    }
    for method, roles in columns.items():
        sub = methods.add_parser(method, help=helps[method])
        sub.add_argument("data", metavar="DATA.csv")
        for role, text in roles.items():
            option = f"--{role.replace('_', '-')}"
            sub.add_argument(option, dest=role, metavar="COL", help=f"column: {text}")
        if method == "stated":
            sub.add_argument(
                "--respondent", metavar="COL", help="column: respondent id (default: row number)"
            )
        sub.add_argument("--weight", metavar="COL", help="column: respondent weight (default: none)")
        sub.add_argument("--segment", metavar="COL", help="column: segment (default: one segment 'all')")
        if method == "gabor-granger":
            sub.add_argument(
                "--inconsistent",
                choices=("drop", "span"),
                default="drop",
                help="respondents with a yes above a no: drop (default) or bound WTP by the contradiction",
            )
        if method == "van-westendorp":
            sub.add_argument(
                "--respondent", metavar="COL", help="column: respondent id (default: row number)"
            )
            sub.add_argument(
                "--wtp-bounds",
                choices=("cheap-expensive", "expensive-too_expensive"),
                default="cheap-expensive",
                help="answers that bound each respondent's WTP (default cheap-expensive)",
            )
        _add_fit_method(sub)
        _add_sampling_options(sub)
        sub.add_argument(
            "--priors",
            metavar="JSON",
            help="prior settings over the defaults, e.g. '{\"segment_sd_sd\": 0.2}'",
        )
        sub.set_defaults(run=_fit_survey)
    return methods


def _add_fit_method(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--fit-method",
        "--method",
        dest="fit_method",
        choices=("nuts", "map"),
        default="nuts",
        help="nuts (default): the posterior by MCMC; map: posterior mode + Laplace approximation, a quick "
        "look that does not sample",
    )


def _add_sampling_options(sub: argparse.ArgumentParser, draws_default: str = "1000") -> None:
    bounds = {name: f"{low:,}..{high:,}" for name, (low, high) in SAMPLING.items() if name != "seed"}
    sub.add_argument(
        "--draws",
        type=_sampling_option("draws"),
        default=1000,
        help=f"draws per chain ({bounds['draws']}; {draws_default})",
    )
    sub.add_argument(
        "--tune",
        type=_sampling_option("tune"),
        default=1000,
        help=f"tuning steps per chain ({bounds['tune']}; 1000)",
    )
    sub.add_argument(
        "--chains", type=_sampling_option("chains"), default=2, help=f"chains ({bounds['chains']}; 2)"
    )
    sub.add_argument("--seed", type=_sampling_option("seed"), default=0, help="random seed (0)")
    sub.add_argument("--output", "-o", metavar="POSTERIOR.nc", help="save the posterior for a scenario")
    sub.add_argument("--json", action="store_true", help="print one JSON object")


def _fit_choice(args: argparse.Namespace) -> int:
    import os

    from pricing.errors import DataError
    from pricing.wtp.choice import ChoiceColumns, ChoiceModel
    from pricing.wtp.choice_report import format_summary, product_from_text, starter_scenario

    refs = {}
    for item in args.ref:
        attribute, sep, level = item.partition("=")
        if not sep or not attribute.strip() or not level.strip():
            raise DataError(f"--ref {item}: expected ATTRIBUTE=LEVEL, e.g. --ref colour=green")
        refs[attribute.strip()] = level.strip()
    check_sampling(args.draws or 1000, args.tune, args.chains, args.seed)
    _check_outputs(
        ("--output", args.output, (".nc",)), ("--scenario-out", args.scenario_out, (".yaml", ".yml"))
    )
    columns = ChoiceColumns(
        id=args.id,
        task=args.task,
        alt=args.alt,
        choice=args.choice,
        price=args.price,
        attributes=tuple(a.strip() for a in args.attributes.split(",") if a.strip()),
        asc=args.asc or args.asc_ref is not None,
        asc_ref=args.asc_ref,
        none_alt=args.none_alt,
        segment=args.segment,
        refs=refs,
    )
    model = ChoiceModel(
        columns=columns,
        random=args.random,
        space=args.space,
        price_distribution=args.price_distribution,
        loo=args.loo,
    )
    model.fit(
        args.data,
        args.fit_method,
        **({} if args.draws is None else {"draws": args.draws}),  # None: the model's default
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        target_ess=args.target_ess,
        time_budget=args.time_budget,
    )
    fit = model.result
    written = []
    if args.output:
        model.save(args.output)
        written.append(args.output)
    if args.scenario_out:
        from pricing.scenario import save_scenario, scenario_from_dict  # pydantic: only for a scenario

        posterior_path = None
        if args.output:  # the starter's WTP points to the saved fit, relative to the scenario file
            folder = Path(args.scenario_out).resolve().parent
            posterior_path = os.path.relpath(Path(args.output).resolve(), folder)
        products = [product_from_text(text, fit) for text in args.product] or None
        starter = starter_scenario(fit, posterior_path=posterior_path, products=products)
        save_scenario(scenario_from_dict(starter), args.scenario_out)
        written.append(args.scenario_out)
    problems = [] if fit.diagnostics.get("ok", True) else fit.diagnostics["problems"]
    return _report_fit(args, fit.to_json, lambda: format_summary(fit), written, problems)


def _add_fit_choice(fit_commands) -> None:
    """`pricing fit choice`: choice-based conjoint (multinomial or hierarchical Bayes mixed logit)."""
    choice = fit_commands.add_parser(
        "choice",
        help="choice-based conjoint: multinomial or hierarchical Bayes mixed logit, WTP per attribute",
    )
    choice.add_argument(
        "data", metavar="DATA.csv", help="long format: one row per respondent, task, alternative"
    )
    for name, what in (
        ("id", "respondent id"),
        ("task", "choice task"),
        ("alt", "alternative label"),
        ("choice", "choice (1 = chosen, 0 = not)"),
        ("price", "price (a number)"),
    ):
        choice.add_argument(f"--{name}", required=True, metavar="COLUMN", help=f"column of the {what}")
    choice.add_argument("--attributes", required=True, metavar="A,B,...", help="attribute columns")
    choice.add_argument("--asc", action="store_true", help="alternative-specific constants")
    choice.add_argument("--asc-ref", metavar="LEVEL", help="alternative without a constant (default: first)")
    choice.add_argument(
        "--random",
        metavar="A,B|all",
        help="random coefficients (mixed logit); all = every coefficient, price included",
    )
    choice.add_argument(
        "--space",
        choices=("preference", "wtp"),
        default="preference",
        help="preference (default): utility = beta . x; wtp: utility = lambda (omega . x - price), "
        "WTP estimated directly (as logitr)",
    )
    choice.add_argument(
        "--price-distribution",
        choices=("normal", "lognormal"),
        help="of a random price across respondents: normal (default in preference space, as mlogit and "
        "xlogit) or lognormal (always negative; the only choice and the default in WTP space)",
    )
    choice.add_argument(
        "--target-ess",
        type=_bounded_int("target ESS", 1, 1_000_000),
        metavar="N",
        help="keep sampling (more chains) until every population parameter has bulk ESS >= N, or "
        "--time-budget runs out; the output says which",
    )
    choice.add_argument(
        "--time-budget",
        type=_bounded_int("seconds", 1, 86_400),
        default=600,
        metavar="SECONDS",
        help="seconds --target-ess may spend (600)",
    )
    choice.add_argument(
        "--loo",
        action="store_true",
        help="PSIS-LOO over respondents (ArviZ) for model comparison",
    )
    choice.add_argument(
        "--ref",
        action="append",
        default=[],
        metavar="ATTR=LEVEL",
        help="reference level of a categorical attribute",
    )
    choice.add_argument("--segment", metavar="COLUMN", help="segment column (one segment per respondent)")
    choice.add_argument("--none-alt", metavar="LEVEL", help="label of the no-purchase alternative")
    _add_fit_method(choice)
    choice.add_argument(
        "--scenario-out",
        metavar="FILE",
        help="write a starter scenario (YAML): the data's attributes and levels, the most chosen products",
    )
    choice.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="'NAME: ATTR=LEVEL, ..., price=P'",
        help="a product of the starter scenario instead of the most chosen ones (repeat; the first is ours)",
    )
    _add_sampling_options(choice, draws_default="1000, a mixed logit with nuts 4000")
    choice.set_defaults(run=_fit_choice, draws=None)  # None: fit_choice's default (more for a mixed logit)


def _fit_retention(args: argparse.Namespace) -> int:
    from pricing.wtp.retention import fit_retention

    _check_outputs(("--output", args.output, (".nc",)))
    columns = {role: getattr(args, role) for role in ("period", "active", "segment", "cohort")}
    fit = fit_retention(
        args.data,
        {role: column for role, column in columns.items() if column},
        _priors(args.priors),
        method=args.fit_method,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
    )
    if args.output:
        fit.save(args.output)
    summary, text = lambda: fit.summary_dict(args.horizon), lambda: fit.report(args.horizon)
    return _report_fit(args, summary, text, [args.output] if args.output else [])


def _add_fit_retention(fit_commands) -> None:
    """`pricing fit retention`: shifted-beta-geometric retention from cohort survival counts."""
    retention = fit_commands.add_parser(
        "retention", help="retention per segment from cohort survival counts (shifted-beta-geometric)"
    )
    retention.add_argument(
        "data",
        metavar="DATA.csv",
        help="one row per cohort and period: period from 0, customers still active",
    )
    retention.add_argument("--period", metavar="COL", help="column: period number from 0 (default 'period')")
    retention.add_argument(
        "--active", metavar="COL", help="column: customers still active (default 'active')"
    )
    retention.add_argument("--segment", metavar="COL", help="column: segment (default: one segment 'all')")
    retention.add_argument("--cohort", metavar="COL", help="column: cohort (default: one cohort per segment)")
    retention.add_argument(
        "--horizon", type=_positive_int, default=12, help="periods of survival and retention to report (12)"
    )
    retention.add_argument(
        "--method",
        dest="fit_method",
        choices=("nuts", "map"),
        default="nuts",
        help="nuts (default) or map: posterior mode + Laplace approximation, for a quick look",
    )
    retention.add_argument(
        "--priors",
        metavar="JSON",
        help='prior settings over the defaults, e.g. \'{"sd_log_alpha": {"sigma": 1}}\'',
    )
    _add_sampling_options(retention)
    retention.set_defaults(run=_fit_retention)


def _add_survey_commands(commands) -> None:
    """`pricing psm` and `pricing gabor-granger`: the classic read-outs."""
    psm = commands.add_parser("psm", help="Van Westendorp price points (and NMS trial/revenue optima)")
    psm.add_argument("data", metavar="DATA.csv")
    for role in ("too_cheap", "cheap", "expensive", "too_expensive"):
        psm.add_argument(
            f"--{role.replace('_', '-')}", dest=role, metavar="C", help=f"column (default {role!r})"
        )
    psm.add_argument("--pi-cheap", dest="pi_cheap", metavar="C", help="column: purchase likelihood at cheap")
    psm.add_argument(
        "--pi-expensive", dest="pi_expensive", metavar="C", help="column: purchase likelihood at expensive"
    )
    psm.add_argument("--weight", metavar="C", help="column: respondent weight")
    psm.add_argument(
        "--intersection-method",
        choices=("min", "max", "mean", "median"),
        default="min",
        help="where two curves meet over several prices: the lowest (default), highest, mean or median",
    )
    psm.add_argument(
        "--interpolate",
        action="store_true",
        help="interpolate the curves linearly between the answers before finding the price points",
    )
    psm.add_argument(
        "--interpolation-steps",
        type=float,
        default=0.01,
        metavar="STEP",
        help="price step of --interpolate (default 0.01)",
    )
    psm.add_argument("--json", action="store_true", help="print one JSON object")
    psm.set_defaults(run=_psm)

    gabor_granger = commands.add_parser(
        "gabor-granger", help="Gabor-Granger demand and revenue per tested price"
    )
    gabor_granger.add_argument("data", metavar="DATA.csv")
    gabor_granger.add_argument("--respondent", metavar="C", help="column (default 'respondent')")
    gabor_granger.add_argument("--price", metavar="C", help="column (default 'price')")
    gabor_granger.add_argument("--answer", metavar="C", help="column: yes/no (default 'answer')")
    gabor_granger.add_argument("--segment", metavar="C", help="column: segment (default: none)")
    gabor_granger.add_argument("--weight", metavar="C", help="column: respondent weight (default: none)")
    gabor_granger.add_argument("--json", action="store_true", help="print one JSON object")
    gabor_granger.set_defaults(run=_gabor_granger)


# ---- voice of the customer: `kano`, `fit kano`, `fit satisfaction` -----------------------------------


def _kano_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("data", metavar="DATA.csv", help="one row per respondent, a column pair per attribute")
    sub.add_argument("--segment", metavar="COL", help="column: segment (default: one segment 'all')")
    sub.add_argument("--weight", metavar="COL", help="column: respondent weight (default: none)")
    sub.add_argument(
        "--table",
        choices=("standard", "modified"),
        default="standard",
        help="evaluation table: standard (Berger et al.) or modified (Pouliot: identical pairs but "
        "neutral/neutral are questionable)",
    )
    sub.add_argument(
        "--functional-suffix", default="_functional", metavar="S", help="suffix of functional columns"
    )
    sub.add_argument(
        "--dysfunctional-suffix",
        default="_dysfunctional",
        metavar="S",
        help="suffix of dysfunctional columns",
    )


def _kano_read_options(args: argparse.Namespace) -> dict:
    return {
        "segment": args.segment,
        "weight": args.weight,
        "functional_suffix": args.functional_suffix,
        "dysfunctional_suffix": args.dysfunctional_suffix,
    }


def _kano(args: argparse.Namespace) -> int:
    from pricing.wtp.kano import format_analysis, kano_analysis

    analysis = kano_analysis(args.data, table=args.table, rule=args.rule, **_kano_read_options(args))
    if args.json:
        _print_json(analysis.to_json())
    else:
        print(format_analysis(analysis))
    return 0


def _fit_kano(args: argparse.Namespace) -> int:
    from pricing.wtp.kano import KanoModel, fit_summary_json, format_fit

    _check_outputs(("--output", args.output, (".nc",)))
    sampler = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    model = KanoModel(
        model_config=_priors(args.priors),
        sampler_config=sampler,
        table=args.table,
        **_kano_read_options(args),
    )
    model.fit(args.data, seed=args.seed)
    if args.output:
        model.save(args.output)
    return _report_fit(
        args,
        lambda: fit_summary_json(model.idata),
        lambda: format_fit(model.idata),
        [args.output] if args.output else [],
        _sampling_problems(model.idata),
    )


def _add_fit_kano(fit_commands) -> None:
    """`pricing fit kano`: Dirichlet-multinomial category shares per attribute and segment."""
    kano = fit_commands.add_parser(
        "kano", help="Bayesian Kano analysis: category shares, P(largest), CS+/CS- with intervals"
    )
    _kano_options(kano)
    _add_sampling_options(kano)
    kano.add_argument(
        "--priors",
        metavar="JSON",
        help="prior settings over the defaults, e.g. '{\"concentration_median\": 20}'",
    )
    kano.set_defaults(run=_fit_kano)


def _fit_satisfaction(args: argparse.Namespace) -> int:
    from pricing.wtp.satisfaction import SatisfactionModel, format_summary, satisfaction_summary

    _check_outputs(("--output", args.output, (".nc",)))
    columns = {
        role: getattr(args, role)
        for role in ("rating", "churned", "referred", "segment", "weight")
        if getattr(args, role)
    }
    model = SatisfactionModel(
        columns=columns,
        scale=args.scale,
        model_config=_priors(args.priors),
        sampler_config={"draws": args.draws, "tune": args.tune, "chains": args.chains},
    )
    model.fit(args.data, seed=args.seed)
    if args.output:
        model.save(args.output)
    return _report_fit(
        args,
        lambda: satisfaction_summary(model.idata),
        lambda: format_summary(model.idata),
        [args.output] if args.output else [],
        _sampling_problems(model.idata),
    )


def _add_fit_satisfaction(fit_commands) -> None:
    """`pricing fit satisfaction`: churn and referral against satisfaction, per segment, and NPS."""
    sub = fit_commands.add_parser(
        "satisfaction", help="satisfaction survey: effect of satisfaction on churn and referral, NPS"
    )
    sub.add_argument("data", metavar="DATA.csv", help="one row per customer: rating, churned, referred")
    sub.add_argument("--rating", metavar="COL", help="column: satisfaction rating (default 'satisfaction')")
    sub.add_argument("--churned", metavar="COL", help="column: left in the period after (default 'churned')")
    sub.add_argument(
        "--referred", metavar="COL", help="column: referred someone, yes/no or a count (default 'referred')"
    )
    sub.add_argument("--segment", metavar="COL", help="column: segment (default: one segment 'all')")
    sub.add_argument("--weight", metavar="COL", help="column: customer weight (default: none)")
    sub.add_argument(
        "--scale", choices=("1-5", "1-7", "0-10"), help="rating scale (default: inferred from the ratings)"
    )
    _add_sampling_options(sub)
    sub.add_argument("--priors", metavar="JSON", help="prior settings over the defaults")
    sub.set_defaults(run=_fit_satisfaction)


def _add_kano_command(commands) -> None:
    kano = commands.add_parser("kano", help="classic Kano analysis: categories, CS+/CS-, Fong's test")
    _kano_options(kano)
    kano.add_argument(
        "--rule",
        choices=("mode", "grouped"),
        default="mode",
        help="category: mode (most frequent; ties M>O>A>I>R>Q) or grouped (if A+O+M > I+R+Q the largest "
        "of M, O, A, else of I, R, Q)",
    )
    kano.add_argument("--json", action="store_true", help="print one JSON object")
    kano.set_defaults(run=_kano)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="pricing", description="Value-based pricing simulator.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check scenario files; exit 2 on any problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=_validate)

    simulate = commands.add_parser("simulate", help="simulate a scenario and summarise each variant")
    simulate.add_argument("file", metavar="FILE")
    simulate.add_argument(
        "--output", "-o", metavar="OUT", help="write OUT.csv (tidy summary) or OUT.nc (draws)"
    )
    simulate.add_argument(
        "--draws",
        type=_bounded_int("draws", 1, 20_000),
        help="posterior draws, 1..20,000 (overrides market.draws)",
    )
    simulate.add_argument(
        "--seed", type=_bounded_int("seed", 0, MAX_SEED), help="random seed (overrides the scenario's seed)"
    )
    simulate.add_argument(
        "--horizon",
        type=_bounded_int("horizon", 1, 600),
        help="periods to simulate over time: NPV, CLV, per-period results (default: the dynamics section's)",
    )
    simulate.set_defaults(run=_simulate)

    shares = commands.add_parser(
        "shares",
        help="every offering's share per segment and in total, with 90%% intervals, at today's prices",
    )
    shares.add_argument("file", metavar="FILE")
    shares.add_argument(
        "--draws",
        type=_bounded_int("draws", 1, MAX_SIMULATION_DRAWS),
        help=f"posterior draws, 1..{MAX_SIMULATION_DRAWS:,} (overrides market.draws)",
    )
    shares.add_argument("--seed", type=_positive_int, help="random seed (overrides the scenario's seed)")
    shares.add_argument("--json", action="store_true", help="print one JSON object")
    shares.set_defaults(run=_shares)

    pack = commands.add_parser(
        "pack", help="zip a scenario with the posterior and survey files it uses (opens anywhere)"
    )
    pack.add_argument("file", metavar="FILE")
    pack.add_argument("--output", "-o", metavar="OUT", required=True, help="the zip file to write")
    pack.set_defaults(run=_pack)

    migrate = commands.add_parser(
        "migrate",
        help="rewrite a scenario file in the current schema version (2); comments are not kept",
    )
    migrate.add_argument("file", metavar="FILE")
    migrate.add_argument("--output", "-o", metavar="OUT", help="write OUT instead of rewriting FILE")
    migrate.set_defaults(run=_migrate)

    sweep = commands.add_parser(
        "sweep", help="run every variant of a sweep file (locally or on a Dask cluster) into one table"
    )
    sweep.add_argument("file", metavar="SWEEP.yaml")
    sweep.add_argument(
        "--output", "-o", metavar="OUT", help="write OUT.parquet, OUT.csv or OUT.nc (default: CSV to stdout)"
    )
    sweep.add_argument(
        "--workers", type=_positive_int, help="local worker processes (default: every core; 1: this process)"
    )
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786")
    sweep.add_argument("--resume", action="store_true", help="continue an interrupted sweep into --output")
    sweep.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")
    sweep.set_defaults(run=_sweep)

    equilibrium = commands.add_parser(
        "equilibrium", help="Bertrand-Nash prices, shares and profits of every offering, per posterior draw"
    )
    equilibrium.add_argument("file", metavar="FILE")
    equilibrium.add_argument("--variant", metavar="NAME", help="our variant (default: the first)")
    equilibrium.add_argument("--draws", type=_positive_int, help="posterior draws (overrides market.draws)")
    equilibrium.add_argument("--seed", type=_positive_int, help="random seed (overrides the scenario's seed)")
    equilibrium.add_argument("--json", action="store_true", help="print one JSON object")
    equilibrium.set_defaults(run=_equilibrium)

    decide = commands.add_parser(
        "decide", help="choose our price and variant under uncertainty; P(best), regret, value of information"
    )
    decide.add_argument("file", metavar="FILE")
    decide.add_argument(
        "--objective",
        default="expected",
        metavar="OBJ",
        help="expected (default), cvar:A (mean of the worst A of draws), quantile:Q or p_beat_today",
    )
    decide.add_argument("--react", action="store_true", help="rivals answer our price (leader pricing)")
    decide.add_argument(
        "--min-share", type=_share, metavar="X", help="least expected market share (0.2 or 20%%)"
    )
    decide.add_argument("--floor", type=_price, metavar="P", help="lowest price to consider")
    decide.add_argument("--ceiling", type=_price, metavar="P", help="highest price to consider")
    decide.add_argument("--ending", type=float, metavar="C", help="only prices ending in C, e.g. 0.99")
    decide.add_argument("--prices", type=_prices, metavar="P,P", help="extra candidate prices, e.g. 49,59.5")
    decide.add_argument("--top", type=_positive_int, default=10, help="candidates to list (default 10)")
    decide.add_argument("--draws", type=_positive_int, help="posterior draws (overrides market.draws)")
    decide.add_argument("--seed", type=_positive_int, help="random seed (overrides the scenario's seed)")
    decide.add_argument("--json", action="store_true", help="print one JSON object")
    decide.set_defaults(run=_decide)

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--sweep", action="store_true", help="the JSON Schema of sweep files instead")
    schema.set_defaults(run=_schema)

    fit_commands = _add_fit_commands(commands)
    _add_fit_choice(fit_commands)
    _add_fit_retention(fit_commands)
    _add_fit_kano(fit_commands)
    _add_fit_satisfaction(fit_commands)
    _add_survey_commands(commands)
    _add_kano_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pricing` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except PricingError as error:
        print(one_line(f"pricing {args.command}: error: {error}"), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader stopped early (`pricing simulate x | head`): not worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python flushes stdout at exit
        return 1


if __name__ == "__main__":
    sys.exit(main())
