"""Profile features, predictor request models and CRD models: validation names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.crds import ModelRolloutSpec, ModelRolloutStatus, PromptVersionSpec, RolloutPhase
from contracts.generator import GeneratorRequest, SelectionSource
from contracts.profile import PROFILE_FEATURE_DTYPES, ProfileFeatures, profile_json_schema
from contracts.prompt_context import MAX_OPEN_TASKS, PromptContext, TaskView, sample_prompt_context
from contracts.scorer import MAX_CANDIDATES, ScorerRequest
from contracts.validation import describe, field_errors


def errors(model: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return {e.field: e.reason for e in field_errors(exc.value)}


def test_profile_model_mirrors_the_dtype_table() -> None:
    py_types = {"float": "number", "int": "integer", "bool": "boolean", "string": "string"}
    props = profile_json_schema()["properties"]
    assert set(props) == set(PROFILE_FEATURE_DTYPES)
    for name, dtype in PROFILE_FEATURE_DTYPES.items():
        kinds = {alt.get("type") for alt in props[name]["anyOf"]}
        assert py_types[dtype] in kinds, name


def test_json_schema_is_exportable_and_stable() -> None:
    first = json.dumps(profile_json_schema(), sort_keys=True)
    assert first == json.dumps(profile_json_schema(), sort_keys=True)
    assert profile_json_schema()["additionalProperties"] is True  # a newer recommender may send more


def test_unknown_profile_feature_is_ignored_and_remembered_by_name() -> None:
    profile = ProfileFeatures.model_validate({"favourite_colour": "blue", "tenure_days": 3})
    assert profile.unknown_names == ("favourite_colour",)
    assert profile.snapshot() == {"tenure_days": 3}
    assert "favourite_colour" not in profile.model_dump()
    from_json = ProfileFeatures.model_validate_json('{"zz": 1, "aa": [1], "streak_days": 2}')
    assert from_json.unknown_names == ("aa", "zz") and from_json.streak_days == 2
    assert ProfileFeatures(tenure_days=1).unknown_names == ()


def test_unknown_names_are_bounded() -> None:
    profile = ProfileFeatures.model_validate({f"n{i:03d}" + "x" * 100: i for i in range(100)})
    assert len(profile.unknown_names) == 16 and all(len(n) == 64 for n in profile.unknown_names)


def test_profile_types_are_strict() -> None:
    assert set(errors(ProfileFeatures, {"preferred_hour": "9"})) == {"preferred_hour"}
    assert set(errors(ProfileFeatures, {"notifications_enabled": 1})) == {"notifications_enabled"}
    assert set(errors(ProfileFeatures, {"completion_rate_30d": 1.5})) == {"completion_rate_30d"}


def test_scorer_request_errors_name_the_field() -> None:
    ok = {"instances": [{"user_id": "u1", "candidates": ["tip-1", "tip-2"], "profile_features": {"tenure_days": 3}}]}
    assert ScorerRequest.model_validate(ok).instances[0].candidates == ["tip-1", "tip-2"]
    assert set(errors(ScorerRequest, {"instances": [{"user_id": "u1", "candidates": []}]})) == {
        "instances.0.candidates"}
    too_many = [f"tip-{i}" for i in range(MAX_CANDIDATES + 1)]
    assert set(errors(ScorerRequest, {"instances": [{"user_id": "u1", "candidates": too_many}]})) == {
        "instances.0.candidates"}
    assert set(errors(ScorerRequest, {"instances": [{"user_id": "u1", "candidates": ["t"], "colour": 1}]})) == {
        "instances.0.colour"}
    newer = {"instances": [{"user_id": "u1", "candidates": ["t"], "profile_features": {"nope": 1}}]}
    profile = ScorerRequest.model_validate(newer).instances[0].profile_features
    assert profile is not None and profile.unknown_names == ("nope",)
    bad_profile = {"instances": [{"user_id": "u1", "candidates": ["t"], "profile_features": {"tenure_days": "3"}}]}
    assert set(errors(ScorerRequest, bad_profile)) == {"instances.0.profile_features.tenure_days"}
    assert set(errors(ScorerRequest, {"instances": []})) == {"instances"}


def test_generator_request_validates_prompt_version_names() -> None:
    req = GeneratorRequest.model_validate({"instances": [{"user_id": "u1", "prompt_version": "v2"}]})
    assert req.instances[0].prompt_version == "v2"
    bad = {"instances": [{"user_id": "u1", "prompt_version": "V 2!"}]}
    assert set(errors(GeneratorRequest, bad)) == {"instances.0.prompt_version"}
    assert [s.value for s in SelectionSource] == ["request", "experiment", "env", "default"]


def test_prompt_context_is_bounded() -> None:
    task = TaskView(task_id="t", title="x", category="work")  # type: ignore[arg-type]
    ctx = sample_prompt_context()
    with pytest.raises(ValidationError) as exc:
        PromptContext.model_validate({**ctx.model_dump(), "open_tasks": [task.model_dump()] * (MAX_OPEN_TASKS + 1)})
    assert {e.field for e in field_errors(exc.value)} == {"open_tasks"}
    assert set(errors(TaskView, {"task_id": "t", "category": "work", "title": "x" * 500})) == {"title"}


def test_crd_models_speak_camel_case() -> None:
    spec = ModelRolloutSpec.model_validate({"candidate": {"version": "4", "storageUri": "s3://m/4"}})
    wire = spec.model_dump(by_alias=True, mode="json")
    assert wire["candidate"]["storageUri"] == "s3://m/4"
    assert wire["gates"]["maxP99LatencyMs"] == 50.0
    assert ModelRolloutStatus().phase is RolloutPhase.PENDING
    assert RolloutPhase.PROMOTED.is_terminal and not RolloutPhase.CANARY.is_terminal
    pv = PromptVersionSpec.model_validate({"version": "v3", "template": "Hi {{ user_id }}"})
    assert pv.model.model == "tipsml/offline"
    assert "version" in describe(field_errors(_invalid(PromptVersionSpec, {"version": "", "template": "x"})))


def _invalid(model: Any, data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return exc.value
