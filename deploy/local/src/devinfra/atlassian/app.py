"""The stand-in's composition root: the aiohttp application, its runners and its command line.

Run it alone: `python -m devinfra.atlassian_fake --port 8765 --idp-url http://127.0.0.1:8764
--sites '[{"id": "...", "name": "acme", "url": "https://acme.atlassian.net"}]'` (or the
ATLASSIAN_FAKE_PORT, ATLASSIAN_FAKE_IDP_URL, ATLASSIAN_FAKE_SITES environment variables).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from devinfra import process
from devinfra.atlassian import confluence_v1, confluence_v2, jira
from devinfra.atlassian.control import add_control_routes
from devinfra.atlassian.gateway import Handler, guard, log_requests, rate_limit
from devinfra.atlassian.operations import OPERATIONS
from devinfra.atlassian.resources import accessible_resources
from devinfra.atlassian.state import DEFAULT_SITES, STATE, FakeState

HOST = "127.0.0.1"

HANDLERS: dict[str, Handler] = {
    "getAccessibleResources": accessible_resources,
    "searchByCQL": confluence_v1.search,
    "removedContentApi": confluence_v1.removed,
    "removedSpaceApi": confluence_v1.removed,
    "createPage": confluence_v2.create_page,
    "getPageById": confluence_v2.get_page,
    "updatePage": confluence_v2.update_page,
    "createBlogPost": confluence_v2.create_blog_post,
    "getBlogPostById": confluence_v2.get_blog_post,
    "createFooterComment": confluence_v2.create_footer_comment,
    "getFooterCommentById": confluence_v2.get_footer_comment,
    "getSpaces": confluence_v2.get_spaces,
    "getSpaceById": confluence_v2.get_space,
    "createIssue": jira.create_issue,
    "getIssue": jira.get_issue,
    "addComment": jira.add_comment,
    "searchAndReconsileIssuesUsingJql": jira.search_jql,
    "searchAndReconsileIssuesUsingJqlPost": jira.search_jql_post,
    "removedJiraSearch": jira.removed_search,
}


def create_atlassian_app(idp_control_url: str, sites: list[dict[str, Any]]) -> web.Application:
    """The api.atlassian.com stand-in.

    `idp_control_url` is the identity provider's base URL or its `/__control` URL. `sites`
    items are `{"id": cloudId, "name", "url", "scopes"?, "avatarUrl"?, "spaces"?, "projects"?}`;
    without `scopes` a site reports the known scopes of the caller's token, without `spaces` it
    gets two global spaces, ENG and TEAM, and without `projects` one Jira project, ENG.
    """
    app = web.Application(middlewares=[log_requests, rate_limit])
    app[STATE] = FakeState(idp_control_url, sites)

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        app[STATE].http = session
        yield
        await session.close()

    app.cleanup_ctx.append(http_client)
    for operation in OPERATIONS:
        handler = guard(operation, HANDLERS[operation.name])
        app.router.add_route(operation.method, operation.path, handler, name=operation.name)
    add_control_routes(app)
    return app


class AtlassianFake:
    """Runs the stand-in inside the current event loop (tests)."""

    def __init__(
        self, idp_url: str, sites: list[dict[str, Any]] | None = None, port: int = 0
    ) -> None:
        self.app = create_atlassian_app(idp_url, DEFAULT_SITES if sites is None else sites)
        self.port = port or process.free_port()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """Stands for https://api.atlassian.com."""
        return f"http://{HOST}:{self.port}"

    @property
    def state(self) -> FakeState:
        return self.app[STATE]

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class AtlassianFakeProcess:
    """Runs the stand-in as a background process (`make run`), via `process.spawn`."""

    def __init__(
        self,
        state_dir: Path,
        port: int,
        idp_url: str,
        sites: list[dict[str, Any]] | None = None,
        name: str = "atlassian",
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.idp_url = idp_url
        self.sites = DEFAULT_SITES if sites is None else sites
        self.name = name

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> subprocess.Popen[bytes]:
        if process.port_open(HOST, self.port):
            raise process.StartupError(f"{self.name}: port {self.port} is already in use")
        argv = [
            sys.executable,
            "-m",
            "devinfra.atlassian_fake",
            "--port",
            str(self.port),
            "--idp-url",
            self.idp_url,
            "--sites",
            json.dumps(self.sites),
        ]
        proc = process.spawn(self.name, argv, self.state_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = self.state_dir / f"{self.name}.log"
                raise process.StartupError(f"{self.name} exited with {proc.returncode}; see {log}")
            if process.port_open(HOST, self.port):
                return proc
            time.sleep(0.1)
        self.stop()
        raise process.StartupError(f"{self.name} did not listen on port {self.port}")

    def stop(self) -> bool:
        return process.stop(self.name, self.state_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="A stand-in for api.atlassian.com: accessible resources, Confluence, Jira."
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("ATLASSIAN_FAKE_PORT", "0")))
    parser.add_argument("--host", default=os.environ.get("ATLASSIAN_FAKE_HOST", HOST))
    parser.add_argument("--idp-url", default=os.environ.get("ATLASSIAN_FAKE_IDP_URL"))
    parser.add_argument("--sites", default=os.environ.get("ATLASSIAN_FAKE_SITES"))
    args = parser.parse_args(argv)
    if not args.port or not args.idp_url:
        parser.error("--port and --idp-url (or their ATLASSIAN_FAKE_* variables) are required")
    sites = json.loads(args.sites) if args.sites else DEFAULT_SITES
    app = create_atlassian_app(args.idp_url, sites)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda _: print(f"atlassian fake on http://{args.host}:{args.port}", flush=True),
    )
