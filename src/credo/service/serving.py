"""The published model a server scores with, following the registry's serving pointer without a restart.

:class:`ServingModel` holds one ``(pointer, bundle)`` pair and replaces it whole, so a reader sees either
the old pair or the new one, never a mixture. :meth:`refresh` reads the pointer (one indexed row) and, when
it moved, loads the newly published bundle from the registry (its files checked against their digest)
*before* swapping, so requests keep being answered by the old model while the new one loads. A server
calls it every ``CREDO_MODEL_REFRESH_SECONDS`` (:mod:`credo.api.app`); every other caller loads the
pointer's model on first use.

**One request, one model.** A request pins the bundle serving when it starts (:func:`pinned`, a context
variable set by the API's outermost middleware and copied into the thread that runs the endpoint);
``Service.model_bundle()`` returns the pinned bundle for the rest of the request, however many times it is
called, even if a publish lands in between.

The pointer names the bundle and which of its models (champion or challenger) the gate judged; a server
whose ``CREDO_SERVING_MODEL`` names the other one refuses to score (``SCORE_MODEL_UNAVAILABLE``) rather than
serve a model the gate never saw.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine

from credo.errors import CredoError, ErrorCode
from credo.governance import registry
from credo.scoring import ModelBundle

_PINNED: ContextVar[ModelBundle | None] = ContextVar("credo_pinned_model", default=None)


class ServingModel:
    def __init__(self) -> None:
        self._held: tuple[registry.Serving, ModelBundle] | None = None
        self._loading = threading.Lock()

    def _unavailable(self, which: str) -> CredoError:
        return CredoError(ErrorCode.MODEL_UNAVAILABLE, "no model is published: train one (credo train) and publish "
                          "it through the gate (credo model publish VERSION --reason ...)", rule="only a published "
                          f"model serves ({which})")

    def refresh(self, engine: Engine, which: str) -> bool:
        """Follow the serving pointer; True when the model changed."""
        with engine.connect() as conn:
            pointer = registry.serving(conn)
        held = self._held
        if pointer is None or (held is not None and held[0].version == pointer.version
                               and held[0].model == pointer.model):
            return False
        with self._loading:
            held = self._held
            if held is not None and (held[0].version, held[0].model) == (pointer.version, pointer.model):
                return False
            with engine.connect() as conn:
                bundle = registry.load_bundle(conn, pointer.version)
            self._held = (pointer, bundle)  # one assignment: readers see the old pair or the new one
        return True

    def get(self, engine: Engine, which: str) -> ModelBundle:
        """The serving bundle (loading the pointer's on first use)."""
        held = self._held
        if held is None:
            self.refresh(engine, which)
            held = self._held
        if held is None:
            raise self._unavailable(which)
        pointer, bundle = held
        if pointer.model != which:
            raise CredoError(ErrorCode.MODEL_UNAVAILABLE, f"model {pointer.version} was published as its {pointer.model}, "
                             f"but CREDO_SERVING_MODEL is {which}: publish the {which} through the gate",
                             field="serving_model", rule="only a model the gate judged serves")
        return bundle


@contextmanager
def pinned(bundle: ModelBundle | None) -> Iterator[None]:
    """Within the block (a request), ``Service.model_bundle()`` returns ``bundle``."""
    token = _PINNED.set(bundle)
    try:
        yield
    finally:
        _PINNED.reset(token)


def pinned_bundle() -> ModelBundle | None:
    return _PINNED.get()


__all__ = ["ServingModel", "pinned", "pinned_bundle"]
