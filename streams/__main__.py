"""``python -m streams``: the ingest consumers, configured by ``TIPSML_*`` environment variables.

The offline switches come first, before :mod:`streams.app` imports prometheus_client: a parent that imported
Feast passes down a multi-process metrics directory, which would otherwise switch our metrics into it.
"""

from contracts.runtime import apply_offline_switches

apply_offline_switches()

from streams.app import main  # noqa: E402

main()
