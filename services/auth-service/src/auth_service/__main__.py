"""`python -m auth_service`: serve until SIGTERM; `python -m auth_service rotate-keys`:
re-encrypt every stored secret under the first key of TOKEN_ENCRYPTION_KEYS (safe while the
service keeps serving; see adapters.key_rotation)."""

from __future__ import annotations

import argparse
import asyncio
import os

from auth_service.adapters.key_rotation import rotate_keys
from auth_service.adapters.vault import Vault
from auth_service.app import create_app, load_providers
from auth_service.domain.providers import ProviderRefusedAtStartUp
from auth_service.settings import SERVICE_NAME, AuthSettings
from integration_manifests import load_or_refuse
from platform_core import mongo
from platform_core.app import run_service
from platform_core.settings import load_settings, refuse_to_start


async def _rotate(settings: AuthSettings) -> dict[str, int]:
    client = mongo.create_client(settings.mongodb_url, f"{SERVICE_NAME}-rotate-keys")
    try:
        db = client[settings.database_name(SERVICE_NAME)]
        vault = Vault.from_setting(settings.token_encryption_keys.get_secret_value())
        return await rotate_keys(db, vault)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auth_service")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "rotate-keys"])
    args = parser.parse_args(argv)
    settings = load_settings(AuthSettings, SERVICE_NAME)
    integrations = load_or_refuse(SERVICE_NAME, os.environ, settings.integrations_dir)
    try:
        load_providers(settings, integrations)
    except ProviderRefusedAtStartUp as exc:
        refuse_to_start(SERVICE_NAME, str(exc))
    if args.command == "rotate-keys":
        counts = asyncio.run(_rotate(settings))
        print(" ".join(f"{name}={count}" for name, count in counts.items()))
        return
    run_service(lambda: create_app(settings, integrations), settings, SERVICE_NAME)


if __name__ == "__main__":
    main()
