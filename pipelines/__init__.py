"""The ``train-tip-scorer`` Kubeflow pipeline and the plain functions behind its components.

* :mod:`pipelines.pipeline` / :mod:`pipelines.components`: the KFP v2 definition (compiled for a cluster,
  run locally with ``kfp.local``: :mod:`pipelines.local`, ``tipsml train``).
* :mod:`pipelines.steps`: batch features (event log → point-in-time feature tables → Feast), the training
  set, LightGBM training, evaluation (baselines, champion, oracle, fairness), MLflow registration with a
  model card and the champion gate, and the ModelRollout manifest.

Imports point one way: this package reads ``contracts`` and ``feature_repo`` and nothing of ``tipsml``.
"""
