"""Images into the node's containerd: each docker-archive of ``scripts/images.sh``, once per image id.

``images.sh`` writes ``<name>.tar`` with ``<name>.tar.id`` (the image id) beside it; an import records that id
in containerd's (cached) root, so a later start with the same images imports nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tipsml.cluster.node_files import NodeLayout


class ImageImportError(Exception):
    """``ctr images import`` failed, or no image archive was built yet."""


class ImageStoreBrokenError(ImageImportError):
    """containerd's cached store refers to snapshots it no longer has; only starting it afresh helps."""


def import_images(archives: Path, layout: NodeLayout, say: Callable[[str], None]) -> int:
    """Import every archive whose image id containerd has not seen; returns how many were imported."""
    tars = sorted(archives.glob("*.tar"))
    if not tars:
        raise ImageImportError(f"no image archives in {archives}: run `bash scripts/images.sh` first")
    record_path = layout.image_root / "tipsml-imported.json"
    try:
        done: dict[str, str] = json.loads(record_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        done = {}
    ctr = [shutil.which("ctr") or "ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io"]
    present = subprocess.run([*ctr, "images", "list", "--quiet"], capture_output=True, text=True, check=False)
    names = set(present.stdout.split())
    count = 0
    for tar in tars:
        image_id = Path(f"{tar}.id").read_text().strip() if Path(f"{tar}.id").exists() else ""
        if image_id and done.get(tar.name) == image_id and names:
            continue
        say(f"importing {tar.name} into containerd")
        result = subprocess.run([*ctr, "images", "import", str(tar)], capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            message = f"ctr images import {tar} exited {result.returncode}: {result.stderr.strip()}"
            if "does not exist" in result.stderr:  # e.g. "parent snapshot sha256:... does not exist: not found"
                raise ImageStoreBrokenError(message)
            raise ImageImportError(message)
        done[tar.name] = image_id
        record_path.write_text(json.dumps(done, indent=2) + "\n")
        count += 1
    return count
