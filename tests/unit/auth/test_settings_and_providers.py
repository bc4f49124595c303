"""Start-up validation: settings, and the provider file (providers as data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from auth_service.app import load_providers
from auth_service.domain.providers import ProviderFileError, parse_providers
from auth_service.settings import DEFAULT_PROVIDERS_FILE, AuthSettings
from platform_core.settings import describe_error
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET

VARIABLES = {
    "ATLASSIAN_AUTH_BASE_URL": "https://auth.atlassian.com",
    "ATLASSIAN_API_BASE_URL": "https://api.atlassian.com",
}


def settings(**values: Any) -> AuthSettings:
    defaults: dict[str, Any] = {
        "platform_jwt_secret": TEST_JWT_SECRET,
        "token_encryption_keys": TEST_ENCRYPTION_KEYS,
    }
    return AuthSettings(**{**defaults, **values})


def shipped(**changes: Any) -> str:
    document = json.loads(DEFAULT_PROVIDERS_FILE.read_text())
    document["providers"][0].update(changes)
    return json.dumps(document)


def test_the_shipped_confluence_provider_follows_atlassian() -> None:
    confluence = load_providers(settings())["confluence"]
    assert confluence.authorization_url == "https://auth.atlassian.com/authorize"
    assert confluence.token_url == "https://auth.atlassian.com/oauth/token"
    assert confluence.authorization_params == {"audience": "api.atlassian.com", "prompt": "consent"}
    assert confluence.default_scopes == ["write:confluence-content", "offline_access"]
    assert confluence.pkce is True
    assert confluence.post_connection is not None
    assert confluence.post_connection.url == (
        "https://api.atlassian.com/oauth/token/accessible-resources"
    )
    assert confluence.api_base_for("abc") == "https://api.atlassian.com/ex/confluence/abc"


def test_adding_jira_is_a_data_change() -> None:
    document = json.loads(DEFAULT_PROVIDERS_FILE.read_text())
    jira = {
        **document["providers"][0],
        "integration": "jira",
        "display_name": "Jira",
        "default_scopes": ["read:jira-work", "offline_access"],
        "system_client": {
            "client_id_variable": "JIRA_CLIENT_ID",
            "client_secret_variable": "JIRA_CLIENT_SECRET",
        },
        "api_base_url": "${ATLASSIAN_API_BASE_URL}/ex/jira/{cloud_id}",
    }
    document["providers"].append(jira)
    catalog = parse_providers(json.dumps(document), VARIABLES.get, allow_insecure=False)
    assert catalog["jira"].api_base_for("c") == "https://api.atlassian.com/ex/jira/c"


@pytest.mark.parametrize(
    "changes",
    [
        {"token_url": "http://auth.atlassian.com/oauth/token"},
        {"post_connection": {"hook": "guess_the_site", "url": "https://x.example.com"}},
        {"authorization_params": {"redirect_uri": "https://evil.example.com"}},
        {"default_scopes": []},
        {"auth_mode": "saml"},
        {"token_url": "${UNSET_VARIABLE}/oauth/token"},
    ],
)
def test_a_bad_provider_file_is_refused_at_start_up(changes: dict[str, Any]) -> None:
    with pytest.raises(ProviderFileError):
        parse_providers(shipped(**changes), VARIABLES.get, allow_insecure=False)


def test_loopback_http_provider_urls_need_the_insecure_flag() -> None:
    local = {**VARIABLES, "ATLASSIAN_AUTH_BASE_URL": "http://127.0.0.1:9000"}
    with pytest.raises(ProviderFileError):
        parse_providers(shipped(), local.get, allow_insecure=False)
    catalog = parse_providers(shipped(), local.get, allow_insecure=True)
    assert catalog["confluence"].token_url == "http://127.0.0.1:9000/oauth/token"


def test_settings_defaults_follow_the_agreements() -> None:
    values = settings()
    assert values.port == 8081
    assert values.callback_url == "http://127.0.0.1:8081/oauth/callback"
    assert values.admin_link_ttl_seconds == 900 and values.user_link_ttl_seconds == 3600
    assert values.state_ttl_seconds == 600 and values.refresh_keepalive_days == 30
    assert values.lease_seconds > values.refresh_timeout_seconds
    assert settings(return_url_allowlist="https://a/, https://b/").return_url_prefixes == (
        "https://a/",
        "https://b/",
    )


def test_malformed_encryption_keys_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(token_encryption_keys="k1:c2hvcnQ=")
    reason = describe_error(caught.value)
    assert reason == "TOKEN_ENCRYPTION_KEYS key 'k1' must decode to 32 bytes"


def test_the_service_refuses_to_start_without_encryption_keys(tmp_path: Path) -> None:
    env = {"PLATFORM_JWT_SECRET": TEST_JWT_SECRET, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "auth_service"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "TOKEN_ENCRYPTION_KEYS is required" in result.stderr
