"""Start-up validation: settings, and each integration's provider (from its manifest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from auth_service.app import load_providers
from auth_service.domain.providers import ProviderRefusedAtStartUp
from auth_service.settings import AuthSettings
from integration_manifests import Integrations, load_integrations, packaged_root
from platform_core.settings import describe_error
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET


def settings(**values: Any) -> AuthSettings:
    defaults: dict[str, Any] = {
        "platform_jwt_secret": TEST_JWT_SECRET,
        "token_encryption_keys": TEST_ENCRYPTION_KEYS,
    }
    return AuthSettings(**{**defaults, **values})


def test_the_shipped_confluence_provider_follows_atlassian() -> None:
    confluence = load_providers(settings(), load_integrations({})).get("confluence")
    oauth = confluence.oauth
    assert oauth.authorization_url == "https://auth.atlassian.com/authorize"
    assert oauth.token_url == "https://auth.atlassian.com/oauth/token"
    assert oauth.authorization_params == {"audience": "api.atlassian.com", "prompt": "consent"}
    assert "offline_access" in oauth.default_scopes
    assert oauth.pkce is True
    assert oauth.token_endpoint_auth_method == "client_secret_post"
    assert oauth.post_connection == "atlassian_accessible_resources"
    assert oauth.api_base_url == "https://api.atlassian.com"
    assert confluence.site_api_base_for("abc") == "https://api.atlassian.com/ex/confluence/abc"
    assert confluence.system_app is None


def test_jira_is_a_second_folder_of_data_on_the_same_consent() -> None:
    jira = load_providers(settings(), load_integrations({})).get("jira")
    assert jira.site_api_base_for("c") == "https://api.atlassian.com/ex/jira/c"
    assert jira.oauth.default_scopes == ("read:jira-work", "write:jira-work", "offline_access")
    assert jira.oauth.authorization_params == {"audience": "api.atlassian.com", "prompt": "consent"}


def test_the_system_app_comes_from_the_variables_its_manifest_declares() -> None:
    integrations = load_integrations(
        {"CONFLUENCE_CLIENT_ID": "the-app", "CONFLUENCE_CLIENT_SECRET": "its-secret"}
    )
    providers = load_providers(settings(), integrations)
    app = providers.get("confluence").system_app
    assert app is not None and app.client_id == "the-app"
    assert "its-secret" not in repr(app)
    assert providers.get("jira").system_app is None


def test_loopback_http_provider_urls_need_the_insecure_flag() -> None:
    local = load_integrations({"ATLASSIAN_AUTH_BASE_URL": "http://127.0.0.1:9000"})
    with pytest.raises(ProviderRefusedAtStartUp, match=r"authorization_url.*must use https"):
        load_providers(settings(), local)
    providers = load_providers(settings(allow_insecure_provider_urls=True), local)
    assert providers.get("confluence").oauth.token_url == "http://127.0.0.1:9000/oauth/token"


def test_a_keepalive_longer_than_a_refresh_token_lives_is_refused() -> None:
    with pytest.raises(ProviderRefusedAtStartUp, match="REFRESH_KEEPALIVE_DAYS"):
        load_providers(
            settings(refresh_keepalive_days=80),
            replace_in_confluence("idle_lifetime_days = 90", "idle_lifetime_days = 60"),
        )


def replace_in_confluence(old: str, new: str) -> Integrations:
    import tempfile

    root = Path(tempfile.mkdtemp())
    for name in ("confluence", "jira"):
        (root / name).mkdir()
        manifest = (packaged_root() / name / "manifest.toml").read_text()
        (root / name / "manifest.toml").write_text(
            manifest.replace(old, new) if name == "confluence" else manifest
        )
    return load_integrations({}, root)


def test_settings_defaults_follow_the_agreements() -> None:
    values = settings()
    assert values.port == 8081
    assert values.callback_url == "http://127.0.0.1:8081/oauth/callback"
    assert values.admin_link_ttl_seconds == 900 and values.user_link_ttl_seconds == 3600
    assert values.state_ttl_seconds == 600 and values.refresh_keepalive_days == 30
    assert values.lease_seconds > values.refresh_timeout_seconds
    rules = settings(return_url_allowlist="https://a/, https://b:8443/x/").return_url_rules
    assert [(r.scheme, r.host, r.port, r.path) for r in rules] == [
        ("https", "a", 443, ""),
        ("https", "b", 8443, "/x"),
    ]


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
