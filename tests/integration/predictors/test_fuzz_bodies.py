"""Property-based fuzz of both predictors' V1 and V2 bodies against the real KServe servers.

Bodies are drawn near the contract (known field names with hostile values: NaN, infinities, 1e308, wrong
types, oversized lists) and far from it (arbitrary JSON). Properties: never a 5xx; a 400 names the field it
rejects. Seeded and bounded (examples, per-request timeout), so it runs the same in CI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from bench.scorer_world import ScorerProcess, build_world, spawn_scorer
from contracts.profile import ProfileFeatures
from feature_repo.features import MODEL_FEATURES
from tests.integration.predictors.generator_process import GeneratorProcess, running_generator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

NAMES_A_FIELD = re.compile(r"^(invalid request: )?(\(root\)|instances|inputs|parameters)(\.[\w-]+)*: ")
"""``instances.0.candidates: ...``, ``inputs.features: ...``: how every rejection starts its reason."""
FUZZ = settings(
    max_examples=40,
    deadline=None,  # real HTTP servers; httpx's timeout bounds each request
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

hostile_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, float("nan"), float("inf"), 2**63, -(2**63) - 1, 10**30]),
    st.integers(-(2**40), 2**40),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_numbers, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
ids = st.one_of(st.text("abcdefghij0123456789-._:@", min_size=1, max_size=20), json_values)
profile = st.one_of(
    st.dictionaries(st.sampled_from([*ProfileFeatures.model_fields, "colour"]), json_values, max_size=5),
    json_values,
)


def _instance(extra: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"user_id": ids},
        optional={
            "candidates": st.one_of(st.lists(ids, max_size=120), json_values),
            "profile_features": profile,
            "request_id": ids,
            **extra,
        },
    )


def v1_bodies(extra: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    instances = st.lists(_instance(extra), max_size=40)
    return st.one_of(st.fixed_dictionaries({"instances": instances}), json_values)


tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from([*MODEL_FEATURES, "features", "colour"]),
        "datatype": st.sampled_from(["FP64", "FP32", "INT64", "BOOL", "BYTES", "FP99", ""]),
        "shape": st.lists(st.integers(-2, 6), max_size=3),
        "data": st.lists(st.one_of(hostile_numbers, st.text(max_size=4), st.booleans()), max_size=24),
    }
)
v2_bodies = st.one_of(
    st.fixed_dictionaries({"inputs": st.lists(tensor, max_size=len(MODEL_FEATURES) + 2)}),
    st.fixed_dictionaries({"inputs": st.lists(tensor, min_size=1, max_size=1)}),
    json_values,
)


NOT_JSON = "Unrecognized request format"
"""KServe's 400 for a V1 body that is not JSON at all (NaN and Infinity are not JSON): the body is the field."""


def _is_json(body: Any) -> bool:
    try:
        json.dumps(body, allow_nan=False)
    except ValueError:
        return False
    return True


def _check(r: httpx.Response, body: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code == 400:
        error = r.json()["error"]
        assert NAMES_A_FIELD.match(error) or (not _is_json(body) and error.startswith(NOT_JSON)), error


def _post(url: str, body: Any) -> httpx.Response:
    content = json.dumps(body).encode()  # NaN and Infinity as a JavaScript client would write them
    return httpx.post(url, content=content, headers={"content-type": "application/json"}, timeout=30)


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScorerProcess]:
    world = build_world(tmp_path_factory.mktemp("fuzz-world"), n_users=5, n_tips=20)
    server = spawn_scorer(world, tmp_path_factory.mktemp("fuzz-scorer"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def generator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratorProcess]:
    with running_generator(tmp_path_factory.mktemp("fuzz-generator")) as process:
        yield process


@seed(19)
@FUZZ
@given(body=v1_bodies({}))
def test_scorer_v1_bodies(scorer: ScorerProcess, body: Any) -> None:
    _check(_post(scorer.url + "/v1/models/tip-scorer:predict", body), body)


@seed(19)
@FUZZ
@given(body=v2_bodies)
def test_scorer_v2_bodies(scorer: ScorerProcess, body: Any) -> None:
    _check(_post(scorer.url + "/v2/models/tip-scorer/infer", body), body)


GENERATOR_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "task_id": ids,
    "prompt_version": st.one_of(st.sampled_from(["v1", "v2", "../../etc", "{{ 7*7 }}"]), json_values),
}


@seed(19)
@FUZZ
@given(body=v1_bodies(GENERATOR_FIELDS))
def test_generator_v1_bodies(generator: GeneratorProcess, body: Any) -> None:
    _check(_post(generator.url + "/v1/models/tip-generator:predict", body), body)


@seed(19)
@FUZZ
@given(body=v2_bodies)
def test_generator_v2_bodies(generator: GeneratorProcess, body: Any) -> None:
    _check(_post(generator.url + "/v2/models/tip-generator/infer", body), body)


