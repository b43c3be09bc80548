"""A real ``python -m predictors.generator`` on a free loopback port (offline LLM, no feature store), for tests."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tipsml.stack.processes import free_port, spawn, stop_pid


@dataclass
class GeneratorProcess:
    """Where the running generator answers, and the registry and experiment files it reads."""

    url: str
    prompts: Path
    experiment: Path


@contextlib.contextmanager
def running_generator(root: Path, **settings: str) -> Iterator[GeneratorProcess]:
    """Start it with its state under ``root`` (plus ``settings`` as env), wait until ready, stop it afterwards."""
    port = free_port()
    env = {
        "TIPSML_GENERATOR_HTTP_PORT": str(port),
        "TIPSML_GENERATOR_PROMPTS_DIR": str(root / "prompts"),
        "TIPSML_GENERATOR_EXPERIMENT_FILE": str(root / "experiment.json"),
        "TIPSML_GENERATOR_REWARD_DB": str(root / "state.db"),
        "TIPSML_GENERATOR_USE_FEATURE_STORE": "false",
        **settings,
    }
    rec = spawn("generator", [sys.executable, "-m", "predictors.generator"], port, root / "pids",
                root / "generator.log", env=env, ready_timeout=180.0)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not httpx.get(f"{url}/v1/models/tip-generator").json().get("ready"):
            time.sleep(0.2)
        yield GeneratorProcess(url, root / "prompts", root / "experiment.json")
    finally:
        stop_pid(rec.pid)
