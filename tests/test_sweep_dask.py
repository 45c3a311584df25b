"""Sweeps on a real Dask cluster on loopback (a LocalCluster of 2 worker processes): the same bytes as in this
process, a killed worker's batches retried (and only those), resume, and a scheduler that is not there."""

from __future__ import annotations

import os
import signal

import pytest
import yaml
from conftest import small_scenario_dict

from pricing import sweep
from pricing.cli import main
from pricing.errors import PricingError
from pricing.scenario import save_scenario, scenario_from_dict

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a cluster of processes: seconds per test (they run in `make test`)

BODY = {
    "changes": {"market.draws": 60},
    "grid": {"offerings[Rival].price": [30, 35, 40, 45, 50, 55], "segments[budget].wtp.median": [35, 45]},
    "keep": ["summary", {"kind": "at_prices", "metrics": ["profit"]}],
    "batch_size": 1,
}


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and a scheduler on 127.0.0.1, stopped after the module."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def sweep_file(tmp_path):
    save_scenario(scenario_from_dict(small_scenario_dict()), tmp_path / "base.yaml")
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep_version": 1, "scenario": "base.yaml", **BODY}))
    return path


def test_dask_writes_the_same_bytes_as_this_process(cluster, sweep_file, tmp_path):
    here, there = tmp_path / "here.parquet", tmp_path / "dask.parquet"
    sweep.run_sweep(sweep_file, workers=1, output=here)
    result = sweep.run_sweep(sweep_file, scheduler=cluster.scheduler_address, output=there)
    assert result.complete and result.mode == f"dask at {cluster.scheduler_address}"
    assert here.read_bytes() == there.read_bytes()
    # and through the command, as CSV
    assert main(["sweep", str(sweep_file), "--workers", "1", "-o", str(tmp_path / "here.csv")]) == 0
    args = ["sweep", str(sweep_file), "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "d.csv")]
    assert main(args) == 0
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "d.csv").read_bytes()


def test_a_killed_worker_costs_only_its_batches(cluster, sweep_file, tmp_path):
    expected = tmp_path / "expected.parquet"
    sweep.run_sweep(sweep_file, workers=1, output=expected)
    scheduler = cluster.scheduler
    killed: dict = {}

    def kill_a_busy_worker(done: int, total: int, seconds: float) -> None:
        if killed or done == 0:
            return
        for address, worker in scheduler.workers.items():
            busy = {task.key for task in worker.processing}
            if busy:
                held = {task.key for task in worker.has_what}
                nanny = next(n for n in cluster.workers.values() if n.worker_address == address)
                killed.update(address=address, keys=busy | held, busy=busy, pid=nanny.process.pid)
                os.kill(nanny.process.pid, signal.SIGKILL)
                return

    out = tmp_path / "out.parquet"
    result = sweep.run_sweep(
        sweep_file, scheduler=cluster.scheduler_address, output=out, progress=kill_a_busy_worker
    )
    assert killed, "no worker was busy when the first batch came back"
    assert result.complete and not result.failures
    assert out.read_bytes() == expected.read_bytes()  # the sweep lost nothing and changed nothing
    # every batch ran once, except the ones the killed worker held: those ran again elsewhere
    runs: dict[str, int] = {}
    for key, _start, finish, *_ in scheduler.transition_log:
        if isinstance(key, str) and key.startswith("pricing-sweep-") and finish == "processing":
            runs[key] = runs.get(key, 0) + 1
    token = next(iter(killed["busy"])).rsplit("-", 1)[0]
    runs = {key: n for key, n in runs.items() if key.startswith(token)}
    assert len(runs) == 12  # batches of one point
    retried = {key for key, n in runs.items() if n > 1}
    assert killed["busy"] <= retried <= killed["keys"]


def test_resume_on_dask(cluster, sweep_file, tmp_path):
    whole = tmp_path / "whole.csv"
    sweep.run_sweep(sweep_file, workers=1, output=whole)
    out = tmp_path / "out.csv"
    seen = []
    stopped = sweep.run_sweep(
        sweep_file,
        scheduler=cluster.scheduler_address,
        output=out,
        on_batch=seen.append,
        should_stop=lambda: len(seen) >= 3,
    )
    assert not stopped.complete and not out.exists()
    resumed = sweep.run_sweep(sweep_file, scheduler=cluster.scheduler_address, output=out, resume=True)
    assert resumed.complete and resumed.resumed == stopped.done >= 3
    assert out.read_bytes() == whole.read_bytes()


def test_a_scheduler_that_is_not_there(sweep_file, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(PricingError, match="cannot connect"):
        sweep.run_sweep(sweep_file, scheduler="tcp://127.0.0.1:9")
    assert main(["sweep", str(sweep_file), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "scheduler tcp://127.0.0.1:9: cannot connect" in err and "Traceback" not in err
