"""`python -m integration_service`: serve integration-service until SIGTERM."""

from __future__ import annotations

from integration_service.app import create_app
from integration_service.settings import SERVICE_NAME, IntegrationSettings
from platform_core.app import run_service
from platform_core.settings import load_settings


def main() -> None:
    settings = load_settings(IntegrationSettings, SERVICE_NAME)
    run_service(lambda: create_app(settings), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
