"""Small synthetic WTP surveys for the examples and tests, generated from known parameters (seeded).

Run from the repository root::

    python scenarios/data/make_data.py          # rewrite the three survey CSVs
    python scenarios/data/make_data.py --fit    # ... and refit team_plan_wtp.nc from stated_wtp.csv

Customers' WTP (EUR per seat and month) for the "Flow Team" plan of ``scenarios/team_plan_survey.yaml`` is
lognormal per segment with the medians and spreads in `TRUTH`. Each survey asks it its own way:

- ``stated_wtp.csv``: an amount from 60% of respondents, a price bracket from the others (open at the ends);
- ``gabor_granger.csv``: yes/no at 9 prices; 3% of answers are flipped, so some respondents are inconsistent;
- ``van_westendorp.csv``: too cheap / cheap / expensive / too expensive on round prices around each
  respondent's WTP, purchase likelihood labels at cheap and expensive, and a survey weight.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261123
TRUTH = {"Startups": (9.0, 0.45), "SMB": (14.0, 0.35), "Enterprise": (28.0, 0.30)}  # median, sd of log WTP
BRACKETS = [0, 5, 8, 10, 12, 15, 20, 25, 30, 40, float("inf")]
GG_PRICES = [6, 8, 10, 12, 14, 16, 20, 25, 30]
ROUND_PRICES = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 22, 25, 28, 30, 35, 40, 45, 50, 60, 70]
LIKELIHOOD = ["Very unlikely", "Unlikely", "Neither likely nor unlikely", "Likely", "Very likely"]


def customers_wtp(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """n WTP draws per segment from the true lognormals."""
    return {s: np.exp(rng.normal(np.log(median), sd, n)) for s, (median, sd) in TRUTH.items()}


def stated_rows(rng: np.random.Generator, n: int = 240) -> list[dict]:
    rows = []
    for segment, wtp in customers_wtp(rng, n).items():
        for w in wtp:
            row = {
                "respondent": f"S{len(rows) + 1:04d}",
                "segment": segment,
                "wtp": "",
                "wtp_lower": "",
                "wtp_upper": "",
            }
            if rng.random() < 0.6:
                row["wtp"] = f"{w:.2f}"
            else:
                k = int(np.searchsorted(BRACKETS, w, side="right")) - 1
                row["wtp_lower"] = f"{BRACKETS[k]:g}" if BRACKETS[k] > 0 else ""
                row["wtp_upper"] = f"{BRACKETS[k + 1]:g}" if np.isfinite(BRACKETS[k + 1]) else ""
            rows.append(row)
    return rows


def gabor_granger_rows(rng: np.random.Generator, n: int = 150, noise: float = 0.03) -> list[dict]:
    rows = []
    respondent = 0
    for segment, wtp in customers_wtp(rng, n).items():
        for w in wtp:
            respondent += 1
            for price in GG_PRICES:
                buys = (w >= price) != (rng.random() < noise)
                rows.append(
                    {
                        "respondent": f"G{respondent:04d}",
                        "segment": segment,
                        "price": price,
                        "answer": "yes" if buys else "no",
                    }
                )
    return rows


def van_westendorp_rows(rng: np.random.Generator, n: int = 150) -> list[dict]:
    rows = []
    top = len(ROUND_PRICES) - 1
    for segment, wtp in customers_wtp(rng, n).items():
        for w in wtp:
            k = int(np.clip(np.searchsorted(ROUND_PRICES, w, side="right"), 2, top - 1))
            cheap_likelihood = int(rng.integers(2, 5))
            rows.append(
                {
                    "respondent": f"V{len(rows) + 1:04d}",
                    "segment": segment,
                    "too_cheap": ROUND_PRICES[max(k - 1 - int(rng.integers(1, 3)), 0)],
                    "cheap": ROUND_PRICES[k - 1],
                    "expensive": ROUND_PRICES[k],
                    "too_expensive": ROUND_PRICES[min(k + int(rng.integers(1, 3)), top)],
                    "likelihood_cheap": LIKELIHOOD[cheap_likelihood],
                    "likelihood_expensive": LIKELIHOOD[cheap_likelihood - int(rng.integers(1, 3))],
                    "weight": f"{rng.uniform(0.5, 1.5):.3f}",
                }
            )
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_surveys(folder: Path = HERE) -> None:
    """Write the three survey CSVs into `folder` (the bundled ones: HERE), always from the same seed."""
    rng = np.random.default_rng(SEED)
    write_csv(folder / "stated_wtp.csv", stated_rows(rng))
    write_csv(folder / "gabor_granger.csv", gabor_granger_rows(rng))
    write_csv(folder / "van_westendorp.csv", van_westendorp_rows(rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit team_plan_wtp.nc from stated_wtp.csv")
    args = parser.parse_args()
    write_surveys()
    if args.fit:
        from pricing.wtp import fit_survey

        model = fit_survey(
            "stated", HERE / "stated_wtp.csv", {"segment": "segment", "respondent": "respondent"}, seed=SEED
        )
        model.save(HERE / "team_plan_wtp.nc")
        print(model.report())


if __name__ == "__main__":
    main()
