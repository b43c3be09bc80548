"""Same seed, same bytes; another seed, other events."""

from __future__ import annotations

from pathlib import Path

from tipsml.simulate import simulate
from tipsml.simulate.writer import write_run


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    paths_a = write_run(simulate(users=200, days=3, seed=11), tmp_path / "a")
    paths_b = write_run(simulate(users=200, days=3, seed=11), tmp_path / "b")
    for role in ("events", "users", "tips", "truth", "manifest"):
        assert paths_a[role].read_bytes() == paths_b[role].read_bytes(), role


def test_gzip_output_is_deterministic_too(tmp_path: Path) -> None:
    a = write_run(simulate(users=50, days=2, seed=3), tmp_path / "a", compress=True)["events"]
    b = write_run(simulate(users=50, days=2, seed=3), tmp_path / "b", compress=True)["events"]
    assert a.name == "events.jsonl.gz"
    assert a.read_bytes() == b.read_bytes()


def test_different_seed_gives_different_events() -> None:
    a = simulate(users=200, days=3, seed=1)
    b = simulate(users=200, days=3, seed=2)
    assert a.events.lines != b.events.lines
    assert not set(a.events.event_ids) & set(b.events.event_ids), "runs must not collide in JetStream dedup"
    assert not a.users["preferred_hour"].equals(b.users["preferred_hour"])


def test_no_effects_flag_writes_the_world_without_the_new_effects(tmp_path: Path) -> None:
    """``tipsml simulate --no-effects`` is ``ModelParams().without_new_effects()``, byte for byte."""
    from typer.testing import CliRunner

    from tipsml.cli.main import app
    from tipsml.simulate import ModelParams

    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["simulate", "--users", "40", "--days", "2", "--seed", "6", "--no-effects",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    direct = write_run(simulate(users=40, days=2, seed=6, params=ModelParams().without_new_effects()), tmp_path / "d")
    assert (out / "truth.parquet").read_bytes() == direct["truth"].read_bytes()
    assert (out / "events.jsonl").read_bytes() == direct["events"].read_bytes()
    with_effects = write_run(simulate(users=40, days=2, seed=6), tmp_path / "e")
    assert with_effects["truth"].read_bytes() != direct["truth"].read_bytes()
