"""tipsml: the CLI and the local embedded stack; sits on top and may import every other package."""

__version__ = "0.1.0"
