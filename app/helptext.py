"""Short explanations of the concepts, shown where they appear (one place: the same words everywhere)."""

PERCEIVED_VALUE = (
    "**Perceived value** is what a customer thinks an offering is worth: their willingness to pay for an "
    "offering that exactly meets their expectations, plus the money value of every attribute above or below "
    "those expectations (shortfalls on must-have attributes hurt more than excess helps; attractive "
    "attributes delight when exceeded)."
)
OVER_DELIVERY = (
    "**Over-delivery variants** are versions of our offering that deliver more than customers expect "
    "(e.g. 24/7 support). They raise perceived value and satisfaction but add cost per unit and fixed cost; "
    "the simulation tells whether customers pay for it."
)
VALUE_MAP = (
    "**Value map**: each offering's perceived value (across) against its price (up). The dashed "
    "value-equivalence line joins the points of average value for money in this market: offerings below it "
    "are cheap for the value they give and gain share; offerings above it lose share. Whiskers show the 90% "
    "interval of the perceived value."
)
INTERVALS = (
    "Figures are posterior means over the simulation's draws; brackets give the **90% interval** (5% to 95% "
    "of the draws), i.e. how sure we can be given what we know about customers."
)
SATISFACTION = (
    "**Satisfaction index** (-100 to 100): 0 means expectations are exactly met; +10 is about 10% more value "
    "than expected, delivered; it saturates for large gaps."
)
P_BEST = (
    "**Probability of being the most profitable**: the share of draws in which each variant, at its own best "
    "price, earns the most profit. It tells how sure the recommendation is."
)
PRICE = "Our price on the simulated grid: moving it is instant. Type a price for one between the grid points."
COMPETITOR = "A competitor's price: changing it re-runs the simulation (a second or less)."
PAIRED = (
    "Differences are taken draw by draw. Options from the same scenario (or scenarios with the same seed, "
    "segments and attributes) share their draws, so the interval of the difference is much narrower than "
    "the two intervals side by side would suggest."
)
PROFIT_CURVE = "Our profit after the variant's fixed cost over our price; the diamond marks the best price."
BASE_CASE = (
    "The **base case** is the scenario as you opened it (or as you pinned it), with our price and variant "
    "then. Every change (our price, a rival's price, an edit) is shown against it: a rival's price cut "
    "shows as the loss it is, not as a new starting point."
)
TYPED_PRICE = (
    "Type any price: a price between the slider's grid points is simulated exactly (our price's column only, "
    "with the same draws)."
)
FIRST_CHOICE = (
    "**First choice**: each simulated customer buys the one offering of best value outright, so our share "
    "jumps whenever our price crosses a whole group of customers' values, and at a price where we tie with a "
    "rival the customers split. That makes the curves step-shaped and the intervals wide; the logit rule "
    "(Scenario page, Market) gives smooth shares."
)
SEGMENT_FILTER = (
    "Narrow the headline, the curves and the value map to one segment. A segment's profit is its "
    "contribution (before fixed cost): fixed costs belong to the whole offering."
)
#: What each headline card means (one sentence each; the interval is explained once, in INTERVALS).
METRIC_HELP = {
    "share": "Our share of all the market's customers (of the segment's, with a segment chosen).",
    "volume": "Units we sell over the period: customers who choose us.",
    "revenue": "Units sold times our price, over the period.",
    "profit": "Revenue minus unit costs minus the variant's fixed cost, over the period (a segment's "
    "contribution leaves out the fixed cost).",
    "satisfaction": SATISFACTION,
}
