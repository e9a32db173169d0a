"""Model reports: metrics of what ships, calibration, points and the generated model card, as one
self-contained HTML page."""

from credo.reporting.card import ModelCard, build_card
from credo.reporting.html import ModelScores, render_report
from credo.reporting.points import points_with_reasons

__all__ = ["ModelCard", "ModelScores", "build_card", "points_with_reasons", "render_report"]
