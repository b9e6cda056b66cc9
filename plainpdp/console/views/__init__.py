"""The console's pages, one module per area; ``ROUTES`` is the whole URL map."""

from __future__ import annotations

from starlette.routing import Route

from . import auth, partners, users

ROUTES: list[Route] = [*auth.ROUTES, *users.ROUTES, *partners.ROUTES]
