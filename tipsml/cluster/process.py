"""Process plumbing of the dev control plane: ports, readiness, and stopping exactly our processes.

Kept apart from :mod:`tipsml.cluster.dev` so the start/stop logic there reads as a sequence of steps.
A PID is only ever signalled while it still runs the binary we started, so a recycled PID is safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

PR_SET_PDEATHSIG = 1


def readyz(server: str, ca_file: Path, token: str, timeout: float) -> bool:
    """Ask the API server's ``/readyz`` once, trusting only our CA; any failure reads as not ready."""
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(f"{server}/readyz", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop_pid(pid: int, exe: Path, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Stop ``pid``; without our own ``proc`` handle, only while it still runs ``exe`` (PIDs get recycled)."""

    def alive() -> bool:
        if proc is not None:
            return proc.poll() is None
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child, else not ours to reap
        return runs(pid, exe)

    if proc is None and not runs(pid, exe):
        alive()
        return
    if proc is not None and proc.poll() is not None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait(timeout=timeout)


def runs(pid: int, exe: Path) -> bool:
    """Whether ``pid`` is a live (not zombie) process of the binary ``exe``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] == "Z":
            return False
        # A rebuilt binary replaces the file; the running process then shows it as "(deleted)".
        running_exe = os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
        return os.path.realpath(running_exe) == os.path.realpath(exe)
    except OSError:
        return False


def free_ports(count: int) -> list[int]:
    """Ask the kernel for distinct free loopback ports (held together so none repeats)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def term_on_parent_death() -> None:
    """Runs in the child before exec: ask Linux for SIGTERM when the parent process dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
