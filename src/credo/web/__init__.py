"""The web app: consumer pages, the partner console and the operator pages, served by ``credo serve``.

Server-rendered (Jinja2) with a little plain JavaScript; every asset ships in this package, so a
page never loads anything from another host. Handlers call the same service functions as the API
(:mod:`credo.service`), never the API's routers.
"""

from credo.web.app import mount_web

__all__ = ["mount_web"]
