"""The Feast feature repo of tipsml: one set of definitions for training (offline) and serving (online).

Open the store (local default: SQLite online store, Parquet offline tables, file registry, all under the
state root, ``.tipsml/`` by default)::

    from contracts.runtime import apply_offline_switches
    apply_offline_switches()                      # before importing feast
    from feature_repo.config import apply_definitions, open_store

    store = open_store(state_root)                # feast.FeatureStore
    apply_definitions(store)                      # idempotent; what `feast apply` does

Names to use (stable):

* Scoring (tip-scorer, training): feature service ``tip_scoring`` with entity rows
  ``{"user_id", "tip_id", "category"}`` plus every ``contracts.profile.PROFILE_FEATURES`` name as request
  data (None when the recommender did not send it). The model's inputs are
  ``feature_repo.names.MODEL_FEATURES``, in that order (outputs of the ``scoring_inputs`` on-demand view).
  Training: ``store.get_historical_features(entity_df, features=store.get_feature_service("tip_scoring"))``
  with the same columns plus ``event_timestamp`` in ``entity_df``.
* Prompt context (tip-generator): ``user_tasks:open_tasks_json`` and ``user_tasks:recent_completed_json``
  for entity ``{"user_id"}``; decode with ``contracts.task_state.decode_task_views``.
* Feature views: ``user_activity`` (user), ``tip_stats`` (tip), ``user_category_affinity`` (user, category),
  ``user_tasks`` (user); push sources ``<view>_push``; request source ``profile_features``. Import these names
  (and the feature service's) from :mod:`feature_repo.names`, never spell them.
* Offline tables the batch job writes: ``feature_repo.config.feature_table_path(state_root, view)``, with
  the view's features, its join keys and ``event_timestamp``; compute values with :mod:`feature_repo.features`
  (``ActivityReplay`` + ``user_activity`` / ``tip_stats`` / ``category_affinity`` / ``task_views``), the same
  functions the stream consumers use, so there is no train/serve skew.

Production: ``feature_store.production.yaml`` (Redis online store) in this folder.
"""
