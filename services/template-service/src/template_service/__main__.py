"""`python -m template_service`: serve template-service until SIGTERM."""

from __future__ import annotations

from platform_core.app import run_service
from platform_core.settings import load_settings
from template_service.app import create_app
from template_service.settings import SERVICE_NAME, TemplateSettings


def main() -> None:
    settings = load_settings(TemplateSettings, SERVICE_NAME)
    run_service(lambda: create_app(settings), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
