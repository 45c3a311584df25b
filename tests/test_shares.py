"""Every product's share (total and per segment) and the sensitivity read-outs; `pricing shares`."""

import json

import numpy as np
import pytest
from test_simulate_conjoint import storage_dict

from pricing.cli import main
from pricing.dims import OFFERING, PRICE, SEGMENT, VARIANT
from pricing.scenario import save_scenario, scenario_from_dict
from pricing.shares import market_shares, sensitivity, shares_table, tornado
from pricing.simulate import simulate


def two_segments() -> dict:
    data = storage_dict()
    second = {**data["segments"][0], "name": "pros", "size": 3000, "logit_scale": 6.0}
    data["segments"].append(second)
    data["market"]["draws"] = 200
    return data


def test_market_shares_weight_segments_by_size_hand_checked():
    scenario = scenario_from_dict(two_segments())
    results = simulate(scenario)
    data = market_shares(results)
    at = results.share.sel({PRICE: 20.0}).isel({VARIANT: 0})
    for offering in ("Ours", "Lite", "Pro"):
        per_segment = at.sel({OFFERING: offering}).transpose("draw", SEGMENT).values
        total = (per_segment * [1000, 3000]).sum(axis=1) / 4000
        assert data["shares"][offering]["mean"] == pytest.approx(total.mean())
        assert data["shares"][offering]["q05"] == pytest.approx(np.quantile(total, 0.05))
        assert data["shares"][offering]["q95"] == pytest.approx(np.quantile(total, 0.95))
        assert data["segments"]["pros"][offering]["q50"] == pytest.approx(np.median(per_segment[:, 1]))
    assert set(data) == {"shares", "segments"} and list(data["segments"]) == ["everyone", "pros"]
    assert set(data["shares"]["Ours"]) == {"mean", "q05", "q50", "q95"}
    table = shares_table(results)
    assert list(table[OFFERING]) == ["Ours", "Lite", "Pro"]
    assert table.loc[0, "total"] == pytest.approx(data["shares"]["Ours"]["mean"])


def test_pricing_shares_json_and_text(tmp_path, capsys):
    path = tmp_path / "plans.yaml"
    save_scenario(scenario_from_dict(two_segments()), path)
    assert main(["shares", str(path), "--json", "--draws", "50"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["shares"]) == ["Ours", "Lite", "Pro"]
    assert list(data["segments"]) == ["everyone", "pros"]
    bought = sum(v["mean"] for v in data["shares"].values())
    assert 0 < bought < 1
    assert main(["shares", str(path)]) == 0
    out = capsys.readouterr().out
    assert "market" in out and "pros" in out and "Ours" in out and "[" in out
    (tmp_path / "bad.yaml").write_text("schema_version: 1\nname: x\n")
    assert main(["shares", str(tmp_path / "bad.yaml")]) == 2
    assert "segments: required field is missing" in capsys.readouterr().err


def test_sensitivity_moves_each_attribute_and_price_one_at_a_time():
    scenario = scenario_from_dict(two_segments())
    table = sensitivity(scenario, rival_prices={"Pro": [20.0, 26.0, 32.0]}, draws=50)
    storage = table[table.factor == "Ours: Storage"].set_index("setting")
    assert list(storage.index) == ["50GB", "2TB", "5TB"]
    assert storage.loc["5TB", "base"] and not storage.loc["2TB", "base"]
    assert storage.loc["50GB", "share"] < storage.loc["2TB", "share"] < storage.loc["5TB", "share"]
    price = table[table.factor == "Ours: price"]
    assert (np.diff(price["share"].to_numpy()) < 0).all()  # our share falls as our price rises
    rival = table[table.factor == "Pro: price"]
    assert (np.diff(rival["share"].to_numpy()) > 0).all()  # and rises with a rival's price
    base = table[table.base & (table.factor == "Ours: price")]
    assert float(base["share"].iloc[0]) == pytest.approx(table.attrs["base_share"])
    swings = tornado(table)
    assert swings["swing"].is_monotonic_decreasing and (swings["high"] >= swings["low"]).all()
    assert set(swings["factor"]) == set(table["factor"])
