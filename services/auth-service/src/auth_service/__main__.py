"""`python -m auth_service`: serve auth-service until SIGTERM."""

from __future__ import annotations

from auth_service.app import create_app
from auth_service.settings import SERVICE_NAME, AuthSettings
from platform_core.app import run_service
from platform_core.settings import load_settings


def main() -> None:
    settings = load_settings(AuthSettings, SERVICE_NAME)
    run_service(lambda: create_app(settings), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
