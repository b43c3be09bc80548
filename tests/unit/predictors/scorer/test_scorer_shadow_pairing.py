"""Kendall tau-b and the bounded pairing of mirrored requests with the champion's responses."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from contracts import serving_metrics as sm
from predictors.scorer.metrics import ShadowMetrics
from predictors.scorer.shadow import Pairing, kendall_tau

A = {"a": 0.9, "b": 0.5, "c": 0.1}


def test_kendall_tau_same_order_reversed_and_ties() -> None:
    assert kendall_tau(A, {"a": 0.6, "b": 0.4, "c": 0.2}) == 1.0  # calibration differs, order agrees
    assert kendall_tau(A, {"a": 0.1, "b": 0.5, "c": 0.9}) == -1.0
    assert kendall_tau(A, {"a": 0.9, "b": 0.1, "c": 0.5}) == pytest.approx(1 / 3)
    assert kendall_tau(A, {"a": 0.5, "b": 0.5, "c": 0.1}) == pytest.approx(2 / 6**0.5)  # tau-b with a tie
    assert kendall_tau(A, {"a": 0.5, "b": 0.5, "c": 0.5}) is None
    assert kendall_tau(A, {"a": 0.5, "x": 0.1}) is None  # one shared tip: no pair


def value(name: str, version: str, **labels: str) -> float:
    got = REGISTRY.get_sample_value(name, {sm.LABEL_MODEL_VERSION: version, sm.LABEL_ROLE: "shadow", **labels})
    return got or 0.0


def test_pairs_in_either_order_and_evicts_by_cap_and_age() -> None:
    now = [0.0]
    pairing = Pairing(ShadowMetrics.bind("pair-test", "shadow"), max_pending=2, ttl_s=10.0, clock=lambda: now[0])
    assert not pairing.ours("1", [A]) and pairing.theirs("1", [A])
    assert not pairing.theirs("2", [{"a": 0.1, "b": 0.5, "c": 0.9}]) and pairing.ours("2", [A])
    assert value(f"{sm.RANK_AGREEMENT}_count", "pair-test") == 2
    assert value(f"{sm.RANK_AGREEMENT}_sum", "pair-test") == 0.0
    pairing.ours("3", [A])
    pairing.ours("3", [A])  # a retried half replaces the waiting one
    pairing.theirs("4", [A])
    pairing.theirs("5", [A])  # the cap: "3" goes
    now[0] = 11.0
    pairing.ours("6", [A])  # the age: "4" and "5" go
    assert len(pairing) == 1
    assert value(sm.SHADOW_UNPAIRED_TOTAL, "pair-test", reason="expired") == 3
    assert pairing.theirs("6", [A, A]) and value(sm.SHADOW_UNPAIRED_TOTAL, "pair-test", reason="mismatch") == 1
