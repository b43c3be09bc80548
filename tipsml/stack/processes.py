"""Start, find and stop the local processes of the embedded stack.

Each started process is recorded as ``.tipsml/pids/<name>.json`` (pid, port, command, log), so ``down``
stops exactly what ``up`` started and a second ``up`` is a no-op while the process still lives.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tipsml.errors import PortInUseError, ProcessStartError

# Importing Feast points these at a temp dir it deletes at exit; a child that inherited them would
# crash on its first metric once this (parent) process is gone.
NOT_INHERITED = frozenset({"PROMETHEUS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR"})


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus what must not leak into a long-lived child, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return {**base, **(extra or {})}


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """What ``up`` needs to remember about a process it started."""

    name: str
    pid: int
    port: int
    command: list[str]
    log: str


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    """Fail with advice, not a traceback, when a fixed port is taken."""
    if port_open(port, host):
        raise PortInUseError(
            f"port {host}:{port} for {what} is already in use; stop what holds it "
            f"(`ss -ltnp 'sport = :{port}'`) or choose another port"
        )


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie of ours)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_port(
    port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, host: str = "127.0.0.1"
) -> None:
    """Block until the port accepts connections; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        if proc is not None and proc.poll() is not None:
            raise ProcessStartError(f"process exited with code {proc.returncode} before listening on {port}")
        time.sleep(0.05)
    raise ProcessStartError(f"nothing listened on {host}:{port} within {timeout:.0f}s")


def spawn(
    name: str,
    command: list[str],
    port: int,
    pids_dir: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
) -> ProcessRecord:
    """Start a detached process, wait until it listens on ``port``, record it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pids_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - command built from our own settings
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env(env),
            start_new_session=True,
        )
    try:
        wait_for_port(port, ready_timeout, proc)
    except ProcessStartError as e:
        stop_pid(proc.pid)
        raise ProcessStartError(f"{name}: {e}; see {log_path}") from e
    record = ProcessRecord(name=name, pid=proc.pid, port=port, command=command, log=str(log_path))
    (pids_dir / f"{name}.json").write_text(json.dumps(asdict(record)), encoding="utf-8")
    return record


def read_record(pids_dir: Path, name: str) -> ProcessRecord | None:
    """The record of a process started earlier, if any."""
    path = pids_dir / f"{name}.json"
    if not path.exists():
        return None
    return ProcessRecord(**json.loads(path.read_text(encoding="utf-8")))


def list_records(pids_dir: Path) -> list[ProcessRecord]:
    """Every recorded process."""
    if not pids_dir.exists():
        return []
    return [
        ProcessRecord(**json.loads(p.read_text(encoding="utf-8"))) for p in sorted(pids_dir.glob("*.json"))
    ]


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.05)


def stop_record(pids_dir: Path, record: ProcessRecord) -> None:
    """Stop one recorded process and forget it."""
    if pid_alive(record.pid):
        stop_pid(record.pid)
    (pids_dir / f"{record.name}.json").unlink(missing_ok=True)
