"""`python -m template_service`: serve template-service until SIGTERM."""

from __future__ import annotations

import os

from integration_manifests import load_or_refuse
from platform_core.app import run_service
from platform_core.settings import load_settings
from template_service.app import create_app
from template_service.settings import SERVICE_NAME, TemplateSettings


def main() -> None:
    settings = load_settings(TemplateSettings, SERVICE_NAME)
    integrations = load_or_refuse(SERVICE_NAME, os.environ, settings.integrations_dir)
    run_service(lambda: create_app(settings, integrations), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
