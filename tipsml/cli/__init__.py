"""The ``tipsml`` command line: one module per command group, wired together in :mod:`tipsml.cli.main`."""
