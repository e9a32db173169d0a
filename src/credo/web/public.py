"""The public pages: the start page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from credo.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    return page(request, "home.html")
