"""Load a population directory (``credo simulate``'s layout) into the store: registry, events, audit.

Shared by ``credo simulate --into-store``, ``credo import`` and ``credo demo``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from credo.cli.progress import progress_bar
from credo.cli.reports import print_ingest_report

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from credo.ingest.bulk import IngestReport


def auto_workers(records: int | None) -> int:
    """Worker processes pay off only when start-up (about a second) is small beside the work."""
    return min(os.cpu_count() or 1, 4) if (records or 0) >= 100_000 else 1


def load_world(engine: Engine, directory: Path,
               audit_source: str = "credo simulate") -> tuple[dict[str, str], IngestReport]:
    """Register, ingest, and load the directory's audit-only attributes (``audit.parquet``) into the audit
    store, apart from the events."""
    from credo.cli.governance_cmds import load_audit_file
    from credo.ingest.world import event_files, ingest_directory, load_registry
    from credo.ingest.files import count_records, detect_format

    with progress_bar("register consumers and consents", None) as advance:
        keys = load_registry(engine, directory, advance)
    total = sum(count_records(p, detect_format(p)) or 0 for p in event_files(directory))
    with progress_bar("ingest events", total) as advance:
        report = ingest_directory(engine, directory, workers=auto_workers(total), on_chunk=advance)
    print_ingest_report(report)
    if (directory / "audit.parquet").exists():
        load_audit_file(engine, directory / "audit.parquet", source=audit_source)
    return keys, report
