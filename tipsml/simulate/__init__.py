"""Simulated users, tasks, tips and reactions with a known ground truth.

The generative model (parameters in :class:`~tipsml.simulate.model.ModelParams`):

* **Users** have a latent preferred local hour (a mixture around 8:00, 12:30 and 20:00), a UTC offset,
  a platform, a tenure (``signup_day`` < 0: signed up before the window; about 15 % sign up during it,
  the "new" users), an activity rate (app opens per day, gamma), a completion propensity (beta) and one
  affinity per ``TaskCategory`` (normal).
* **Tips**: a catalogue ``tip-0001`` ... ``tip-0300``, each with a category, a latent quality and a
  popularity correlated with quality (what the logging policy ranks by).
* **Each day** every signed-up user opens the app Poisson(activity rate) times near the preferred hour
  (``app_opened``). Each open creates Poisson(0.6) tasks (``task_synced``: category from softmax(affinity),
  title from a small vocabulary per category, priority, ``due_at`` for 70 %); some move to ``in_progress``;
  a task is completed with the user's completion propensity after an exponential delay
  (``task_completed`` plus ``task_synced`` with status ``done``).
* **Logging policy**: on 60 % of opens one tip is shown (``tip_shown``): K=5 candidates drawn uniformly
  (with replacement), one chosen with softmax(popularity / 0.7). 35 % of impressions are generated tips
  whose ``prompt_version`` is ``v1`` or ``v2`` with probability 1/2 each; the rest are catalogue tips
  (``prompt_version`` null). ``propensity`` = P(tip | candidates) x P(source, prompt version) is the exact
  probability the logging policy had of this action; ``model_version`` is ``sim-logging-v0``.
* **Reactions**: positive (``liked`` 60 % / ``acted`` 40 %) with the oracle probability::

      p = sigmoid(bias + quality[tip] + affinity[user, category(tip)] * (1 + state_gain * pressing)
                  + state_weight * pressing                         (open work in the tip's category due soon)
                  + hour_weight * (hour_match(local hour, preferred hour) - 0.5)
                  + prompt_effect[prompt_version]   (v1: 0, v2: +0.3, catalogue: 0)
                  + prompt_segment_effect[prompt_version][platform]  (v2 on web -0.8, desktop -0.9)
                  + completion_weight * (completion_propensity - 0.5)
                  - fatigue_weight * (1 - exp(-tips in the last 24 h / fatigue_scale))
                  - repeat_weight * [tip seen before] * exp(-hours since / repeat_tau_hours))

  otherwise ``dismissed`` (45 %), ``snoozed`` (15 %) or no reaction, a few minutes after the impression.
  The four effects (fatigue, repeat decay, state interaction, heterogeneous prompt effect) are documented
  and sourced in :mod:`tipsml.simulate.model`; ``ModelParams().without_new_effects()`` switches them off.
* **Profile features**: every ``tip_shown`` carries the ``profile_features`` the simulated recommender sent
  with the scoring call (``tenure_days``, ``notifications_enabled``, ``tip_volume_7d``).

Ground truth from Python::

    from tipsml.simulate import simulate
    sim = simulate(users=200, days=3, seed=7)
    sim.users, sim.tips                    # DataFrames with every latent trait
    sim.truth()                            # per impression: request_id, tip_id, propensities, p_positive, ...
    sim.oracle_probability(user_ids, tip_ids, local_hours, prompt_versions)   # vectorised oracle
    sim.prompt_version_probabilities(user_ids, tip_ids, local_hours)          # a column per prompt version,
                                                                               # for bandit regret
    sim.events.lines                       # wire JSON, time-ordered; sim.events.event_ids, .counts()

Deterministic: one ``numpy.random.Generator`` per seed and a fixed default window (the ``days`` days
before 2026-11-01 UTC), so the same arguments give byte-identical output.
"""

from tipsml.simulate.model import PROMPT_VERSIONS, ModelParams
from tipsml.simulate.truth import Simulation, simulate

__all__ = ["PROMPT_VERSIONS", "ModelParams", "Simulation", "simulate"]
