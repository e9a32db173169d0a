"""Model reports: metrics, plots and the model card, as one self-contained HTML page."""

from credo.reporting.html import ModelCard, ModelResult, render_report

__all__ = ["ModelCard", "ModelResult", "render_report"]
