"""Every subcommand: its arguments and what it does with the client, group by group.

Groups: `apps`, `integrations`, `profiles`, `links`, `credentials`, `access-token`,
`authorizations`, `templates`, `installations`, `tasks`, `runs`, `tools`. Each leaf's handler
takes the client and the parsed arguments and returns a `Shown`; `app.run` prints it. A list
command walks every page unless `--limit` or `--cursor` asks for one page.

Key rotation is not here: it stays auth-service's own command (`python -m auth_service`).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from integrations_cli.output import (
    Shown,
    cell,
    dump,
    fields,
    page_json,
    profile_text,
    subject_text,
    table,
)
from integrations_cli.settings import UsageError
from integrations_client import IntegrationsClient, Page, Pager
from integrations_client.models import (
    REVEAL,
    AccessToken,
    App,
    AppSubject,
    CustomProfileRef,
    DialogTask,
    EntityValue,
    Installation,
    Integration,
    McpTool,
    NewProfile,
    OpenAiTool,
    PendingIntegration,
    Profile,
    ProfileChanges,
    ProfileRef,
    Run,
    SystemProfileRef,
    Template,
    UserSubject,
)

__all__ = ["Handler", "add_commands"]

ItemT = TypeVar("ItemT", bound=BaseModel)
Handler = Callable[[IntegrationsClient, argparse.Namespace], Awaitable[Shown]]
Subparsers = Any  # argparse's _SubParsersAction is private


def _leaf(
    group: Subparsers,
    name: str,
    description: str,
    handler: Handler,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name, help=description, description=description, parents=[common]
    )
    parser.set_defaults(handler=handler)
    return parser


def _group(commands: Subparsers, name: str, description: str) -> Subparsers:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=description, description=description
    )
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, help="one page of at most this many (1..200)")
    parser.add_argument("--cursor", help="the page after this cursor (one page)")


async def _listing(
    args: argparse.Namespace,
    one_page: Callable[..., Awaitable[Page[ItemT]]],
    every: Pager[ItemT],
) -> tuple[list[ItemT], str | None]:
    if args.limit is not None or args.cursor is not None:
        page = await one_page(limit=args.limit, cursor=args.cursor)
        return list(page.items), page.next_cursor
    return await every.collect(), None


def _listed(items: Sequence[BaseModel], next_cursor: str | None, text: str, *, none: str) -> Shown:
    note = f"more: --cursor {next_cursor}" if next_cursor else (none if not items else None)
    return Shown(page_json(items, next_cursor), text, note)


def _profile(value: str | None) -> ProfileRef | None:
    if value is None:
        return None
    if value == "system":
        return SystemProfileRef()
    return CustomProfileRef(profile_id=value)


def _subject(user_id: str | None) -> UserSubject | AppSubject:
    return UserSubject(user_id=user_id) if user_id else AppSubject()


# --- apps -----------------------------------------------------------------------------------


def _app_fields(app: App) -> str:
    return fields(
        [
            ("app_id", app.app_id),
            ("name", app.name),
            ("edition", app.edition),
            ("created_at", app.created_at),
            ("updated_at", app.updated_at),
        ]
    )


async def apps_put(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    app = await client.put_app(args.app_id, name=args.name, edition=args.edition)
    return Shown(dump(app), _app_fields(app))


async def apps_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    app = await client.get_app(args.app_id)
    return Shown(dump(app), _app_fields(app))


def _add_apps(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "apps", "apps and their editions (integration-service)")
    put = _leaf(group, "put", "register or update an app", apps_put, common)
    put.add_argument("app_id", metavar="APP")
    put.add_argument("--name", required=True)
    put.add_argument("--edition", required=True, choices=["developer", "enterprise", "trial"])
    get = _leaf(group, "get", "show an app", apps_get, common)
    get.add_argument("app_id", metavar="APP")


# --- integrations ---------------------------------------------------------------------------


def _integration_fields(state: Integration) -> str:
    connection = state.connection
    error = connection.last_error
    pairs: list[tuple[str, object]] = [
        ("integration", state.integration),
        ("display_name", state.display_name),
        ("state", state.state),
        ("authorization", state.authorization.type if state.authorization else None),
        ("profile", profile_text(state.authorization.profile if state.authorization else None)),
        ("connection", connection.status),
        ("pending_authorization", connection.pending_authorization_id),
        ("last_error", f"{error.code}: {error.description or ''}".rstrip(": ") if error else None),
        ("first_configured_at", state.first_configured_at),
        ("updated_at", state.updated_at),
        ("version", state.version),
    ]
    if isinstance(state, PendingIntegration):
        pairs += [
            ("authorization_id", state.authorization.authorization_id),
            ("authorization_url", state.authorization.authorization_url),
            ("expires_at", state.authorization.expires_at),
        ]
    return fields(pairs)


async def integrations_catalog(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(args, client.list_catalog_page, client.list_catalog())
    text = table(
        ["integration", "display name", "category", "authorization types", "editions"],
        [
            (e.integration, e.display_name, e.category, e.authorization_types, e.editions)
            for e in items
        ],
    )
    return _listed(items, cursor, text, none="the catalog is empty")


async def integrations_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_integrations_page, args.app_id),
        client.list_integrations(args.app_id),
    )
    text = table(
        ["integration", "state", "authorization", "profile", "connection", "version"],
        [
            (
                i.integration,
                i.state,
                i.authorization.type if i.authorization else None,
                profile_text(i.authorization.profile if i.authorization else None),
                i.connection.status,
                i.version,
            )
            for i in items
        ],
    )
    return _listed(items, cursor, text, none="no integrations")


async def integrations_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    state = await client.get_integration(args.app_id, args.integration)
    return Shown(dump(state), _integration_fields(state))


async def integrations_configure(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    state = await client.configure(
        args.app_id,
        args.integration,
        args.type,
        profile=_profile(args.profile),
        return_url=args.return_url,
    )
    note = (
        "open authorization_url in a browser to consent"
        if isinstance(state, PendingIntegration)
        else None
    )
    return Shown(dump(state), _integration_fields(state), note)


async def integrations_enable(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    state = await client.enable(args.app_id, args.integration)
    return Shown(dump(state), _integration_fields(state))


async def integrations_disable(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    state = await client.disable(args.app_id, args.integration)
    return Shown(dump(state), _integration_fields(state))


async def integrations_remove(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    await client.remove_integration(args.app_id, args.integration)
    return Shown(None, f"removed {args.integration} from {args.app_id}")


def _add_integrations(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "integrations", "the catalog and each app's integrations")
    catalog = _leaf(group, "catalog", "the integration catalog", integrations_catalog, common)
    _paging(catalog)
    listing = _leaf(group, "list", "an app's integrations", integrations_list, common)
    listing.add_argument("app_id", metavar="APP")
    _paging(listing)
    for name, description, handler in (
        ("get", "one integration of an app", integrations_get),
        ("enable", "enable a disabled integration", integrations_enable),
        ("disable", "disable an integration", integrations_disable),
        ("remove", "remove an integration: settings and credentials go", integrations_remove),
    ):
        leaf = _leaf(group, name, description, handler, common)
        leaf.add_argument("app_id", metavar="APP")
        leaf.add_argument("integration", metavar="INTEGRATION")
    configure = _leaf(
        group, "configure", "set how an integration is authorized", integrations_configure, common
    )
    configure.add_argument("app_id", metavar="APP")
    configure.add_argument("integration", metavar="INTEGRATION")
    configure.add_argument("--type", required=True, choices=["pre_authorize", "user_authorize"])
    configure.add_argument(
        "--profile", metavar="PROFILE_ID", help="a custom profile's id, or 'system' (the default)"
    )
    configure.add_argument("--return-url")


# --- profiles -------------------------------------------------------------------------------


def _profile_fields(profile: Profile) -> str:
    return fields(
        [
            ("profile_id", profile.profile_id),
            ("name", profile.name),
            ("integration", profile.integration),
            ("idp_name", profile.idp_name),
            ("client_id", profile.client_id),
            ("client_secret_set", profile.client_secret_set),
            ("authorization_url", profile.authorization_url),
            ("token_url", profile.token_url),
            ("refresh_url", profile.refresh_url),
            ("scopes", profile.scopes),
            ("callback_url", profile.callback_url),
            ("created_at", profile.created_at),
            ("updated_at", profile.updated_at),
        ]
    )


def _client_secret(args: argparse.Namespace) -> str | None:
    """From a file or the first line of stdin: never from the command line (see settings)."""
    if args.client_secret_file is not None:
        try:
            secret = Path(args.client_secret_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read the client secret file {args.client_secret_file}: "
                f"{type(exc).__name__}"
            ) from None
    elif args.client_secret_stdin:
        secret = sys.stdin.readline().strip()
    else:
        return None
    if not secret:
        raise UsageError("the client secret is empty")
    return secret


async def profiles_system(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args, client.list_system_profiles_page, client.list_system_profiles()
    )
    text = table(
        ["profile id", "integration", "idp", "available", "scopes"],
        [(p.profile_id, p.integration, p.idp_name, p.available, p.scopes) for p in items],
    )
    return _listed(items, cursor, text, none="no system profiles")


async def profiles_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_profiles_page, args.app_id),
        client.list_profiles(args.app_id),
    )
    text = table(
        ["profile id", "name", "integration", "idp", "client id", "scopes"],
        [(p.profile_id, p.name, p.integration, p.idp_name, p.client_id, p.scopes) for p in items],
    )
    return _listed(items, cursor, text, none="no custom profiles")


async def profiles_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    profile = await client.get_profile(args.app_id, args.profile_id)
    return Shown(dump(profile), _profile_fields(profile))


async def profiles_create(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    secret = _client_secret(args)
    if secret is None:
        raise UsageError("a new profile needs --client-secret-file PATH or --client-secret-stdin")
    profile = await client.create_profile(
        args.app_id,
        NewProfile(
            name=args.name,
            integration=args.integration,
            idp_name=args.idp_name,
            client_id=args.client_id,
            client_secret=secret,
            authorization_url=args.authorization_url,
            token_url=args.token_url,
            refresh_url=args.refresh_url,
            scopes=args.scope,
            callback_url=args.callback_url,
        ),
    )
    return Shown(dump(profile), _profile_fields(profile))


async def profiles_update(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    given = {
        name: getattr(args, name)
        for name in (
            "name",
            "idp_name",
            "client_id",
            "authorization_url",
            "token_url",
            "refresh_url",
            "callback_url",
        )
        if getattr(args, name) is not None
    }
    if args.scope is not None:
        given["scopes"] = args.scope
    secret = _client_secret(args)
    if secret is not None:
        given["client_secret"] = secret
    if not given:
        raise UsageError("nothing to change: give at least one field")
    profile = await client.update_profile(
        args.app_id, args.profile_id, ProfileChanges.model_validate(given)
    )
    return Shown(dump(profile), _profile_fields(profile))


async def profiles_delete(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    await client.delete_profile(args.app_id, args.profile_id)
    return Shown(None, f"deleted the profile {args.profile_id} of {args.app_id}")


def _profile_options(parser: argparse.ArgumentParser, *, new: bool) -> None:
    parser.add_argument("--name", required=new)
    if new:
        parser.add_argument("--integration", required=True)
    parser.add_argument("--idp-name", required=new)
    parser.add_argument("--client-id", required=new)
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--client-secret-file", metavar="PATH")
    secret.add_argument("--client-secret-stdin", action="store_true")
    parser.add_argument("--authorization-url", required=new)
    parser.add_argument("--token-url", required=new)
    parser.add_argument("--refresh-url")
    parser.add_argument(
        "--scope", action="append", required=new, help="a scope to ask for (repeat for more)"
    )
    parser.add_argument("--callback-url")


def _add_profiles(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "profiles", "authorization profiles (auth-service)")
    system = _leaf(group, "system", "the platform's own OAuth apps", profiles_system, common)
    _paging(system)
    listing = _leaf(group, "list", "an app's custom profiles", profiles_list, common)
    listing.add_argument("app_id", metavar="APP")
    _paging(listing)
    get = _leaf(group, "get", "one custom profile", profiles_get, common)
    get.add_argument("app_id", metavar="APP")
    get.add_argument("profile_id", metavar="PROFILE_ID")
    create = _leaf(group, "create", "create a custom profile", profiles_create, common)
    create.add_argument("app_id", metavar="APP")
    _profile_options(create, new=True)
    update = _leaf(group, "update", "change a custom profile", profiles_update, common)
    update.add_argument("app_id", metavar="APP")
    update.add_argument("profile_id", metavar="PROFILE_ID")
    _profile_options(update, new=False)
    delete = _leaf(group, "delete", "delete a custom profile", profiles_delete, common)
    delete.add_argument("app_id", metavar="APP")
    delete.add_argument("profile_id", metavar="PROFILE_ID")


# --- links, credentials, access tokens, authorizations --------------------------------------


async def links_create(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    link = await client.create_user_link(
        args.app_id, args.integration, args.user_id, return_url=args.return_url
    )
    return Shown(dump(link), fields([("link", link.link), ("expires_at", link.expires_at)]))


def _add_links(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "links", "end users' consent links (user_authorize)")
    create = _leaf(group, "create", "issue the link to send to one end user", links_create, common)
    create.add_argument("app_id", metavar="APP")
    create.add_argument("integration", metavar="INTEGRATION")
    create.add_argument("user_id", metavar="USER")
    create.add_argument("--return-url")


async def credentials_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    options = {"integration": args.integration, "user_id": args.user}
    items, cursor = await _listing(
        args,
        functools.partial(client.list_credentials_page, args.app_id, **options),
        client.list_credentials(args.app_id, **options),
    )
    text = table(
        ["credential id", "integration", "subject", "status", "site", "expires at"],
        [
            (
                c.credential_id,
                c.integration,
                subject_text(c.subject),
                c.status,
                c.resource.site_url if c.resource else None,
                c.expires_at,
            )
            for c in items
        ],
    )
    return _listed(items, cursor, text, none="no credentials")


async def credentials_delete(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    await client.delete_credential(args.app_id, args.credential_id)
    return Shown(None, f"deleted the credential {args.credential_id} of {args.app_id}")


def _add_credentials(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "credentials", "stored credentials' metadata (auth-service)")
    listing = _leaf(group, "list", "an app's credentials", credentials_list, common)
    listing.add_argument("app_id", metavar="APP")
    listing.add_argument("--integration")
    listing.add_argument("--user", metavar="USER_ID")
    _paging(listing)
    delete = _leaf(group, "delete", "erase a credential's tokens", credentials_delete, common)
    delete.add_argument("app_id", metavar="APP")
    delete.add_argument("credential_id", metavar="CREDENTIAL_ID")


async def access_token(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    token: AccessToken = await client.issue_access_token(
        args.app_id,
        args.integration,
        subject=_subject(args.user),
        min_valid_seconds=args.min_valid_seconds,
        force_refresh=args.force_refresh,
    )
    # The one command that may show a token, and only as JSON: a table is for reading, and a
    # token on a terminal ends up in scrollback and screenshots.
    data = token.model_dump(mode="json", by_alias=True, context=REVEAL)
    text = fields(
        [
            ("credential_id", token.credential_id),
            ("token_type", token.token_type),
            ("expires_at", token.expires_at),
            ("scopes", token.scopes),
            ("site", token.resource.site_url if token.resource else None),
            ("api_base_url", token.resource.api_base_url if token.resource else None),
        ]
    )
    return Shown(data, text, "the token itself is printed only with --json")


def _add_access_token(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    leaf = _leaf(
        commands,
        "access-token",
        "get a valid access token (scope tokens:issue; the token shows with --json only)",
        access_token,
        common,
    )
    leaf.add_argument("app_id", metavar="APP")
    leaf.add_argument("integration", metavar="INTEGRATION")
    leaf.add_argument("--user", metavar="USER_ID", help="an end user's token, not the app's")
    leaf.add_argument("--min-valid-seconds", type=int, default=60)
    leaf.add_argument("--force-refresh", action="store_true")


async def authorizations_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    status = await client.get_authorization(args.authorization_id)
    error = status.error
    text = fields(
        [
            ("authorization_id", status.authorization_id),
            ("app_id", status.app_id),
            ("status", status.status),
            ("credential_id", status.credential_id),
            ("error", f"{error.code}: {error.description or ''}".rstrip(": ") if error else None),
            ("expires_at", status.expires_at),
        ]
    )
    return Shown(dump(status), text)


def _add_authorizations(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "authorizations", "consents in progress (auth-service)")
    get = _leaf(group, "get", "where a consent stands", authorizations_get, common)
    get.add_argument("authorization_id", metavar="AUTHORIZATION_ID")


# --- templates, installations, dialog tasks -------------------------------------------------


def _template_text(template: Template) -> str:
    head = fields(
        [
            ("template_id", template.template_id),
            ("integration", template.integration),
            ("name", template.name),
            ("version", template.version),
            ("description", template.description),
            ("required_scopes", template.required_scopes),
        ]
    )
    inputs = table(
        ["input", "type", "required", "values", "prompt"],
        [(i.name, i.type, i.required, i.values, i.prompt) for i in template.inputs],
    )
    return f"{head}\n\n{inputs}"


async def templates_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_templates_page, integration=args.integration),
        client.list_templates(integration=args.integration),
    )
    text = table(
        ["template id", "integration", "name", "version", "required scopes"],
        [(t.template_id, t.integration, t.name, t.version, t.required_scopes) for t in items],
    )
    return _listed(items, cursor, text, none="no templates")


async def templates_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    template = await client.get_template(args.template_id)
    return Shown(dump(template), _template_text(template))


async def templates_app(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(
            client.list_app_templates_page, args.app_id, integration=args.integration
        ),
        client.list_app_templates(args.app_id, integration=args.integration),
    )
    text = table(
        ["template id", "name", "installable", "installed", "dialog task id", "missing scopes"],
        [
            (t.template_id, t.name, t.installable, t.installed, t.dialog_task_id, t.missing_scopes)
            for t in items
        ],
    )
    return _listed(items, cursor, text, none="no templates")


def _add_templates(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "templates", "action templates (template-service)")
    listing = _leaf(group, "list", "the template catalog", templates_list, common)
    listing.add_argument("--integration")
    _paging(listing)
    get = _leaf(group, "get", "one template", templates_get, common)
    get.add_argument("template_id", metavar="TEMPLATE")
    app = _leaf(group, "app", "the templates as one app sees them", templates_app, common)
    app.add_argument("app_id", metavar="APP")
    app.add_argument("--integration")
    _paging(app)


def _installation_fields(installation: Installation) -> str:
    return fields(
        [
            ("installation_id", installation.installation_id),
            ("template_id", installation.template_id),
            ("template_version", installation.template_version),
            ("dialog_task_id", installation.dialog_task_id),
            ("installed_at", installation.installed_at),
        ]
    )


async def installations_install(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    installation = await client.install(args.app_id, args.template_id)
    return Shown(dump(installation), _installation_fields(installation))


async def installations_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_installations_page, args.app_id),
        client.list_installations(args.app_id),
    )
    text = table(
        ["installation id", "template id", "version", "dialog task id", "installed at"],
        [
            (i.installation_id, i.template_id, i.template_version, i.dialog_task_id, i.installed_at)
            for i in items
        ],
    )
    return _listed(items, cursor, text, none="nothing installed")


async def installations_uninstall(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    await client.uninstall(args.app_id, args.installation_id)
    return Shown(None, f"uninstalled {args.installation_id} from {args.app_id}")


def _add_installations(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "installations", "templates installed in an app")
    install = _leaf(group, "install", "install a template", installations_install, common)
    install.add_argument("app_id", metavar="APP")
    install.add_argument("template_id", metavar="TEMPLATE")
    listing = _leaf(group, "list", "an app's installations", installations_list, common)
    listing.add_argument("app_id", metavar="APP")
    _paging(listing)
    uninstall = _leaf(
        group, "uninstall", "uninstall: its dialog task is deleted", installations_uninstall, common
    )
    uninstall.add_argument("app_id", metavar="APP")
    uninstall.add_argument("installation_id", metavar="INSTALLATION_ID")


def _task_text(task: DialogTask) -> str:
    head = fields(
        [
            ("dialog_task_id", task.dialog_task_id),
            ("app_id", task.app_id),
            ("name", task.name),
            ("template", f"{task.source.template_id} {task.source.template_version}"),
            ("status", task.status),
            ("created_at", task.created_at),
        ]
    )
    nodes = table(
        ["node", "type", "method", "url"],
        [(n.name, n.type, n.method, n.url) for n in task.nodes],
    )
    return f"{head}\n\n{nodes}"


async def tasks_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_dialog_tasks_page, args.app_id),
        client.list_dialog_tasks(args.app_id),
    )
    text = table(
        ["dialog task id", "name", "template", "status", "created at"],
        [(t.dialog_task_id, t.name, t.source.template_id, t.status, t.created_at) for t in items],
    )
    return _listed(items, cursor, text, none="no dialog tasks")


async def tasks_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    task = await client.get_dialog_task(args.app_id, args.dialog_task_id)
    return Shown(dump(task), _task_text(task))


def _add_tasks(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "tasks", "dialog tasks created by installations")
    listing = _leaf(group, "list", "an app's dialog tasks", tasks_list, common)
    listing.add_argument("app_id", metavar="APP")
    _paging(listing)
    get = _leaf(group, "get", "one dialog task and its nodes", tasks_get, common)
    get.add_argument("app_id", metavar="APP")
    get.add_argument("dialog_task_id", metavar="TASK")


# --- runs and tools -------------------------------------------------------------------------


def _entity(text: str) -> tuple[str, EntityValue]:
    """`NAME=VALUE` (a string) or `NAME:=JSON` (a number, or a JSON string)."""
    name, raw_json, value = text.partition(":=")
    if raw_json:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: not JSON after ':='") from None
        if isinstance(parsed, bool) or not isinstance(parsed, (str, int, float)):
            raise argparse.ArgumentTypeError(f"{name}: an entity is a string or a number")
        entity: EntityValue = parsed
    else:
        name, equals, entity_text = text.partition("=")
        if not equals:
            raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE or NAME:=JSON")
        entity = entity_text
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: the entity has no name")
    return name, entity


def _run_text(run: Run) -> str:
    head = fields(
        [
            ("run_id", run.run_id),
            ("dialog_task_id", run.dialog_task_id),
            ("status", run.status),
            ("started_at", run.started_at),
            ("finished_at", run.finished_at),
            ("authorization", run.authorization.link if run.authorization else None),
        ]
    )
    messages = "\n".join(f"> {cell(message)}" for message in run.messages)
    steps = table(
        ["step", "type", "status", "http", "attempts", "ms", "error"],
        [
            (
                s.node,
                s.type,
                s.status,
                s.http_status,
                s.attempts,
                s.duration_ms,
                f"{s.error.code}: {s.error.detail or s.error.description or ''}".rstrip(": ")
                if s.error
                else None,
            )
            for s in run.steps
        ],
    )
    return "\n\n".join(part for part in (head, messages, steps) if part)


async def runs_start(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    entities = dict(args.entity or [])
    run = await client.start_run(
        args.app_id,
        args.dialog_task_id,
        entities=entities,
        subject=_subject(args.user) if args.user else None,
        idempotency_key=args.idempotency_key,
    )
    note = (
        "the user must consent first: send them the authorization link"
        if run.status == "authorization_required"
        else None
    )
    return Shown(dump(run), _run_text(run), note)


async def runs_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_runs_page, args.app_id, args.dialog_task_id),
        client.list_runs(args.app_id, args.dialog_task_id),
    )
    text = table(
        ["run id", "status", "started at", "finished at", "message"],
        [
            (r.run_id, r.status, r.started_at, r.finished_at, r.messages[0] if r.messages else None)
            for r in items
        ],
    )
    return _listed(items, cursor, text, none="no runs")


async def runs_get(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    run = await client.get_run(args.app_id, args.dialog_task_id, args.run_id)
    return Shown(dump(run), _run_text(run))


def _add_runs(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "runs", "runs of dialog tasks (scope actions:run to start one)")
    start = _leaf(group, "start", "run a dialog task with its entities", runs_start, common)
    start.add_argument("app_id", metavar="APP")
    start.add_argument("dialog_task_id", metavar="TASK")
    start.add_argument(
        "--entity",
        action="append",
        type=_entity,
        metavar="NAME=VALUE",
        help="an entity (repeat); NAME:=JSON for a number",
    )
    start.add_argument("--user", metavar="USER_ID", help="run for this end user (user_authorize)")
    start.add_argument("--idempotency-key")
    listing = _leaf(group, "list", "a dialog task's runs", runs_list, common)
    listing.add_argument("app_id", metavar="APP")
    listing.add_argument("dialog_task_id", metavar="TASK")
    _paging(listing)
    get = _leaf(group, "get", "one run", runs_get, common)
    get.add_argument("app_id", metavar="APP")
    get.add_argument("dialog_task_id", metavar="TASK")
    get.add_argument("run_id", metavar="RUN_ID")


def _tool_row(tool: BaseModel) -> tuple[object, ...]:
    if isinstance(tool, McpTool):
        hints = tool.annotations
        return (
            tool.name,
            hints.read_only_hint if hints else None,
            hints.destructive_hint if hints else None,
            tool.description,
        )
    if isinstance(tool, OpenAiTool):
        return (tool.function.name, None, None, tool.function.description)
    return (getattr(tool, "name", None), None, None, getattr(tool, "description", None))


async def tools_list(client: IntegrationsClient, args: argparse.Namespace) -> Shown:
    items, cursor = await _listing(
        args,
        functools.partial(client.list_tools_page, args.app_id, format=args.format),
        client.list_tools(args.app_id, format=args.format),
    )
    text = table(["name", "read only", "destructive", "description"], map(_tool_row, items))
    return _listed(items, cursor, text, none="no tools: install a template first")


def _add_tools(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "tools", "installed dialog tasks as LLM tool definitions")
    listing = _leaf(group, "list", "an app's tools, in one vendor's shape", tools_list, common)
    listing.add_argument("app_id", metavar="APP")
    listing.add_argument("--format", choices=["mcp", "openai", "anthropic"], default="mcp")
    _paging(listing)


def add_commands(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    for add in (
        _add_apps,
        _add_integrations,
        _add_profiles,
        _add_links,
        _add_credentials,
        _add_access_token,
        _add_authorizations,
        _add_templates,
        _add_installations,
        _add_tasks,
        _add_runs,
        _add_tools,
    ):
        add(commands, common)
