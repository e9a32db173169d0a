"""The outermost layer of every request: its id, the body-size limit, the log line, unexpected errors.

One pure ASGI middleware (Starlette's ``BaseHTTPMiddleware`` would add a task and a queue per
request on the partner-read hot path):

* **Request id**: the caller's ``X-Request-ID`` if it is a short token, else a new one; echoed in the
  response and in the log line.
* **Body limit** (``CREDO_MAX_REQUEST_BYTES``): a declared ``Content-Length`` above it is answered 413
  ``REQ_TOO_LARGE`` before anything is read; a body without one is counted as it arrives and cut off
  at the limit (:class:`RequestTooLarge`, which the app's HTTP error handler answers in the envelope).
  FastAPI's own ``max_body_size`` is not used: Starlette answers a declared over-length body in plain
  text, replacing the app's response, where the API promises its error envelope.
* **Log line** (logger ``credo.request``, JSON): request id, method, route template (never the path,
  which carries consumer ids), status, outcome (``ok`` or the error code), the kind of credential the
  caller presented (``partner``, ``consumer``, ``console``, ``anonymous``: a claim, its acceptance is the
  outcome) and latency. Never a header value, a token, a body or a query string.
* **Unexpected errors**: logged as the exception's type, a database error's SQLSTATE and the stack's
  frames, without the message (a driver's message can quote the row: ``Key (username)=(…)``), and
  answered 500 ``INTERNAL_ERROR`` in the error envelope with the request id.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from credo.api.problems import ErrorBody, ErrorResponse
from credo.errors import ErrorCode
from credo.web.security import CONSOLE_COOKIE, CONSUMER_COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("credo.request")
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class RequestTooLarge(HTTPException):
    """The body grew past ``CREDO_MAX_REQUEST_BYTES`` while it was read (FastAPI passes an
    ``HTTPException`` from the body reader on to the app's handler: 413 ``REQ_TOO_LARGE``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes (CREDO_MAX_REQUEST_BYTES)")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", ())}


def caller_kind(headers: dict[bytes, bytes]) -> str:
    """Which credential the caller presented (not whether it was accepted)."""
    if b"x-api-key" in headers:
        return "partner"
    if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
        return "consumer"
    cookies = {part.split(b"=", 1)[0].strip() for part in headers.get(b"cookie", b"").split(b";")}
    if CONSUMER_COOKIE.encode() in cookies:
        return "consumer"
    if CONSOLE_COOKIE.encode() in cookies:
        return "console"
    return "anonymous"


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


def _error_body(code: ErrorCode, message: str) -> bytes:
    return ErrorResponse(error=ErrorBody(code=code.value, message=message)).model_dump_json().encode()


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """An exception for the log: its type, SQLSTATE if a database error, the frames (file, line, function:
    no source text, no message)."""
    orig = getattr(exc, "orig", None)
    return {"error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "sqlstate": getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None),
            "stack": [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)]}


class RequestContext:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode() if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        async def reply(code: ErrorCode, http_status: int, message: str) -> None:
            state["error_code"] = code.value
            body = _error_body(code, message)
            await send_with_id({"type": "http.response.start", "status": http_status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send_with_id({"type": "http.response.body", "body": body})

        seen = [0]

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_body:
                    raise RequestTooLarge(self.max_body)
            return message

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_body:
                await reply(ErrorCode.REQUEST_TOO_LARGE, 413, RequestTooLarge(self.max_body).detail)
            else:
                await self.app(scope, counted_receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: logged without its message, answered 500
            log.error("unhandled error", extra={"request_id": request_id, "route": _route(scope),
                                                **describe_exception(exc)})
            if status[0]:
                raise  # the response has started: nothing else can be sent
            await reply(ErrorCode.INTERNAL_ERROR, 500, f"internal error; quote request id {request_id}")
        finally:
            if log.isEnabledFor(logging.INFO):
                code = state.get("error_code")
                log.info("request", extra={
                    "request_id": request_id, "method": scope.get("method"), "route": _route(scope),
                    "status": status[0], "outcome": code or ("ok" if status[0] < 400 else f"http_{status[0]}"),
                    "caller": caller_kind(headers), "latency_ms": round((time.perf_counter() - started) * 1000, 3)})
