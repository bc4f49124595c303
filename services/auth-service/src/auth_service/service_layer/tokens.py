"""Token vending and refresh (contract §2 "Credentials and tokens", RFC 6749 §6).

The access-token call on a valid token is one indexed read and one decryption: no write, no
lock. Refresh is the rare path, and one credential makes at most one token-endpoint call per
rotation however many callers and replicas ask:
- in a process, callers of the same credential share one in-flight refresh task;
- across replicas, the task takes the credential's lease in MongoDB; a loser polls until the
  credential's version changes (the winner wrote) or the lease frees up;
- the winner re-reads after taking the lease (someone may have just rotated), calls the token
  endpoint, and writes with a compare-and-set on `version`.
On invalid_grant the credential is read again first: a newer version means another replica
rotated it (our refresh token was the old one), so the new token is used; only otherwise is the
credential marked reauthorization_required.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from auth_service.adapters.collections import CREDENTIALS
from auth_service.adapters.leases import Leases
from auth_service.adapters.provider_client import OAuthError, ProviderUnavailable
from auth_service.domain.credentials import (
    TokenSet,
    needs_refresh,
    subject_from,
    subject_key,
)
from auth_service.domain.profiles import OAuthClient
from auth_service.service_layer import profiles
from auth_service.service_layer.context import Context
from auth_service.service_layer.errors import (
    CredentialNotFound,
    ProviderUnavailableError,
    ReauthorizationRequired,
)
from platform_core.contract_types import SiteResource, Subject, utc_now
from platform_core.events import CredentialReauthorizationRequired, CredentialRefreshed
from platform_core.logs import get_logger
from platform_core.mongo import Document
from platform_core.unit_of_work import Transaction

log = get_logger("auth_service.tokens")

LOSER_POLL_SECONDS = 0.05
VEND_PROJECTION = {"refresh_token": 0}


@dataclass(frozen=True)
class Vended:
    access_token: str
    expires_at: datetime | None
    scopes: list[str]
    credential_id: str
    resource: SiteResource | None

    def __repr__(self) -> str:
        return f"Vended(credential_id={self.credential_id!r})"


class _VersionMoved(Exception):
    """The compare-and-set lost: someone else wrote the credential first."""


def _usable(doc: Document | None) -> Document:
    if doc is None or doc["status"] == "revoked":
        raise CredentialNotFound("No credential for this app, integration and subject")
    if doc["status"] == "reauthorization_required":
        raise ReauthorizationRequired("The credential must be authorized again")
    return doc


class TokenService:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._leases = Leases(ctx.db, ctx.settings.lease_seconds)
        self._process = uuid.uuid4().hex
        self._in_flight: dict[str, asyncio.Task[Document]] = {}

    async def access_token(
        self,
        app_id: str,
        integration: str,
        subject: Subject,
        *,
        min_valid_seconds: int,
        force_refresh: bool,
    ) -> Vended:
        ctx = self._ctx
        spec = ctx.provider(integration)
        doc = _usable(
            await ctx.db[CREDENTIALS].find_one(
                {"app_id": app_id, "integration": integration, "subject_key": subject_key(subject)},
                VEND_PROJECTION,
            )
        )
        if needs_refresh(
            expires_at=doc["expires_at"],
            last_refreshed_at=doc["last_refreshed_at"],
            now=utc_now(),
            min_valid_seconds=min_valid_seconds,
            force_refresh=force_refresh,
            force_window_seconds=ctx.settings.force_refresh_window_seconds,
        ):
            doc = await self.refresh(doc)
        resource = None
        if doc.get("resource"):
            cloud_id = doc["resource"]["cloud_id"]
            resource = SiteResource(
                cloud_id=cloud_id,
                site_url=doc["resource"]["site_url"],
                api_base_url=spec.api_base_for(cloud_id),
            )
        return Vended(
            access_token=ctx.vault.open(doc["access_token"], doc["_id"], "access_token"),
            expires_at=doc["expires_at"],
            scopes=doc["scopes"],
            credential_id=doc["_id"],
            resource=resource,
        )

    async def refresh(self, seen: Document) -> Document:
        """The credential after a rotation newer than `seen` (ours or another caller's)."""
        credential_id = seen["_id"]
        task = self._in_flight.get(credential_id)
        if task is None:
            task = asyncio.create_task(self._refresh_once(seen), name=f"refresh-{credential_id}")
            self._in_flight[credential_id] = task
            task.add_done_callback(lambda done: self._forget(credential_id, done))
        # shield: a caller that gives up must not cancel the refresh the others wait for
        return await asyncio.shield(task)

    def _forget(self, credential_id: str, task: asyncio.Task[Document]) -> None:
        if self._in_flight.get(credential_id) is task:
            del self._in_flight[credential_id]
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported twice

    async def _read(self, credential_id: str) -> Document | None:
        return await self._ctx.db[CREDENTIALS].find_one({"_id": credential_id})

    async def _refresh_once(self, seen: Document) -> Document:
        credential_id, version = seen["_id"], seen["version"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ctx.settings.lease_seconds + 5.0
        while True:
            current = _usable(await self._read(credential_id))
            if current["version"] != version:
                return current
            holder = f"{self._process}:{uuid.uuid4().hex}"
            if await self._leases.acquire(credential_id, holder):
                try:
                    current = _usable(await self._read(credential_id))
                    if current["version"] != version:
                        return current
                    return await self._rotate(current)
                finally:
                    await self._leases.release(credential_id, holder)
            if loop.time() > deadline:
                raise ProviderUnavailableError("Another replica's refresh did not finish in time")
            await asyncio.sleep(LOSER_POLL_SECONDS)

    async def _rotate(self, doc: Document) -> Document:
        ctx = self._ctx
        client = await self._client(doc)
        sealed = doc.get("refresh_token")
        if not sealed:
            await self._require_reauthorization(doc, "no_refresh_token")
        refresh_token = ctx.vault.open(sealed, doc["_id"], "refresh_token")
        try:
            tokens = await ctx.provider_client.refresh(client, refresh_token)
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                log.error("token_refresh_refused", credential_id=doc["_id"], error=exc.error)
                raise ProviderUnavailableError("The provider refused the refresh") from None
            fresh = _usable(await self._read(doc["_id"]))
            if fresh["version"] != doc["version"]:
                return fresh
            await self._require_reauthorization(doc, "invalid_grant")
        except ProviderUnavailable as exc:
            log.warning("token_refresh_unavailable", credential_id=doc["_id"], reason=str(exc))
            raise ProviderUnavailableError("The identity provider is unavailable") from None
        try:
            return await self._store(doc, tokens.keeping_refresh_token(refresh_token))
        except _VersionMoved:
            return _usable(await self._read(doc["_id"]))

    async def _client(self, doc: Document) -> OAuthClient:
        try:
            return await profiles.resolve_client(
                self._ctx, doc["app_id"], doc["integration"], profiles.profile_ref(doc["profile"])
            )
        except CredentialNotFound:
            raise
        except Exception as exc:
            log.error(
                "refresh_profile_unusable", credential_id=doc["_id"], error=type(exc).__name__
            )
            raise ProviderUnavailableError("The credential's profile cannot be used") from None

    async def _store(self, doc: Document, tokens: TokenSet) -> Document:
        ctx, credential_id = self._ctx, doc["_id"]
        now = utc_now()
        changes: dict[str, Any] = {
            "access_token": ctx.vault.seal(tokens.access_token, credential_id, "access_token"),
            "refresh_token": (
                ctx.vault.seal(tokens.refresh_token, credential_id, "refresh_token")
                if tokens.refresh_token
                else None
            ),
            "expires_at": tokens.expires_at,
            "scopes": list(tokens.scopes),
            "last_refreshed_at": now,
            "tokens_obtained_at": now,
            "updated_at": now,
            "version": doc["version"] + 1,
        }

        async def work(tx: Transaction) -> None:
            result = await tx.db[CREDENTIALS].update_one(
                {"_id": credential_id, "version": doc["version"], "status": "active"},
                {"$set": changes},
                session=tx.session,
            )
            if result.modified_count != 1:
                raise _VersionMoved
            tx.publish(
                CredentialRefreshed(
                    credential_id=credential_id,
                    app_id=doc["app_id"],
                    integration=doc["integration"],
                    subject=subject_from(doc["subject"]),
                    expires_at=tokens.expires_at or now,
                )
            )

        await ctx.uow.run(work)
        log.info("credential_refreshed", credential_id=credential_id)
        return {**doc, **changes}

    async def _require_reauthorization(self, doc: Document, reason: str) -> NoReturn:
        async def work(tx: Transaction) -> None:
            result = await tx.db[CREDENTIALS].update_one(
                {"_id": doc["_id"], "version": doc["version"], "status": "active"},
                {
                    "$set": {
                        "status": "reauthorization_required",
                        "updated_at": utc_now(),
                        "version": doc["version"] + 1,
                    }
                },
                session=tx.session,
            )
            if result.modified_count == 1:
                tx.publish(
                    CredentialReauthorizationRequired(
                        credential_id=doc["_id"],
                        app_id=doc["app_id"],
                        integration=doc["integration"],
                        subject=subject_from(doc["subject"]),
                        reason=reason,
                    )
                )

        await self._ctx.uow.run(work)
        log.warning("credential_reauthorization_required", credential_id=doc["_id"], reason=reason)
        raise ReauthorizationRequired("The provider no longer accepts this credential")
