"""Every integration folder, as each service loads its part: names agree across the parts, every
template belongs to an integration that exists, and a broken manifest stops a service at
start-up with one line naming what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auth_service.app import load_providers
from auth_service.settings import AuthSettings
from integration_manifests import ManifestError, load_integrations, packaged_root, read_manifests
from integration_service.domain.catalog import Catalog
from template_service.adapters.template_files import InvalidTemplate, load_catalog
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET

INTEGRATIONS = load_integrations({})
AUTH_SETTINGS = AuthSettings(
    platform_jwt_secret=TEST_JWT_SECRET, token_encryption_keys=TEST_ENCRYPTION_KEYS
)


def copy_of_the_integrations(root: Path) -> Path:
    for spec in INTEGRATIONS:
        folder = root / spec.name
        (folder / "templates").mkdir(parents=True)
        (folder / "manifest.toml").write_text((spec.folder / "manifest.toml").read_text())
        for template in spec.template_files():
            (folder / "templates" / template.name).write_text(template.read_text())
    return root


def test_catalog_provider_and_templates_name_the_same_integrations() -> None:
    catalog = [entry.integration for entry in Catalog.of(INTEGRATIONS)]
    providers = [p.integration for p in load_providers(AUTH_SETTINGS, INTEGRATIONS)]
    with_templates = sorted({t.integration for t in load_catalog(INTEGRATIONS).all()})
    assert catalog == providers == with_templates == ["confluence", "jira"]


def test_every_template_belongs_to_an_integration_that_exists() -> None:
    names = set(INTEGRATIONS.names())
    for template in load_catalog(INTEGRATIONS).all():
        assert template.integration in names
        assert template.template_id.startswith(f"{template.integration}.")


def test_each_service_reads_only_its_own_part() -> None:
    (manifest, _), _ = read_manifests()
    assert set(manifest.model_dump()) == {"integration", "catalog", "provider", "variables"}
    entry = Catalog.of(INTEGRATIONS).get("jira")
    assert entry is not None and entry.default_scopes[-1] == "offline_access"


def test_a_template_placed_under_another_integration_is_refused(tmp_path: Path) -> None:
    root = copy_of_the_integrations(tmp_path)
    moved = root / "confluence" / "templates" / "create_content.json"
    (root / "jira" / "templates" / "create_content.json").write_text(moved.read_text())
    with pytest.raises(InvalidTemplate, match=r"jira/templates/create_content\.json"):
        load_catalog(load_integrations({}, root))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ('display_name = "Jira"\n', ""),
            "jira/manifest.toml: catalog.display_name: Field required",
        ),
        (('auth_mode = "oauth2"', 'auth_mode = "saml"'), "jira/manifest.toml: provider: Input tag"),
        (
            (
                'default_scopes = ["read:jira-work", "write:jira-work", "offline_access"]',
                "default_scopes = []",
            ),
            "jira/manifest.toml: provider.oauth2.default_scopes: Tuple should have at least 1 item",
        ),
        (
            (
                'authorization_params = { audience = "api.atlassian.com", prompt = "consent" }',
                'authorization_params = { redirect_uri = "https://evil.example.com" }',
            ),
            "authorization_params: may not set protocol parameters ['redirect_uri']",
        ),
        (
            (
                'token_url = "${ATLASSIAN_AUTH_BASE_URL}/oauth/token"',
                'token_url = "${UNDECLARED}/oauth/token"',
            ),
            "placeholders without a declared variable: ['UNDECLARED']",
        ),
        (('integration = "jira"', 'integration = "jira2"'), "must be the folder name"),
        (("[catalog]", "[catalog"), "jira/manifest.toml: not valid TOML"),
    ],
)
def test_a_broken_manifest_is_refused_with_one_line_naming_the_field(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    root = copy_of_the_integrations(tmp_path)
    manifest = root / "jira" / "manifest.toml"
    old, new = change
    assert old in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(old, new, 1))
    with pytest.raises(ManifestError) as refused:
        load_integrations({}, root)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_system_app_half_configured_is_refused_naming_the_missing_variable() -> None:
    with pytest.raises(ManifestError, match=r"^JIRA_CLIENT_SECRET is required when JIRA_CLIENT_ID"):
        load_integrations({"JIRA_CLIENT_ID": "app"})
    with pytest.raises(ManifestError, match="ATLASSIAN_API_BASE_URL"):
        load_integrations({"ATLASSIAN_API_BASE_URL": "not a url"})


@pytest.mark.parametrize("module", ["auth_service", "integration_service", "template_service"])
def test_every_service_refuses_to_start_on_a_broken_manifest(tmp_path: Path, module: str) -> None:
    root = copy_of_the_integrations(tmp_path)
    manifest = root / "confluence" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('category = "actions"\n', ""))
    env = {
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "INTEGRATIONS_DIR": str(root),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "refusing to start: confluence/manifest.toml: catalog.category: Field required" in line


def test_the_packaged_folders_are_the_default_root() -> None:
    assert {path.name for path in packaged_root().iterdir() if path.is_dir()} >= {
        "confluence",
        "jira",
    }
