"""Mount the pages, their assets and the offline API docs on the API's app."""

from __future__ import annotations

from http import HTTPStatus
from importlib.resources import files
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from credo.api.problems import credo_error_handler, http_error_handler, validation_error_handler
from credo.errors import CredoError
from credo.web import circles, consumer, operator, partner, public
from credo.web.security import CrossSiteRequest, SignInRequired
from credo.web.templating import page

STATIC = Path(__file__).parent / "static"
#: Swagger UI's script and style, from the ``fastapi-offline`` wheel: the docs page loads nothing from a CDN.
DOCS_ASSETS = Path(str(files(fastapi_offline) / "static"))


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/v1", "/.well-known"))


async def _sign_in(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse(exc.location, status_code=303)


async def _cross_site(request: Request, exc: CrossSiteRequest) -> Response:
    return page(request, "error.html", status_code=403, heading="This form came from another site",
                message="For your safety, forms can only be sent from Credo's own pages. Nothing was changed.")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """API paths keep the error envelope; a page that is not there gets a page."""
    if not _is_page(request):
        return await http_error_handler(request, exc)
    heading = "Page not found" if exc.status_code == 404 else HTTPStatus(exc.status_code).phrase
    return page(request, "error.html", status_code=exc.status_code, heading=heading,
                message="There is nothing here. Check the address, or start again from the home page.",
                headers=exc.headers)


async def _invalid_form(request: Request, exc: RequestValidationError) -> Response:
    """A form field outside its rule: on a page, a page naming the field and the rule (API paths: the envelope)."""
    if not _is_page(request):
        return await validation_error_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": "invalid"}
    field = ".".join(str(p) for p in first["loc"][1:]) or "form"
    return page(request, "error.html", status_code=422, heading="Please check what you entered",
                message=f"{field}: {first['msg']} [REQ_MALFORMED]. Nothing was changed.")


async def _credo_error(request: Request, exc: CredoError) -> Response:
    """API paths keep the JSON error envelope; a page that hits an unexpected refusal gets a page."""
    if not _is_page(request):
        return await credo_error_handler(request, exc)
    return page(request, "error.html", status_code=400, heading="That did not work",
                message=f"{exc.message} [{exc.code.value}]")


def _docs(app: FastAPI) -> None:
    async def swagger(request: Request) -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="Credo API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    app.add_api_route("/docs", swagger, include_in_schema=False, methods=["GET"])


def mount_web(app: FastAPI) -> None:
    """Add the pages (consumer, partner console, operator), ``/static``, and ``/docs`` served offline.

    The app must be created with ``docs_url=None, redoc_url=None`` (FastAPI's own pages load from a CDN)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    _docs(app)
    app.add_exception_handler(SignInRequired, _sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(CrossSiteRequest, _cross_site)  # type: ignore[arg-type]
    app.add_exception_handler(CredoError, _credo_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_form)  # type: ignore[arg-type]
    for module in (public, consumer, circles, partner, operator):
        app.include_router(module.router)
