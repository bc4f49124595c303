"""Runs of installed dialog tasks, across the services, against the Atlassian stand-in as
Atlassian behaves today: every template runs, retries and refreshes as the contract says, an
end user is sent to consent, and nothing secret lands in a run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devinfra.platform_client import PlatformClient, UnexpectedAnswer
from tests.e2e.conftest import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, System
from tests.support.events import EventTap
from tests.support.profiles import custom_profile_body
from tests.support.scenarios import SITE, calls, connected_app, control, installed, landed, new_app
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


async def test_every_confluence_template_runs_against_the_api_atlassian_serves_today(
    system: System, client: PlatformClient
) -> None:
    app_id = await connected_app(client)
    system.atlassian.state.requests.clear()

    create = await installed(client, app_id, "confluence.create_content")
    page = await client.run(
        app_id,
        create,
        {
            "contentType": "page",
            "spaceKey": "ENG",
            "contentTitle": "Q3 plan",
            "contentBody": "<p>Plan</p>",
        },
    )
    assert page["status"] == "succeeded", page
    assert page["messages"][0].startswith('Created "Q3 plan": https://acme.atlassian.net/wiki/')
    page_id = page["outputs"]["createContentService"]["body"]["id"]
    assert isinstance(page_id, str)

    post = await client.run(
        app_id,
        create,
        {
            "contentType": "blogpost",
            "spaceKey": "ENG",
            "contentTitle": "News",
            "contentBody": "<p>Hi</p>",
        },
    )
    assert post["status"] == "succeeded", post

    blog = await installed(client, app_id, "confluence.create_blog_post")
    second_post = await client.run(
        app_id, blog, {"spaceKey": "TEAM", "postTitle": "Weekly", "postBody": "<p>Week</p>"}
    )
    assert second_post["status"] == "succeeded", second_post

    get = await installed(client, app_id, "confluence.get_content")
    read = await client.run(app_id, get, {"contentId": page_id})
    assert read["status"] == "succeeded" and "Q3 plan" in read["messages"][0], read

    update = await installed(client, app_id, "confluence.update_content")
    updated = await client.run(
        app_id,
        update,
        {"contentId": page_id, "contentTitle": "Q3 plan v2", "contentBody": "<p>New</p>"},
    )
    assert updated["status"] == "succeeded", updated
    assert "version 2" in updated["messages"][0]

    comment = await installed(client, app_id, "confluence.add_comment")
    commented = await client.run(app_id, comment, {"pageId": page_id, "commentBody": "<p>LGTM</p>"})
    assert commented["status"] == "succeeded", commented

    search = await installed(client, app_id, "confluence.search_content")
    found = await client.run(app_id, search, {"searchText": "plan", "spaceKey": "ENG"})
    assert found["status"] == "succeeded" and "Q3 plan v2" in found["messages"][0], found
    everywhere = await client.run(app_id, search, {"searchText": "plan"})
    assert everywhere["status"] == "succeeded", everywhere

    spaces = await installed(client, app_id, "confluence.list_spaces")
    listed = await client.run(app_id, spaces, {})
    assert listed["status"] == "succeeded" and "ENG" in listed["messages"][0], listed

    content = await landed(system)
    assert [p["title"] for p in content["pages"]] == ["Q3 plan v2"]
    assert sorted(p["title"] for p in content["blogposts"]) == ["News", "Weekly"]
    assert len(content["comments"]) == 1
    statuses = [r["status"] for r in calls(system)]
    assert 410 not in statuses and 401 not in statuses, calls(system)
    assert all(
        "/wiki/api/v2/" in r["path"] or r["path"].endswith("/wiki/rest/api/search")
        for r in calls(system)
    )


async def test_every_jira_template_runs_and_the_issue_and_comment_land(
    system: System, client: PlatformClient
) -> None:
    app_id = await connected_app(client, "jira")
    create = await installed(client, app_id, "jira.create_issue")
    issue = await client.run(
        app_id,
        create,
        {
            "projectKey": "ENG",
            "issueType": "Task",
            "issueSummary": "Fix the login page",
            "issueDescription": "It is broken on mobile.",
        },
    )
    assert issue["status"] == "succeeded", issue
    key = issue["outputs"]["createIssueService"]["body"]["key"]
    assert f"https://acme.atlassian.net/browse/{key}" in issue["messages"][0]

    comment = await installed(client, app_id, "jira.add_comment")
    assert (await client.run(app_id, comment, {"issueKey": key, "commentBody": "On it"}))[
        "status"
    ] == "succeeded"
    search = await installed(client, app_id, "jira.search_issues")
    found = await client.run(app_id, search, {"searchText": "login", "projectKey": "ENG"})
    assert found["status"] == "succeeded" and key in found["messages"][0], found

    (landed_issue,) = [i for i in (await landed(system))["issues"] if i["key"] == key]
    assert landed_issue["summary"] == "Fix the login page"
    assert [c["body"]["type"] for c in landed_issue["comments"]] == ["doc"]


async def test_entities_are_checked_and_cannot_change_which_endpoint_is_called(
    system: System, client: PlatformClient
) -> None:
    app_id = await connected_app(client)
    get = await installed(client, app_id, "confluence.get_content")
    create = await installed(client, app_id, "confluence.create_content")
    missing = await client.run(app_id, get, {}, expect=422)
    assert missing["code"] == "validation_error"
    assert [e["field"] for e in missing["errors"]] == ["entities.contentId"]
    outside = await client.run(
        app_id,
        create,
        {"contentType": "whiteboard", "spaceKey": "ENG", "contentTitle": "t"},
        expect=422,
    )
    assert {e["field"] for e in outside["errors"]} == {
        "entities.contentType",
        "entities.contentBody",
    }

    system.atlassian.state.requests.clear()
    escaped = await client.run(app_id, get, {"contentId": "123/../../spaces"})
    assert escaped["status"] == "failed"
    (call,) = calls(system)
    assert call["raw_path"].endswith("/wiki/api/v2/pages/123%2F..%2F..%2Fspaces"), call
    assert call["operation"] != "getSpaces"

    unknown = await client.run(app_id, "dt_nothing_here", {}, expect=404)
    assert unknown["code"] == "dialog_task_not_found"

    await client.set_enabled(app_id, False)

    async def unbound() -> bool:
        task = await client.dialog_task(app_id, get)
        return bool(task["status"] == "integration_disabled")

    await eventually(unbound, timeout=15)
    system.atlassian.state.requests.clear()
    refused = await client.run(app_id, get, {"contentId": "1"}, expect=409)
    assert refused["code"] == "integration_disabled"
    assert calls(system) == []


async def test_a_token_the_api_refuses_is_refreshed_once_and_the_run_succeeds(
    system: System, client: PlatformClient
) -> None:
    app_id = await connected_app(client)
    spaces = await installed(client, app_id, "confluence.list_spaces")
    token = await client.access_token(app_id, {"type": "app"})
    await control(system, "POST", "refused-tokens", {"access_token": token["access_token"]})
    try:
        run = await client.run(app_id, spaces, {})
    finally:
        await control(system, "DELETE", "refused-tokens")
    assert run["status"] == "succeeded", run
    (step,) = [s for s in run["steps"] if s["node"] == "listSpacesService"]
    assert (step["attempts"], step["http_status"]) == (2, 200)
    renewed = await client.access_token(app_id, {"type": "app"})
    assert renewed["access_token"] != token["access_token"]


async def test_rate_limits_are_waited_out_and_an_idempotency_key_runs_once(
    system: System, client: PlatformClient
) -> None:
    app_id = await connected_app(client)
    create = await installed(client, app_id, "confluence.create_content")
    entities = {
        "contentType": "page",
        "spaceKey": "ENG",
        "contentTitle": f"Limited {uuid.uuid4().hex[:6]}",
        "contentBody": "<p>x</p>",
    }
    await control(system, "POST", "rate-limit", {"count": 2, "retry_after": 1})
    first = await client.run(app_id, create, entities, idempotency_key="k-1")
    assert first["status"] == "succeeded", first
    assert sum(s["attempts"] for s in first["steps"] if s["type"] == "service") == 3 + 2
    again = await client.run(app_id, create, entities, idempotency_key="k-1", expect=200)
    assert again == first
    titles = [p["title"] for p in (await landed(system))["pages"]]
    assert titles.count(entities["contentTitle"]) == 1
    assert [r["run_id"] for r in await client.runs(app_id, create)] == [first["run_id"]]


async def test_an_end_user_without_consent_gets_a_link_then_runs_with_their_own_token(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "enterprise")
    await client.configure(app_id, {"type": "user_authorize"}, expect=200)
    spaces = await installed(client, app_id, "confluence.list_spaces")
    user = {"type": "user", "user_id": "u-9"}
    async with EventTap(system.infra.amqp_url, ["authorization.link_issued"]) as tap:
        first = await client.run(app_id, spaces, {}, subject=user)
        assert first["status"] == "authorization_required", first
        assert all(step["status"] == "skipped" for step in first["steps"])
        link = first["authorization"]["link"]
        assert link.startswith(f"{system.auth_url}/connect/")
        await tap.wait_for_type("authorization.link_issued")
        repeated = await client.run(app_id, spaces, {}, subject=user)
        assert repeated["authorization"]["link"] == link
    assert len([e for e in tap.events if e["subject"] == app_id]) == 1
    app_only = await client.run(app_id, spaces, {}, expect=422)
    assert app_only["code"] == "validation_error"

    page = await client.consent(link, login="u-9", cloud_id=SITE["id"])
    assert page.status == 200, page.text
    ran = await client.run(app_id, spaces, {}, subject=user)
    assert ran["status"] == "succeeded", ran


async def test_a_custom_profile_with_classic_scopes_misses_what_v2_needs(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    profile = await client.create_profile(
        app_id,
        custom_profile_body(system.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
    )
    started = await client.configure(
        app_id,
        {
            "type": "pre_authorize",
            "profile": {"kind": "custom", "profile_id": profile["profile_id"]},
        },
    )
    await client.consent(started["authorization"]["authorization_url"], cloud_id=SITE["id"])

    async def listed() -> Any:
        items = await client.app_templates(app_id)
        view = next(i for i in items if i["template_id"] == "confluence.create_content")
        return view if view["missing_scopes"] else None

    view = await eventually(listed, timeout=15)
    assert view["missing_scopes"] == ["read:space:confluence", "write:page:confluence"]
    with pytest.raises(UnexpectedAnswer, match="insufficient_scope"):
        await client.install(app_id, "confluence.create_content")

    started = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}
    )
    await client.consent(started["authorization"]["authorization_url"], cloud_id=SITE["id"])

    async def nothing_missing() -> Any:
        items = await client.app_templates(app_id)
        view = next(i for i in items if i["template_id"] == "confluence.create_content")
        return view["installable"] and not view["missing_scopes"]

    await eventually(nothing_missing, timeout=15)
    await client.install(app_id, "confluence.create_content")


async def test_runs_never_hold_a_token(system: System, client: PlatformClient) -> None:
    app_id = await connected_app(client)
    spaces = await installed(client, app_id, "confluence.list_spaces")
    token = await client.access_token(app_id, {"type": "app"})
    run = await client.run(app_id, spaces, {})
    stored = await client.runs(app_id, spaces)
    text = f"{run}{stored}{system.all_logs()}"
    assert token["access_token"] not in text
    assert "Bearer " not in str(run)
