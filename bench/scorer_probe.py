"""What the scorer bench reads around a load phase: the server's CPU, the machine's, GC pauses, a profile.

Linux ``/proc`` for CPU (a server of several worker processes is its whole process tree), the server's own
``/metrics`` for its garbage-collector pauses, and py-spy (a dev dependency) for where the CPU goes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its descendants so far (Linux /proc).

    A server of several worker processes is one target: its parent plus every worker (and, through the
    parent's ``cutime``/``cstime``, any worker that already exited).
    """
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited meanwhile
                continue
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)
    root = stats.get(pid)
    ticks = int(root[13]) + int(root[14]) if root else 0
    todo = [pid]
    while todo:
        current = todo.pop()
        own = stats.get(current)
        if own is not None:
            ticks += int(own[11]) + int(own[12])
        todo.extend(children.get(current, ()))
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` alone (not its children: the bench's own, as a client)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent so far (Linux /proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


GC_SERIES = "tipsml_scorer_gc_pause_seconds"


def gc_pauses(url: str) -> dict[str, float] | None:
    """The server's GC pause histogram (all workers, all generations): count, sum and each bucket's count."""
    import httpx

    try:
        text = httpx.get(url + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(GC_SERIES + "_"):
            series, _, value = line.rpartition(" ")
            kind = series[len(GC_SERIES) + 1 :].split("{", 1)[0]
            le = series.split('le="', 1)[1].split('"', 1)[0] if 'le="' in series else ""
            key = f"{kind}:{le}"
            found[key] = found.get(key, 0.0) + float(value)
    return found or None


def print_gc(before: dict[str, float] | None, after: dict[str, float] | None) -> None:
    """Collections the server ran during a phase, their total time and the bucket of the longest."""
    if before is None or after is None:
        return
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    buckets = sorted(
        (float(k.split(":", 1)[1]), v) for k, v in delta.items() if k.startswith("bucket:") and v > 0
    )
    longest = f"<= {1000 * buckets[0][0]:g} ms" if buckets else "-"
    for bound, count in buckets:  # cumulative buckets: the first bound holding every collection
        if count >= delta.get("count:", 0.0):
            longest = f"<= {1000 * bound:g} ms"
            break
    print(
        f"         server GC during the phase: {delta.get('count:', 0.0):.0f} collections, "
        f"{1000 * delta.get('sum:', 0.0):.1f} ms in all, longest {longest}"
    )


def settle(pid: int, quiet_cpu_s: float = 0.05, timeout_s: float = 90.0) -> None:
    """Wait until the process tree of ``pid`` uses under ``quiet_cpu_s`` of CPU in a second (start-up over)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < quiet_cpu_s:
            return


def profile(pid: int, run: Any) -> dict[str, int]:
    """Collapsed stacks (``frame;frame;... count``) of ``pid`` and its workers while ``run()`` loads them."""
    import shutil
    import subprocess
    import sys

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(tempfile.mkdtemp(prefix="scorer-profile-")) / "stacks.txt"
    proc = subprocess.Popen(  # noqa: S603 - our own dev tool, our own pid
        [spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "250", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached before the load starts
    try:
        run()
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        proc.wait(30)
    stacks: dict[str, int] = {}
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] = stacks.get(stack, 0) + int(count)
    return stacks


WAITING = ("_worker (futures/thread.py)", "_supervise (scorer/workers.py)")
"""Leaf frames py-spy counts as busy that wait: an idle pool thread on its queue, the parent in ``os.wait``."""


def print_profile(stacks: dict[str, int], top: int = 25) -> None:
    """Top frames by own samples and by inclusive samples (frames under 95 %: below the server's entry)."""

    def short(frame: str) -> str:
        func, _, where = frame.partition(" (")
        return f"{func} ({'/'.join(where.rstrip(')').rsplit(':', 1)[0].split('/')[-2:])})"

    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for stack, count in stacks.items():
        frames = [short(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames or frames[-1].startswith(WAITING):
            continue
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"{total} samples (busy threads only; idle pool threads and the waiting parent left out)\n  own:")
    total = total or 1
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("  inclusive:")
    shown = [(f, c) for f, c in sorted(inclusive.items(), key=lambda kv: -kv[1]) if c < 0.95 * total]
    for frame, count in shown[:top]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
