"""Synthetic voice-of-the-customer surveys for the team plan, generated from known parameters (seeded).

Run from the repository root::

    python scenarios/data/make_voice_data.py          # rewrite the two survey CSVs
    python scenarios/data/make_voice_data.py --fit    # ... and refit kano_team_plan.nc, satisfaction_team_plan.nc
                                                      # (2 x 500 draws, stored as float32: small files)

- ``kano_team_plan.csv``: a Kano questionnaire on the four attributes of ``scenarios/saas_team_plan.yaml``,
  one row per respondent with a segment column; the true category shares per segment and attribute are in
  `KANO_TRUTH` (order A, O, M, I, R, Q). Answers are written as the usual labels in several wordings and
  cases, some as codes 1..5, and a few pairs are left blank.
- ``satisfaction_team_plan.csv``: customers' likelihood to recommend (0..10), whether they left in the next
  month and whether they referred someone, generated from the models of `pricing.wtp.satisfaction` with the
  parameters in `SATISFACTION_TRUTH` (churn at satisfaction 0, k, referrals at 0, referral effect).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from make_data import write_csv  # this folder's: the scripts run as `python scenarios/data/...`

HERE = Path(__file__).resolve().parent
SEED = 20261201
ATTRIBUTES = ("uptime", "support_hours", "onboarding", "integrations")
SIZES = {"Startups": 160, "SMB": 120, "Enterprise": 36}
KANO_TRUTH = {
    "uptime": {
        "Startups": [0.06, 0.20, 0.52, 0.17, 0.03, 0.02],
        "SMB": [0.04, 0.24, 0.60, 0.08, 0.02, 0.02],
        "Enterprise": [0.02, 0.18, 0.72, 0.05, 0.01, 0.02],
    },
    "support_hours": {
        "Startups": [0.14, 0.28, 0.14, 0.39, 0.03, 0.02],
        "SMB": [0.15, 0.50, 0.20, 0.10, 0.03, 0.02],
        "Enterprise": [0.05, 0.45, 0.42, 0.05, 0.01, 0.02],
    },
    "onboarding": {
        "Startups": [0.46, 0.10, 0.05, 0.34, 0.03, 0.02],
        "SMB": [0.55, 0.16, 0.05, 0.19, 0.03, 0.02],
        "Enterprise": [0.36, 0.32, 0.20, 0.09, 0.01, 0.02],
    },
    "integrations": {
        "Startups": [0.22, 0.44, 0.12, 0.17, 0.03, 0.02],
        "SMB": [0.18, 0.52, 0.16, 0.10, 0.02, 0.02],
        "Enterprise": [0.10, 0.50, 0.30, 0.07, 0.01, 0.02],
    },
}
SATISFACTION_TRUTH = {  # churn per month at satisfaction 0, k, referrals per customer at 0, referral effect
    "Startups": (0.05, 1.6, 0.06, 1.2),
    "SMB": (0.035, 2.0, 0.05, 1.0),
    "Enterprise": (0.02, 2.4, 0.03, 0.8),
}
SATISFACTION_SIZES = {"Startups": 900, "SMB": 700, "Enterprise": 300}
CATEGORIES = ("A", "O", "M", "I", "R", "Q")
# (functional, dysfunctional) answer codes of each category in the standard evaluation table
CELLS = {
    "A": [(1, 2), (1, 3), (1, 4)],
    "O": [(1, 5)],
    "M": [(2, 5), (3, 5), (4, 5)],
    "I": [(f, d) for f in (2, 3, 4) for d in (2, 3, 4)],
    "R": [(2, 1), (3, 1), (4, 1), (5, 1), (5, 2), (5, 3), (5, 4)],
    "Q": [(1, 1), (5, 5)],
}
WORDINGS = {
    1: ["I like it", "i like it", "I like it that way."],
    2: ["I expect it", "It must be that way", "I EXPECT IT"],
    3: ["I am neutral", "I'm neutral", "neutral"],
    4: ["I can live with it", "I can tolerate it", "I can live with it!"],
    5: ["I dislike it", "I dislike it that way", "dislike"],
}


def _answer(rng: np.random.Generator, code: int) -> str:
    if rng.random() < 0.15:
        return str(code)
    options = WORDINGS[code]
    return options[rng.integers(len(options))]


def kano_rows(rng: np.random.Generator) -> list[dict]:
    rows = []
    for segment, n in SIZES.items():
        for _ in range(n):
            row = {"segment": segment}
            for attribute in ATTRIBUTES:
                category = CATEGORIES[rng.choice(6, p=KANO_TRUTH[attribute][segment])]
                functional, dysfunctional = CELLS[category][rng.integers(len(CELLS[category]))]
                blank = rng.random() < 0.02
                row[f"{attribute}_functional"] = "" if blank else _answer(rng, functional)
                row[f"{attribute}_dysfunctional"] = "" if blank else _answer(rng, dysfunctional)
            rows.append(row)
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


def satisfaction_rows(rng: np.random.Generator) -> list[dict]:
    rows = []
    for segment, (churn, k, rate, effect) in SATISFACTION_TRUTH.items():
        n = SATISFACTION_SIZES[segment]
        rating = np.clip(np.round(rng.normal(7.0, 2.2, n)), 0, 10).astype(int)
        x = (rating - 5) / 5
        odds = churn / (1 - churn) * np.exp(-k * x)
        left = rng.random(n) < odds / (1 + odds)
        referred = rng.random(n) < 1 - np.exp(-rate * np.exp(effect * x))
        for i in range(n):
            rows.append(
                {
                    "segment": segment,
                    "likely_to_recommend": int(rating[i]),
                    "churned": "yes" if left[i] else "no",
                    "referred": "yes" if referred[i] else "no",
                }
            )
    return rows


def write_surveys(folder: Path = HERE) -> None:
    """Write the two survey CSVs into `folder` (the bundled ones: HERE), always from the same seed."""
    rng = np.random.default_rng(SEED)
    write_csv(folder / "kano_team_plan.csv", kano_rows(rng))
    write_csv(folder / "satisfaction_team_plan.csv", satisfaction_rows(rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="also refit the two saved posteriors")
    args = parser.parse_args()
    write_surveys()
    if args.fit:
        from pricing.wtp.kano import KanoModel
        from pricing.wtp.satisfaction import SatisfactionModel

        kano = KanoModel(segment="segment", sampler_config=FIT_SAMPLER)
        kano.fit(HERE / "kano_team_plan.csv", seed=SEED)
        kano.idata = _compact(kano.idata)
        kano.save(HERE / "kano_team_plan.nc")
        satisfaction = SatisfactionModel(
            columns={"rating": "likely_to_recommend", "segment": "segment"},
            sampler_config=FIT_SAMPLER | {"draws": 1000},  # 500 per chain: bulk ESS of 250 < 400
        )
        satisfaction.fit(HERE / "satisfaction_team_plan.csv", seed=SEED)
        satisfaction.idata = _compact(satisfaction.idata)
        satisfaction.save(HERE / "satisfaction_team_plan.nc")


#: Kano: 2 chains x 500 draws, the 1,000 draws the voice scenario simulates (taken in order, no resampling)
FIT_SAMPLER = {"draws": 500, "tune": 1000, "chains": 2}


def _compact(idata):
    """The posterior's draws as float32 (7 significant digits, far below their Monte Carlo error), so the
    committed example fits stay small."""
    idata.posterior = idata.posterior.map(
        lambda v: v.astype(np.float32) if v.dtype == np.float64 else v, keep_attrs=True
    )
    return idata


if __name__ == "__main__":
    main()
