from collections import Counter

import pytest
from pydantic import ValidationError

from experiments.assignment import assign, hash_unit
from experiments.config import ABArm, ABExperiment, ExperimentFile


def test_assignment_is_sticky_and_salted() -> None:
    arms = [ABArm(prompt_version="v1", weight=1), ABArm(prompt_version="v2", weight=1)]
    first = [assign("salt-a", f"u-{i}", arms).arm for i in range(200)]
    again = [assign("salt-a", f"u-{i}", arms).arm for i in range(200)]
    other = [assign("salt-b", f"u-{i}", arms).arm for i in range(200)]
    assert first == again
    assert first != other


def test_assignment_follows_weights_and_reports_share_as_propensity() -> None:
    arms = [ABArm(prompt_version="v1", weight=3), ABArm(prompt_version="v2", weight=1)]
    got = [assign("s", f"user-{i}", arms) for i in range(20_000)]
    counts = Counter(a.arm for a in got)
    assert abs(counts["v1"] / len(got) - 0.75) < 0.015
    assert {a.propensity for a in got if a.arm == "v1"} == {0.75}
    assert {a.propensity for a in got if a.arm == "v2"} == {0.25}


def test_hash_unit_in_range() -> None:
    values = [hash_unit("x", str(i)) for i in range(1000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.45 < sum(values) / len(values) < 0.55


def test_experiment_file_parses_both_kinds_and_rejects_duplicates() -> None:
    ab = ExperimentFile.model_validate(
        {"active": {"kind": "ab", "name": "e1", "salt": "s", "arms": [{"prompt_version": "v1", "weight": 1}]}}
    )
    assert isinstance(ab.active, ABExperiment)
    bandit = ExperimentFile.model_validate({"active": {"kind": "bandit", "name": "b", "arms": ["v1", "v2"]}})
    assert bandit.active is not None and bandit.active.kind == "bandit"
    assert ExperimentFile.model_validate({}).active is None
    with pytest.raises(ValidationError):
        ExperimentFile.model_validate({"active": {"kind": "bandit", "name": "b", "arms": ["v1", "v1"]}})
