"""Server time of one control change in the app, per bundled scenario (Streamlit AppTest, after a warm-up).

For each scenario it times full script runs of the Simulate page:

- rerun: no change (the reference: the page's fixed cost with every cache warm);
- our price: a price never shown before (selects from the cached simulation; analysis tables computed once);
- variant: switch the over-delivery variant, for the first time on these results (its curves, tables and
  chart specs are computed once);
- variant again: switch back to a variant already shown on these results (all cached);
- competitor price: change a rival's price (a new scenario hash, so it re-simulates).

Prints the median and the worst of `REPEATS` changes in milliseconds, and each as a ratio to the rerun.
Run: `PYTENSOR_FLAGS=blas__ldflags=-lopenblas .venv/bin/python benchmarks/bench_app.py`.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app" / "streamlit_app.py")
REPEATS = 7
BUDGET_MS = 300


def timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - start) * 1000
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def rivals(at: AppTest) -> list:
    """The Simulate page's inputs of competitors' prices (the other number input is our typed price)."""
    return [n for n in at.number_input if not n.label.startswith("Exact price")]


def bench(name: str) -> dict[str, list[float]]:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["scenario"] = name
    at.run()
    at.run()  # warm-up: imports, first simulation, first charts
    slider = next(s for s in at.select_slider if s.label.startswith("Price of"))
    prices = at.session_state["scenario"].price_grid()
    radio = next(r for r in at.radio if r.label == "Delivery variant")
    variants = list(radio.options)
    has_rival = len(rivals(at)) > 0
    times: dict[str, list[float]] = {
        "rerun": [],
        "our price": [],
        "variant": [],
        "variant again": [],
        "competitor price": [],
    }
    start_index = prices.index(float(slider.value)) if float(slider.value) in prices else 0
    for i in range(REPEATS):
        times["rerun"].append(timed(at))
        index = (start_index + 3 * (i + 1)) % len(prices)
        next(s for s in at.select_slider if s.label.startswith("Price of")).set_value(float(prices[index]))
        times["our price"].append(timed(at))
        radio = next(r for r in at.radio if r.label == "Delivery variant")
        shown = radio.value
        radio.set_value(variants[(variants.index(shown) + 1) % len(variants)])
        times["variant"].append(timed(at))
        next(r for r in at.radio if r.label == "Delivery variant").set_value(shown)
        times["variant again"].append(timed(at))
        if has_rival:
            rival = rivals(at)[0]
            rival.set_value(round(float(rival.value) * (1.01 + 0.01 * i), 2))
            times["competitor price"].append(timed(at))
    return times


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    print(f"Server time of one control change (AppTest script run, ms); median and worst of {REPEATS}")
    header = f"{'scenario':<22}{'change':<18}{'median':>9}{'worst':>9}{'x rerun':>9}  budget {BUDGET_MS} ms"
    print(header)
    print("-" * len(header))
    for path in files:
        times = bench(path.stem)
        reference = statistics.median(times["rerun"])
        for change, values in times.items():
            if not values:
                continue
            median = statistics.median(values)
            flag = "" if change == "rerun" or median <= BUDGET_MS else "  OVER BUDGET"
            ratio = median / reference
            print(f"{path.stem:<22}{change:<18}{median:>9.0f}{max(values):>9.0f}{ratio:>9.2f}{flag}")
    print("competitor price re-simulates (a new scenario hash); the others select from cached results")


if __name__ == "__main__":
    main()
