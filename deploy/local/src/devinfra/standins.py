"""Stand-ins for Atlassian during `make run`: the identity provider and the Atlassian API.

With no Atlassian account, the system profiles (Confluence's and Jira's: one Atlassian OAuth
app serves both) point at a local oidc-provider (serving Atlassian's OAuth paths, with a
registered confidential client) and at an Atlassian-shaped API with two sites. When
`CONFLUENCE_CLIENT_ID` is set in the environment (a real Atlassian OAuth app), the stand-ins
stay off and the services talk to Atlassian itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devinfra.atlassian_fake import AtlassianFakeProcess
from devinfra.idp import IdentityProvider
from devinfra.process import port_open, read_pid, stop

LOCAL_CLIENT_ID = "local-atlassian-app"
IDP_NAME = "idp"
# Two sites, so a consent shows the site picker as a real multi-site Atlassian account does.
LOCAL_SITES = [
    {
        "id": "11111111-1111-4111-8111-111111111111",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    },
    {
        "id": "22222222-2222-4222-8222-222222222222",
        "name": "globex",
        "url": "https://globex.atlassian.net",
    },
]
ATLASSIAN_NAME = "atlassian"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env.get(name) or default)


def public_base_url(env: Mapping[str, str]) -> str:
    return env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{_port(env, 'AUTH_SERVICE_PORT', 8081)}"


def uses_real_atlassian(env: Mapping[str, str]) -> bool:
    return bool(env.get("CONFLUENCE_CLIENT_ID"))


def start_standins(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    if uses_real_atlassian(env):
        return {"PUBLIC_BASE_URL": public_base_url(env)}
    callback = f"{public_base_url(env)}/oauth/callback"
    client = {
        "client_id": LOCAL_CLIENT_ID,
        "client_secret": env["LOCAL_IDP_CLIENT_SECRET"],
        "redirect_uris": [callback],
    }
    idp = IdentityProvider(state_dir, _port(env, "IDP_PORT", 9400), [client], name=IDP_NAME)
    if read_pid(state_dir / f"{IDP_NAME}.pid") is None or not port_open("127.0.0.1", idp.port):
        idp.start()
    atlassian = AtlassianFakeProcess(
        state_dir,
        _port(env, "ATLASSIAN_FAKE_PORT", 9401),
        idp.base_url,
        LOCAL_SITES,
        ATLASSIAN_NAME,
    )
    if read_pid(state_dir / f"{ATLASSIAN_NAME}.pid") is None:
        atlassian.start()
    return {
        "PUBLIC_BASE_URL": public_base_url(env),
        "CONFLUENCE_CLIENT_ID": LOCAL_CLIENT_ID,
        "CONFLUENCE_CLIENT_SECRET": env["LOCAL_IDP_CLIENT_SECRET"],
        "JIRA_CLIENT_ID": LOCAL_CLIENT_ID,
        "JIRA_CLIENT_SECRET": env["LOCAL_IDP_CLIENT_SECRET"],
        "ATLASSIAN_AUTH_BASE_URL": idp.base_url,
        "ATLASSIAN_API_BASE_URL": atlassian.base_url,
        "ALLOW_INSECURE_PROVIDER_URLS": "true",
    }


def stop_standins(state_dir: Path) -> bool:
    return any([stop(ATLASSIAN_NAME, state_dir), stop(IDP_NAME, state_dir)])


def describe_standins(state_dir: Path, env: Mapping[str, str]) -> str:
    if uses_real_atlassian(env):
        return "off (CONFLUENCE_CLIENT_ID is set: the real Atlassian is used)"
    running = [name for name in (IDP_NAME, ATLASSIAN_NAME) if read_pid(state_dir / f"{name}.pid")]
    return f"running: {', '.join(running)}" if running else "not running"
