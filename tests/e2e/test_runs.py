"""Runs of installed dialog tasks, across the services, against the Atlassian stand-in as
Atlassian behaves today: every template runs, retries and refreshes as the contract says, an
end user is sent to consent, and nothing secret lands in a run."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from integrations_client import (
    AppSubject,
    CustomProfileRef,
    IntegrationsClient,
    SystemProfileRef,
    UserSubject,
    errors,
    models,
)
from platform_core.service_auth import Scope
from tests.e2e.conftest import System
from tests.support.events import EventTap
from tests.support.scenarios import (
    SITE,
    calls,
    connected_app,
    consent,
    control,
    developer_app_with_custom_profile,
    installed,
    landed,
    new_app,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


def body(run: models.Run, node: str) -> Any:
    return run.outputs[node].body


async def test_every_confluence_template_runs_against_the_api_atlassian_serves_today(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    # The Atlassian stand-in is shared by every scenario: this run's titles, and the text it
    # searches for, carry a marker of their own so no other scenario's content can match.
    marker = f"m{uuid.uuid4().hex[:8]}"
    title = f"Q3 plan {marker}"
    app_id = await connected_app(api, browser=browser)
    system.atlassian.state.requests.clear()

    create = await installed(api, app_id, "confluence.create_content")
    page = await api.start_run(
        app_id,
        create,
        entities={
            "contentType": "page",
            "spaceKey": "ENG",
            "contentTitle": title,
            "contentBody": "<p>Plan</p>",
        },
    )
    assert page.status == "succeeded", page
    assert page.messages[0].startswith(f'Created "{title}": https://acme.atlassian.net/wiki/')
    page_id = body(page, "createContentService")["id"]
    assert isinstance(page_id, str)

    post = await api.start_run(
        app_id,
        create,
        entities={
            "contentType": "blogpost",
            "spaceKey": "ENG",
            "contentTitle": f"News {marker}",
            "contentBody": "<p>Hi</p>",
        },
    )
    assert post.status == "succeeded", post

    blog = await installed(api, app_id, "confluence.create_blog_post")
    second_post = await api.start_run(
        app_id,
        blog,
        entities={"spaceKey": "TEAM", "postTitle": f"Weekly {marker}", "postBody": "<p>Week</p>"},
    )
    assert second_post.status == "succeeded", second_post

    get = await installed(api, app_id, "confluence.get_content")
    read = await api.start_run(app_id, get, entities={"contentId": page_id})
    assert read.status == "succeeded" and title in read.messages[0], read

    update = await installed(api, app_id, "confluence.update_content")
    updated = await api.start_run(
        app_id,
        update,
        entities={
            "contentId": page_id,
            "contentTitle": f"Q3 plan v2 {marker}",
            "contentBody": "<p>New</p>",
        },
    )
    assert updated.status == "succeeded", updated
    assert "version 2" in updated.messages[0]

    comment = await installed(api, app_id, "confluence.add_comment")
    commented = await api.start_run(
        app_id, comment, entities={"pageId": page_id, "commentBody": "<p>LGTM</p>"}
    )
    assert commented.status == "succeeded", commented

    search = await installed(api, app_id, "confluence.search_content")
    wanted = f"plan {marker}"
    found = await api.start_run(app_id, search, entities={"searchText": wanted, "spaceKey": "ENG"})
    assert found.status == "succeeded" and f"Q3 plan v2 {marker}" in found.messages[0], found
    everywhere = await api.start_run(app_id, search, entities={"searchText": wanted})
    assert everywhere.status == "succeeded", everywhere

    spaces = await installed(api, app_id, "confluence.list_spaces")
    listed = await api.start_run(app_id, spaces)
    assert listed.status == "succeeded" and "ENG" in listed.messages[0], listed

    content = await landed(system)
    ours = [p["title"] for p in content["pages"] if marker in p["title"]]
    assert ours == [f"Q3 plan v2 {marker}"]
    posts = sorted(p["title"] for p in content["blogposts"] if marker in p["title"])
    assert posts == [f"News {marker}", f"Weekly {marker}"]
    assert len([c for c in content["comments"] if c["containerId"] == page_id]) == 1
    statuses = [r["status"] for r in calls(system)]
    assert 410 not in statuses and 401 not in statuses, calls(system)
    assert all(
        "/wiki/api/v2/" in r["path"] or r["path"].endswith("/wiki/rest/api/search")
        for r in calls(system)
    )


async def test_every_jira_template_runs_and_the_issue_and_comment_land(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, "jira", browser=browser)
    create = await installed(api, app_id, "jira.create_issue")
    issue = await api.start_run(
        app_id,
        create,
        entities={
            "projectKey": "ENG",
            "issueType": "Task",
            "issueSummary": "Fix the login page",
            "issueDescription": "It is broken on mobile.",
        },
    )
    assert issue.status == "succeeded", issue
    key = body(issue, "createIssueService")["key"]
    assert f"https://acme.atlassian.net/browse/{key}" in issue.messages[0]

    comment = await installed(api, app_id, "jira.add_comment")
    commented = await api.start_run(
        app_id, comment, entities={"issueKey": key, "commentBody": "On it"}
    )
    assert commented.status == "succeeded"
    search = await installed(api, app_id, "jira.search_issues")
    found = await api.start_run(
        app_id, search, entities={"searchText": "login", "projectKey": "ENG"}
    )
    assert found.status == "succeeded" and key in found.messages[0], found

    (landed_issue,) = [i for i in (await landed(system))["issues"] if i["key"] == key]
    assert landed_issue["summary"] == "Fix the login page"
    assert [c["body"]["type"] for c in landed_issue["comments"]] == ["doc"]


async def test_entities_are_checked_and_cannot_change_which_endpoint_is_called(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, browser=browser)
    get = await installed(api, app_id, "confluence.get_content")
    create = await installed(api, app_id, "confluence.create_content")
    with pytest.raises(errors.ValidationError) as missing:
        await api.start_run(app_id, get)
    assert (missing.value.status, missing.value.code) == (422, "validation_error")
    assert [e.field for e in missing.value.errors] == ["entities.contentId"]
    with pytest.raises(errors.ValidationError) as outside:
        await api.start_run(
            app_id,
            create,
            entities={"contentType": "whiteboard", "spaceKey": "ENG", "contentTitle": "t"},
        )
    assert outside.value.status == 422
    assert {e.field for e in outside.value.errors} == {
        "entities.contentType",
        "entities.contentBody",
    }

    system.atlassian.state.requests.clear()
    escaped = await api.start_run(app_id, get, entities={"contentId": "123/../../spaces"})
    assert escaped.status == "failed"
    (call,) = calls(system)
    assert call["raw_path"].endswith("/wiki/api/v2/pages/123%2F..%2F..%2Fspaces"), call
    assert call["operation"] != "getSpaces"

    with pytest.raises(errors.DialogTaskNotFound) as unknown:
        await api.start_run(app_id, "dt_nothing_here")
    assert (unknown.value.status, unknown.value.code) == (404, "dialog_task_not_found")

    await api.disable(app_id, "confluence")

    async def unbound() -> bool:
        task = await api.get_dialog_task(app_id, get)
        return task.status == "integration_disabled"

    await eventually(unbound, timeout=15)
    system.atlassian.state.requests.clear()
    with pytest.raises(errors.IntegrationDisabled) as refused:
        await api.start_run(app_id, get, entities={"contentId": "1"})
    assert (refused.value.status, refused.value.code) == (409, "integration_disabled")
    assert calls(system) == []


async def test_a_token_the_api_refuses_is_refreshed_once_and_the_run_succeeds(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, browser=browser)
    spaces = await installed(api, app_id, "confluence.list_spaces")
    token = await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    refused = token.access_token.get_secret_value()
    await control(system, "POST", "refused-tokens", {"access_token": refused})
    try:
        run = await api.start_run(app_id, spaces)
    finally:
        await control(system, "DELETE", "refused-tokens")
    assert run.status == "succeeded", run
    (step,) = [s for s in run.steps if s.node == "listSpacesService"]
    assert (step.attempts, step.http_status) == (2, 200)
    renewed = await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    assert renewed.access_token.get_secret_value() != refused


async def post_run(
    system: System, app_id: str, dialog_task_id: str, request: dict[str, Any]
) -> tuple[int, models.Run]:
    """`POST .../runs` by hand, for the status itself (201 new, 200 the same key again)."""
    url = f"{system.template.url}/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs"
    headers = system.headers(Scope.RUN_ACTIONS)
    async with aiohttp.ClientSession() as http, http.post(url, json=request, headers=headers) as r:
        return r.status, models.Run.model_validate(await r.json(content_type=None))


async def test_rate_limits_are_waited_out_and_an_idempotency_key_runs_once(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, browser=browser)
    create = await installed(api, app_id, "confluence.create_content")
    entities = {
        "contentType": "page",
        "spaceKey": "ENG",
        "contentTitle": f"Limited {uuid.uuid4().hex[:6]}",
        "contentBody": "<p>x</p>",
    }
    request = {"entities": entities, "idempotency_key": "k-1"}
    await control(system, "POST", "rate-limit", {"count": 2, "retry_after": 1})
    # The wire itself: the first run answers 201, the same key again 200 with the same run.
    status, first = await post_run(system, app_id, create, request)
    assert status == 201, first
    assert first.status == "succeeded", first
    assert sum(s.attempts for s in first.steps if s.type == "service") == 3 + 2
    status, again = await post_run(system, app_id, create, request)
    assert status == 200, again
    assert again == first
    replayed = await api.start_run(app_id, create, entities=entities, idempotency_key="k-1")
    assert replayed == first
    titles = [p["title"] for p in (await landed(system))["pages"]]
    assert titles.count(entities["contentTitle"]) == 1
    assert [r.run_id async for r in api.list_runs(app_id, create)] == [first.run_id]


async def test_an_end_user_without_consent_gets_a_link_then_runs_with_their_own_token(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="enterprise")
    await api.configure(app_id, "confluence", "user_authorize")
    spaces = await installed(api, app_id, "confluence.list_spaces")
    user = UserSubject(user_id="u-9")
    async with EventTap(system.infra.amqp_url, ["authorization.link_issued"]) as tap:
        first = await api.start_run(app_id, spaces, subject=user)
        assert first.status == "authorization_required", first
        assert all(step.status == "skipped" for step in first.steps)
        assert first.authorization is not None
        link = first.authorization.link
        assert link.startswith(f"{system.auth_url}/connect/")
        await tap.wait_for_type("authorization.link_issued")
        repeated = await api.start_run(app_id, spaces, subject=user)
        assert repeated.authorization is not None
        assert repeated.authorization.link == link
    assert len([e for e in tap.events if e["subject"] == app_id]) == 1
    with pytest.raises(errors.ValidationError) as app_only:
        await api.start_run(app_id, spaces)
    assert (app_only.value.status, app_only.value.code) == (422, "validation_error")

    page = await consent(link, login="u-9", cloud_id=SITE["id"], browser=browser)
    assert page.status == 200, page.text
    ran = await api.start_run(app_id, spaces, subject=user)
    assert ran.status == "succeeded", ran


async def test_a_custom_profile_with_classic_scopes_misses_what_v2_needs(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id, profile = await developer_app_with_custom_profile(api, system)
    started = await api.configure(
        app_id,
        "confluence",
        "pre_authorize",
        profile=CustomProfileRef(profile_id=profile.profile_id),
    )
    await consent(started.authorization.authorization_url, cloud_id=SITE["id"], browser=browser)

    async def create_content_view() -> models.AppTemplate:
        async for item in api.list_app_templates(app_id):
            if item.template_id == "confluence.create_content":
                return item
        raise AssertionError(f"{app_id} does not see confluence.create_content")

    async def listed() -> models.AppTemplate | None:
        view = await create_content_view()
        return view if view.missing_scopes else None

    view = await eventually(listed, timeout=15)
    assert view is not None
    assert view.missing_scopes == ["read:space:confluence", "write:page:confluence"]
    with pytest.raises(errors.InsufficientScope) as refused:
        await api.install(app_id, "confluence.create_content")
    assert (refused.value.status, refused.value.code) == (409, "insufficient_scope")
    assert refused.value.missing_scopes == view.missing_scopes

    started = await api.configure(app_id, "confluence", "pre_authorize", profile=SystemProfileRef())
    await consent(started.authorization.authorization_url, cloud_id=SITE["id"], browser=browser)

    async def nothing_missing() -> bool:
        view = await create_content_view()
        return view.installable and not view.missing_scopes

    await eventually(nothing_missing, timeout=15)
    await api.install(app_id, "confluence.create_content")


async def test_runs_never_hold_a_token(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, browser=browser)
    spaces = await installed(api, app_id, "confluence.list_spaces")
    token = await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    run = await api.start_run(app_id, spaces)
    stored = await api.list_runs(app_id, spaces).collect()
    # As the services answered them: every field, those the client does not know included.
    answered = run.model_dump_json()
    text = f"{answered}{[r.model_dump_json() for r in stored]}{system.all_logs()}"
    assert token.access_token.get_secret_value() not in text
    assert "Bearer " not in answered
