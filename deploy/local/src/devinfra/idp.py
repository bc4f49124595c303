"""The local OAuth 2.0 server standing in for auth.atlassian.com (oidc-provider under Node).

`IdentityProvider` starts `deploy/local/idp/server.mjs` as a background process and talks to
its test-control endpoints (`/__control/...`): token request counts, injected token endpoint
faults, revoking every grant ("the user removed the app at Atlassian") and access token
introspection.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, cast

import aiohttp

from devinfra import process

IDP_DIR = Path(__file__).resolve().parents[2] / "idp"
HOST = "127.0.0.1"


def ensure_node_modules(idp_dir: Path = IDP_DIR) -> None:
    """Install the server's npm dependencies from package-lock.json when they are missing."""
    if (idp_dir / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise process.StartupError("npm is not installed; the identity provider needs Node 20+")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=idp_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise process.StartupError(f"npm ci in {idp_dir} failed:\n{result.stdout}{result.stderr}")


class IdentityProvider:
    """oidc-provider serving Atlassian's OAuth paths on 127.0.0.1:`port`.

    `clients` items are `{"client_id", "client_secret", "redirect_uris": [...]}`; every client
    authenticates with client_secret_post and may use authorization_code and refresh_token.
    """

    def __init__(
        self,
        state_dir: Path,
        port: int,
        clients: list[dict[str, Any]],
        access_token_ttl: int = 3600,
        name: str = "idp",
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.clients = clients
        self.access_token_ttl = access_token_ttl
        self.name = name

    @property
    def base_url(self) -> str:
        """The issuer: authorize at `{base_url}/authorize`, tokens at `{base_url}/oauth/token`."""
        return f"http://{HOST}:{self.port}"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/__control"

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def start(self, timeout: float = 30.0, attempts: int = 2) -> None:
        """Start the server (installing npm dependencies first if needed) and wait until ready.

        A server that has not answered after `timeout` is stopped and started once more: on a
        loaded machine a first start has been seen to hang before listening, never twice."""
        ensure_node_modules()
        node = shutil.which("node")
        if node is None:
            raise process.StartupError(
                "node is not installed; the identity provider needs Node 20+"
            )
        if process.port_open(HOST, self.port):
            raise process.StartupError(f"{self.name}: port {self.port} is already in use")
        env = {
            "IDP_PORT": str(self.port),
            "IDP_ISSUER": self.base_url,
            "IDP_CLIENTS": json.dumps(self.clients),
            "IDP_ACCESS_TOKEN_TTL": str(self.access_token_ttl),
        }
        for _ in range(attempts):
            proc = process.spawn(
                self.name, [node, str(IDP_DIR / "server.mjs")], self.state_dir, env, cwd=IDP_DIR
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise process.StartupError(
                        f"{self.name} exited with {proc.returncode}; see {self.log_path}"
                    )
                if self._discovery_ready():
                    return
                time.sleep(0.1)
            self.stop()
        raise process.StartupError(
            f"{self.name} did not answer on {self.base_url} within {timeout:.0f}s, "
            f"{attempts} times; see {self.log_path}"
        )

    def stop(self) -> bool:
        """Stop the server; True if it was running."""
        return process.stop(self.name, self.state_dir)

    def _discovery_ready(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
        try:
            conn.request("GET", "/.well-known/openid-configuration")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    async def _control(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.control_url}{path}", json=body) as resp,
        ):
            payload = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{self.name} control {method} {path}: {resp.status} {payload}")
            return payload

    async def token_request_counts(self) -> dict[str, int]:
        """Requests that reached `/oauth/token`: keys authorization_code, refresh_token, total."""
        payload = await self._control("GET", "/stats")
        return cast(dict[str, int], payload["token_requests"])

    async def reset_stats(self) -> None:
        await self._control("POST", "/stats/reset")

    async def add_faults(self, faults: list[dict[str, Any]]) -> None:
        """Queue faults, applied one per later token request, in order.

        Kinds: `{"kind": "status", "status": 503, "body": {...}, "headers": {...}}` answers
        without reaching the provider; `{"kind": "delay", "seconds": 5}` lets the provider
        answer, then holds the response; `{"kind": "drop_refresh_token"}` removes
        `refresh_token` from the provider's answer.
        """
        await self._control("POST", "/faults", {"token": faults})

    async def clear_faults(self) -> None:
        await self._control("DELETE", "/faults")

    async def revoke_grants(self) -> int:
        """Destroy every grant with its tokens; returns how many grants there were."""
        payload = await self._control("POST", "/revoke-grants")
        return int(payload["revoked"])

    async def set_refresh_reuse_leeway(self, seconds: float) -> None:
        """Accept a rotated refresh token again for `seconds`, as Atlassian does (0: never)."""
        await self._control("POST", "/refresh-reuse-leeway", {"seconds": seconds})

    async def introspect(self, token: str) -> dict[str, Any]:
        """`{"active": bool, "scope", "client_id", "sub", "exp"}` for an access token."""
        return cast(dict[str, Any], await self._control("POST", "/introspect", {"token": token}))
