"""An app's tools are kept briefly, asked for once however many ask, and dropped on a change."""

from __future__ import annotations

import asyncio

from tests.unit.tool.fakes import APP, FakeTemplateService, tool
from tool_service.domain.tools import ToolDefinition
from tool_service.service_layer.catalog import ToolCatalog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class GatedTemplates(FakeTemplateService):
    """Holds every listing until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def tools(self, app_id: str) -> list[ToolDefinition]:
        listed = await super().tools(app_id)
        await self.release.wait()
        return listed


async def test_an_apps_tools_are_asked_for_once_within_the_ttl() -> None:
    templates, clock = FakeTemplateService(), Clock()
    templates.apps[APP] = [tool()]
    catalog = ToolCatalog(templates, ttl_seconds=30, clock=clock)
    assert [t.name for t in await catalog.tools(APP)] == ["confluence_create_content"]
    clock.now += 29
    await catalog.tools(APP)
    assert templates.listings == [APP]
    clock.now += 2
    await catalog.tools(APP)
    assert templates.listings == [APP, APP]


async def test_a_change_drops_the_kept_list_at_once() -> None:
    templates = FakeTemplateService()
    templates.apps[APP] = [tool()]
    catalog = ToolCatalog(templates, ttl_seconds=300)
    await catalog.tools(APP)
    templates.apps[APP] = []
    catalog.forget(APP)
    assert await catalog.tools(APP) == ()
    assert templates.listings == [APP, APP]


async def test_concurrent_askers_share_one_call() -> None:
    templates = GatedTemplates()
    templates.apps[APP] = [tool()]
    catalog = ToolCatalog(templates, ttl_seconds=30)
    askers = [asyncio.create_task(catalog.tools(APP)) for _ in range(5)]
    await asyncio.sleep(0.01)
    templates.release.set()
    results = await asyncio.gather(*askers)
    assert templates.listings == [APP]
    assert all(result == results[0] for result in results)


async def test_a_listing_that_began_before_a_change_is_not_kept_after_it() -> None:
    templates = GatedTemplates()
    templates.apps[APP] = [tool()]
    catalog = ToolCatalog(templates, ttl_seconds=300)
    stale = asyncio.create_task(catalog.tools(APP))
    await asyncio.sleep(0.01)
    catalog.forget(APP)  # an event arrived while the first listing was on its way
    templates.apps[APP] = []
    templates.release.set()
    await stale
    assert await catalog.tools(APP) == ()
    assert templates.listings == [APP, APP]


async def test_an_asker_that_goes_away_does_not_cancel_the_others() -> None:
    templates = GatedTemplates()
    templates.apps[APP] = [tool()]
    catalog = ToolCatalog(templates, ttl_seconds=30)
    leaving = asyncio.create_task(catalog.tools(APP))
    staying = asyncio.create_task(catalog.tools(APP))
    await asyncio.sleep(0.01)
    leaving.cancel()
    templates.release.set()
    assert len(await staying) == 1
