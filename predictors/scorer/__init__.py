"""tip-scorer: ranks candidate tips for a user with Feast online features and an MLflow model (KServe)."""
