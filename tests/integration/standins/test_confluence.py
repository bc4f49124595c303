"""The Atlassian stand-in serves Confluence as OAuth apps see it today: REST v2 for content and
spaces, v1 only for CQL search, and 410 Gone for the v1 content and space endpoints."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from authlib.common.security import generate_token

from devinfra.atlassian_fake import AtlassianFake
from tests.integration.standins.conftest import (
    SITES,
)

pytestmark = pytest.mark.oauth

GONE = (
    "com.atlassian.confluence.api.service.exceptions.GoneException: "
    "This deprecated endpoint has been removed."
)


def v2(atlassian: AtlassianFake, path: str, cloud_id: str = SITES[0]["id"]) -> str:
    return f"{atlassian.base_url}/ex/confluence/{cloud_id}/wiki/api/v2/{path}"


def v1(atlassian: AtlassianFake, path: str, cloud_id: str = SITES[0]["id"]) -> str:
    return f"{atlassian.base_url}/ex/confluence/{cloud_id}/wiki/rest/api/{path}"


def storage(value: str) -> dict[str, str]:
    return {"representation": "storage", "value": value}


async def space_id(
    http: aiohttp.ClientSession, atlassian: AtlassianFake, auth: dict[str, str], key: str
) -> str:
    async with http.get(v2(atlassian, "spaces"), params={"keys": key}, headers=auth) as resp:
        assert resp.status == 200
        [space] = (await resp.json())["results"]
    assert space["key"] == key
    return str(space["id"])


async def landed(
    http: aiohttp.ClientSession, atlassian: AtlassianFake, cloud_id: str = SITES[0]["id"]
) -> dict[str, Any]:
    async with http.get(f"{atlassian.base_url}/__control/content", params={"site": cloud_id}) as r:
        assert r.status == 200
        content: dict[str, Any] = await r.json()
    return content


async def test_v1_content_and_space_routes_answer_410_while_cql_search_still_answers(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    v1_page = {
        "type": "page",
        "title": "Old style",
        "space": {"key": "ENG"},
        "body": {"storage": storage("<p>v1</p>")},
    }
    calls = [
        ("POST", "content", v1_page),
        ("GET", "content", None),
        ("GET", "content/65537?expand=body.storage", None),
        ("PUT", "content/65537", v1_page),
        ("GET", "content/search?cql=type=page", None),
        ("GET", "space", None),
        ("GET", "space/ENG", None),
    ]
    for method, path, body in calls:
        async with http.request(method, v1(atlassian, path), json=body, headers=auth) as resp:
            assert resp.status == 410, (method, path)
            gone = await resp.json()
        assert gone["statusCode"] == 410
        assert gone["message"] == GONE
        assert gone["data"]["authorized"] is True

    title = f"Searchable {generate_token(8)}"
    page = {"spaceId": await space_id(http, atlassian, auth, "ENG"), "title": title}
    async with http.post(
        v2(atlassian, "pages"), json={**page, "body": storage("<p>Find me</p>")}, headers=auth
    ) as resp:
        assert resp.status == 200
        page_id = (await resp.json())["id"]
    cql = f'type=page AND space="ENG" AND title~"{title.split()[-1]}"'
    async with http.get(v1(atlassian, "search"), params={"cql": cql}, headers=auth) as resp:
        assert resp.status == 200
        found = await resp.json()
    assert found["totalSize"] == 1
    [result] = found["results"]
    assert result["content"]["id"] == page_id
    assert result["content"]["space"]["key"] == "ENG"
    assert result["title"] == title
    assert result["excerpt"] == "Find me"
    assert result["url"].startswith(f"/spaces/ENG/pages/{page_id}/")
    assert found["_links"]["base"] == "https://acme.atlassian.net/wiki"


async def test_a_page_is_created_read_and_updated_through_v2_with_the_version_rule(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    eng = await space_id(http, atlassian, auth, "ENG")
    title = f"Release notes {generate_token(6)}"
    page = {
        "spaceId": eng,
        "status": "current",
        "title": title,
        "body": storage("<p>Shipped the widget</p>"),
    }
    async with http.post(v2(atlassian, "pages"), json=page, headers=auth) as resp:
        assert resp.status == 200
        created = await resp.json()
    page_id = created["id"]
    assert page_id.isdigit()
    assert (created["status"], created["title"], created["spaceId"]) == ("current", title, eng)
    assert created["version"]["number"] == 1
    assert created["body"]["storage"]["value"] == "<p>Shipped the widget</p>"
    assert created["_links"]["base"] == "https://acme.atlassian.net/wiki"
    assert created["_links"]["webui"].startswith(f"/spaces/ENG/pages/{page_id}/Release+notes")

    async with http.post(v2(atlassian, "pages"), json=page, headers=auth) as resp:
        assert resp.status == 400  # the same title in the same space
        assert "already exists" in (await resp.json())["errors"][0]["title"]

    url = v2(atlassian, f"pages/{page_id}")
    async with http.get(url, params={"body-format": "storage"}, headers=auth) as resp:
        assert resp.status == 200
        fetched = await resp.json()
    assert fetched["body"]["storage"]["value"] == "<p>Shipped the widget</p>"
    async with http.get(url, headers=auth) as resp:
        assert (await resp.json())["body"] == {}

    update = {
        "id": page_id,
        "status": "current",
        "title": title,
        "body": storage("<p>Shipped it twice</p>"),
        "version": {"number": 2, "message": "second"},
    }
    async with http.put(url, json=update, headers=auth) as resp:
        assert resp.status == 200
        updated = await resp.json()
    assert updated["version"]["number"] == 2
    assert updated["body"]["storage"]["value"] == "<p>Shipped it twice</p>"
    for stale in (2, 4):
        async with http.put(
            url, json={**update, "version": {"number": stale}}, headers=auth
        ) as resp:
            assert resp.status == 409
            [error] = (await resp.json())["errors"]
        assert (error["status"], error["code"]) == (409, "CONFLICT")
        assert "Current Version: [2]" in error["title"]

    pages = [p for p in (await landed(http, atlassian))["pages"] if p["title"] == title]
    assert [(p["id"], p["version"], p["body"]) for p in pages] == [
        (page_id, 2, "<p>Shipped it twice</p>")
    ]
    # In-process callers (the end-to-end tests) read the same state directly.
    stored = atlassian.state.sites[SITES[0]["id"]].contents[page_id]
    assert (stored.type, stored.space_key, stored.title) == ("page", "ENG", title)


async def test_blog_posts_and_footer_comments_land_on_their_space_and_container(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    team = await space_id(http, atlassian, auth, "TEAM")
    title = f"Week {generate_token(6)}"
    post = {"spaceId": team, "status": "current", "title": title, "body": storage("<p>News</p>")}
    async with http.post(v2(atlassian, "blogposts"), json=post, headers=auth) as resp:
        assert resp.status == 200
        blog = await resp.json()
    assert blog["spaceId"] == team
    assert "/spaces/TEAM/blog/" in blog["_links"]["webui"]
    async with http.get(
        v2(atlassian, f"blogposts/{blog['id']}"), params={"body-format": "storage"}, headers=auth
    ) as resp:
        assert (await resp.json())["body"]["storage"]["value"] == "<p>News</p>"
    async with http.get(v2(atlassian, f"pages/{blog['id']}"), headers=auth) as resp:
        assert resp.status == 404  # a blog post is not a page

    async with http.post(
        v2(atlassian, "pages"),
        json={"spaceId": team, "title": f"Host {title}", "body": storage("<p>x</p>")},
        headers=auth,
    ) as resp:
        page_id = (await resp.json())["id"]
    comments = [
        {"pageId": page_id, "body": storage("<p>Nice page</p>")},
        {"blogPostId": blog["id"], "body": {"storage": storage("<p>Nice post</p>")}},
    ]
    created = []
    for comment in comments:
        async with http.post(v2(atlassian, "footer-comments"), json=comment, headers=auth) as r:
            assert r.status == 201
            body = await r.json()
            assert r.headers["Location"].endswith(f"/wiki/api/v2/footer-comments/{body['id']}")
        created.append(body)
    assert created[0]["pageId"] == page_id
    assert created[1]["blogPostId"] == blog["id"]
    assert created[0]["version"]["number"] == 1
    assert created[0]["_links"]["webui"].endswith(f"?focusedCommentId={created[0]['id']}")
    assert created[0]["_links"]["base"] == "https://acme.atlassian.net/wiki"
    async with http.get(
        v2(atlassian, f"footer-comments/{created[1]['id']}"),
        params={"body-format": "storage"},
        headers=auth,
    ) as resp:
        fetched = await resp.json()
    assert (fetched["blogPostId"], fetched["body"]["storage"]["value"]) == (
        blog["id"],
        "<p>Nice post</p>",
    )

    content = await landed(http, atlassian)
    assert [b["id"] for b in content["blogposts"] if b["title"] == title] == [blog["id"]]
    mine = [c for c in content["comments"] if c["id"] in {c["id"] for c in created}]
    assert [(c["containerId"], c["body"]) for c in mine] == [
        (page_id, "<p>Nice page</p>"),
        (blog["id"], "<p>Nice post</p>"),
    ]


async def test_spaces_are_found_by_key_and_paged_with_a_cursor(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    url = v2(atlassian, "spaces")
    async with http.get(url, params={"keys": "ENG,TEAM", "unknown": "x"}, headers=auth) as resp:
        listed = await resp.json()
    assert [(s["key"], s["type"]) for s in listed["results"]] == [
        ("ENG", "global"),
        ("TEAM", "global"),
    ]
    assert all(isinstance(s["id"], str) and s["id"].isdigit() for s in listed["results"])
    assert listed["results"][0]["_links"]["webui"] == "/spaces/ENG"
    assert "next" not in listed["_links"]
    async with http.get(url, params={"keys": "NOPE"}, headers=auth) as resp:
        assert (await resp.json())["results"] == []

    async with http.get(url, params={"limit": "1"}, headers=auth) as resp:
        first = await resp.json()
        link = resp.headers["Link"]
    assert [s["key"] for s in first["results"]] == ["ENG"]
    next_path = first["_links"]["next"]
    assert next_path.startswith("/wiki/api/v2/spaces?") and "cursor=" in next_path
    assert link.startswith(f'<{next_path}>; rel="next"')
    follow = f"{atlassian.base_url}/ex/confluence/{SITES[0]['id']}{next_path}"
    async with http.get(follow, headers=auth) as resp:
        second = await resp.json()
        assert "Link" not in resp.headers
    assert [s["key"] for s in second["results"]] == ["TEAM"]
    assert "next" not in second["_links"]

    eng = first["results"][0]["id"]
    async with http.get(v2(atlassian, f"spaces/{eng}"), headers=auth) as resp:
        space = await resp.json()
    assert (space["key"], space["_links"]["base"]) == ("ENG", "https://acme.atlassian.net/wiki")
    async with http.get(v2(atlassian, "spaces/424242"), headers=auth) as resp:
        assert resp.status == 404
        assert (await resp.json())["errors"][0]["code"] == "NOT_FOUND"


async def test_v2_refuses_malformed_requests_with_atlassian_shaped_400s(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    eng = await space_id(http, atlassian, auth, "ENG")
    good = {"spaceId": eng, "status": "current", "title": "Fine", "body": storage("<p>x</p>")}
    async with http.post(v2(atlassian, "pages"), json=good, headers=auth) as resp:
        page_id = (await resp.json())["id"]
    before = await landed(http, atlassian)
    update = {**good, "id": page_id, "version": {"number": 2}}
    bad: list[tuple[str, str, Any]] = [
        ("POST", "pages", {key: v for key, v in good.items() if key != "spaceId"}),
        ("POST", "pages", {**good, "spaceId": int(eng)}),
        ("POST", "pages", {**good, "spaceId": "ENG"}),
        ("POST", "pages", {**good, "status": "published"}),
        ("POST", "pages", {**good, "title": ""}),
        ("POST", "pages", {**good, "title": 42}),
        ("POST", "pages", {**good, "body": storage("<p>x</p>") | {"representation": "html"}}),
        ("POST", "pages", {**good, "body": {"representation": "storage", "value": 7}}),
        ("POST", "pages", {**good, "body": "<p>x</p>"}),
        ("POST", "pages", ["not", "an", "object"]),
        ("POST", "blogposts", {**good, "spaceId": None}),
        ("GET", "pages/not-a-number", None),
        ("GET", f"pages/{page_id}?body-format=html", None),
        ("PUT", f"pages/{page_id}", {k: v for k, v in update.items() if k != "version"}),
        ("PUT", f"pages/{page_id}", {**update, "version": {"number": "2"}}),
        ("PUT", f"pages/{page_id}", {**update, "id": "1"}),
        ("PUT", f"pages/{page_id}", {k: v for k, v in update.items() if k != "body"}),
        ("POST", "footer-comments", {"body": storage("<p>orphan</p>")}),
        ("POST", "footer-comments", {"pageId": page_id, "blogPostId": page_id, "body": {}}),
        ("POST", "footer-comments", {"pageId": int(page_id), "body": storage("<p>x</p>")}),
        ("POST", "footer-comments", {"pageId": page_id}),
        ("GET", "spaces?limit=0", None),
        ("GET", "spaces?ids=ENG", None),
    ]
    for method, path, body in bad:
        async with http.request(method, v2(atlassian, path), json=body, headers=auth) as resp:
            assert resp.status == 400, (method, path, body, await resp.text())
            [error] = (await resp.json())["errors"]
        assert error["status"] == 400
        assert error["code"] == "INVALID_REQUEST_PARAMETER"
        assert error["title"]
    async with http.post(
        v2(atlassian, "pages"),
        data="{not json",
        headers={**auth, "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400

    async with http.post(
        v2(atlassian, "pages"), json={**good, "spaceId": "424242"}, headers=auth
    ) as resp:
        assert resp.status == 404  # the v2 document: "The space does not exist"
        assert "424242" in (await resp.json())["errors"][0]["title"]
    async with http.post(
        v2(atlassian, "footer-comments"),
        json={"pageId": "424242", "body": storage("<p>x</p>")},
        headers=auth,
    ) as resp:
        assert resp.status == 404

    assert await landed(http, atlassian) == before


async def test_content_is_kept_per_site_and_an_unknown_cloud_id_is_a_gateway_404(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    eng = await space_id(http, atlassian, auth, "ENG")
    page = {"spaceId": eng, "title": f"Local {generate_token(6)}", "body": storage("<p>x</p>")}
    async with http.post(v2(atlassian, "pages"), json=page, headers=auth) as resp:
        page_id = (await resp.json())["id"]
    async with http.get(
        v2(atlassian, f"pages/{page_id}", cloud_id=SITES[1]["id"]), headers=auth
    ) as resp:
        assert resp.status == 404
        assert "Cannot find a page" in (await resp.json())["errors"][0]["title"]
    assert page_id not in [
        p["id"] for p in (await landed(http, atlassian, SITES[1]["id"]))["pages"]
    ]

    async with http.get(v2(atlassian, "spaces", cloud_id="no-such-site"), headers=auth) as resp:
        assert resp.status == 404
        routing = await resp.json()
    assert routing["message"] == "No message available"
    assert routing["path"] == "/ex/confluence/no-such-site/wiki/api/v2/spaces"
