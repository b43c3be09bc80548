"""Generation overhead at 50 req/s: tip-generator (offline provider) beside a trivial KServe model.

Both servers are real ``kserve.ModelServer`` subprocesses with the same settings (REST only, quiet logs);
an open-loop aiohttp generator sends requests on a fixed schedule (latency counted from the scheduled send
time, so a stall cannot hide). The baseline is KServe's own cost; the generator's figures include
selection, context assembly, sandboxed rendering and the LiteLLM Router call into the offline provider.

    .venv/bin/python bench/generator_overhead.py [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

from contracts.names import GENERATOR_MODEL
from tipsml.stack.processes import free_port, spawn, stop_pid

BASELINE = """
import kserve
class Echo(kserve.Model):
    def __init__(self):
        super().__init__("tip-generator"); self.ready = True
    async def predict(self, payload, headers=None, response_headers=None):
        return {"predictions": [{"text": "ok"} for _ in payload["instances"]]}
import logging
for n in ("kserve", "kserve.trace", "uvicorn", "uvicorn.access", "uvicorn.error"):
    logging.getLogger(n).setLevel("WARNING")
kserve.ModelServer(http_port=int(__import__("os").environ["PORT"]), workers=1, enable_grpc=False,
                   enable_latency_logging=False).start([Echo()])
"""


async def open_loop(url: str, rate: float, seconds: float) -> np.ndarray:  # type: ignore[type-arg]
    n = int(rate * seconds)
    lat = np.full(n, np.nan)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _ in range(20):  # warm-up
            async with session.post(url, json={"instances": [{"user_id": "warm"}]}) as r:
                await r.read()
        start = time.perf_counter() + 0.1

        async def one(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with session.post(url, json={"instances": [{"user_id": f"u{i % 500}"}]}) as r:
                await r.read()
                assert r.status == 200, r.status
            lat[i] = time.perf_counter() - due

        await asyncio.gather(*(one(i) for i in range(n)))
    return lat * 1000.0


def wait_ready(url: str) -> None:
    import httpx

    for _ in range(600):
        try:
            if httpx.get(url).json().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


def run(
    name: str, cmd: list[str], env: dict[str, str], rate: float, seconds: float, root: Path
) -> np.ndarray:  # type: ignore[type-arg]
    port = free_port()
    env = {**env, "PORT": str(port), "TIPSML_GENERATOR_HTTP_PORT": str(port)}
    rec = spawn(name, cmd, port, root / "pids", root / f"{name}.log", env=env, ready_timeout=240.0)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1/models/tip-generator")
        return asyncio.run(
            open_loop(f"http://127.0.0.1:{port}/v1/models/tip-generator:predict", rate, seconds)
        )
    finally:
        stop_pid(rec.pid)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--seconds", type=float, default=20.0)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp())
    env = {
        "TIPSML_GENERATOR_PROMPTS_DIR": str(root / "prompts"),
        "TIPSML_GENERATOR_USE_FEATURE_STORE": "false",
        "TIPSML_GENERATOR_EXPERIMENT_FILE": str(root / "none.json"),
        "TIPSML_GENERATOR_REWARD_DB": str(root / "state.db"),
        **{k: v for k, v in os.environ.items() if k.startswith("TIPSML_")},
    }
    base = run("baseline", [sys.executable, "-c", BASELINE], env, a.rate, a.seconds, root)
    gen = run("generator", [sys.executable, "-m", "predictors.generator"], env, a.rate, a.seconds, root)
    print(f"open loop {a.rate:.0f} req/s for {a.seconds:.0f}s, 1 instance per request")
    print(f"{'server':<24}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, lat in (("baseline (trivial model)", base), (GENERATOR_MODEL, gen)):
        print(f"{name:<24}{np.median(lat):>10.2f}{np.percentile(lat, 99):>10.2f}{lat.max():>10.2f}")
    print(
        f"generation overhead over baseline: median {np.median(gen) - np.median(base):.2f} ms, "
        f"p99 {np.percentile(gen, 99) - np.percentile(base, 99):.2f} ms; "
        f"p99 ratio {np.percentile(gen, 99) / np.percentile(base, 99):.1f}x"
    )


if __name__ == "__main__":
    main()
