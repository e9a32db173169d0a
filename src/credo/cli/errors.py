"""How every ``credo`` command ends on a refusal: one line on stderr, never a traceback.

A :class:`~credo.errors.CredoError` (an input the core refused: an unknown partner kind, a key id that
does not exist, …) exits 1 with its stable code, field and message; a
:class:`~credo.settings.SettingsError` (a ``CREDO_*`` variable the process cannot run on) exits 2.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from credo.errors import CredoError
from credo.settings import SettingsError

error_console = Console(stderr=True)


def print_error(message: str) -> None:
    error_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def describe(exc: CredoError) -> str:
    where = f" {exc.field}" if exc.field else ""
    return f"{exc.code.value}{where}: {exc.message}"


class CredoGroup(TyperGroup):
    """The top-level command group: runs a sub-command and turns the core's refusals into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CredoError as exc:
            print_error(describe(exc))
            raise typer.Exit(1) from None
        except SettingsError as exc:
            print_error(str(exc))
            raise typer.Exit(2) from None
