"""envdsl: typed, verified, executable tool environments for training tool-using agents."""

__version__ = "0.1.0"
