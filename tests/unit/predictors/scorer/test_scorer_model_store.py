"""Loading the model natively from the MLflow registry (alias, version) and from a storage-URI directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.scorer_world import ScorerWorld
from feature_repo.features import MODEL_FEATURES
from predictors.scorer.errors import ModelLoadError
from predictors.scorer.model_store import load_model, load_model_dir, parse_registry_uri


def _rows(n: int = 5, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, len(MODEL_FEATURES)))


def test_parse_registry_uri() -> None:
    assert parse_registry_uri("models:/tip-scorer@champion") == ("tip-scorer", "champion", None)
    assert parse_registry_uri("models:/tip-scorer/3") == ("tip-scorer", None, "3")
    for bad in ("models:/tip-scorer", "models:/@x", "models:/tip-scorer/latest"):
        with pytest.raises(ModelLoadError):
            parse_registry_uri(bad)


def test_alias_version_and_directory_load_the_same_model(world: ScorerWorld) -> None:
    by_alias = load_model("models:/tip-scorer@champion", world.tracking_uri, MODEL_FEATURES)
    by_version = load_model(f"models:/tip-scorer/{world.version}", world.tracking_uri, MODEL_FEATURES)
    by_dir = load_model(str(world.model_dir), "unused://", MODEL_FEATURES)
    by_file_uri = load_model(world.model_dir.as_uri(), "unused://", MODEL_FEATURES)
    assert by_alias.version == by_version.version == by_dir.version == by_file_uri.version == world.version
    assert by_alias.flavor == "lightgbm"
    rows = _rows()
    scores = by_alias.score(rows)
    assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))
    for other in (by_version, by_dir, by_file_uri):
        assert np.array_equal(other.score(rows), scores)


def test_unknown_alias_is_a_load_error(world: ScorerWorld) -> None:
    with pytest.raises(ModelLoadError, match="cannot resolve"):
        load_model("models:/tip-scorer@nobody", world.tracking_uri, MODEL_FEATURES)


def test_version_override_and_directory_without_registry_meta(world: ScorerWorld, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(world.model_dir, copy)
    assert load_model_dir(copy, MODEL_FEATURES, version="v-ops").version == "v-ops"
    (copy / "registered_model_meta").unlink()
    mlmodel = yaml.safe_load((copy / "MLmodel").read_text())
    assert load_model_dir(copy, MODEL_FEATURES).version == mlmodel["model_id"]


def test_serving_columns_in_another_order_are_mapped_to_the_model_order(world: ScorerWorld) -> None:
    model_order = load_model_dir(world.model_dir, MODEL_FEATURES)
    shuffled = tuple(reversed(MODEL_FEATURES))
    served = load_model_dir(world.model_dir, shuffled)
    rows = _rows()
    assert np.allclose(served.score(rows[:, ::-1]), model_order.score(rows))


def test_model_needing_a_feature_we_do_not_serve_fails_at_load(world: ScorerWorld) -> None:
    with pytest.raises(ModelLoadError, match=MODEL_FEATURES[0]):
        load_model_dir(world.model_dir, MODEL_FEATURES[1:])


def test_not_a_model_directory_or_unsupported_flavor(tmp_path: Path, world: ScorerWorld) -> None:
    with pytest.raises(ModelLoadError, match="not an MLflow model directory"):
        load_model_dir(tmp_path, MODEL_FEATURES)
    copy = tmp_path / "m"
    shutil.copytree(world.model_dir, copy)
    mlmodel = yaml.safe_load((copy / "MLmodel").read_text())
    mlmodel["flavors"] = {"python_function": mlmodel["flavors"]["python_function"]}
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(ModelLoadError, match="unsupported flavors"):
        load_model_dir(copy, MODEL_FEATURES)
