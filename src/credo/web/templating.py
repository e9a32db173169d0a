"""The Jinja2 environment of the pages: templates, and filters that format for people."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def when(value: datetime | date | str | None) -> str:
    """'30 Nov 2026, 09:58 UTC' (a date alone: '30 Nov 2026'); empty for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y, %H:%M UTC")
    return value.strftime("%d %b %Y")


def day(value: datetime | date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d %b %Y")


templates.env.filters["when"] = when
templates.env.filters["day"] = day
templates.env.globals.update(BANDS=BANDS, SCORE_MIN=SCORE_MIN, SCORE_MAX=SCORE_MAX)


def page(request: Request, name: str, status_code: int = 200, headers: Mapping[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    """Render a page; ``context`` is what the template shows."""
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)
