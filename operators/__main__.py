"""``python -m operators``: run the operator with settings from the environment (``TIPSML_*``)."""

from __future__ import annotations

from contracts.runtime import apply_offline_switches


def main() -> None:
    """Read settings once, then hand them to kopf through the memo."""
    apply_offline_switches()
    import kopf

    import operators.handlers  # noqa: F401  (registers the handlers)
    from operators.settings import OperatorSettings

    settings = OperatorSettings()
    kopf.run(
        standalone=settings.standalone,
        priority=settings.priority,
        peering_name=settings.peering_name,
        namespaces=[settings.namespace] if settings.namespace else (),
        clusterwide=not settings.namespace,
        memo=kopf.Memo(settings=settings),
    )


if __name__ == "__main__":
    main()
