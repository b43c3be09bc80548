"""The ground truth is the model that produced the reactions, and it is reachable from Python."""

from __future__ import annotations

import numpy as np
import pytest

from tipsml.simulate import PROMPT_VERSIONS, ModelParams, Simulation, simulate


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(users=800, days=6, seed=21)


def test_empirical_positive_rate_matches_mean_oracle_probability(sim: Simulation) -> None:
    truth = sim.truth()
    assert len(truth) > 3000
    rate, expected = truth["positive"].mean(), truth["p_positive"].mean()
    assert abs(rate - expected) < 0.03, (rate, expected)
    # calibration per quartile of the oracle: the draw really follows p, not just on average
    quartile = np.digitize(truth["p_positive"], np.quantile(truth["p_positive"], [0.25, 0.5, 0.75]))
    for q in range(4):
        part = truth[quartile == q]
        assert abs(part["positive"].mean() - part["p_positive"].mean()) < 0.05, q
    assert truth.groupby(quartile)["positive"].mean().is_monotonic_increasing


def test_oracle_recomputed_from_truth_columns_equals_drawn_probability(sim: Simulation) -> None:
    truth = sim.truth()
    again = sim.oracle_probability(
        truth["user_id"], truth["tip_id"], truth["local_hour"], truth["prompt_version"], truth
    )
    np.testing.assert_allclose(again, truth["p_positive"], rtol=1e-12)
    fresh = sim.oracle_probability(truth["user_id"], truth["tip_id"], truth["local_hour"], truth["prompt_version"])
    history = (truth["recent_tips_24h"] > 0) | (truth["times_seen_30d"] > 0) | (truth["due_tasks_in_category"] > 0)
    assert history.mean() > 0.3  # the effects are on by default, and most impressions have some history
    assert not np.allclose(fresh[history], truth["p_positive"][history])


def test_every_new_effect_moves_the_oracle_the_documented_way(sim: Simulation) -> None:
    from tipsml.simulate.model import ImpressionState

    users, tips, hours = ["u000001"] * 4, ["tip-0001"] * 4, [9.0] * 4
    z = np.zeros(4, np.int64)
    base = sim.oracle_probability(users, tips, hours)
    tired = sim.oracle_probability(users, tips, hours, state=ImpressionState(np.arange(4), z, np.full(4, 720.0), z))
    assert tired[0] == base[0] and np.all(np.diff(tired) < 0) and tired[3] - tired[2] > tired[2] - tired[1] - 1e-3
    repeat = ImpressionState(z, np.ones(4, np.int64), np.array([1.0, 24.0, 96.0, 400.0]), z)
    assert np.all(np.diff(sim.oracle_probability(users, tips, hours, state=repeat)) > 0)  # recovers with time
    assert sim.oracle_probability(users, tips, hours, state=repeat)[0] < base[0]
    pressing = ImpressionState(z, z, np.full(4, 720.0), np.arange(4))
    assert np.all(np.diff(sim.oracle_probability(users, tips, hours, state=pressing)) > 0)
    off = simulate(users=800, days=6, seed=21, params=sim.params.without_new_effects())
    np.testing.assert_allclose(off.oracle_probability(users, tips, hours, state=pressing), base, rtol=1e-12)


def test_prompt_lift_depends_on_the_platform(sim: Simulation) -> None:
    by_platform = sim.users.groupby("platform")["user_id"].first()
    lifts = {}
    for platform, user in by_platform.items():
        p = sim.prompt_version_probabilities([user], ["tip-0001"], [9.0]).iloc[0]
        lifts[platform] = p["v2"] - p["v1"]
    assert lifts["ios"] > 0 and lifts["android"] > 0 and lifts["web"] < 0 and lifts["desktop"] < 0


def test_local_hour_is_derived_from_time_and_user_offset(sim: Simulation) -> None:
    truth = sim.truth().merge(sim.users[["user_id", "tz_offset_minutes"]], on="user_id")
    utc = truth["shown_at"].str.slice(11, 19).str.split(":", expand=True).astype(int)
    hours = (utc[0] + utc[1] / 60 + utc[2] / 3600 + truth["tz_offset_minutes"] / 60) % 24
    np.testing.assert_allclose(hours, truth["local_hour"], atol=1e-9)


def test_prompt_version_probabilities_give_one_column_per_version(sim: Simulation) -> None:
    users = sim.users["user_id"].iloc[:50].to_numpy()
    tips = sim.tips["tip_id"].iloc[:50].to_numpy()
    hours = np.linspace(0, 23.5, 50)
    table = sim.prompt_version_probabilities(users, tips, hours)
    assert list(table.columns) == list(PROMPT_VERSIONS)
    assert ((table > 0) & (table < 1)).all().all()
    # v2 helps on phones and hurts on the web and desktop apps (the heterogeneous prompt effect)
    phone = sim.users.set_index("user_id").loc[users, "platform"].isin(["ios", "android"]).to_numpy()
    assert (table["v2"] > table["v1"])[phone].all() and (table["v2"] < table["v1"])[~phone].all()
    assert 0 < phone.sum() < len(phone)
    np.testing.assert_allclose(table["v1"], sim.oracle_probability(users, tips, hours, ["v1"] * 50))


def test_oracle_prefers_the_users_preferred_hour(sim: Simulation) -> None:
    user = sim.users.iloc[0]
    tip = sim.tips["tip_id"].iloc[0]
    at_pref = sim.oracle_probability([user["user_id"]], [tip], [user["preferred_hour"]])
    off = sim.oracle_probability([user["user_id"]], [tip], [(user["preferred_hour"] + 12) % 24])
    assert at_pref[0] > off[0]


def test_unknown_ids_are_refused(sim: Simulation) -> None:
    with pytest.raises(KeyError, match="nobody"):
        sim.oracle_probability(["nobody"], ["tip-0001"], [9.0])


def test_propensities_are_probabilities_of_the_logged_action(sim: Simulation) -> None:
    truth = sim.truth()
    np.testing.assert_allclose(truth["propensity"], truth["tip_propensity"] * truth["prompt_propensity"])
    generated = truth["prompt_version"].notna()
    assert generated.mean() == pytest.approx(sim.params.generated_share, abs=0.03)
    np.testing.assert_allclose(truth.loc[~generated, "prompt_propensity"], 1 - sim.params.generated_share)
    assert (truth["tip_propensity"] > 0).all() and (truth["tip_propensity"] <= 1).all()


def test_with_the_new_effects_off_the_oracle_has_only_the_earlier_terms() -> None:
    """Effects off, each impression's probability is the earlier formula's, whatever its history."""
    from tipsml.simulate.model import ImpressionState

    off = simulate(users=300, days=5, seed=4, params=ModelParams().without_new_effects())
    truth = off.truth()
    fresh = off.oracle_probability(truth["user_id"], truth["tip_id"], truth["local_hour"], truth["prompt_version"])
    np.testing.assert_array_equal(fresh, truth["p_positive"].to_numpy())
    assert (truth["recent_tips_24h"] > 0).any()  # history exists, it just does not count
    empty = ImpressionState.empty(len(truth))
    again = off.oracle_probability(
        truth["user_id"], truth["tip_id"], truth["local_hour"], truth["prompt_version"], empty
    )
    np.testing.assert_array_equal(again, fresh)
