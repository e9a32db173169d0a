"""Tables the CLI prints after a step: an ingest's counts, a model's validation, a score distribution.

Shared by the commands in :mod:`credo.cli.main` and the walkthrough in :mod:`credo.cli.demo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from credo.cli.progress import console

if TYPE_CHECKING:
    import pandas as pd

    from credo.ingest.bulk import IngestReport


def print_ingest_report(report: IngestReport) -> None:
    console.print(
        f"accepted [green]{report.accepted}[/]  duplicates [yellow]{report.duplicates}[/]  rejected [red]{report.rejected}[/]"
    )
    if report.rejections_by_rule:
        table = Table("rejection (code:rule)", "events", title="Rejections by rule")
        for rule, count in report.rejections_by_rule.most_common():
            table.add_row(rule, str(count))
        console.print(table)


def print_validation(manifest: dict, description: str) -> None:
    """Each model's probability AUC/Gini/KS beside what ships: the 350–950 score's AUC/Gini/KS, the raw
    points total's AUC, the shares clamped at 350 and 950, and the score's PSI (validation vs training).
    One column per model, so the table fits a narrow terminal."""
    validation = manifest.get("validation", {})
    models = [name for name in ("champion", "challenger") if name in validation]
    table = Table("metric", *models, title=f"Validation — {description}")
    rows = [("AUC, probability", lambda m: f"{m['auc']:.4f}"),
            ("AUC, 350–950 score", lambda m: f"[bold]{m['score']['auc']:.4f}[/]"),
            ("AUC, raw points total", lambda m: f"{m['raw_total_auc']:.4f}"),
            ("Gini, probability", lambda m: f"{m['gini']:.4f}"),
            ("Gini, 350–950 score", lambda m: f"[bold]{m['score']['gini']:.4f}[/]"),
            ("KS, probability", lambda m: f"{m['ks']:.4f}"),
            ("KS, 350–950 score", lambda m: f"[bold]{m['score']['ks']:.4f}[/]"),
            ("share at 350", lambda m: f"{m['at_floor']:.1%}"),
            ("share at 950", lambda m: f"{m['at_cap']:.1%}"),
            ("score PSI, validation vs training", lambda m: f"{m['psi_score']:.3f}")]
    for label, cell in rows:
        table.add_row(label, *(cell(validation[name]) for name in models))
    console.print(table)


def print_score_distribution(result: pd.DataFrame) -> None:
    from credo.policy.bands import BANDS

    table = Table("band", "range", "consumers", "share", title="Score distribution")
    total = len(result)
    for band in BANDS:
        n = int((result["band"] == band.name).sum())
        table.add_row(band.name, f"{band.lower}-{band.upper}", f"{n:,}", f"{n / max(total, 1):.1%}")
    n = int((result["status"] == "not_enough_data").sum())
    table.add_row("not enough data", "-", f"{n:,}", f"{n / max(total, 1):.1%}")
    console.print(table)
