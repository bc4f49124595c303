"""A small hand-built client of the three services' contract APIs: HTTP with a service JWT.

Superseded by the typed client (`integrations_client.IntegrationsClient`), which `make demo`,
the benchmarks and the cross-service tests use. Only tests/e2e/test_mcp.py still uses this one
(through the `client` fixture); delete this module once it has moved to the typed client too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from devinfra.consent import ConsentResult, follow_link
from integrations_client import ServiceUrls
from platform_core.service_auth import Scope, mint_token

__all__ = ["PlatformClient", "ServiceUrls", "UnexpectedAnswer"]

Json = dict[str, Any]


class UnexpectedAnswer(RuntimeError):
    """A service answered something the walkthrough did not expect."""


class PlatformClient:
    def __init__(self, session: aiohttp.ClientSession, urls: ServiceUrls, jwt_secret: str) -> None:
        self.session = session
        self.urls = urls
        self._secret = jwt_secret

    def _headers(self, *scopes: Scope) -> dict[str, str]:
        token = mint_token(self._secret, "walkthrough", scopes or (Scope.READ, Scope.WRITE))
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        method: str,
        url: str,
        body: Json | None = None,
        *,
        expect: int | tuple[int, ...] = 200,
        scopes: tuple[Scope, ...] = (Scope.READ, Scope.WRITE),
    ) -> Any:
        async with self.session.request(
            method, url, json=body, headers=self._headers(*scopes)
        ) as response:
            payload = await response.json(content_type=None) if response.status != 204 else None
            expected = (expect,) if isinstance(expect, int) else expect
            if response.status not in expected:
                raise UnexpectedAnswer(f"{method} {url} -> {response.status}: {payload}")
            return payload

    # integration-service
    async def register_app(self, app_id: str, edition: str, name: str = "Demo app") -> Json:
        url = f"{self.urls.integration}/v1/apps/{app_id}"
        result: Json = await self.call(
            "PUT", url, {"name": name, "edition": edition}, expect=(200, 201)
        )
        return result

    async def catalog(self) -> list[Json]:
        result: Json = await self.call("GET", f"{self.urls.integration}/v1/integrations")
        return list(result["items"])

    async def integration(self, app_id: str, integration: str = "confluence") -> Json:
        url = f"{self.urls.integration}/v1/apps/{app_id}/integrations/{integration}"
        result: Json = await self.call("GET", url)
        return result

    async def configure(
        self, app_id: str, body: Json, *, integration: str = "confluence", expect: int = 202
    ) -> Json:
        url = f"{self.urls.integration}/v1/apps/{app_id}/integrations/{integration}/authorization"
        result: Json = await self.call("PUT", url, body, expect=expect)
        return result

    async def set_enabled(
        self, app_id: str, enabled: bool, integration: str = "confluence"
    ) -> Json:
        url = f"{self.urls.integration}/v1/apps/{app_id}/integrations/{integration}"
        result: Json = await self.call("PATCH", url, {"enabled": enabled})
        return result

    async def remove(self, app_id: str, integration: str = "confluence") -> None:
        url = f"{self.urls.integration}/v1/apps/{app_id}/integrations/{integration}"
        await self.call("DELETE", url, expect=204)

    async def user_link(self, app_id: str, user_id: str, integration: str = "confluence") -> Json:
        url = f"{self.urls.integration}/v1/apps/{app_id}/integrations/{integration}/user-links"
        result: Json = await self.call("POST", url, {"user_id": user_id}, expect=201)
        return result

    # auth-service
    async def access_token(
        self, app_id: str, subject: Json, *, integration: str = "confluence", **options: Any
    ) -> Json:
        url = f"{self.urls.auth}/v1/apps/{app_id}/integrations/{integration}/access-token"
        result: Json = await self.call(
            "POST", url, {"subject": subject, **options}, scopes=(Scope.ISSUE_TOKENS,)
        )
        return result

    async def credentials(self, app_id: str) -> list[Json]:
        result: Json = await self.call("GET", f"{self.urls.auth}/v1/apps/{app_id}/credentials")
        return list(result["items"])

    async def create_profile(self, app_id: str, body: Json) -> Json:
        url = f"{self.urls.auth}/v1/apps/{app_id}/auth-profiles"
        result: Json = await self.call("POST", url, body, expect=201)
        return result

    # template-service
    async def install(
        self, app_id: str, template_id: str, expect: int | tuple[int, ...] = 201
    ) -> Json:
        url = f"{self.urls.template}/v1/apps/{app_id}/template-installations"
        result: Json = await self.call("POST", url, {"template_id": template_id}, expect=expect)
        return result

    async def install_when_installable(
        self, app_id: str, template_id: str, timeout: float = 15.0
    ) -> Json:
        """template-service learns of a configuration from an event: wait for it, then install."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(
            item["template_id"] == template_id and item["installable"]
            for item in await self.app_templates(app_id)
        ):
            if asyncio.get_running_loop().time() > deadline:
                raise UnexpectedAnswer(f"{template_id} never became installable for {app_id}")
            await asyncio.sleep(0.1)
        return await self.install(app_id, template_id, expect=(200, 201))

    async def dialog_task(self, app_id: str, dialog_task_id: str) -> Json:
        url = f"{self.urls.template}/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}"
        result: Json = await self.call("GET", url)
        return result

    async def run(
        self,
        app_id: str,
        dialog_task_id: str,
        entities: Json,
        *,
        subject: Json | None = None,
        idempotency_key: str | None = None,
        expect: int | tuple[int, ...] = 201,
    ) -> Json:
        url = f"{self.urls.template}/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs"
        body: Json = {"entities": entities}
        if subject is not None:
            body["subject"] = subject
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        result: Json = await self.call(
            "POST", url, body, expect=expect, scopes=(Scope.RUN_ACTIONS,)
        )
        return result

    async def runs(self, app_id: str, dialog_task_id: str) -> list[Json]:
        url = f"{self.urls.template}/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs"
        result: Json = await self.call("GET", url)
        return list(result["items"])

    async def app_templates(self, app_id: str) -> list[Json]:
        result: Json = await self.call("GET", f"{self.urls.template}/v1/apps/{app_id}/templates")
        return list(result["items"])

    # the browser
    async def consent(
        self, link: str, *, login: str = "admin", cloud_id: str | None = None
    ) -> ConsentResult:
        """Follow a consent link like a browser: sign in, approve, pick the site if asked."""
        return await follow_link(self.session, link, login=login, cloud_id=cloud_id)
