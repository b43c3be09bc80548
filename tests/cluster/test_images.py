"""Image builds reproduce: building again with nothing changed reuses every layer and re-exports nothing.

``make cluster-tools`` built the images just before the tests; this builds them again through the same script.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tipsml.cluster.tools import ToolSettings

REPO = Path(__file__).resolve().parents[2]
IMAGES = ("tipsml", "nats", "redis", "postgres", "prometheus", "traefik", "coredns", "pause")


def test_second_build_reuses_every_layer() -> None:
    archives = ToolSettings().image_archives
    before = {p.name: p.read_text() for p in archives.glob("*.tar.id")}
    assert len(before) >= len(IMAGES), f"expected an archive per image in {archives}, found {sorted(before)}"
    started = time.perf_counter()
    result = subprocess.run(["bash", str(REPO / "scripts" / "images.sh"), *IMAGES], capture_output=True,
                            text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    print(f"\nimages: warm rebuild of {len(IMAGES)} images in {elapsed:.1f}s")
    after = {p.name: p.read_text() for p in archives.glob("*.tar.id")}
    assert after == before, "an image id changed although nothing did"
    assert "exporting" not in result.stderr, result.stderr
    assert "mmdebstrap" not in result.stderr, result.stderr
