"""What the numbers users hand us may be: one place for the bounds that the schema, the survey readers and the
CLI options share, chosen as what a pricing question can mean and what float64 arithmetic and memory carry."""

#: Money amounts (prices, WTP answers, costs), currency. Below MIN_MONEY an amount is a typo or a unit error
#: (1e-300 is not a price); above MAX_MONEY products of money and counts stop being exact enough to print.
MIN_MONEY = 1e-6
MAX_MONEY = 1e9
#: Customers in a segment, respondent weights.
MAX_COUNT = 1e10
MAX_WEIGHT = 1e6
#: Attribute levels.
MAX_LEVEL = 1e9
#: Sd of log WTP across customers: 5 already spans a factor e^20 between the 2.5% and 97.5% customer.
MAX_SPREAD = 5.0
#: Largest spread a posterior draw may reach (spread x exp(8 x spread_uncertainty)): keeps exp(mu + sigma^2/2)
#: and the quadrature nodes' exp(mu + sigma x node) finite.
MAX_DRAWN_SPREAD = 30.0
#: Draws of one simulation (market.draws).
MAX_SIMULATION_DRAWS = 20_000
#: Seeds: what numpy and nutpie take as one 64-bit signed integer.
MAX_SEED = 2**63 - 1

#: Sampler settings (inclusive bounds) of every fit: fewer tuning steps than nutpie's first adaptation window
#: make it panic; more draws than these are not affordable in memory (chains x draws x parameters floats).
SAMPLING = {
    "draws": (1, 50_000),
    "tune": (10, 50_000),
    "chains": (1, 16),
    "seed": (0, MAX_SEED),
}
#: chains x draws kept in memory at most.
MAX_TOTAL_DRAWS = 200_000

#: Survey data: categorical levels per attribute, alternatives per choice task, design cells (task x
#: alternative x coefficient floats; 20 million is 160 MB).
MAX_LEVELS = 200
MAX_ALTERNATIVES = 50
MAX_DESIGN_CELLS = 20_000_000

#: Segments of one fitted survey (each is model parameters and a slice of every posterior draw; a scenario
#: has at most 50).
MAX_FIT_SEGMENTS = 200
#: Values of one posterior variable's draws a fit keeps (25 million float64 are 200 MB).
MAX_POSTERIOR_VALUES = 25_000_000

#: Error reports: problems listed at most, characters of a quoted value at most, characters of one line.
MAX_PROBLEMS = 20
MAX_SHOWN = 60
MAX_LINE = 1000


def check_sampling(draws: int, tune: int, chains: int, seed: int) -> None:
    """`PricingError` naming the first sampler setting outside `SAMPLING` (or chains x draws over
    `MAX_TOTAL_DRAWS`); every fit calls it before reading its data."""
    from pricing.errors import PricingError, shown

    for name, value in (("draws", draws), ("tune", tune), ("chains", chains), ("seed", seed)):
        low, high = SAMPLING[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PricingError(
                f"{name}: must be a whole number from {low:,} to {high:,} (got {shown(value)})"
            )
    if draws * chains > MAX_TOTAL_DRAWS:
        raise PricingError(
            f"draws x chains is {draws * chains:,}; at most {MAX_TOTAL_DRAWS:,} draws are kept in memory"
        )
