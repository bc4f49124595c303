"""`python -m auth_service`: serve until SIGTERM; `python -m auth_service rotate-keys`:
re-encrypt every stored secret under the first key of TOKEN_ENCRYPTION_KEYS (safe while the
service keeps serving; see adapters.key_rotation).

Both refuse to start (exit 2, one line on stderr, no value echoed) on bad settings or when a
configured key is not the key the database stores under its id. `rotate-keys` prints how many
records of each collection it re-encrypted; records no key opens are left as they are, listed
by collection and id on stderr after every other record was rotated, and make it exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from auth_service.adapters.key_checks import KeyMismatch, verify_keys
from auth_service.adapters.key_rotation import Rotation, rotate_keys
from auth_service.adapters.vault import Vault
from auth_service.app import create_app, load_providers
from auth_service.domain.providers import ProviderRefusedAtStartUp
from auth_service.settings import SERVICE_NAME, AuthSettings
from integration_manifests import load_or_refuse
from platform_core import mongo
from platform_core.app import run_service
from platform_core.settings import load_settings, refuse_to_start

EXIT_UNREADABLE = 1


async def _rotate(settings: AuthSettings) -> Rotation:
    client = mongo.create_client(settings.mongodb_url, f"{SERVICE_NAME}-rotate-keys")
    try:
        db = client[settings.database_name(SERVICE_NAME)]
        vault = Vault.from_setting(settings.token_encryption_keys.get_secret_value())
        await verify_keys(db, vault)
        return await rotate_keys(db, vault)
    finally:
        await client.close()


def _report(rotation: Rotation) -> int:
    print(" ".join(f"{name}={count}" for name, count in rotation.counts.items()))
    if not rotation.unreadable:
        return 0
    records = ", ".join(f"{collection}/{record}" for collection, record in rotation.unreadable)
    print(
        f"{SERVICE_NAME}: rotate-keys: {len(rotation.unreadable)} records no configured key "
        f"opens were left as they are: {records}",
        file=sys.stderr,
    )
    return EXIT_UNREADABLE


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
    try:
        if args.command == "rotate-keys":
            raise SystemExit(_report(asyncio.run(_rotate(settings))))
        run_service(lambda: create_app(settings, integrations), settings, SERVICE_NAME)
    except KeyMismatch as exc:
        refuse_to_start(SERVICE_NAME, str(exc))


if __name__ == "__main__":
    main()
