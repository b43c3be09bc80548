"""What a shadow phase costs: the champion's latency with KServe's logger on, and the shadow's CPU per request.

A ModelRollout's shadow phase sets ``spec.predictor.logger`` on the champion: KServe injects its agent in front
of the scorer, and the agent posts every request and response as a CloudEvent to the shadow scorer, which scores
the request again and pairs it with the champion's answer (``predictors/scorer/shadow.py``). This bench runs
the same pieces as host processes: the scorer (one process), the agent binary built from the pinned KServe
module (``scripts/k8s-tools.sh``), and a shadow scorer (``TIPSML_ROLE=shadow``), and sends the same open-loop
load (``bench.scorer_load.open_loop``: latency from the scheduled send time) three ways, in one run:

* ``direct``: to the scorer itself (the baseline);
* ``agent``: through the agent with no logger (what the sidecar alone costs);
* ``agent+logger``: through the agent logging to the shadow (the shadow phase).

Printed side by side: p50/p99/max, and CPU ms per request of the scorer, the agent and the shadow (from /proc),
plus how many mirrored requests the shadow paired. The ratio of p99s is against ``direct`` in the same run.

    .venv/bin/python -m bench.shadow_cost                    # 100 req/s, 30 s per target
    .venv/bin/python -m bench.shadow_cost --rate 200 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.scorer_load import Result, cpu_seconds, make_bodies, open_loop
from contracts import serving_metrics as sm
from contracts.names import SCORER_MODEL
from contracts.runtime import apply_offline_switches
from tipsml.cluster.tools import find_bin_dir
from tipsml.stack.processes import free_port, stop_pid, wait_for_port

REPO = Path(__file__).resolve().parents[1]


def start_agent(bin_dir: Path, component_port: int, log_url: str | None, log: Path) -> tuple[int, int]:
    """KServe's agent on a free port in front of ``component_port``; (pid, port)."""
    port, marshaller = free_port(), free_port()
    argv = [str(bin_dir / "kserve-agent"), "--port", str(port), "--component-port", str(component_port),
            "--log-marshaller-port", str(marshaller), "--inference-service", SCORER_MODEL, "--namespace", "bench",
            "--component", "predictor", "--endpoint", "default"]  # fmt: skip
    if log_url:
        argv += ["--log-url", log_url, "--log-mode", "all", "--source-uri", f"http://{SCORER_MODEL}.bench"]
    # The agent requires the probe KServe's webhook passes it (the user container's readiness probe, as JSON).
    probe = json.dumps({"httpGet": {"path": f"/v1/models/{SCORER_MODEL}", "port": component_port}})
    env = {**os.environ, "SERVING_READINESS_PROBE": probe}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)  # noqa: S603
    wait_for_port(port, 30, proc)
    return proc.pid, port


def paired(shadow_url: str) -> int:
    """Rank-agreement samples the shadow observed (one per paired request)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{shadow_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{sm.RANK_AGREEMENT}_count":
                return int(sample.value)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per target")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--tips", type=int, default=1000)
    args = parser.parse_args()
    apply_offline_switches()
    from bench.scorer_world import build_world, spawn_scorer

    bin_dir = find_bin_dir(start=REPO)
    if not (bin_dir / "kserve-agent").exists():
        raise SystemExit(f"no kserve-agent in {bin_dir}: run `bash scripts/k8s-tools.sh` first")
    root = Path(tempfile.mkdtemp(prefix="shadow-bench-"))
    world = build_world(root, n_users=args.users, n_tips=args.tips)
    run = root / "run"
    champion = spawn_scorer(world, run, workers="1")
    shadow = spawn_scorer(world, run, workers="1", role="shadow")
    pids = [champion.pid, shadow.pid]
    try:
        log_url = f"{shadow.url}/v1/models/{SCORER_MODEL}:predict"
        # One agent at a time: each binds the same abstract unix socket (@/kserve/agent.sock) for its probes.
        agent_for = {"agent": None, "agent+logger": log_url}
        bodies = make_bodies(world.users, world.tips, 5000, 20, seed=7)
        load = os.getloadavg()[0]
        print(f"load average before: {load:.2f} (2 cores); {args.rate:.0f} req/s, {args.seconds:.0f} s per target")
        rows: list[tuple[str, Result, float, float, float, int]] = []
        for name in ("direct", "agent", "agent+logger"):
            agent_pid = None
            url = champion.url
            if name in agent_for:
                agent_pid, port = start_agent(bin_dir, _port(champion.url), agent_for[name], run / f"{name}.log")
                pids.append(agent_pid)
                url = f"http://127.0.0.1:{port}"
            asyncio.run(open_loop(url, bodies, 50, 2, "warm-up"))
            time.sleep(1.0)
            before = (cpu_seconds(champion.pid), cpu_seconds(agent_pid) if agent_pid else 0.0, cpu_seconds(shadow.pid))
            pairs_before = paired(shadow.url)
            result = asyncio.run(open_loop(url, bodies, args.rate, args.seconds, name))
            time.sleep(1.0)  # the logger is asynchronous: let the last events land
            after = (cpu_seconds(champion.pid), cpu_seconds(agent_pid) if agent_pid else 0.0, cpu_seconds(shadow.pid))
            per = [1000 * (b - a) / result.sent for a, b in zip(before, after, strict=True)]
            rows.append((name, result, per[0], per[1], per[2], paired(shadow.url) - pairs_before))
            if agent_pid is not None:
                stop_pid(agent_pid)
        print(f"\n{'target':<14}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'p99/direct':>11}{'errors':>7}"
              f"{'scorer CPU':>11}{'agent CPU':>10}{'shadow CPU':>11}{'paired':>8}   (CPU: ms/request)")  # fmt: skip
        base = rows[0][1].pct(0.99)
        for name, r, scorer_ms, agent_ms, shadow_ms, pairs in rows:
            print(f"{name:<14}{r.pct(0.5):>8.2f}{r.pct(0.99):>8.2f}{max(r.latencies_ms or [0]):>8.1f}"
                  f"{r.pct(0.99) / base:>10.2f}x{r.errors:>7}{scorer_ms:>11.2f}{agent_ms:>10.2f}{shadow_ms:>11.2f}"
                  f"{pairs:>8}")  # fmt: skip
        name, r, _, _, shadow_ms, pairs = rows[-1]
        print(f"\nshadow: {shadow_ms:.2f} ms CPU per mirrored request; {pairs} of {r.sent} requests paired "
              f"({pairs / r.sent:.1%})")  # fmt: skip
    finally:
        for pid in pids:
            stop_pid(pid)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


if __name__ == "__main__":
    main()
