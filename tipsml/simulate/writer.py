"""Write a run to a directory: the event log (JSON lines), users, tips, truth (Parquet) and a manifest.

Same seed, same bytes: lines are time-ordered with deterministic tie-breaks and gzip carries no timestamp.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from tipsml.simulate.truth import Simulation

EVENTS_FILE = "events.jsonl"
CHUNK = 20_000


def write_run(
    sim: Simulation, out: Path, *, compress: bool = False, progress: Callable[[int], None] | None = None
) -> dict[str, Path]:
    """Write every file of a run into ``out`` (created if needed); returns the paths by role.

    ``progress`` is called with the number of events written since its last call.
    """
    out.mkdir(parents=True, exist_ok=True)
    events_path = out / (EVENTS_FILE + (".gz" if compress else ""))
    lines = sim.events.lines
    with open(events_path, "wb") as raw:
        if compress:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=5) as zipped:
                _write_lines(zipped, lines, progress)
        else:
            _write_lines(raw, lines, progress)
    paths = {"events": events_path}
    for name, frame in (("users", sim.users), ("tips", sim.tips), ("truth", sim.truth())):
        path = out / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        paths[name] = path
    manifest = {**sim.manifest(), "events_file": events_path.name}
    paths["manifest"] = out / "manifest.json"
    paths["manifest"].write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return paths


def _write_lines(
    sink: BinaryIO | gzip.GzipFile, lines: list[str], progress: Callable[[int], None] | None
) -> None:
    for i in range(0, len(lines), CHUNK):
        block = lines[i : i + CHUNK]
        sink.write(("\n".join(block) + "\n").encode())
        if progress is not None:
            progress(len(block))
