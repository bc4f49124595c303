"""`python -m integration_service`: serve integration-service until SIGTERM."""

from __future__ import annotations

import os

from integration_manifests import load_or_refuse
from integration_service.app import create_app
from integration_service.settings import SERVICE_NAME, IntegrationSettings
from platform_core.app import run_service
from platform_core.settings import load_settings


def main() -> None:
    settings = load_settings(IntegrationSettings, SERVICE_NAME)
    integrations = load_or_refuse(SERVICE_NAME, os.environ, settings.integrations_dir)
    run_service(lambda: create_app(settings, integrations), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
