"""The `pricing` command: parses arguments, calls the library, prints. No logic of its own.

Bad input of any kind (a file, an option) prints one line naming what is wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

import pandas as pd

from pricing.errors import PricingError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage dump) and exits with status 2."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _validate(args: argparse.Namespace) -> int:
    from pricing.scenario import load_scenario

    status = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except PricingError as error:
            status = EXIT_USAGE
            for problem in getattr(error, "problems", [str(error)]):
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

    if args.output:
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
    print(_format_variants(table, scenario.currency))
    if args.output:
        analysis.write_results(results, args.output)
        print(f"wrote {args.output}")
    return 0


def _format_variants(table: pd.DataFrame, currency: str) -> str:
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
            f"revenue ({currency})": [money("revenue", r) for _, r in table.iterrows()],
            f"profit ({currency})": [money("profit", r) for _, r in table.iterrows()],
            "satisfaction": [money("satisfaction", r, 1) for _, r in table.iterrows()],
        }
    )
    note = "best price: maximises expected profit [90% interval of the per-draw optimum]; others at that price, [90% interval]"
    return shown.to_string(index=False) + "\n" + note


def _schema(args: argparse.Namespace) -> int:
    from pricing.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


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
    simulate.add_argument("--draws", type=_positive_int, help="posterior draws (overrides market.draws)")
    simulate.add_argument("--seed", type=_positive_int, help="random seed (overrides the scenario's seed)")
    simulate.set_defaults(run=_simulate)

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(run=_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pricing` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except PricingError as error:
        print(f"pricing {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
