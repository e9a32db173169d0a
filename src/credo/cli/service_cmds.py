"""Score-service commands: offline credential verification, the ledger check, retention, dispute sweep."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from credo.cli.progress import console

ledger_app = typer.Typer(help="The hash-chained access ledger.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of negative records (CREDO_RETENTION_MONTHS, 60 months by default).",
                            no_args_is_help=True)
disputes_app = typer.Typer(help="Consumer disputes.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store.")]
AtOption = Annotated[str | None, typer.Option("--at", help="Instant to act at (ISO 8601, UTC); default now.")]


def _now(at: str | None) -> datetime:
    from datetime import timezone

    from credo.registry.clock import utcnow

    if not at:
        return utcnow()
    value = datetime.fromisoformat(at)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def verify(
    token: Annotated[str, typer.Argument(help="The SD-JWT+KB presentation (or @file).")],
    jwks: Annotated[Path, typer.Option("--jwks", exists=True, dir_okay=False, help="Saved issuer JWKS (JSON).")],
    audience: Annotated[str, typer.Option("--audience", help="Your verifier identifier (the KB-JWT aud).")],
    nonce: Annotated[str, typer.Option("--nonce", help="The nonce you gave the holder.")],
    status_list: Annotated[Path | None, typer.Option("--status-list", exists=True, dir_okay=False,
                                                     help="A saved Status List Token, to check revocation.")] = None,
    issuer: Annotated[str | None, typer.Option("--issuer", help="Required iss.")] = None,
    no_revocation_check: Annotated[bool, typer.Option(
        "--no-revocation-check", help="Accept without a status list: revocation is then not checked.")] = False,
    at: AtOption = None,
) -> None:
    """Verify a presented band credential offline, with a saved key set.

    Exit 0: valid (revocation checked against --status-list, or waived with --no-revocation-check);
    1: refused; 3: signature, binding and dates valid but revocation NOT checked (no --status-list)."""
    from credo.credentials import load_jwks, verify_presentation

    text = Path(token[1:]).read_text().strip() if token.startswith("@") else token.strip()
    status = status_list.read_text().strip() if status_list else None
    result = verify_presentation(text, jwks=load_jwks(jwks), audience=audience, nonce=nonce, now=_now(at),
                                 status_list=status, issuer=issuer)
    if not result.ok:
        console.print(f"refused: {result.reason.value if result.reason else '?'} {result.detail}")
        raise typer.Exit(1)
    if result.status_checked:
        console.print(f"valid (key {result.kid}; not revoked per the status list); disclosed: {result.disclosed}",
                      soft_wrap=True)
    elif no_revocation_check:
        console.print(f"valid (key {result.kid}); revocation NOT checked, as asked; disclosed: {result.disclosed}",
                      soft_wrap=True)
    else:
        console.print(f"NOT fully verified: signature, holder binding and dates are valid (key {result.kid}), but "
                      "revocation was NOT checked: pass --status-list FILE (or --no-revocation-check to accept "
                      f"that); disclosed: {result.disclosed}", soft_wrap=True)
        raise typer.Exit(3)


@ledger_app.command("verify")
def ledger_verify(
    db: DbOption = None,
    anchor: Annotated[list[Path] | None, typer.Option(
        "--anchor", exists=True, dir_okay=False,
        help="A signed checkpoint kept elsewhere (from GET /v1/ledger/checkpoint, or a consumer's export): the "
             "chain must still reach it. Repeatable.")] = None,
) -> None:
    """Walk the whole chain and check every signed checkpoint (and any --anchor); exit 1 at the first
    edited, missing, reordered or unbound entry, or a cut or rewrite a checkpoint shows."""
    import json

    from credo.cli.store import store_engine
    from credo.service import Service
    from credo.service.ledger_check import full_check
    from credo.settings import get_settings

    kept = []
    for path in anchor or []:
        document = json.loads(path.read_text())
        kept.append(document.get("ledger_checkpoint", document))  # an export, or a checkpoint alone
    report = full_check(Service(store_engine(db), get_settings()), kept)
    if report.ok:
        console.print(f"ledger ok: {report.entries_checked} entries, head {report.head_seq} {report.head_hash}")
        return
    console.print(f"ledger TAMPERED at entry {report.first_bad_seq}: {report.problem.value if report.problem else ''} "
                  f"{report.detail}")
    raise typer.Exit(1)


@ledger_app.command("checkpoint")
def ledger_checkpoint(db: DbOption = None, at: AtOption = None) -> None:
    """Sign a checkpoint of the ledger's head now (the server also signs one every
    CREDO_LEDGER_CHECKPOINT_EVERY entries) and print it, to keep elsewhere."""
    import json

    from credo.cli.store import store_engine
    from credo.service import Service
    from credo.service.ledger_check import sign_checkpoint
    from credo.settings import get_settings

    now = _now(at)
    svc = Service(store_engine(db), get_settings(), clock=lambda: now)
    ring = svc.keys()
    with svc.serial(), svc.engine.begin() as conn:
        checkpoint = sign_checkpoint(ring, conn, now)
    if checkpoint is None:
        console.print("the ledger is empty: nothing to sign")
        raise typer.Exit(1)
    console.print_json(json.dumps(checkpoint.public(), default=str))


@retention_app.command("run")
def retention_run(db: DbOption = None, at: AtOption = None) -> None:
    """Exclude, then purge, negative records older than the retention period."""
    from credo.cli.store import store_engine
    from credo.policy.retention import retention_cut, retention_months
    from credo.service import Service
    from credo.service.retention import run
    from credo.settings import get_settings

    now = _now(at)
    try:
        months = retention_months()
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    svc = Service(store_engine(db), get_settings(), clock=lambda: now)
    counts = run(svc, now)
    console.print(f"retention: {counts['excluded']} excluded, {counts['purged']} purged (older than {months} "
                  f"months: before {retention_cut(now, months):%Y-%m-%d %H:%M} UTC)")


@disputes_app.command("sweep")
def disputes_sweep(db: DbOption = None, at: AtOption = None) -> None:
    """Suppress records whose dispute was not verified in time, and rescore those consumers."""
    from credo.cli.store import store_engine
    from credo.service import Service
    from credo.service.disputes import sweep
    from credo.settings import get_settings

    now = _now(at)
    svc = Service(store_engine(db), get_settings(), clock=lambda: now)
    console.print(f"disputes: {sweep(svc, now)} records suppressed")
