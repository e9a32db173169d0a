"""JSON error bodies with stable codes, and the HTTP status each code maps to."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from credo.api.text import CONTROL_CHARACTER
from credo.errors import CredoError, ErrorCode

STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.AUTH_MISSING: 401,
    ErrorCode.AUTH_INVALID: 401,
    ErrorCode.PARTNER_MISMATCH: 403,
    ErrorCode.EVENT_TYPE_NOT_PERMITTED: 403,
    ErrorCode.CONSUMER_NOT_ENROLLED: 403,
    ErrorCode.CONSENT_NOT_GIVEN: 403,
    ErrorCode.CONSENT_WITHDRAWN: 403,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.BATCH_TOO_LARGE: 413,
    ErrorCode.AUTH_FORBIDDEN: 403,
    ErrorCode.ACCOUNT_EXISTS: 409,
    ErrorCode.ACCESS_CONSENT_MISSING: 403,
    ErrorCode.ACCESS_CONSENT_EXPIRED: 403,
    ErrorCode.ACCESS_CONSENT_REVOKED: 403,
    ErrorCode.ACCESS_CONSENT_WRONG_PURPOSE: 403,
    ErrorCode.ACCESS_CONSENT_WRONG_SCOPE: 403,
    ErrorCode.PARTNER_NON_CREDIT: 403,
    ErrorCode.PROGRAMME_EXISTS: 409,
    ErrorCode.PROBING_DETECTED: 429,
    ErrorCode.DISPUTE_ALREADY_OPEN: 409,
    ErrorCode.DISPUTE_CLOSED: 409,
    ErrorCode.DISPUTE_INFORMATION_TOO_LATE: 409,
    ErrorCode.DISPUTE_ALREADY_EXTENDED: 409,
    ErrorCode.MODEL_UNAVAILABLE: 503,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.LOGIN_RATE_LIMITED: 429,
    ErrorCode.CIRCLE_INVITATION_INVALID: 404,
    ErrorCode.CIRCLE_ALREADY_MEMBER: 409,
    ErrorCode.CIRCLE_LIMIT_REACHED: 409,
    ErrorCode.CIRCLE_MEMBER_BLOCKED: 409,
    ErrorCode.GAME_NOT_GUESSABLE: 409,
    ErrorCode.GAME_ALREADY_GUESSED: 409,
    ErrorCode.INVITATIONS_RATE_LIMITED: 429,
    ErrorCode.GUESSES_RATE_LIMITED: 429,
    ErrorCode.INVITATION_CODES_RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
}
#: The code of an HTTP error raised by the framework itself (no route, wrong method, unparsable body).
CODE_OF_HTTP_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.MALFORMED_REQUEST,
    401: ErrorCode.AUTH_MISSING,
    403: ErrorCode.AUTH_FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.REQUEST_TOO_LARGE,
}


class ErrorBody(BaseModel):
    code: str = Field(description="Stable error code (see credo.errors.ErrorCode).")
    message: str
    field: str | None = None
    rule: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's documented error statuses (OpenAPI ``responses``), each with the error body."""
    return {c: {"model": ErrorResponse} for c in codes}


#: A consumer route's own errors: no or bad session token, malformed request.
AUTH = errors(401, 422)


def status_for(code: ErrorCode) -> int:
    return STATUS_OF.get(code, 422)


def error_response(code: ErrorCode, message: str, field: str | None = None, rule: str | None = None, *,
                   status: int | None = None, headers: dict[str, str] | None = None,
                   request: Request | None = None) -> JSONResponse:
    """The error envelope; with ``request``, its code is also kept for the request's log line."""
    if request is not None:
        request.state.error_code = code.value
    body = ErrorResponse(error=ErrorBody(code=code.value, message=message, field=field, rule=rule))
    return JSONResponse(body.model_dump(), status_code=status or status_for(code), headers=headers)


async def credo_error_handler(request: Request, exc: CredoError) -> JSONResponse:
    return error_response(exc.code, exc.message, exc.field, exc.rule, request=request)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The first problem in the stable envelope; a control character (``credo.api.text``) before any
    other, as ``INPUT_CONTROL_CHARACTER`` with its rule."""
    errors = exc.errors()
    control = [e for e in errors if e["type"] == CONTROL_CHARACTER]
    first = (control or errors or [{"loc": (), "msg": "invalid request", "type": "invalid"}])[0]
    field = ".".join(str(p) for p in first["loc"][1:]) or None
    if control:
        return error_response(ErrorCode.CONTROL_CHARACTER, first["msg"], field, first["ctx"]["rule"], request=request)
    return error_response(ErrorCode.MALFORMED_REQUEST, first["msg"], field, first["type"], request=request)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """The framework's own 400 / 404 / 405 / … in the same envelope, with its status and headers (``Allow``)."""
    code = CODE_OF_HTTP_STATUS.get(exc.status_code, ErrorCode.MALFORMED_REQUEST)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(exc.status_code).phrase
    return error_response(code, message, status=exc.status_code, headers=exc.headers, request=request)
