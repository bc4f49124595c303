"""auth-service's HTTP routes."""

from __future__ import annotations

from platform_core.api import ApiRoutes

routes = ApiRoutes(tags=["auth-service"])
