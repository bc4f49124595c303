"""The admin CLI against the fake services: readable tables, `--json` bodies, settings from the
environment or flags, one exit status per kind of failure, and tokens that never print."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from integrations_cli import EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_UNEXPECTED, EXIT_USAGE
from integrations_cli.app import run
from tests.unit.client.fakes import (
    ACCESS_TOKEN,
    ACCESS_TOKEN_VALUE,
    APP,
    APP_TEMPLATE,
    CATALOG_ENTRY,
    DIALOG_TASK,
    INTEGRATION,
    MCP_TOOL,
    OPENAI_TOOL,
    PENDING,
    PROFILE,
    RUN,
    SECRET,
    FakeServices,
    closed_port,
    page,
)

APPS = "/integration/v1/apps/app-1"
AUTH_APPS = "/auth/v1/apps/app-1"
TEMPLATE_APPS = "/template/v1/apps/app-1"


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


Cli = Callable[..., Awaitable[Result]]


@pytest.fixture
def environ(services: FakeServices) -> dict[str, str]:
    urls = services.urls()
    return {
        "AUTH_SERVICE_URL": urls.auth,
        "INTEGRATION_SERVICE_URL": urls.integration,
        "TEMPLATE_SERVICE_URL": urls.template,
        "PLATFORM_JWT_SECRET": SECRET,
    }


@pytest.fixture
def cli(environ: dict[str, str]) -> Cli:
    async def invoke(*argv: str, env: Mapping[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        status = await run(
            ["--attempts", "1", *argv],
            environ=environ if env is None else env,
            stdout=out,
            stderr=err,
        )
        return Result(status, out.getvalue(), err.getvalue())

    return invoke


def claims(services: FakeServices, index: int = 0) -> dict[str, Any]:
    token = services.requests[index].headers["Authorization"].split()[1]
    decoded: dict[str, Any] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_aud": False}
    )
    return decoded


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


# --- output ---------------------------------------------------------------------------------


async def test_apps_put_registers_the_app_and_prints_its_fields(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("PUT", APPS, 201, APP)

    result = await cli("apps", "put", "app-1", "--name", "Support bot", "--edition", "developer")

    assert result.status == EXIT_OK, result.err
    assert services.requests[0].body == {"name": "Support bot", "edition": "developer"}
    lines = result.out.splitlines()
    assert lines[0].split() == ["app_id", "app-1"]
    assert "name        Support bot" in lines
    assert all(line == line.rstrip() for line in lines)


async def test_json_prints_the_body_as_the_service_sent_it_wherever_the_flag_stands(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("GET", APPS, 200, {**APP, "added_later": {"x": 1}})

    before = await cli("--json", "apps", "get", "app-1")
    after = await cli("apps", "get", "app-1", "--json")

    assert before.status == after.status == EXIT_OK
    assert json.loads(before.out) == json.loads(after.out) == {**APP, "added_later": {"x": 1}}
    assert before.err == ""


async def test_a_list_prints_an_aligned_table_of_every_page(
    services: FakeServices, cli: Cli
) -> None:
    path = f"{APPS}/integrations"
    jira = {**INTEGRATION, "integration": "jira", "display_name": "Jira", "state": "available"}
    jira.update(authorization=None, connection={"status": "not_connected"}, version=1)
    services.reply("GET", path, 200, page(INTEGRATION, next_cursor="c1"))
    services.reply("GET", path, 200, page(jira))

    result = await cli("integrations", "list", "app-1")

    assert result.status == EXIT_OK, result.err
    header, *rows = result.out.splitlines()
    assert columns(header) == [
        "INTEGRATION",
        "STATE",
        "AUTHORIZATION",
        "PROFILE",
        "CONNECTION",
        "VERSION",
    ]
    assert [columns(row) for row in rows] == [
        ["confluence", "configured", "user_authorize", "system", "per_user", "3"],
        ["jira", "available", "-", "-", "not_connected", "1"],
    ]
    start = header.index("STATE")
    assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows)
    assert [r.query for r in services.requests] == [{}, {"cursor": "c1"}]


async def test_a_list_with_a_limit_prints_one_page_and_says_where_the_next_begins(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("GET", "/integration/v1/integrations", 200, page(CATALOG_ENTRY, next_cursor="n"))

    table = await cli("integrations", "catalog", "--limit", "1")
    as_json = await cli("integrations", "catalog", "--limit", "1", "--json")

    assert table.status == EXIT_OK
    assert table.out.splitlines()[1].startswith("confluence")
    assert table.err.strip() == "more: --cursor n"
    assert json.loads(as_json.out)["next_cursor"] == "n"
    assert as_json.err == ""
    assert services.requests[0].query == {"limit": "1"}


async def test_configure_pre_authorize_prints_the_consent_link_to_open(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("PUT", f"{APPS}/integrations/confluence/authorization", 202, PENDING)

    result = await cli(
        "integrations", "configure", "app-1", "confluence", "--type", "pre_authorize"
    )

    assert result.status == EXIT_OK, result.err
    assert services.requests[0].body == {"type": "pre_authorize"}
    assert "authorization_url      http://auth.example/connect/opaque" in result.out
    assert "open authorization_url" in result.err


async def test_runs_start_sends_text_and_number_entities_for_a_user(
    services: FakeServices, cli: Cli
) -> None:
    path = f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs"
    services.reply("POST", path, 201, RUN)

    result = await cli(
        "runs",
        "start",
        "app-1",
        "task-1",
        "--entity",
        "spaceKey=ENG",
        "--entity",
        "version:=3",
        "--entity",
        "title=a=b",
        "--user",
        "u-1",
        "--idempotency-key",
        "k-1",
    )

    assert result.status == EXIT_OK, result.err
    assert services.requests[0].body == {
        "entities": {"spaceKey": "ENG", "version": 3, "title": "a=b"},
        "subject": {"type": "user", "user_id": "u-1"},
        "idempotency_key": "k-1",
    }
    assert claims(services)["scope"] == "actions:run"
    assert "authorization_required" in result.out
    assert "http://auth.example/connect/u" in result.out
    assert columns(result.out.splitlines()[-1])[:3] == [
        "createContentService",
        "service",
        "skipped",
    ]


@pytest.mark.parametrize(
    ("tool_format", "answer", "name"),
    [
        ("openai", OPENAI_TOOL, "confluence_create_content"),
        ("mcp", MCP_TOOL, "confluence_create_content"),
    ],
)
async def test_tools_list_prints_the_tools_in_the_format_asked_for(
    services: FakeServices, cli: Cli, tool_format: str, answer: dict[str, Any], name: str
) -> None:
    services.reply("GET", f"{TEMPLATE_APPS}/tools", 200, page(answer))

    table = await cli("tools", "list", "app-1", "--format", tool_format)
    as_json = await cli("tools", "list", "app-1", "--format", tool_format, "--json")

    assert table.status == as_json.status == EXIT_OK
    assert columns(table.out.splitlines()[1])[0] == name
    assert json.loads(as_json.out) == page(answer)
    assert services.requests[0].query == {"format": tool_format}


async def test_templates_app_tasks_and_profiles_print_their_tables(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("GET", f"{TEMPLATE_APPS}/templates", 200, page(APP_TEMPLATE))
    services.reply("GET", f"{TEMPLATE_APPS}/dialog-tasks/task-1", 200, DIALOG_TASK)
    services.reply("GET", f"{AUTH_APPS}/auth-profiles", 200, page(PROFILE))

    templates = await cli("templates", "app", "app-1")
    task = await cli("tasks", "get", "app-1", "task-1")
    profiles = await cli("profiles", "list", "app-1")

    assert columns(templates.out.splitlines()[1]) == [
        "confluence.create_content",
        "Create Content",
        "yes",
        "no",
        "-",
        "-",
    ]
    assert "createContentService  service  POST" in task.out
    assert columns(profiles.out.splitlines()[1])[:2] == ["prof-1", "Team app"]


async def test_text_from_a_service_cannot_reach_the_terminal_as_control_characters(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("GET", APPS, 200, {**APP, "name": "evil\x1b[2J\nname"})

    result = await cli("apps", "get", "app-1")

    assert "\x1b" not in result.out
    assert "evil?[2J?name" in result.out


# --- tokens and secrets ---------------------------------------------------------------------


async def test_access_token_shows_the_token_only_when_asked_for_json(
    services: FakeServices, cli: Cli
) -> None:
    path = f"{AUTH_APPS}/integrations/confluence/access-token"
    services.reply("POST", path, 200, ACCESS_TOKEN)

    table = await cli("access-token", "app-1", "confluence", "--user", "u-1")
    as_json = await cli("access-token", "app-1", "confluence", "--json")

    assert table.status == as_json.status == EXIT_OK
    assert ACCESS_TOKEN_VALUE not in table.out + table.err
    assert "credential_id  cred-1" in table.out
    assert "only with --json" in table.err
    assert json.loads(as_json.out)["access_token"] == ACCESS_TOKEN_VALUE
    assert services.requests[0].body["subject"] == {"type": "user", "user_id": "u-1"}
    assert claims(services)["scope"] == "tokens:issue"


async def test_no_command_prints_the_jwt_or_the_secret(services: FakeServices, cli: Cli) -> None:
    services.reply("GET", APPS, 200, APP)
    services.problem("GET", f"{APPS}/integrations/confluence", 401, "unauthenticated")

    shown = await cli("apps", "get", "app-1")
    refused = await cli("integrations", "get", "app-1", "confluence", "--json")

    jwts = [r.headers["Authorization"].split()[1] for r in services.requests]
    for text in (shown.out, shown.err, refused.out, refused.err):
        assert SECRET not in text
        assert not any(token in text for token in jwts)


async def test_each_token_names_only_the_app_the_command_is_about(
    services: FakeServices, cli: Cli
) -> None:
    services.reply("GET", APPS, 200, APP)
    services.reply("GET", "/template/v1/templates", 200, page())

    await cli("apps", "get", "app-1")
    await cli("templates", "list")

    assert claims(services, 0)["app_ids"] == ["app-1"]
    assert claims(services, 0)["aud"] == ["integration-service"]
    assert claims(services, 0)["sub"] == "integrations-cli"
    assert "app_ids" not in claims(services, 1)


async def test_the_secret_can_come_from_a_file_and_the_urls_from_flags(
    services: FakeServices, cli: Cli, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(f"{SECRET}\n")
    services.reply("GET", APPS, 200, APP)
    urls = services.urls()

    result = await cli(
        "--integration-url",
        urls.integration,
        "--jwt-secret-file",
        str(secret_file),
        "apps",
        "get",
        "app-1",
        env={},
    )

    assert result.status == EXIT_OK, result.err


async def test_profiles_create_reads_the_client_secret_from_a_file_never_from_the_line(
    services: FakeServices, cli: Cli, tmp_path: Path
) -> None:
    services.reply("POST", f"{AUTH_APPS}/auth-profiles", 201, PROFILE)
    client_secret = tmp_path / "client-secret"
    client_secret.write_text("the-oauth-client-secret\n")
    options = [
        "--name",
        "Team app",
        "--integration",
        "confluence",
        "--idp-name",
        "Atlassian",
        "--client-id",
        "client-1",
        "--authorization-url",
        "https://auth.atlassian.com/authorize",
        "--token-url",
        "https://auth.atlassian.com/oauth/token",
        "--scope",
        "write:confluence-content",
        "--scope",
        "offline_access",
    ]

    without = await cli("profiles", "create", "app-1", *options)
    created = await cli(
        "profiles", "create", "app-1", *options, "--client-secret-file", str(client_secret)
    )

    assert without.status == EXIT_USAGE
    assert "--client-secret-file" in without.err
    assert created.status == EXIT_OK, created.err
    [sent] = services.requests
    assert sent.body["client_secret"] == "the-oauth-client-secret"
    assert sent.body["scopes"] == ["write:confluence-content", "offline_access"]
    assert "the-oauth-client-secret" not in created.out
    assert "client_secret_set  yes" in created.out


# --- exit statuses --------------------------------------------------------------------------


async def test_a_refusal_prints_its_code_and_detail_to_stderr_and_exits_3(
    services: FakeServices, cli: Cli
) -> None:
    path = f"{APPS}/integrations/confluence/authorization"
    services.problem("PUT", path, 403, "edition_not_supported", detail="Trial apps may not")

    result = await cli(
        "integrations", "configure", "app-1", "confluence", "--type", "pre_authorize"
    )

    assert result.status == EXIT_REFUSED
    assert result.out == ""
    assert result.err.strip() == "error: edition_not_supported: Trial apps may not"


async def test_a_validation_error_and_missing_scopes_are_spelled_out(
    services: FakeServices, cli: Cli
) -> None:
    runs = f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs"
    bad = [{"field": "entities.spaceKey", "message": "Field required"}]
    services.problem("POST", runs, 422, "validation_error", errors=bad)
    installs = f"{TEMPLATE_APPS}/template-installations"
    services.problem("POST", installs, 409, "insufficient_scope", missing_scopes=["write:page"])

    invalid = await cli("runs", "start", "app-1", "task-1")
    lacking = await cli("installations", "install", "app-1", "confluence.create_content")

    assert invalid.status == lacking.status == EXIT_REFUSED
    assert "  entities.spaceKey: Field required" in invalid.err.splitlines()
    assert "  missing scopes: write:page" in lacking.err.splitlines()


async def test_an_unavailable_service_exits_4(services: FakeServices, cli: Cli) -> None:
    services.problem("GET", APPS, 503, "service_unavailable")
    nobody = f"http://127.0.0.1:{closed_port()}"

    busy = await cli("apps", "get", "app-1")
    down = await cli("--template-url", nobody, "templates", "list")

    assert busy.status == down.status == EXIT_UNAVAILABLE
    assert busy.err.startswith("error: service_unavailable:")
    assert down.err.startswith("error: unavailable: template-service did not answer")


async def test_an_answer_outside_the_contract_exits_1(services: FakeServices, cli: Cli) -> None:
    services.reply("GET", APPS, 200, {"app_id": "app-1"})

    result = await cli("apps", "get", "app-1")

    assert result.status == EXIT_UNEXPECTED
    assert "does not match the contract" in result.err


@pytest.mark.parametrize(
    ("argv", "secret", "says"),
    [
        (["apps", "put", "app-1", "--name", "x"], SECRET, "--edition"),
        (["apps"], SECRET, "ACTION"),
        (["runs", "start", "app-1", "t", "--entity", "novalue"], SECRET, "NAME=VALUE"),
        (["runs", "start", "app-1", "t", "--entity", "flag:=true"], SECRET, "string or a number"),
        (["integrations", "catalog", "--limit", "500"], SECRET, "between 1 and 200"),
        (["apps", "get", "app-1"], None, "PLATFORM_JWT_SECRET is not set"),
        (["apps", "get", "app-1"], "short-secret", "at least 32 bytes"),
        (["--auth-url", "ftp://x", "apps", "get", "a"], SECRET, "the auth URL must be an http"),
        (["--attempts", "0", "apps", "get", "a"], SECRET, "--attempts must be at least 1"),
    ],
)
async def test_usage_errors_exit_2_before_anything_is_sent(
    services: FakeServices,
    cli: Cli,
    environ: dict[str, str],
    argv: list[str],
    secret: str | None,
    says: str,
) -> None:
    env = {name: value for name, value in environ.items() if name != "PLATFORM_JWT_SECRET"}
    if secret is not None:
        env["PLATFORM_JWT_SECRET"] = secret

    result = await cli(*argv, env=env)

    assert result.status == EXIT_USAGE
    assert says in result.err
    assert "short-secret" not in result.err
    assert services.requests == []


def test_python_m_integrations_cli_answers_help_and_usage_with_its_exit_statuses() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "integrations_cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    misused = subprocess.run(
        [sys.executable, "-m", "integrations_cli", "no-such-command"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert helped.returncode == 0
    for group in ("apps", "integrations", "profiles", "links", "templates", "runs", "tools"):
        assert group in helped.stdout
    assert "installations" in helped.stdout and "tasks" in helped.stdout
    assert misused.returncode == EXIT_USAGE
    assert "invalid choice" in misused.stderr
