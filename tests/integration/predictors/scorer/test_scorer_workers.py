"""Several scorer processes behind one port: each serves, the error table holds, metrics add up, SIGTERM stops all."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"
StartScorer = Callable[..., ScorerProcess]


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def counter(server: ScorerProcess, name: str, version: str) -> float:
    series = f'{name}{{model_version="{version}",role="champion"}}'
    lines = [line for line in server.get("/metrics").text.splitlines() if line.startswith(series)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_two_workers_serve_one_port_with_the_error_table_and_summed_metrics(
    start_scorer: StartScorer, world: ScorerWorld
) -> None:
    server = start_scorer(world, workers="2")
    deadline = time.monotonic() + 60
    while len(children(server.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = children(server.pid)
    assert len(workers) == 2

    sent = 24
    for i in range(sent):  # a new connection each: the kernel hands them to both workers
        r = httpx.post(
            server.url + PREDICT,
            json={"instances": [{"user_id": world.users[i % 5], "candidates": world.tips[:10]}]},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    bad = server.post(PREDICT, {"instances": [{"user_id": "u", "candidates": [world.tips[0], world.tips[0]]}]})
    assert bad.status_code == 400 and "instances.0.candidates" in bad.json()["error"]
    not_json = httpx.post(server.url + PREDICT, content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    too_big = httpx.post(server.url + PREDICT, content=b"x" * (2 * 1024 * 1024), timeout=10)
    assert too_big.status_code == 413

    # Whichever worker answers /metrics, it reports every worker's requests.
    for _ in range(4):
        assert counter(server, "tipsml_scorer_requests_total", world.version) == sent

    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in (server.pid, *workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in (server.pid, *workers))


def test_a_shadow_runs_one_process_whatever_workers_says(start_scorer: StartScorer, world: ScorerWorld) -> None:
    server = start_scorer(world, workers="2", role="shadow")
    time.sleep(1.0)
    assert children(server.pid) == []
    assert server.post(PREDICT, {"instances": [{"user_id": "u", "candidates": world.tips[:3]}]}).status_code == 200
