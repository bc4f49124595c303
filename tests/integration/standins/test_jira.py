"""The Atlassian stand-in serves Jira Cloud REST v3 as Jira does: issues with descriptions and
comments in Atlassian Document Format, JQL search through `/search/jql` (ids only unless
`fields` asks for more) and 410 for the removed `/search`."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from authlib.common.security import generate_token

from devinfra.atlassian_fake import AtlassianFake
from tests.integration.standins.conftest import (
    SITES,
)

pytestmark = pytest.mark.oauth

CLOUD_ID = SITES[0]["id"]
ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def jira(atlassian: AtlassianFake, path: str) -> str:
    return f"{atlassian.base_url}/ex/jira/{CLOUD_ID}/rest/api/{path}"


def adf(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


def issue_fields(summary: str, **extra: Any) -> dict[str, Any]:
    return {
        "fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": summary}
        | extra
    }


async def create(
    http: aiohttp.ClientSession, atlassian: AtlassianFake, auth: dict[str, str], body: Any
) -> dict[str, Any]:
    async with http.post(jira(atlassian, "3/issue"), json=body, headers=auth) as resp:
        assert resp.status == 201, await resp.text()
        created: dict[str, Any] = await resp.json()
    return created


async def test_an_issue_is_created_with_an_adf_description_and_read_back(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    summary = f"Widget broke {generate_token(6)}"
    description = adf("It broke on Tuesday.")
    created = await create(
        http,
        atlassian,
        auth,
        issue_fields(summary, description=description, issuetype={"name": "Bug"}),
    )
    assert set(created) == {"id", "key", "self"}
    assert re.fullmatch(r"ENG-\d+", created["key"])
    assert created["self"] == jira(atlassian, f"3/issue/{created['id']}")

    for ref in (created["key"], created["id"]):
        async with http.get(jira(atlassian, f"3/issue/{ref}"), headers=auth) as resp:
            assert resp.status == 200
            issue = await resp.json()
        assert (issue["id"], issue["key"]) == (created["id"], created["key"])
        assert issue["fields"]["summary"] == summary
        assert issue["fields"]["description"] == description
        assert issue["fields"]["issuetype"]["name"] == "Bug"
        assert issue["fields"]["project"]["key"] == "ENG"
        assert issue["fields"]["status"]["name"] == "To Do"

    by_id = await create(
        http,
        atlassian,
        auth,
        {
            "fields": {
                "project": {"id": issue["fields"]["project"]["id"]},
                "issuetype": {"id": issue["fields"]["issuetype"]["id"]},
                "summary": f"By ids {summary}",
            }
        },
    )
    assert by_id["key"] != created["key"]

    async with http.get(f"{atlassian.base_url}/__control/content", params={"site": CLOUD_ID}) as r:
        issues = {i["key"]: i for i in (await r.json())["issues"]}
    assert issues[created["key"]]["webui"] == f"https://acme.atlassian.net/browse/{created['key']}"
    assert issues[by_id["key"]]["issuetype"] == "Bug"


async def test_jql_search_returns_ids_only_without_fields_and_the_fields_asked_for(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    marker = generate_token(8).lower()
    ids = []
    for number in range(3):
        body = issue_fields(f"Search {marker} {number}", description=adf(f"needle{number}"))
        ids.append((await create(http, atlassian, auth, body))["id"])
    url = jira(atlassian, "3/search/jql")
    jql = f'project = ENG AND summary ~ "{marker}" ORDER BY created DESC'

    async with http.get(url, params={"jql": jql}, headers=auth) as resp:
        assert resp.status == 200
        found = await resp.json()
    assert found == {"issues": [{"id": i} for i in reversed(ids)], "isLast": True}

    params = {"jql": jql, "fields": "summary,status", "maxResults": "2"}
    async with http.get(url, params=params, headers=auth) as resp:
        first = await resp.json()
    assert first["isLast"] is False
    assert [set(i["fields"]) for i in first["issues"]] == [{"summary", "status"}] * 2
    assert first["issues"][0]["fields"]["summary"] == f"Search {marker} 2"
    assert first["issues"][0]["key"].startswith("ENG-")
    params["nextPageToken"] = first["nextPageToken"]
    async with http.get(url, params=params, headers=auth) as resp:
        second = await resp.json()
    assert second["isLast"] is True
    assert "nextPageToken" not in second
    assert [i["id"] for i in second["issues"]] == [ids[0]]

    async with http.get(url, params={"jql": 'text ~ "needle1"'}, headers=auth) as resp:
        assert (await resp.json())["issues"] == [{"id": ids[1]}]
    body = {
        "jql": f'summary ~ "{marker}" AND issuetype = Task',
        "fields": ["summary"],
        "maxResults": 1,
    }
    async with http.post(url, json=body, headers=auth) as resp:
        assert resp.status == 200
        posted = await resp.json()
    assert [i["fields"] for i in posted["issues"]] == [{"summary": f"Search {marker} 2"}]


async def test_a_comment_in_adf_lands_on_its_issue(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    created = await create(http, atlassian, auth, issue_fields("Needs a comment"))
    url = jira(atlassian, f"3/issue/{created['key']}/comment")
    async with http.post(url, json={"body": adf("Looking into it.")}, headers=auth) as resp:
        assert resp.status == 201
        comment = await resp.json()
    assert comment["body"] == adf("Looking into it.")
    assert comment["self"].endswith(f"/issue/{created['id']}/comment/{comment['id']}")
    assert comment["author"]["accountId"] == "user-1"

    issue_url = jira(atlassian, f"3/issue/{created['id']}")
    async with http.get(issue_url, params={"fields": "comment"}, headers=auth) as resp:
        fields = (await resp.json())["fields"]
    assert [c["id"] for c in fields["comment"]["comments"]] == [comment["id"]]
    assert set(fields) == {"comment"}


async def test_jira_refuses_malformed_issues_comments_and_queries_as_jira_does(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    bad_issues: list[tuple[Any, dict[str, str]]] = [
        (
            {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}}},
            {"summary": "You must specify a summary of the issue."},
        ),
        (
            issue_fields("x", project={"key": "NOPE"}),
            {"project": "Specify a valid project ID or key"},
        ),
        (
            issue_fields("x", issuetype={"name": "Epic"}),
            {"issuetype": "Specify a valid issue type"},
        ),
        (issue_fields("x", issuetype=None), {"issuetype": "Specify an issue type"}),
        (issue_fields("x", description="plain text"), {"description": ADF_REQUIRED}),
        (issue_fields("x", description=adf("")), {"description": ADF_REQUIRED}),
        (
            issue_fields("x", description={"type": "doc", "version": 2, "content": []}),
            {"description": ADF_REQUIRED},
        ),
    ]
    for body, field_errors in bad_issues:
        async with http.post(jira(atlassian, "3/issue"), json=body, headers=auth) as resp:
            assert resp.status == 400, body
            assert await resp.json() == {"errorMessages": [], "errors": field_errors}

    created = await create(http, atlassian, auth, issue_fields("Comment target"))
    url = jira(atlassian, f"3/issue/{created['key']}/comment")
    for body, message in [
        ({"body": "plain"}, ADF_REQUIRED),
        ({"body": {"type": "doc", "version": 1, "content": []}}, "Comment body can not be empty!"),
        ({}, "Comment body can not be empty!"),
    ]:
        async with http.post(url, json=body, headers=auth) as resp:
            assert resp.status == 400
            assert (await resp.json())["errors"] == {"comment": message}
    async with http.post(
        jira(atlassian, "3/issue/ENG-99999/comment"), json={"body": adf("x")}, headers=auth
    ) as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        }

    for jql, message in [
        ("", "Unbounded JQL queries are not allowed here"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("colour = red", "Field 'colour' does not exist"),
        ("project = ENG OR project = ENG", "Error in the JQL Query"),
    ]:
        async with http.get(
            jira(atlassian, "3/search/jql"), params={"jql": jql}, headers=auth
        ) as r:
            assert r.status == 400, jql
            [reported] = (await r.json())["errorMessages"]
        assert reported.startswith(message), (jql, reported)


async def test_the_removed_search_answers_410_with_jiras_migration_notice(
    atlassian: AtlassianFake, auth: dict[str, str], http: aiohttp.ClientSession
) -> None:
    for method, path in [("GET", "3/search"), ("POST", "3/search"), ("GET", "2/search")]:
        async with http.request(
            method, jira(atlassian, path), params={"jql": "project = ENG"}, headers=auth
        ) as resp:
            assert resp.status == 410, path
            gone = await resp.json()
        assert gone["errors"] == {}
        [message] = gone["errorMessages"]
        assert message.startswith("The requested API has been removed. Please migrate to the ")
        assert "/rest/api/3/search/jql" in message
        assert "CHANGE-2046" in message
