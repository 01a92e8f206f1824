"""Campus security gateway (护校安园)."""

__version__ = "0.1.0"
