"""The ground truth is the model that produced the reactions, and it is reachable from Python."""

from __future__ import annotations

import numpy as np
import pytest

from tipsml.simulate import PROMPT_VERSIONS, Simulation, simulate


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
        truth["user_id"], truth["tip_id"], truth["local_hour"], truth["prompt_version"]
    )
    np.testing.assert_allclose(again, truth["p_positive"], rtol=1e-12)


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
    # v2 carries a positive effect in the default model: the oracle prefers it everywhere
    assert (table["v2"] > table["v1"]).all()
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
