"""Finding the integration folders, validating their manifests, and filling their variables.

Each folder under the root (the packaged `integration_manifests` by default) that holds a
`manifest.toml` is one integration, named after the folder. `load_integrations` validates every
manifest, reads the variables they declare from the environment (validated like any setting:
URLs must be absolute, a system app's client id and secret come together or not at all), fills
the `${NAME}` placeholders and returns `Integrations`. Any problem raises `ManifestError` with a
one-line reason naming the file and the field, which a service prints when it refuses to start.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from pydantic import (
    BaseModel,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from yarl import URL

from integration_manifests.schema import PLACEHOLDER, Manifest, SystemApp, Variable

MANIFEST_FILE = "manifest.toml"
TEMPLATES_FOLDER = "templates"
MAX_CLIENT_FIELD = 255


class ManifestError(ValueError):
    """An integration folder that cannot be used: the service refuses to start."""


@dataclass(frozen=True)
class SystemAppCredentials:
    """The platform's own OAuth app for one integration, read from its declared variables."""

    client_id: str
    client_secret: SecretStr


@dataclass(frozen=True)
class IntegrationSpec:
    """One integration: its manifest (placeholders filled), its folder and its system app."""

    manifest: Manifest
    folder: Traversable
    system_app: SystemAppCredentials | None

    @property
    def name(self) -> str:
        return self.manifest.integration

    def template_files(self) -> list[Traversable]:
        templates = self.folder / TEMPLATES_FOLDER
        if not templates.is_dir():
            return []
        return sorted(
            (path for path in templates.iterdir() if path.name.endswith(".json")),
            key=lambda path: path.name,
        )


class Integrations:
    """Every integration, by name, in name order."""

    def __init__(self, specs: list[IntegrationSpec]) -> None:
        self._specs = {spec.name: spec for spec in sorted(specs, key=lambda s: s.name)}

    def __iter__(self) -> Iterator[IntegrationSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, name: str) -> IntegrationSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return list(self._specs)


def packaged_root() -> Traversable:
    return resources.files("integration_manifests")


def load_integrations(environ: Mapping[str, str], root: Traversable | None = None) -> Integrations:
    folders = read_manifests(root)
    values = _read_variables(folders, environ)
    return Integrations(
        [
            IntegrationSpec(
                manifest=_filled(manifest, values),
                folder=folder,
                system_app=_system_app(manifest.provider.system_app, values),
            )
            for manifest, folder in folders
        ]
    )


def load_or_refuse(
    service: str, environ: Mapping[str, str], root: Traversable | None = None
) -> Integrations:
    """`load_integrations` for a service's start-up: a problem ends the process (status 2)."""
    from platform_core.settings import refuse_to_start

    try:
        return load_integrations(environ, root)
    except ManifestError as exc:
        refuse_to_start(service, str(exc))


def read_manifests(root: Traversable | None = None) -> list[tuple[Manifest, Traversable]]:
    """Every folder's manifest, validated, with its placeholders still in place."""
    base = root if root is not None else packaged_root()
    found = []
    for folder in sorted(base.iterdir(), key=lambda path: path.name):
        if folder.is_dir() and (folder / MANIFEST_FILE).is_file():
            found.append((_parse(folder), folder))
    if not found:
        raise ManifestError(f"no {MANIFEST_FILE} in any folder of {base}")
    return found


def _parse(folder: Traversable) -> Manifest:
    where = f"{folder.name}/{MANIFEST_FILE}"
    try:
        raw = tomllib.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{where}: not valid TOML ({exc})") from None
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(f"{where}: {_one_line(exc)}") from None
    if manifest.integration != folder.name:
        raise ManifestError(
            f"{where}: integration {manifest.integration!r} must be the folder name"
        )
    return manifest


def _one_line(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


# --- variables -------------------------------------------------------------------------------


def _declared(folders: list[tuple[Manifest, Traversable]]) -> dict[str, Variable]:
    declared: dict[str, Variable] = {}
    for manifest, folder in folders:
        for name, variable in manifest.variables.items():
            if name in declared and declared[name] != variable:
                raise ManifestError(
                    f"{folder.name}/{MANIFEST_FILE}: variable {name} is declared differently "
                    "by another integration"
                )
            declared[name] = variable
    return declared


def _read_variables(
    folders: list[tuple[Manifest, Traversable]], environ: Mapping[str, str]
) -> dict[str, Any]:
    declared = _declared(folders)
    apps = [manifest.provider.system_app for manifest, _ in folders]
    model = _variables_model(declared, apps)
    given = {name: environ[name] for name in model.model_fields if environ.get(name)}
    try:
        return dict(model.model_validate(given))
    except ValidationError as exc:
        raise ManifestError(_one_line(exc)) from None


def _variables_model(declared: Mapping[str, Variable], apps: list[SystemApp]) -> type[BaseModel]:
    fields: dict[str, Any] = {name: (str, variable.default) for name, variable in declared.items()}
    for app in apps:
        fields[app.client_id_variable] = (str | None, None)
        fields[app.client_secret_variable] = (SecretStr | None, None)
    urls = [name for name, variable in declared.items() if variable.kind == "url"]

    def check_url(value: str) -> str:
        parsed = URL(value)
        if parsed.scheme not in {"http", "https"} or not parsed.host or parsed.query_string:
            raise ValueError("must be an absolute http(s) URL without a query")
        return value.rstrip("/")

    def check_client_field(value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and len(text) > MAX_CLIENT_FIELD:
            raise ValueError(f"must be at most {MAX_CLIENT_FIELD} characters")
        return value

    def pairs(model: Any) -> Any:
        for app in apps:
            has_id = getattr(model, app.client_id_variable) is not None
            has_secret = getattr(model, app.client_secret_variable) is not None
            if has_id != has_secret:
                missing, given = (
                    (app.client_secret_variable, app.client_id_variable)
                    if has_id
                    else (app.client_id_variable, app.client_secret_variable)
                )
                raise ValueError(f"{missing} is required when {given} is set")
        return model

    validators: dict[str, Any] = {"_pairs": model_validator(mode="after")(pairs)}
    if urls:
        validators["_urls"] = field_validator(*urls)(check_url)
    client_fields = [
        name for app in apps for name in (app.client_id_variable, app.client_secret_variable)
    ]
    if client_fields:
        validators["_client_fields"] = field_validator(*client_fields)(check_client_field)
    model: type[BaseModel] = create_model(
        "IntegrationVariables", __validators__=validators, **fields
    )
    return model


def _system_app(app: SystemApp, values: Mapping[str, Any]) -> SystemAppCredentials | None:
    client_id, secret = values.get(app.client_id_variable), values.get(app.client_secret_variable)
    if client_id is None or secret is None:
        return None
    return SystemAppCredentials(client_id=client_id, client_secret=secret)


def _filled(manifest: Manifest, values: Mapping[str, Any]) -> Manifest:
    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), value)
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [fill(item) for item in value]
        return value

    raw = manifest.model_dump()
    raw["provider"] = fill(raw["provider"])
    return Manifest.model_validate(raw)
