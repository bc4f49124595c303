"""`python -m tool_service` leaves out what it never uses, and loses nothing by it.

Each check runs in a fresh interpreter, because the point is what an import of
`tool_service.__main__` loads first (the test process has imported the SDK already).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from tests.unit.tool.fakes import SECRET


def run_fresh(code: str) -> Any:
    """Run `code` after `import tool_service.__main__`; it prints one JSON value."""
    script = "import tool_service.__main__\n" + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_service_starts_without_the_sdks_client_side_nor_cryptography() -> None:
    loaded = run_fresh(
        """
        import json, sys
        from tool_service.footprint import deferred
        print(json.dumps({
            "deferred": [deferred("mcp"), deferred("mcp.server")],
            "loaded": sorted(
                name for name in ("mcp.client", "mcp.server.mcpserver", "httpx2", "cryptography")
                if name in sys.modules
            ),
        }))
        """
    )
    assert loaded == {"deferred": [True, True], "loaded": []}


def test_every_name_of_the_deferred_packages_is_still_there_on_first_use() -> None:
    found = run_fresh(
        """
        import json
        import mcp
        from mcp import Client, ClientSession
        from mcp.server import MCPServer, Server
        from mcp.server.lowlevel import Server as LowLevelServer
        from tool_service.footprint import deferred
        import cryptography.hazmat.primitives.ciphers.aead
        print(json.dumps([
            Client.__name__, mcp.ClientSession is ClientSession, MCPServer.__name__,
            Server is LowLevelServer, deferred("mcp"), deferred("mcp.server"),
        ]))
        """
    )
    assert found == ["Client", True, "MCPServer", True, False, False]


def test_the_platforms_hs256_tokens_are_minted_and_admitted_without_cryptography() -> None:
    caller = run_fresh(
        f"""
        import json, sys
        from platform_core.service_auth import Scope, mint_token
        from tool_service.domain.access import admit
        token = mint_token({SECRET!r}, "agent", [Scope.RUN_ACTIONS], app_ids=["app-1"],
                           audience=["tool-service"], user_id="u-1")
        caller = admit("Bearer " + token, {SECRET!r})
        print(json.dumps([caller.app_id, caller.user_id, "cryptography" in sys.modules]))
        """
    )
    assert caller == ["app-1", "u-1", False]


def test_releasing_freed_memory_is_safe_at_any_time() -> None:
    assert run_fresh(
        """
        from tool_service.footprint import release_freed_memory
        release_freed_memory()
        release_freed_memory()
        print("true")
        """
    )
