"""The tip scorer as the recommender sees it: the real KServe ModelServer over HTTP, V1 and V2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld
from contracts.scorer import ScorerResponse
from feature_repo.features import MODEL_FEATURES

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"
INFER = "/v2/models/tip-scorer/infer"
READY = "/v1/models/tip-scorer"

StartScorer = Callable[..., ScorerProcess]


def v1_body(world: ScorerWorld, user: str | None = None, n: int = 20, **extra: Any) -> dict[str, Any]:
    return {"instances": [{"user_id": user or world.users[0], "candidates": world.tips[:n], **extra}]}


def test_v1_ranks_candidates_with_model_version_and_request_id(alias_server: ScorerProcess, world: ScorerWorld) -> None:
    body = v1_body(world, request_id="req-1", profile_features={"tenure_days": 12, "locale": "en-GB"})
    r = alias_server.post(PREDICT, body)
    assert r.status_code == 200, r.text
    pred = ScorerResponse.model_validate(r.json()).predictions[0]
    assert pred.request_id == "req-1"
    assert pred.model_version == world.version
    assert sorted(s.tip_id for s in pred.scores) == sorted(world.tips[:20])
    scores = [s.score for s in pred.scores]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(set(scores)) > 1, "a trained model over real features does not give every tip the same score"


def test_v1_generates_a_request_id_and_answers_several_instances(
    alias_server: ScorerProcess, world: ScorerWorld
) -> None:
    body = {
        "instances": [
            {"user_id": world.users[1], "candidates": world.tips[:3]},
            {"user_id": world.users[2], "candidates": world.tips[3:5]},
        ]
    }
    r = alias_server.post(PREDICT, body)
    assert r.status_code == 200, r.text
    preds = ScorerResponse.model_validate(r.json()).predictions
    assert [len(p.scores) for p in preds] == [3, 2]
    assert preds[0].request_id and preds[0].request_id != preds[1].request_id


def test_unknown_user_and_unknown_tip_get_cold_start_scores(alias_server: ScorerProcess, world: ScorerWorld) -> None:
    r = alias_server.post(PREDICT, {"instances": [{"user_id": "never-seen", "candidates": [world.tips[0], "tip-new"]}]})
    assert r.status_code == 200, r.text
    assert {s.tip_id for s in ScorerResponse.model_validate(r.json()).predictions[0].scores} == {
        world.tips[0],
        "tip-new",
    }


def test_profile_features_change_the_score(alias_server: ScorerProcess, world: ScorerWorld) -> None:
    def scores(profile: dict[str, Any]) -> dict[str, float]:
        r = alias_server.post(
            PREDICT,
            {"instances": [{"user_id": "never-seen", "candidates": world.tips[:10], "profile_features": profile}]},
        )
        assert r.status_code == 200, r.text
        return {s["tip_id"]: s["score"] for s in r.json()["predictions"][0]["scores"]}

    assert scores({"completion_rate_30d": 0.0}) != scores({"completion_rate_30d": 1.0})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instances": [{"user_id": 7, "candidates": ["tip-1"]}]}, "instances.0.user_id"),
        ({"instances": [{"user_id": "u", "candidates": []}]}, "instances.0.candidates"),
        (
            {"instances": [{"user_id": "u", "candidates": [f"t{i}" for i in range(101)]}]},
            "instances.0.candidates",
        ),
        ({"instances": [{"user_id": "u", "candidates": ["a", "a"]}]}, "instances.0.candidates"),
        ({"instances": [{"user_id": "u", "candidates": ["a"], "colour": "red"}]}, "instances.0.colour"),
        (
            {"instances": [{"user_id": "u", "candidates": ["a"], "profile_features": {"tenure_days": "3"}}]},
            "instances.0.profile_features.tenure_days",
        ),
        ({"instances": [{"user_id": "u", "candidates": "tip-1"}]}, "instances.0.candidates"),
        ({"instances": []}, "instances"),
        ({"rows": []}, "instances"),
    ],
)
def test_v1_bad_input_is_400_naming_the_field(alias_server: ScorerProcess, body: Any, field: str) -> None:
    r = alias_server.post(PREDICT, body)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]


def test_unknown_profile_feature_is_scored_and_counted_not_refused(
    alias_server: ScorerProcess, world: ScorerWorld
) -> None:
    """A recommender newer than contracts.profile sends a name this side lacks: 200, and the counter says so."""
    body = {"instances": [{"user_id": "u", "candidates": world.tips[:2], "profile_features": {"tenure": 3}}]}
    r = alias_server.post(PREDICT, body)
    assert r.status_code == 200, r.text
    series = f'tipsml_scorer_unknown_profile_features_total{{model_version="{world.version}",role="champion"}}'
    counted = [line for line in alias_server.get("/metrics").text.splitlines() if line.startswith(series)]
    assert counted and float(counted[0].split()[-1]) >= 1.0


def test_v1_body_that_is_not_json_is_400(alias_server: ScorerProcess) -> None:
    r = httpx.post(alias_server.url + PREDICT, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text


def test_v2_scores_feature_tensors(alias_server: ScorerProcess) -> None:
    rows = [[0.1 * (i + j) for j in range(len(MODEL_FEATURES))] for i in range(3)]
    flat = [v for row in rows for v in row]
    matrix = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [3, len(MODEL_FEATURES)], "data": flat}]}
    r = alias_server.post(INFER, matrix)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["name"] == "score" and out["shape"] == [3]
    columns = {
        "inputs": [
            {
                "name": f,
                "datatype": "FP32" if i % 2 else "FP64",
                "shape": [3],
                "data": [row[i] for row in rows],
            }
            for i, f in enumerate(MODEL_FEATURES)
        ]
    }
    by_name = alias_server.post(INFER, columns)
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["outputs"][0]["data"] == pytest.approx(out["data"], abs=1e-6)
    meta = alias_server.get("/v2/models/tip-scorer").json()
    assert [i["name"] for i in meta["inputs"]] == list(MODEL_FEATURES)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([{"name": "features", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}], "inputs.features"),
        ([{"name": "colour", "datatype": "FP64", "shape": [1], "data": [1]}], "inputs.colour"),
        ([{"name": "features", "datatype": "BYTES", "shape": [1], "data": ["x"]}], "inputs.features"),
        ([{"name": "features", "shape": [1], "data": [1]}], "inputs.0.datatype"),
    ],
)
def test_v2_bad_input_is_400_naming_the_field(alias_server: ScorerProcess, inputs: Any, field: str) -> None:
    r = alias_server.post(INFER, {"inputs": inputs})
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]


def test_health_metrics_and_v2_readiness(alias_server: ScorerProcess, world: ScorerWorld) -> None:
    assert alias_server.get("/v2/health/ready").status_code == 200
    assert alias_server.get("/v2/models/tip-scorer/ready").status_code == 200
    alias_server.post(PREDICT, v1_body(world, n=3))
    metrics = alias_server.get("/metrics").text
    assert f'tipsml_scorer_requests_total{{model_version="{world.version}",role="champion"}}' in metrics


def test_feature_store_down_is_503_and_not_ready_then_recovers_from_storage_uri(
    start_scorer: StartScorer, alias_server: ScorerProcess, world_copy: ScorerWorld
) -> None:
    """Store down at start: 503 and not ready; store back: ready, and the storage-URI model scores like the alias."""
    online = world_copy.root / "feast" / "online.db"
    saved = online.with_suffix(".saved")
    online.rename(saved)
    online.mkdir()  # SQLite cannot open a directory: the store is unreachable
    server = start_scorer(world_copy, wait_ready=False, model_uri=str(world_copy.model_dir))
    assert server.wait_status(READY, 503).status_code == 503
    assert server.get("/v2/models/tip-scorer/ready").status_code == 503
    r = server.post(PREDICT, v1_body(world_copy, n=3))
    assert r.status_code == 503, r.text

    online.rmdir()
    saved.rename(online)
    assert server.wait_status(READY, 200).status_code == 200
    for user in (world_copy.users[3], "never-seen"):
        body = v1_body(world_copy, user=user)
        a, b = server.post(PREDICT, body), alias_server.post(PREDICT, body)
        assert a.status_code == b.status_code == 200, a.text
        pa, pb = a.json()["predictions"][0], b.json()["predictions"][0]
        assert pa["model_version"] == pb["model_version"] == world_copy.version
        assert pa["scores"] == pb["scores"]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_shadow_role_has_no_side_effects(start_scorer: StartScorer, world_copy: ScorerWorld) -> None:
    """A shadow (model by MLflow alias, Feast reads) leaves every file of the state root untouched."""
    before = _snapshot(world_copy.root)
    shadow = start_scorer(world_copy, role="shadow")
    for user in (*world_copy.users[:3], "never-seen"):
        r = shadow.post(PREDICT, v1_body(world_copy, user=user))
        assert r.status_code == 200, r.text
        assert r.json()["predictions"][0]["model_version"] == world_copy.version
    assert shadow.post(PREDICT, {"instances": []}).status_code == 400
    assert 'role="shadow"' in shadow.get("/metrics").text
    shadow.stop()
    assert _snapshot(world_copy.root) == before


def test_executor_mode_without_tip_stats_copy_scores_like_the_default(
    start_scorer: StartScorer, alias_server: ScorerProcess, world: ScorerWorld
) -> None:
    """The speed settings change where the work runs and how often tip stats are read, never the answer."""
    plain = start_scorer(world, predict_in="executor", tip_stats_ttl_s="0", event_loop="asyncio")
    for user in (world.users[4], "never-seen"):
        body = v1_body(world, user=user, profile_features={"tenure_days": 30})
        a, b = plain.post(PREDICT, body), alias_server.post(PREDICT, body)
        assert a.status_code == b.status_code == 200, a.text
        assert a.json()["predictions"][0]["scores"] == b.json()["predictions"][0]["scores"]
    bad = plain.post(PREDICT, {"instances": [{"user_id": "u", "candidates": []}]})
    assert bad.status_code == 400 and "instances.0.candidates" in bad.json()["error"]
