from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.enums import Reaction, TaskCategory
from contracts.events import TipReaction, TipShown
from contracts.rewards import RewardAggregate, RewardRecord
from experiments.reward_log import RewardLog

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def shown(
    n: int,
    *,
    model: str = "m1",
    prompt: str | None = "v1",
    at: datetime = T0,
    eid: str | None = None,
    propensity: float = 0.5,
) -> TipShown:
    return TipShown(
        event_id=eid or f"s-{n}",
        occurred_at=at,
        user_id=f"u-{n % 3}",
        request_id=f"r-{n}",
        tip_id=f"t-{n}",
        category=TaskCategory.WORK,
        model_version=model,
        prompt_version=prompt,
        propensity=propensity,
    )


def reaction(n: int, r: Reaction, *, at: datetime, eid: str | None = None) -> TipReaction:
    return TipReaction(
        event_id=eid or f"x-{n}-{r.value}",
        occurred_at=at,
        user_id=f"u-{n % 3}",
        request_id=f"r-{n}",
        tip_id=f"t-{n}",
        reaction=r,
    )


@pytest.fixture
def log(tmp_path: Path) -> RewardLog:
    return RewardLog(tmp_path / "state.db")


def test_reward_record_derives_reward_from_reaction() -> None:
    base = {
        "request_id": "r",
        "user_id": "u",
        "tip_id": "t",
        "category": "work",
        "model_version": "m",
        "shown_at": T0,
    }
    assert RewardRecord.model_validate(base).reward == 0
    assert RewardRecord.model_validate({**base, "reaction": "liked"}).reward == 1
    assert RewardRecord.model_validate({**base, "reaction": "acted"}).reward == 1
    assert RewardRecord.model_validate({**base, "reaction": "dismissed"}).reward == 0
    assert RewardRecord.model_validate({**base, "reaction": "snoozed"}).model_dump()["reward"] == 0


def test_aggregate_rate_of_empty_bucket_is_zero() -> None:
    assert RewardAggregate(key="v1", shown=0, positive=0).rate == 0.0
    assert RewardAggregate(key="v1", shown=4, positive=1).rate == 0.25


def test_shown_then_reaction_is_attributed(log: RewardLog) -> None:
    assert log.record([shown(1, propensity=0.25)]) == 1
    assert log.record([reaction(1, Reaction.LIKED, at=T0 + timedelta(minutes=1))]) == 1
    [rec] = log.rewards_since(T0 - timedelta(hours=1))
    assert (rec.request_id, rec.model_version, rec.prompt_version) == ("r-1", "m1", "v1")
    assert rec.propensity == 0.25
    assert rec.reaction is Reaction.LIKED
    assert rec.reacted_at == T0 + timedelta(minutes=1)
    assert rec.reward == 1


def test_reaction_before_shown_is_hidden_until_the_impression_arrives(log: RewardLog) -> None:
    log.record([reaction(1, Reaction.ACTED, at=T0 + timedelta(minutes=1))])
    assert log.rewards_since(T0 - timedelta(days=1)) == []
    log.record([shown(1)])
    [rec] = log.rewards_since(T0 - timedelta(days=1))
    assert rec.reward == 1 and rec.model_version == "m1"


def test_same_event_id_is_applied_once(log: RewardLog) -> None:
    ev = shown(1)
    assert log.record([ev, ev]) == 1
    assert log.record([ev]) == 0
    # A different event re-using an applied id is ignored too: the id, not the content, is the key.
    assert log.record([reaction(1, Reaction.LIKED, at=T0, eid="s-1")]) == 0
    [rec] = log.rewards_since(T0)
    assert rec.reaction is None


def test_latest_reaction_wins_whatever_the_arrival_order(log: RewardLog) -> None:
    log.record([shown(1)])
    log.record([reaction(1, Reaction.LIKED, at=T0 + timedelta(minutes=5))])
    log.record([reaction(1, Reaction.DISMISSED, at=T0 + timedelta(minutes=2))])
    [rec] = log.rewards_since(T0)
    assert rec.reaction is Reaction.LIKED


def test_aggregates_per_prompt_and_model_version(log: RewardLog) -> None:
    events: list[TipShown | TipReaction] = [
        shown(1, prompt="v1"),
        shown(2, prompt="v1"),
        shown(3, prompt="v2", model="m2"),
        shown(4, prompt=None, model="m2"),
        reaction(1, Reaction.LIKED, at=T0),
        reaction(2, Reaction.DISMISSED, at=T0),
        reaction(3, Reaction.ACTED, at=T0),
    ]
    log.record(events)
    by_prompt = {a.key: a for a in log.by_prompt_version()}
    assert set(by_prompt) == {None, "v1", "v2"}
    assert (by_prompt["v1"].shown, by_prompt["v1"].positive, by_prompt["v1"].reacted) == (2, 1, 2)
    assert by_prompt["v1"].rate == 0.5
    assert (by_prompt["v2"].shown, by_prompt["v2"].positive) == (1, 1)
    assert (by_prompt[None].shown, by_prompt[None].positive) == (1, 0)
    by_model = {a.key: (a.shown, a.positive) for a in log.by_model_version()}
    assert by_model == {"m1": (2, 1), "m2": (2, 1)}
    assert [(a.key, a.shown) for a in log.by_prompt_version(model_version="m2")] == [(None, 1), ("v2", 1)]
    assert [(a.key, a.shown) for a in log.by_model_version(prompt_version="v1")] == [("m1", 2)]


def test_time_window_and_filters(log: RewardLog) -> None:
    log.record(
        [
            shown(1, at=T0),
            shown(2, at=T0 + timedelta(days=1)),
            shown(3, at=T0 + timedelta(days=2), model="m2"),
        ]
    )
    assert [r.request_id for r in log.rewards_since(T0 + timedelta(hours=1))] == ["r-2", "r-3"]
    assert [r.request_id for r in log.rewards_since(T0, until=T0 + timedelta(days=1))] == ["r-1"]
    assert [r.request_id for r in log.rewards_since(T0, model_version="m2")] == ["r-3"]
    assert [r.request_id for r in log.rewards_since(T0, limit=1)] == ["r-1"]
    [agg] = log.by_model_version(since=T0 + timedelta(days=2))
    assert agg.key == "m2" and agg.first_shown_at == T0 + timedelta(days=2)


def test_aggregate_rejects_unknown_bucket(log: RewardLog) -> None:
    with pytest.raises(ValueError, match="bucket"):
        log.aggregate("user_id")  # type: ignore[arg-type]


def test_survives_reopen_and_concurrent_threads(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with RewardLog(path) as log:
        threads = [
            threading.Thread(target=log.record, args=([shown(i) for i in range(k, 200, 4)],))
            for k in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with RewardLog(path) as again:
        assert len(again.rewards_since(T0)) == 200
        assert again.record([shown(0)]) == 0


def test_aggregates_per_segment_follow_the_segment_rule(log: RewardLog) -> None:
    """Platform and tenure segments, bucketed in SQL exactly as ``segment_of`` places a request."""
    from contracts.enums import Platform
    from contracts.profile import ProfileFeatures
    from experiments.config import SegmentBy, segment_of

    rows = [
        (1, Platform.IOS, 3, "v1", True),
        (2, Platform.IOS, 400, "v2", False),
        (3, Platform.WEB, None, "v2", True),
        (4, None, 29, "v1", False),
        (5, Platform.WEB, 30, "v1", True),
    ]
    events: list[TipShown | TipReaction] = []
    for n, platform, tenure, prompt, liked in rows:
        profile = ProfileFeatures(tenure_days=tenure) if tenure is not None else None
        events.append(shown(n, prompt=prompt).model_copy(update={"platform": platform, "profile_features": profile}))
        if liked:
            events.append(reaction(n, Reaction.LIKED, at=T0))
    log.record(events)
    for segment_by in SegmentBy:
        got = {
            (seg, a.key): (a.shown, a.positive)
            for seg, aggs in log.by_segment_and_prompt_version(segment_by).items()
            for a in aggs
        }
        want: dict[tuple[str, str], tuple[int, int]] = {}
        for _, platform, tenure, prompt, liked in rows:
            key = (segment_of(segment_by, platform.value if platform else None, tenure), prompt)
            s, p = want.get(key, (0, 0))
            want[key] = (s + 1, p + liked)
        assert got == want, segment_by
