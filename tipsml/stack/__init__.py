"""The local embedded stack (``tipsml up``/``down``/``status``): its settings, processes and nats-server."""
