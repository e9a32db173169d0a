"""Operator sub-commands: partners and keys, consumers and consent, the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from credo.cli.progress import console
from credo.cli.store import store_engine

partner_app = typer.Typer(help="Register partners and manage their API keys.", no_args_is_help=True)
consumer_app = typer.Typer(help="Enrol consumers and record their consent to report.", no_args_is_help=True)
db_app = typer.Typer(help="The operational store.", no_args_is_help=True)
operator_app = typer.Typer(help="Platform operators, who sign in to the read-only operator pages.",
                           no_args_is_help=True)

Db = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store.")]




@partner_app.command("add")
def partner_add(
    partner_id: str,
    name: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="What the partner is (credit, rental, hotel, visa_office, …); only credit "
                                           "and deposit kinds may query consumers, the others verify credentials.")],
    event_type: Annotated[list[str], typer.Option("--type", help="An event type it may report (repeat).")],
    db: Db = None,
) -> None:
    """Register a partner and print its first API key (shown once, stored hashed)."""
    from credo.registry import issue_api_key, register_partner

    with store_engine(db).begin() as conn:
        register_partner(conn, partner_id, name, kind, event_type)
        key = issue_api_key(conn, partner_id)
    console.print(f"partner {partner_id} registered; API key (shown once): [bold]{key}[/]")


@partner_app.command("new-key")
def partner_new_key(partner_id: str, db: Db = None) -> None:
    """Issue another API key (for rotation)."""
    from credo.registry import issue_api_key

    with store_engine(db).begin() as conn:
        key = issue_api_key(conn, partner_id)
    console.print(f"API key (shown once): [bold]{key}[/]")


@partner_app.command("revoke-key")
def partner_revoke_key(key_id: str, db: Db = None) -> None:
    """Revoke an API key by its id (the part after ``credo_``)."""
    from credo.registry import revoke_api_key

    with store_engine(db).begin() as conn:
        revoked = revoke_api_key(conn, key_id)
    console.print(f"key {key_id} revoked" if revoked else f"key {key_id} was already revoked")


@consumer_app.command("enrol")
def consumer_enrol(consumer_id: str, db: Db = None) -> None:
    """Enrol a consumer; no consent is given by enrolling."""
    from credo.registry import enrol_consumer

    with store_engine(db).begin() as conn:
        enrol_consumer(conn, consumer_id)
    console.print(f"consumer {consumer_id} enrolled with no consents")


@consumer_app.command("grant")
def consumer_grant(
    consumer_id: str,
    partner_id: str,
    event_type: Annotated[list[str], typer.Option("--type", help="Event type the partner may report (repeat).")],
    db: Db = None,
) -> None:
    """Record the consumer's explicit consent for a partner to report the given types."""
    from credo.registry import grant_report_consent

    with store_engine(db).begin() as conn:
        grant_report_consent(conn, consumer_id, partner_id, event_type)
    console.print(f"{consumer_id} consents to {partner_id} reporting {', '.join(event_type)}")


@consumer_app.command("withdraw")
def consumer_withdraw(
    consumer_id: str,
    partner_id: str,
    event_type: Annotated[list[str] | None, typer.Option("--type", help="Only these types (default: all).")] = None,
    db: Db = None,
) -> None:
    """Withdraw consent to report; further events from that partner are rejected."""
    from credo.registry import withdraw_report_consent

    with store_engine(db).begin() as conn:
        count = withdraw_report_consent(conn, consumer_id, partner_id, event_type)
    console.print(f"withdrew {count} consent(s)")


@operator_app.command("add")
def operator_add(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line "
                                                "of standard input instead of prompting for it.")] = False,
    db: Db = None,
) -> None:
    """Create an operator who signs in at /operator; the password is prompted twice, hidden."""
    from credo.registry.clock import utcnow
    from credo.service.console import add_operator

    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with store_engine(db).begin() as conn:
        add_operator(conn, username, password, utcnow())
    console.print(f"operator {username} added; sign in at /operator/login")


@db_app.command("upgrade")
def db_upgrade(db: Db = None) -> None:
    """Apply all migrations to the store."""
    store_engine(db)
    console.print("store schema is up to date")
