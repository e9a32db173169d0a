"""The REST API (FastAPI), versioned under /v1."""

from credo.api.app import create_app

__all__ = ["create_app"]
