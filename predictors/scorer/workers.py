"""Several scorer server processes behind one port: one per CPU the Pod may use.

Why processes: a request is ~1 ms of CPU that holds the GIL (SQLite read, model inputs, LightGBM, JSON), so
one process uses one core at most, and near that core's limit its queue is the tail. KServe's own
multi-process mode (``ModelServer(workers=N)``) spawns fresh interpreters that receive a pickled copy of the
model registry (our model holds an open feature store, which does not pickle) and re-import KServe's app
without our error table. Here the parent binds the port, then forks ``count`` workers *before* anything is
loaded; each worker loads its own model and feature store and serves its own socket.

One socket per worker, all bound to the port with ``SO_REUSEPORT``: the kernel spreads new connections over
the listening workers by a hash of each connection. With one shared socket (what KServe's children and
uvicorn's workers use) a pending connection goes to whichever worker's loop accepts first, and under load
the keep-alive connections of a client pool landed unevenly: bench/scorer_load.py's saturation swung
between 836 and 1,447 requests/s from one run to the next, and in the slow runs the server used about one
core of two. Hashed, three runs in a row gave 1,546 to 1,586. A worker that has not loaded yet is not
listening, so it gets no connections. Each worker closes the other workers' sockets and the parent closes
all of them, so a socket lives exactly as long as its worker.

The parent only supervises: SIGTERM/SIGINT are forwarded to every worker (each drains in-flight requests,
uvicorn's graceful shutdown); a worker that exits on its own stops the others and the parent exits 1, so the
Pod restarts whole rather than serving on fewer cores unnoticed.

Metrics: with more than one worker each process counts in its own memory, so Prometheus' multi-process mode
is switched on (:func:`share_metrics`) before any metric is created, and ``/metrics`` adds up every worker's
files (:func:`metrics_registry`). This module imports neither KServe nor the scorer's metrics, for that
reason.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Final

log = logging.getLogger(__name__)

METRICS_DIR_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus_client's multi-process mode keeps every process's series."""
_METRIC_MODULES: Final = ("kserve", "feast", "predictors.scorer.metrics")
"""Modules that create metrics when imported."""
_shared_dir: str | None = None
"""Set by :func:`share_metrics`: the directory every worker's series are in."""


def listen_socket(port: int, host: str = "0.0.0.0", *, reuse_port: bool = False) -> socket.socket:  # noqa: S104 - a Pod's server port
    """A bound TCP socket a worker inherits (its server calls ``listen`` on it when it is ready).

    ``reuse_port``: one of several sockets on the same port, one per worker (``SO_REUSEPORT``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def share_metrics() -> str:
    """Turn on prometheus_client's multi-process mode in a fresh directory, before any metric exists.

    prometheus_client picks its value class at import, and every entry point imports it early, in-process
    mode (``contracts.runtime.apply_offline_switches``); a metric takes the class when it is created. So
    this points the class at the new directory before KServe's and the scorer's metrics modules create
    theirs; a worker that finds a different pid writes its own file, and ``/metrics`` sums the files.
    """
    early = [m for m in _METRIC_MODULES if m in sys.modules]
    if early:
        raise RuntimeError(f"metrics already created by {', '.join(early)}: multi-process mode comes too late")
    from prometheus_client import values

    global _shared_dir
    path = tempfile.mkdtemp(prefix="tip-scorer-metrics-")
    os.environ[METRICS_DIR_ENV] = path
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _shared_dir = path
    return path


def metrics_registry() -> Any:
    """The registry ``/metrics`` should expose: every worker's series summed after :func:`share_metrics`, else ours.

    Decided by what :func:`share_metrics` did in this process (or the parent it was forked from), not by the
    environment: importing Feast sets ``PROMETHEUS_MULTIPROC_DIR`` for its own use.
    """
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if _shared_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=_shared_dir)  # type: ignore[no-untyped-call]
    return registry


def worker_sockets(count: int, port: int, host: str = "0.0.0.0") -> list[socket.socket]:  # noqa: S104 - as above
    """``count`` sockets bound to ``port``, one per worker (``SO_REUSEPORT`` when more than one)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(listen_socket(port, host, reuse_port=count > 1))
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def run_workers(
    sockets: Sequence[Sequence[socket.socket]],
    serve_one: Callable[[list[socket.socket]], None],
    *,
    name: str,
    failure: type[Exception],
) -> int:
    """Fork one worker per entry of ``sockets`` that runs ``serve_one(its sockets)``; supervise them; the exit code.

    Worker ``i`` keeps ``sockets[i]`` and closes every other worker's; the parent closes all of them once
    every worker is forked. A worker's ``failure`` (the scorer's own start-up error) is one line on stderr
    and exit 1, as for one process; anything else keeps its traceback.
    """
    children: set[int] = set()
    every = [sock for own in sockets for sock in own]
    for own in sockets:
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                for sock in every:
                    if sock not in own:
                        sock.close()
                serve_one(list(own))
                code = 0
            except failure as e:
                print(f"{name}: {e}", file=sys.stderr)
            except BaseException:  # noqa: BLE001 - printed, then the worker exits 1
                import traceback

                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.add(pid)
    for sock in every:
        sock.close()
    return _supervise(children)


def _supervise(children: set[int]) -> int:
    stopping = False

    def forward(sig: int, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 0
    while children:
        pid, status = os.wait()
        children.discard(pid)
        exit_code = os.waitstatus_to_exitcode(status)
        if not stopping:
            log.error("scorer worker %d exited (%d) on its own: stopping the others", pid, exit_code)
            code = 1
            forward(signal.SIGTERM)
        elif exit_code not in (0, -signal.SIGTERM, -signal.SIGINT):
            code = 1
    return code
