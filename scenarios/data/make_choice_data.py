"""Synthetic choice-based conjoint data from known parameters (for examples, tests and benchmarks).

Respondents of two segments each answer `n_tasks` choice tasks of `n_alternatives` products plus a "none"
alternative. Products have a price (EUR), storage (GB: 1, 2, 4), speed (1, 2, 3) and a colour (green, red,
blue; green is the reference). Each respondent's coefficients are their segment's means plus independent
normal deviations with sds `TRUE_SD` on the random coefficients (price is fixed within a segment).

Run ``python scenarios/data/make_choice_data.py`` to rewrite ``scenarios/data/conjoint_example.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pricing.wtp.choice import ChoiceColumns

#: How the columns of this data map to a choice model (green is the colour's reference level).
COLUMNS = ChoiceColumns(
    id="id",
    task="task",
    alt="alt",
    choice="choice",
    price="price",
    attributes=("storage", "speed", "colour"),
    none_alt="none",
    segment="segment",
    refs={"colour": "green"},
)
PRICES = (10.0, 15.0, 20.0, 25.0, 30.0, 40.0)
STORAGE = (1.0, 2.0, 4.0)
SPEED = (1.0, 2.0, 3.0)
COLOURS = ("green", "red", "blue")
COEFFICIENTS = ("price", "storage", "speed", "colour=red", "colour=blue", "alt=none")
#: Segment means of each coefficient (utility per EUR, per GB, per speed step, per level, none constant).
TRUE_MEAN = {
    "students": {
        "price": -0.15,
        "storage": 0.6,
        "speed": 0.5,
        "colour=red": 0.4,
        "colour=blue": -0.3,
        "alt=none": -1.0,
    },
    "pros": {
        "price": -0.08,
        "storage": 0.9,
        "speed": 0.8,
        "colour=red": -0.2,
        "colour=blue": 0.3,
        "alt=none": -0.5,
    },
}
#: Sd across respondents of the random coefficients (all but price).
TRUE_SD = {"storage": 0.3, "speed": 0.3, "colour=red": 0.5, "colour=blue": 0.5, "alt=none": 1.0}


#: A WTP-space truth (one segment): "price" is log lambda (the price scale), the others omega in EUR per unit
#: (the students' preference means divided by their price scale 0.15), and their sds across respondents.
TRUE_WTP_MEAN = {
    "price": float(np.log(0.15)),
    "storage": 4.0,
    "speed": 3.0,
    "colour=red": 2.5,
    "colour=blue": -2.0,
    "alt=none": -7.0,
}
TRUE_WTP_SD = {
    "price": 0.3,
    "storage": 1.5,
    "speed": 1.0,
    "colour=red": 2.0,
    "colour=blue": 2.0,
    "alt=none": 4.0,
}


def make_choice_data(
    n_respondents: int = 120,
    n_tasks: int = 8,
    n_alternatives: int = 3,
    seed: int = 0,
    segments: tuple[str, ...] = ("students", "pros"),
    sd_scale: float = 1.0,
    space: str = "preference",
    mean: dict[str, float] | None = None,
    sd: dict[str, float] | None = None,
    price_distribution: str = "normal",
) -> pd.DataFrame:
    """Long-format choice data: columns id, segment, task, alt ("1".."n", "none"), choice, price, storage,
    speed, colour. `sd_scale` multiplies `TRUE_SD` (0 gives multinomial logit data).

    `mean` and `sd` (one value per coefficient, every segment alike) replace `TRUE_MEAN` and `TRUE_SD`.
    Each respondent's parameters are mean + sd * z; in ``space="wtp"`` they are log lambda (at "price") and
    omega, and utility is lambda (omega . x - price); with ``price_distribution="lognormal"`` (preference
    space) the price coefficient is -exp(its parameter)."""
    rng = np.random.default_rng(seed)
    segment = np.array(segments)[np.arange(n_respondents) % len(segments)]
    if mean is None:
        mean_of = np.array([[TRUE_MEAN[s][c] for c in COEFFICIENTS] for s in segment])
    else:
        mean_of = np.tile([mean[c] for c in COEFFICIENTS], (n_respondents, 1))
    spread = sd if sd is not None else {c: v * sd_scale for c, v in TRUE_SD.items()}
    theta = mean_of + rng.standard_normal(mean_of.shape) * np.array(
        [spread.get(c, 0.0) for c in COEFFICIENTS]
    )
    beta = theta.copy()  # respondent, coefficient (preference space)
    if space == "wtp":
        scale = np.exp(theta[:, :1])
        beta = theta * scale
        beta[:, 0] = -scale[:, 0]
    elif price_distribution == "lognormal":
        beta[:, 0] = -np.exp(theta[:, 0])

    n_slots = n_alternatives + 1
    shape = (n_respondents, n_tasks, n_alternatives)
    price = rng.choice(PRICES, size=shape)
    storage = rng.choice(STORAGE, size=shape)
    speed = rng.choice(SPEED, size=shape)
    colour = rng.integers(0, len(COLOURS), size=shape)
    x = np.zeros((n_respondents, n_tasks, n_slots, len(COEFFICIENTS)))
    x[..., :-1, 0], x[..., :-1, 1], x[..., :-1, 2] = price, storage, speed
    x[..., :-1, 3], x[..., :-1, 4] = colour == 1, colour == 2
    x[..., -1, 5] = 1.0
    utility = np.einsum("ntjk,nk->ntj", x, beta) + rng.gumbel(size=(n_respondents, n_tasks, n_slots))
    chosen = utility.argmax(axis=-1)

    r, t, j = np.meshgrid(np.arange(n_respondents), np.arange(n_tasks), np.arange(n_slots), indexing="ij")
    is_none = j == n_alternatives
    product = np.minimum(j, n_alternatives - 1)

    def product_cells(values: np.ndarray) -> np.ndarray:
        cells = np.take_along_axis(values, product, axis=-1).astype(object)
        cells[is_none] = ""
        return cells

    frame = pd.DataFrame(
        {
            "id": (r + 1).ravel(),
            "segment": segment[r].ravel(),
            "task": (t + 1).ravel(),
            "alt": np.where(is_none, "none", (j + 1).astype(str)).ravel(),
            "choice": (j == chosen[..., None]).astype(int).ravel(),
            "price": product_cells(price).ravel(),
            "storage": product_cells(storage).ravel(),
            "speed": product_cells(speed).ravel(),
            "colour": product_cells(np.array(COLOURS, dtype=object)[colour]).ravel(),
        }
    )
    return frame


if __name__ == "__main__":
    target = Path(__file__).with_name("conjoint_example.csv")
    make_choice_data(n_respondents=60, n_tasks=6, seed=1).to_csv(target, index=False)
    print(f"wrote {target}")
