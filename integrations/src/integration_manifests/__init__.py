"""Every integration as data, one folder each (`confluence/`, `jira/`, ...).

A folder holds `manifest.toml` (its catalog entry, its provider, the variables it reads) and
`templates/*.json`. Each service loads only the part it owns: integration-service the catalog,
auth-service the provider, template-service the templates. See docs/adding-an-integration.md.
"""

from integration_manifests.loader import (
    Integrations,
    IntegrationSpec,
    ManifestError,
    SystemAppCredentials,
    load_integrations,
    load_or_refuse,
    packaged_root,
    read_manifests,
)
from integration_manifests.schema import Edition, Manifest, OAuth2Provider

__all__ = [
    "Edition",
    "IntegrationSpec",
    "Integrations",
    "Manifest",
    "ManifestError",
    "OAuth2Provider",
    "SystemAppCredentials",
    "load_integrations",
    "load_or_refuse",
    "packaged_root",
    "read_manifests",
]
