"""One request, one model: the serving bundle is pinned when a request starts (:mod:`credo.service.serving`).

A pure ASGI middleware (no task or queue per request): it reads the service's current bundle, a reference
held in memory, and sets it in a context variable for the rest of the request. The endpoint, run inline or
in the thread pool (which copies the context), sees that bundle in every ``Service.model_bundle()`` call,
even if the server switches to a newly published model while the request runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class OneModelPerRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with scope["app"].state.service.one_model():
            await self.app(scope, receive, send)
