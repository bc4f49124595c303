"""Confluence Cloud REST API v2 (`/wiki/api/v2`): pages, blog posts, footer comments, spaces.

Shapes follow the official v2 document, trimmed to the documented fields a client reads
(`_links.webui`, `_links.base`, `version.number`, `body.storage.value`, ...). Requests are
checked as Confluence checks them: required fields, JSON types, enums and numeric ids answer
400 `INVALID_REQUEST_PARAMETER`; a space, page or blog post that does not exist answers 404; an
update whose `version.number` is not the current one plus one answers 409. Unknown query
parameters and body fields are ignored. Lists page with a cursor, given in the `Link` header
and in `_links.next`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from devinfra.atlassian import errors
from devinfra.atlassian.confluence_v1 import webui
from devinfra.atlassian.gateway import caller_of, site_of
from devinfra.atlassian.state import SEED_ACCOUNT, Content, Site, Space, now_iso

STATUSES = ("current", "draft")
REPRESENTATIONS = ("storage", "atlas_doc_format", "wiki")
BODY_FORMATS = (
    "storage",
    "atlas_doc_format",
    "view",
    "export_view",
    "anonymous_export_view",
    "styled_view",
    "editor",
)
KINDS = {"page": "page", "blogpost": "blog post", "comment": "comment"}


# --- request checks -----------------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.v2_bad_request("The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise errors.v2_bad_request("The request body must be a JSON object")
    return body


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise errors.v2_bad_request(f"The '{name}' field is required")
        return None
    if not isinstance(value, str):
        raise errors.v2_wrong_type(name, value, "String")
    return value


def _numeric_id(value: str, name: str, expected: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise errors.v2_wrong_type(name, value, expected)
    return value


def _path_id(request: web.Request) -> str:
    return _numeric_id(request.match_info["id"], "id", "ContentId")


def _status(body: dict[str, Any], *, required: bool = False) -> str:
    status = _string(body, "status", required=required) or "current"
    if status not in STATUSES:
        raise errors.v2_bad_request(
            f"Provided value {{{status}}} for 'status' is not valid. Valid values are "
            f"{list(STATUSES)}"
        )
    return status


def _body(body: dict[str, Any], *, required: bool = False) -> tuple[str, str] | None:
    """(representation, value) of a `PageBodyWrite` or `PageNestedBodyWrite` body."""
    raw = body.get("body")
    if raw is None:
        if required:
            raise errors.v2_bad_request("The 'body' field is required")
        return None
    if not isinstance(raw, dict):
        raise errors.v2_wrong_type("body", raw, "BodyWrite")
    if "representation" not in raw and "value" not in raw:
        nested = [kind for kind in REPRESENTATIONS if kind in raw]
        if len(nested) != 1:
            raise errors.v2_bad_request(
                "body must be {representation, value} or carry exactly one of "
                "storage, atlas_doc_format, wiki"
            )
        raw = raw[nested[0]]
        if not isinstance(raw, dict):
            raise errors.v2_wrong_type(f"body.{nested[0]}", raw, "BodyWrite")
    representation, value = raw.get("representation"), raw.get("value")
    if representation not in REPRESENTATIONS:
        raise errors.v2_bad_request(
            f"Provided value {{{representation}}} for 'representation' is not valid. "
            f"Valid values are {list(REPRESENTATIONS)}"
        )
    if not isinstance(value, str):
        raise errors.v2_wrong_type("body.value", value, "String")
    return str(representation), value


def _title(body: dict[str, Any], status: str, *, required: bool = False) -> str:
    title = _string(body, "title", required=required)
    if status == "current" and not (title or "").strip():
        raise errors.v2_bad_request("A title is required for content that is not a draft")
    return title or ""


def _space(site: Site, body: dict[str, Any]) -> Space:
    space_id = _numeric_id(_string(body, "spaceId", required=True) or "", "spaceId", "SpaceId")
    space = site.space_by_id(space_id)
    if space is None:
        raise errors.v2_not_found(f"Cannot find a space with id [{space_id}]")
    return space


def _check_unique_title(
    site: Site, kind: str, space_key: str, title: str, status: str, own_id: str | None = None
) -> None:
    if status != "current":
        return
    for other in site.contents.values():
        if (
            other.id != own_id
            and other.type == kind
            and other.status == "current"
            and other.space_key == space_key
            and other.title == title
        ):
            raise errors.v2_bad_request(
                f"A {KINDS[kind]} with this title already exists: A {KINDS[kind]} already "
                f"exists with the title {title} in the space with key {space_key}"
            )


def _find(site: Site, kind: str, content_id: str) -> Content:
    content = site.contents.get(content_id)
    if content is None or content.type != kind:
        raise errors.v2_not_found(f"Cannot find a {KINDS[kind]} with id [{content_id}]")
    return content


def _body_format(request: web.Request) -> str | None:
    wanted = request.query.get("body-format")
    if wanted is not None and wanted not in BODY_FORMATS:
        raise errors.v2_bad_request(
            f"Provided value {{{wanted}}} for 'body-format' is not valid. Valid values are "
            f"{list(BODY_FORMATS)}"
        )
    return wanted


# --- shapes -------------------------------------------------------------------------------


def _version(content: Content) -> dict[str, Any]:
    return {
        "createdAt": content.updated or content.created,
        "message": "",
        "number": content.version,
        "minorEdit": False,
        "authorId": content.updated_by or content.author,
    }


def _bodies(content: Content, body_format: str | None) -> dict[str, Any]:
    # The stand-in stores what it was sent and converts nothing: the asked-for format gets it.
    kind = body_format or content.representation
    return {kind: {"representation": kind, "value": content.body}}


def content_json(
    site: Site, content: Content, body_format: str | None, *, with_version: bool = True
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": content.id,
        "status": content.status,
        "title": content.title,
    }
    if content.type == "comment":
        container = site.contents[content.container_id or ""]
        result["pageId" if container.type == "page" else "blogPostId"] = container.id
        if content.parent_comment_id:
            result["parentCommentId"] = content.parent_comment_id
    else:
        result["spaceId"] = site.spaces[content.space_key].id
    if content.type == "page":
        result["parentId"] = content.parent_id
        result["parentType"] = "page" if content.parent_id else None
        result["position"] = None
    result["authorId"] = content.author
    if content.type == "page":
        result["ownerId"] = content.author
        result["lastOwnerId"] = None
    result["createdAt"] = content.created
    if with_version:
        result["version"] = _version(content)
    result["body"] = _bodies(content, body_format) if body_format else {}
    links: dict[str, str] = {"webui": webui(site, content)}
    if content.type != "comment":
        links["editui"] = f"/pages/resumedraft.action?draftId={content.id}"
        links["tinyui"] = f"/x/{content.id}"
    links["base"] = site.wiki
    result["_links"] = links
    return result


def _space_json(site: Site, space: Space, *, single: bool = False) -> dict[str, Any]:
    links = {"webui": f"/spaces/{space.key}"}
    if single:
        links["base"] = site.wiki
    return {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": "global",
        "status": "current",
        "authorId": SEED_ACCOUNT,
        "createdAt": space.created,
        "description": None,
        "icon": None,
        "_links": links,
    }


# --- pages and blog posts -----------------------------------------------------------------


async def _create(request: web.Request, kind: str) -> web.Response:
    site = site_of(request)
    body = await _json_object(request)
    space = _space(site, body)
    status = _status(body)
    title = _title(body, status)
    written = _body(body)
    parent_id = _string(body, "parentId") if kind == "page" else None
    if parent_id is not None:
        parent = _find(site, "page", _numeric_id(parent_id, "parentId", "ContentId"))
        if parent.space_key != space.key:
            raise errors.v2_bad_request("The parent page must be in the same space")
    _check_unique_title(site, kind, space.key, title, status)
    representation, value = written or ("storage", "")
    content = Content(
        id=site.next_id(),
        type=kind,
        title=title,
        space_key=space.key,
        body=value,
        representation=representation,
        author=caller_of(request).account_id,
        created=now_iso(),
        status=status,
        parent_id=parent_id,
    )
    site.contents[content.id] = content
    return web.json_response(content_json(site, content, representation))


async def create_page(request: web.Request) -> web.Response:
    return await _create(request, "page")


async def create_blog_post(request: web.Request) -> web.Response:
    return await _create(request, "blogpost")


async def _get(request: web.Request, kind: str) -> web.Response:
    site = site_of(request)
    content = _find(site, kind, _path_id(request))
    body_format = _body_format(request)
    with_version = request.query.get("include-version", "true").lower() != "false"
    return web.json_response(content_json(site, content, body_format, with_version=with_version))


async def get_page(request: web.Request) -> web.Response:
    return await _get(request, "page")


async def get_blog_post(request: web.Request) -> web.Response:
    return await _get(request, "blogpost")


async def get_footer_comment(request: web.Request) -> web.Response:
    return await _get(request, "comment")


async def update_page(request: web.Request) -> web.Response:
    site = site_of(request)
    page_id = _path_id(request)
    body = await _json_object(request)
    page = _find(site, "page", page_id)
    if _string(body, "id", required=True) != page_id:
        raise errors.v2_bad_request("The id in the request body must match the id in the path")
    status = _status(body, required=True)
    title = _title(body, status, required=True)
    written = _body(body, required=True)
    space_id = _string(body, "spaceId")
    if space_id is not None and space_id != site.spaces[page.space_key].id:
        raise errors.v2_bad_request("Moving a page to another space is not supported")
    version = body.get("version")
    number = version.get("number") if isinstance(version, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise errors.v2_bad_request("The 'version.number' field is required and is an integer")
    if number != page.version + 1:
        raise errors.v2(
            409,
            "CONFLICT",
            "Version must be incremented when updating a page. "
            f"Current Version: [{page.version}]. Provided version: [{number}]",
        )
    _check_unique_title(site, "page", page.space_key, title, status, own_id=page.id)
    assert written is not None
    page.representation, page.body = written
    page.title, page.status, page.version = title, status, number
    page.updated, page.updated_by = now_iso(), caller_of(request).account_id
    return web.json_response(content_json(site, page, page.representation))


# --- footer comments ----------------------------------------------------------------------


def _comment_container(site: Site, body: dict[str, Any]) -> tuple[Content, str | None]:
    """The page or blog post the comment goes on, and the comment it replies to."""
    given = {
        name: _string(body, name)
        for name in ("pageId", "blogPostId", "parentCommentId", "attachmentId", "customContentId")
    }
    present = [name for name, value in given.items() if value is not None]
    if len(present) != 1:
        raise errors.v2_bad_request(
            "Exactly one of pageId, blogPostId, parentCommentId, attachmentId or "
            "customContentId is required"
        )
    name = present[0]
    target = _numeric_id(given[name] or "", name, "ContentId")
    if name == "pageId":
        return _find(site, "page", target), None
    if name == "blogPostId":
        return _find(site, "blogpost", target), None
    if name == "parentCommentId":
        parent = _find(site, "comment", target)
        return site.contents[parent.container_id or ""], parent.id
    raise errors.v2_not_found(f"Cannot find content with id [{target}]")


async def create_footer_comment(request: web.Request) -> web.Response:
    site = site_of(request)
    body = await _json_object(request)
    container, parent_comment_id = _comment_container(site, body)
    written = _body(body, required=True)
    assert written is not None
    representation, value = written
    if not value.strip():
        raise errors.v2_bad_request("A comment body cannot be empty")
    comment = Content(
        id=site.next_id(),
        type="comment",
        title=f"Re: {container.title}",
        space_key=container.space_key,
        body=value,
        representation=representation,
        author=caller_of(request).account_id,
        created=now_iso(),
        container_id=container.id,
        parent_comment_id=parent_comment_id,
    )
    site.contents[comment.id] = comment
    location = f"{request.scheme}://{request.host}{request.path}/{comment.id}"
    return web.json_response(
        content_json(site, comment, representation), status=201, headers={"Location": location}
    )


# --- spaces -------------------------------------------------------------------------------


def _listed(request: web.Request, name: str) -> list[str]:
    """An array query parameter, repeated or comma-separated."""
    return [part for value in request.query.getall(name, []) for part in value.split(",") if part]


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "25")
    try:
        limit = int(raw)
    except ValueError as exc:
        raise errors.v2_wrong_type("limit", raw, "Integer") from exc
    if not 1 <= limit <= 250:
        raise errors.v2_bad_request(f"Provided value {{{raw}}} for 'limit' must be 1 to 250")
    return limit


def _offset(request: web.Request) -> int:
    cursor = request.query.get("cursor")
    if cursor is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except (ValueError, binascii.Error) as exc:
        raise errors.v2_bad_request(f"Provided value {{{cursor}}} for 'cursor' is invalid") from exc


def _paged(request: web.Request, site: Site, results: list[dict[str, Any]]) -> web.Response:
    """One page of `results`, with the next page's cursor in `Link` and `_links.next`."""
    limit, offset = _limit(request), _offset(request)
    page = results[offset : offset + limit]
    links: dict[str, str] = {"base": site.wiki}
    headers: dict[str, str] = {}
    if offset + limit < len(results):
        cursor = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode()
        query = [(k, v) for k, v in request.query.items() if k not in ("cursor", "limit")]
        query += [("limit", str(limit)), ("cursor", cursor)]
        links["next"] = f"/wiki{request.path.split('/wiki', 1)[1]}?{urlencode(query)}"
        headers["Link"] = f'<{links["next"]}>; rel="next", <{site.wiki}>; rel="base"'
    return web.json_response({"results": page, "_links": links}, headers=headers)


def _matching_spaces(request: web.Request, spaces: Iterable[Space]) -> list[Space]:
    keys = set(_listed(request, "keys"))
    ids = {_numeric_id(value, "ids", "Long") for value in _listed(request, "ids")}
    kind = request.query.get("type")
    if kind is not None and kind not in ("global", "collaboration", "knowledge_base", "personal"):
        raise errors.v2_bad_request(f"Provided value {{{kind}}} for 'type' is not valid")
    status = request.query.get("status")
    if status is not None and status not in ("current", "archived"):
        raise errors.v2_bad_request(f"Provided value {{{status}}} for 'status' is not valid")
    return [
        space
        for space in spaces
        if (not keys or space.key in keys)
        and (not ids or space.id in ids)
        and kind in (None, "global")
        and status in (None, "current")
    ]


async def get_spaces(request: web.Request) -> web.Response:
    site = site_of(request)
    spaces = _matching_spaces(request, site.spaces.values())
    return _paged(request, site, [_space_json(site, space) for space in spaces])


async def get_space(request: web.Request) -> web.Response:
    site = site_of(request)
    space_id = _numeric_id(request.match_info["id"], "id", "Long")
    space = site.space_by_id(space_id)
    if space is None:
        raise errors.v2_not_found(f"Cannot find a space with id [{space_id}]")
    return web.json_response(_space_json(site, space, single=True))
