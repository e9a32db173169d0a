"""Credo: an opt-in, explainable credit score platform."""

__version__ = "0.1.0"
