"""Every service's published OpenAPI document, fuzzed by Schemathesis against the running system.

Each service gets all of Schemathesis' phases (explicit examples, coverage of the schema's edges,
random fuzzing, and stateful sequences following the document's links) and all of its checks:
no 5xx, every answer matches the document (status, headers, body), bad input is refused, an
authenticated call that needs credentials refuses a missing or wrong token, and what was deleted
stays gone. The identifiers are pinned to a connected app so most calls reach the domain rather
than stopping at 404. tool-service gets the token its `/mcp` admits (`aud` tool-service, scope
actions:run, that one app), so its calls get past the bearer gate too. Where the contract answers
a well-formed request with a refusal no document can foresee (it turns on stored state, on the
deployment's configuration, or on a protocol's own rules), that one operation also accepts the
contract's status, listed below with the contract's reason.

The seed is fixed so a run in CI is reproducible; set SCHEMATHESIS_SEED to explore another one
and SCHEMATHESIS_MAX_EXAMPLES to go deeper.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from platform_core.service_auth import Scope, mint_token
from tests.e2e.conftest import System
from tests.support.infra import TEST_JWT_SECRET
from tests.support.processes import ServiceProcess
from tests.support.scenarios import connected_app, installed

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

SEED = os.environ.get("SCHEMATHESIS_SEED", "20261201")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")
RUN_TIMEOUT_SECONDS = 600
SERVICES = ["auth-service", "integration-service", "template-service", "tool-service"]
TEMPLATE = "confluence.list_spaces"
# What Schemathesis' positive_data_acceptance accepts by default for a schema-valid request.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# What its negative_data_rejection counts as refusing invalid data, by default, and 413: a body
# made invalid by its length (past a maxLength) is refused by its size first, with the 413
# payload_too_large every route taking a body documents.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
REJECTED_TOO_LARGE = [*REJECTED, "413"]


@dataclass(frozen=True)
class AlsoAccepted:
    """For one operation, the statuses the contract gives a schema-valid request that the
    document cannot rule out: they depend on stored state or on the deployment's configuration."""

    operation: str
    statuses: tuple[str, ...]
    reason: str


# Checks that do not apply to one service, each with the contract's reason.
NOT_APPLICABLE = {
    # DELETE of an integration removes its configuration, not the integration: the contract
    # says it is `available` again afterwards, so a GET answers 200 by design.
    "integration-service": ["use_after_free"],
}
# Where positive_data_acceptance does not apply to one operation, the contract's reason beside it.
POSITIVE_DATA_NOT_APPLICABLE = {
    "auth-service": [
        AlsoAccepted(
            "GET /connect/{opaque}",
            ("410",),
            "§2: an expired or already used link is a 410 page",
        ),
        AlsoAccepted(
            "POST /connect/{opaque}",
            ("400", "410"),
            "§2: an expired or already used link, or a missing or wrong form token (only the "
            "confirmation page holds the right one), is a 410 or 400 page",
        ),
        AlsoAccepted(
            "POST /v1/apps/{app_id}/auth-profiles",
            ("422",),
            "§2: URLs must be https, http only to loopback with ALLOW_INSECURE_PROVIDER_URLS, "
            "and reach no internal address (judged on what the host resolves to); callback_url "
            "must be the platform's; a system OAuth app's client id is refused: configuration "
            "and DNS, not shape",
        ),
        AlsoAccepted(
            "PATCH /v1/apps/{app_id}/auth-profiles/{profile_id}",
            ("422",),
            "§2: the URL and callback rules above, and client_secret_required when a URL or "
            "the client id changes from what is stored",
        ),
        AlsoAccepted(
            "POST /v1/authorizations",
            ("422",),
            "§2 (and §1 configure): auth_profile_not_found for a custom profile that is missing, "
            "deleted or another app's; return_url_not_allowed outside RETURN_URL_ALLOWLIST",
        ),
        AlsoAccepted(
            "GET /oauth/callback",
            ("400",),
            "§2: any failure of the callback, an unknown or used state included, is a 400 page",
        ),
        AlsoAccepted(
            "POST /oauth/site",
            ("400",),
            "§2: the site picker finishes the callback, whose failures (a selection that is "
            "unknown or already made included) are 400 pages",
        ),
    ],
    "tool-service": [
        AlsoAccepted(
            "POST /mcp",
            ("400",),
            "§3 Tools: /mcp is MCP over Streamable HTTP as the SDK serves it; a well-formed "
            "JSON-RPC message must also follow the protocol (a session from initialize at "
            "2025-11-25; params._meta and matching Mcp-Method/Mcp-Name headers at 2026-07-28; "
            "each method's params), which the transport answers 400 otherwise",
        ),
    ],
}


@dataclass(frozen=True)
class Pinned:
    app_id: str
    dialog_task_id: str

    @property
    def parameters(self) -> dict[str, str]:
        return {
            "app_id": self.app_id,
            "integration": "confluence",
            "dialog_task_id": self.dialog_task_id,
        }


def token_for(service: str, app_id: str) -> str:
    if service == "tool-service":
        # What /mcp admits (contract §3 "Tools"): aud naming it, actions:run, exactly one app.
        return mint_token(
            TEST_JWT_SECRET,
            "schemathesis",
            [Scope.RUN_ACTIONS],
            app_ids=[app_id],
            audience=["tool-service"],
            ttl_seconds=3600,
        )
    return mint_token(
        TEST_JWT_SECRET,
        "schemathesis",
        [Scope.READ, Scope.WRITE, Scope.RUN_ACTIONS, Scope.ISSUE_TOKENS],
        ttl_seconds=3600,
    )


def config_file(directory: Path, service: str, pinned: Pinned) -> Path:
    pins = ", ".join(f"{name} = {json.dumps(value)}" for name, value in pinned.parameters.items())
    lines = [
        f"seed = {SEED}",
        # Hypothesis describes filters by parsing source, which is not thread-safe on 3.11.
        "workers = 1",
        "request-timeout = 20.0",
        f'headers = {{ Authorization = "Bearer {token_for(service, pinned.app_id)}" }}',
        f"parameters = {{ {pins} }}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "[checks]",
        "enabled = true",
        "[checks.negative_data_rejection]",
        f"expected-statuses = {json.dumps(REJECTED_TOO_LARGE)}",
    ]
    for allowed in POSITIVE_DATA_NOT_APPLICABLE.get(service, []):
        statuses = json.dumps([*ACCEPTED, *allowed.statuses])
        lines += [
            "[[operations]]",
            f"include-name = {json.dumps(allowed.operation)}",
            f"checks.positive_data_acceptance.expected-statuses = {statuses}",
        ]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def fuzz(
    openapi_url: str, config: Path, report: Path, excluded: list[str]
) -> tuple[int, str]:
    schemathesis = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "schemathesis"
    process = await asyncio.create_subprocess_exec(
        str(schemathesis),
        "--config-file",
        str(config),
        "run",
        openapi_url,
        "--checks",
        "all",
        *(["--exclude-checks", ",".join(excluded)] if excluded else []),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT_SECONDS)
    return process.returncode or 0, output.decode(errors="replace")


@pytest.fixture(scope="module")
async def pinned(system: System) -> Pinned:
    async with system.client() as client:
        app_id = await connected_app(client)
        dialog_task_id = await installed(client, app_id, TEMPLATE)
    return Pinned(app_id, dialog_task_id)


@dataclass(frozen=True)
class Target:
    service: str
    url: str
    process: ServiceProcess


@pytest.fixture(params=SERVICES)
def target(request: pytest.FixtureRequest, system: System) -> Target:
    service: str = request.param
    if service == "tool-service":
        # Started only when its case runs (the fixture is the package's, shared with test_mcp).
        tool: ServiceProcess = request.getfixturevalue("tool_service")
        return Target(service, tool.url, tool)
    process = {
        # The last replica: rate limits count per replica (contract §5), so the fuzzing's many
        # browser requests leave the first replica, which the other scenarios' consents use,
        # within its allowance.
        "auth-service": system.auth[-1],
        "integration-service": system.integration,
        "template-service": system.template,
    }[service]
    return Target(service, process.url, process)


async def test_the_published_document_holds_under_fuzzing(
    system: System, pinned: Pinned, target: Target, tmp_path: Path
) -> None:
    config = config_file(tmp_path, target.service, pinned)
    excluded = NOT_APPLICABLE.get(target.service, [])
    code, output = await fuzz(f"{target.url}/openapi.json", config, tmp_path, excluded)
    summary = output[output.find("SUMMARY") :] if "SUMMARY" in output else output[-4000:]
    assert code == 0, f"Schemathesis found problems in {target.service}:\n{output[-20000:]}"
    assert "generated" in summary and " passed" in summary, summary
    assert all(process.running for process in system.processes()), system.all_logs()[-5000:]
    assert target.process.running, target.process.log_text()[-5000:]
