"""``python -m streams``: the ingest consumers, configured by ``TIPSML_*`` environment variables."""

from streams.app import main

main()
